import * as fs from 'fs';
import * as path from 'path';
import { PasswordMode } from '../password-mode';
import type { SeedPassword } from '../seed-password';
import type { SeedUser } from '../seed-user';

/** What every user read from a file shares. */
export interface FileDefaults {
  readonly password?: SeedPassword;
  readonly mode?: PasswordMode;
  readonly groups?: string[];
  readonly baseDir?: string;
}

const RESERVED = new Set(['username', 'mode', 'groups', 'passwordrevision']);

/**
 * Reads users from a JSON array (of `{ username, mode?, attributes?, groups?,
 * passwordRevision? }`) or a CSV file (a header row; columns `username`, optional `mode`,
 * `groups` separated by `;`, `passwordRevision`; every other column an attribute).
 * A file never carries passwords: they come from `defaults.password`.
 */
export function readUsersFile(file: string, defaults: FileDefaults): SeedUser[] {
  // A byte-order mark (Excel writes one) is not part of the first column's name.
  const text = fs.readFileSync(locateUsersFile(file, defaults.baseDir), 'utf8').replace(/^\uFEFF/, '');
  const rows = path.extname(file).toLowerCase() === '.csv' ? csvRows(text, file) : jsonRows(text, file);
  return rows.map(({ line, fields }) => {
    const where = `${file}:${line}`;
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
      throw new Error(
        `${where}: the row is ${fields === null ? 'null' : typeof fields}, not a user: give every row an object with a username.`,
      );
    }
    if (Object.keys(fields).some((k) => k.toLowerCase().includes('password') && k !== 'passwordRevision')) {
      throw new Error(
        `${where}: a users file must not hold passwords: remove the column and pass a SeedPassword in the options.`,
      );
    }
    const username = String(fields.username ?? '');
    if (!username) throw new Error(`${where}: the row has no username: every row needs one.`);
    const mode = String(fields.mode || defaults.mode || '').toUpperCase() as PasswordMode;
    if (!Object.values(PasswordMode).includes(mode)) {
      throw new Error(
        `${where}: user '${username}' has mode '${mode}': give a mode column or options.mode (PERMANENT, TEMPORARY or RESET_REQUIRED).`,
      );
    }
    const groups = Array.isArray(fields.groups)
      ? fields.groups.map(String)
      : String(fields.groups ?? '')
          .split(';')
          .map((g) => g.trim())
          .filter(Boolean);
    const attributes: Record<string, string> =
      fields.attributes && typeof fields.attributes === 'object'
        ? Object.fromEntries(Object.entries(fields.attributes as object).map(([k, v]) => [k, String(v)]))
        : Object.fromEntries(
            Object.entries(fields)
              .filter(([k, v]) => !RESERVED.has(k.toLowerCase()) && v !== '')
              .map(([k, v]) => [k, String(v)]),
          );
    return {
      username,
      mode,
      password: mode === PasswordMode.RESET_REQUIRED ? undefined : defaults.password,
      ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
      groups: [...(defaults.groups ?? []), ...groups],
      ...(fields.passwordRevision ? { passwordRevision: String(fields.passwordRevision) } : {}),
    };
  });
}

/**
 * The file's absolute path: relative paths resolve against `baseDir`, else the directory
 * of the app's entry file (`require.main`, the file `cdk.json` runs), else the working
 * directory. A missing file fails with the path it looked at and how it got there.
 */
export function locateUsersFile(file: string, baseDir?: string): string {
  const entry = require.main?.filename;
  const base = baseDir ?? (entry ? path.dirname(entry) : process.cwd());
  const located = path.resolve(base, file);
  if (!fs.existsSync(located) || !fs.statSync(located).isFile()) {
    const how = path.isAbsolute(file)
      ? 'the path is absolute'
      : baseDir !== undefined
        ? `relative paths resolve against baseDir, ${base}`
        : entry
          ? `relative paths resolve against the directory of the app's entry file ${entry}`
          : `relative paths resolve against the working directory, ${base}, when there is no entry file`;
    throw new Error(
      `UserSeeder.usersFromFile('${file}'): no users file at ${located} (${how}): pass an absolute path (path.join(__dirname, '${file}')) or the directory it is in as baseDir.`,
    );
  }
  return located;
}

interface Row {
  line: number;
  fields: Record<string, unknown>;
}

function jsonRows(text: string, file: string): Row[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // The parser's message may quote the file; say where instead.
    const at = /position (\d+)/.exec((error as Error).message);
    const line = at ? text.slice(0, Number(at[1])).split('\n').length : undefined;
    throw new Error(
      `${file}${line ? `:${line}` : ''}: the file is not valid JSON: fix it (a JSON users file holds an array of users).`,
    );
  }
  if (!Array.isArray(parsed)) throw new Error(`${file}: a JSON users file holds an array of users.`);
  return parsed.map((fields, i) => ({ line: i + 1, fields: fields as Record<string, unknown> }));
}

/** The reserved columns, whatever their case in the header. */
const CANONICAL: Record<string, string> = {
  username: 'username',
  mode: 'mode',
  groups: 'groups',
  passwordrevision: 'passwordRevision',
};

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines. */
function csvRows(text: string, file: string): Row[] {
  const records: { line: number; fields: string[] }[] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let quoteLine = 1;
  const endField = () => {
    record.push(field);
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) line++;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
      quoteLine = line;
    } else if (c === ',') {
      endField();
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') {
        i++;
        line++;
      }
      endField();
      records.push({ line: recordLine, fields: record });
      record = [];
      recordLine = line;
    } else {
      field += c;
    }
  }
  if (quoted) {
    throw new Error(
      `${file}:${quoteLine}: a quoted field is never closed: end it with a double quote (write "" for a quote inside it).`,
    );
  }
  if (field !== '' || record.length > 0) {
    endField();
    records.push({ line: recordLine, fields: record });
  }
  const [header, ...rest] = records.filter((r) => r.fields.some((f) => f.trim() !== ''));
  const names = (header?.fields ?? []).map((h) => CANONICAL[h.trim().toLowerCase()] ?? h.trim());
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name.toLowerCase())) {
      throw new Error(`${file}:${header.line}: column '${name}' appears twice in the header: keep one of them.`);
    }
    seen.add(name.toLowerCase());
  }
  if (!names.includes('username')) {
    throw new Error(`${file}: a CSV users file needs a header row with a username column.`);
  }
  return rest.map((r) => ({
    line: r.line,
    fields: Object.fromEntries(names.map((h, j) => [h, (r.fields[j] ?? '').trim()])),
  }));
}
