/**
 * JSON-line logging that cannot leak: every line passes through a redactor that knows
 * each password read so far and the ResponseURL, and masks them wherever they appear.
 */

const MASK = '*****';

/** Masks registered secret strings in any text that leaves the handler. */
export class Redactor {
  private readonly secrets = new Set<string>();

  add(secret: string | undefined): void {
    if (secret) this.secrets.add(secret);
  }

  redact(text: string): string {
    let out = text;
    // Longest first, so a secret that contains another is masked whole.
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) {
      out = out.split(secret).join(MASK);
    }
    return out;
  }
}

/** A value a log line may carry: never an event, a password or a URL. */
export type LogField = string | number | boolean | undefined;

/** Writes one JSON object per line, redacted. */
export class Logger {
  constructor(
    private readonly redactor: Redactor,
    private readonly sink: (line: string) => void = (line) => process.stdout.write(line + '\n'),
  ) {}

  info(fields: Record<string, LogField>): void {
    this.write('INFO', fields);
  }

  error(fields: Record<string, LogField>): void {
    this.write('ERROR', fields);
  }

  private write(level: string, fields: Record<string, LogField>): void {
    this.sink(this.redactor.redact(JSON.stringify({ level, ...fields })));
  }
}

/**
 * A one-line, redacted description of an error, safe for logs and the response's
 * Reason: the error's name and message only, never its stack or request metadata.
 */
export function describeError(error: unknown, redactor: Redactor): string {
  const e = error as { name?: string; message?: string };
  const name = e?.name && e.name !== 'Error' ? `${e.name}: ` : '';
  const message = e?.message ?? String(error);
  return redactor.redact(`${name}${message}`);
}
