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

/** Masks registered secret strings, as whole tokens, in any text that leaves the handler. */
export class Redactor {
  /** Every form of every secret, longest first when matched. */
  private readonly forms = new Set<string>();

  add(secret: string | undefined): void {
    if (typeof secret !== 'string' || [...secret].length < MIN_SECRET_LENGTH) return;
    for (const form of echoForms(secret)) this.forms.add(form);
  }

  redact(text: string): string {
    if (this.forms.size === 0 || text === '') return text;
    let out = text;
    // Longest first, so a secret that contains another is masked whole.
    for (const form of [...this.forms].sort((a, b) => b.length - a.length)) {
      out = maskWhole(out, form);
    }
    return maskTruncated(out, [...this.forms]);
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

/** `form` masked wherever it stands as a whole token (not inside a longer word). */
function maskWhole(text: string, form: string): string {
  let out = '';
  let from = 0;
  for (let at = text.indexOf(form); at !== -1; at = text.indexOf(form, at + 1)) {
    if (at < from) continue;
    if (!startsToken(text, at, form) || !endsToken(text, at + form.length, form)) continue;
    out += text.slice(from, at) + MASK;
    from = at + form.length;
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
function maskTruncated(text: string, forms: readonly string[]): string {
  let out = text;
  for (const form of forms) {
    const first = form.slice(0, MIN_SECRET_LENGTH);
    for (let at = out.indexOf(first); at !== -1; at = out.indexOf(first, at + 1)) {
      if (!startsToken(out, at, form)) continue;
      let end = at + first.length;
      while (end < out.length && end - at < form.length && out[end] === form[end - at]) end++;
      if (end - at >= form.length || !CUT.test(out.slice(end))) continue;
      out = out.slice(0, at) + MASK + out.slice(end);
    }
  }
  return out;
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
