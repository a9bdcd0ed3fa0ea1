/**
 * JSON-line logging that cannot leak and cannot be used as an oracle.
 *
 * Structured fields (user, action, outcome, counts...) hold values the handler controls
 * and are written as they are: masking them would tell a reader that a password equals a
 * username or the word 'create'. Text the handler does not control (a service's error
 * message) reaches a log line or a Reason through one path only, `describeError`, where
 * every registered secret is masked as a whole token in every form it could be echoed in.
 */

const MASK = '*****';

/**
 * Cognito's smallest possible minimum password length: a shorter value cannot be a
 * password in any pool, so it is never masked (it would only mask innocent text).
 */
export const MIN_SECRET_LENGTH = 6;

/** A letter, mark or digit: a token does not start or end inside a run of these. */
const WORD = /[\p{L}\p{M}\p{N}_]/u;

/**
 * Masks registered secret strings, as whole tokens, in any text that leaves the handler.
 * Forms are indexed by their first MIN_SECRET_LENGTH characters, so masking costs the
 * length of the text, not the number of secrets (10,000 users with a password each).
 */
export class Redactor {
  /** Every form of every secret, by its first MIN_SECRET_LENGTH characters, longest first. */
  private readonly byPrefix = new Map<string, string[]>();
  private readonly forms = new Set<string>();
  /** Prefixes whose lists gained forms since the last sort. */
  private readonly unsorted = new Set<string>();

  add(secret: string | undefined): void {
    if (typeof secret !== 'string' || [...secret].length < MIN_SECRET_LENGTH) return;
    for (const form of echoForms(secret)) {
      if (this.forms.has(form)) continue;
      this.forms.add(form);
      const key = form.slice(0, MIN_SECRET_LENGTH);
      const list = this.byPrefix.get(key);
      if (list) list.push(form);
      else this.byPrefix.set(key, [form]);
      this.unsorted.add(key);
    }
  }

  redact(text: string): string {
    if (this.forms.size === 0 || text === '') return text;
    // Longest first, so a secret that contains another is masked whole. Sorted here, once
    // after adds: passwords that share a prefix ('Passw0rd-1' ... '-10000') make long lists.
    for (const key of this.unsorted) this.byPrefix.get(key)?.sort((x, y) => y.length - x.length);
    this.unsorted.clear();
    return maskTruncated(maskWhole(text, this.byPrefix), this.byPrefix);
  }
}

/**
 * The forms a value can be echoed in: as is, in both Unicode normal forms, JSON-escaped
 * (once, twice, and with non-ASCII as `\uXXXX`), and URL-encoded.
 */
function echoForms(secret: string): Set<string> {
  const forms = new Set<string>();
  for (const normal of [secret, secret.normalize('NFC'), secret.normalize('NFD'), secret.normalize('NFKC')]) {
    const escaped = JSON.stringify(normal).slice(1, -1);
    const ascii = escaped.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    for (const form of [
      normal,
      escaped,
      JSON.stringify(escaped).slice(1, -1),
      ascii,
      ascii.replace(/\\u([0-9a-f]{4})/g, (_m, hex: string) => `\\u${hex.toUpperCase()}`),
      encodeURIComponent(normal),
    ]) {
      if (form.length >= MIN_SECRET_LENGTH) forms.add(form);
    }
  }
  return forms;
}

/** Every form masked wherever it stands as a whole token (not inside a longer word). */
function maskWhole(text: string, byPrefix: ReadonlyMap<string, readonly string[]>): string {
  let out = '';
  let from = 0;
  for (let at = 0; at + MIN_SECRET_LENGTH <= text.length;) {
    const form = byPrefix
      .get(text.slice(at, at + MIN_SECRET_LENGTH))
      ?.find((f) => text.startsWith(f, at) && startsToken(text, at, f) && endsToken(text, at + f.length, f));
    if (form === undefined) {
      at++;
      continue;
    }
    out += text.slice(from, at) + MASK;
    at = from = at + form.length;
  }
  return out + text.slice(from);
}

/** Text cut short, as services and our own truncation do: a prefix then an ellipsis or the end. */
const CUT = /^(?:\.\.\.|…|$)/u;

/**
 * Masks a prefix (at least MIN_SECRET_LENGTH characters) of a secret that ends where the
 * text was cut: at its end or before an ellipsis. A prefix followed by anything else is
 * another word that happens to start the same way, and stays.
 */
function maskTruncated(text: string, byPrefix: ReadonlyMap<string, readonly string[]>): string {
  let out = '';
  let from = 0;
  for (let at = 0; at + MIN_SECRET_LENGTH <= text.length;) {
    let cutAt = -1;
    for (const form of byPrefix.get(text.slice(at, at + MIN_SECRET_LENGTH)) ?? []) {
      if (!startsToken(text, at, form)) continue;
      let end = at + MIN_SECRET_LENGTH;
      while (end < text.length && end - at < form.length && text[end] === form[end - at]) end++;
      if (end - at < form.length && CUT.test(text.slice(end))) {
        cutAt = end;
        break;
      }
    }
    if (cutAt === -1) {
      at++;
      continue;
    }
    out += text.slice(from, at) + MASK;
    at = from = cutAt;
  }
  return out + text.slice(from);
}

function startsToken(text: string, at: number, form: string): boolean {
  return at === 0 || !WORD.test(form[0]) || !WORD.test(text[at - 1]);
}

function endsToken(text: string, end: number, form: string): boolean {
  return end >= text.length || !WORD.test(form[form.length - 1]) || !WORD.test(text[end]);
}

/** A value a log line may carry: never an event, a password or a URL. */
export type LogField = string | number | boolean | undefined;

/**
 * Writes one JSON object per line. It masks nothing itself: every field is either a value
 * the handler controls or text that came through `describeError`, so a structured field
 * is never rewritten into a hint about a password.
 */
export class Logger {
  constructor(private readonly sink: (line: string) => void = (line) => process.stdout.write(line + '\n')) {}

  info(fields: Record<string, LogField>): void {
    this.write('INFO', fields);
  }

  error(fields: Record<string, LogField>): void {
    this.write('ERROR', fields);
  }

  private write(level: string, fields: Record<string, LogField>): void {
    this.sink(JSON.stringify({ level, ...fields }));
  }
}

/**
 * An error whose message the handler composed itself, from values it controls (usernames,
 * ARNs, rule names) and from `describeError` output: it is safe as it stands, and masking
 * it again would only mask innocent words.
 */
export class ComposedError extends Error {}

/**
 * The one path by which text the handler does not control (a service's error message)
 * reaches a log line or a Reason: the error's name and message only, never its stack or
 * request metadata, with every registered secret masked.
 */
export function describeError(error: unknown, redactor: Redactor): string {
  const e = error as { name?: string; message?: string };
  const name = e?.name && e.name !== 'Error' ? `${e.name}: ` : '';
  const message = e?.message ?? String(error);
  if (error instanceof ComposedError) return `${name}${message}`;
  return redactor.redact(`${name}${message}`);
}
