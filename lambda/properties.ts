import type {
  PasswordSourceProperties,
  SeedResourceProperties,
  SeedUserProperties,
  SiblingProperties,
} from '../lib/private/contract';
import { DEFAULT_MAX_CONCURRENCY, DEFAULT_RATES, Rates } from '../lib/private/time-budget';
import { ComposedError } from './log';

export { DEFAULT_MAX_CONCURRENCY, DEFAULT_RATES };
export type { Rates };

/** A password mode, as the handler uses it. */
export type Mode = 'PERMANENT' | 'TEMPORARY' | 'RESET_REQUIRED';

/** Where a password comes from, parsed. */
export type PasswordSource =
  | { readonly kind: 'secretsmanager'; readonly secretArn: string; readonly jsonField?: string }
  | { readonly kind: 'ssm'; readonly parameterName: string; readonly allowPlainString?: boolean }
  | { readonly kind: 'plaintext'; readonly value: string };

/** One user to seed, parsed. */
export interface UserSpec {
  readonly username: string;
  readonly mode: Mode;
  readonly password?: PasswordSource;
  readonly attributes: { readonly [name: string]: string };
  readonly groups: readonly string[];
  readonly passwordRevision?: string;
  /** `TOTP`: the seeder enrols a software token for the user. */
  readonly mfa?: 'TOTP';
  /** The seeder's ClientMetadata with the user's own merged over it (the marker is added per call). */
  readonly clientMetadata?: { readonly [key: string]: string };
}

/** The resource's properties, parsed. */
export interface SeedSpec extends RemovalSpec {
  readonly adoptExistingUsers: boolean;
  /** Adopted users are deleted like created ones (a ledger rebuilt after a loss). */
  readonly deleteAdoptedUsers: boolean;
  readonly users: readonly UserSpec[];
  /** Other seed resources of the stack on this pool: their logical ids and usernames. */
  readonly siblings: ReadonlyMap<string, readonly string[]>;
  /** The app client tests sign in with (for the manifest). */
  readonly clientId?: string;
  /** Account ids this seeder must not seed. */
  readonly forbiddenAccounts: readonly string[];
}

/** Where TOTP secrets are kept and the client enrolment signs in with; read by Create, Update and Delete. */
export interface TotpSpec {
  readonly secretArn: string;
  readonly clientId: string;
  /** The name prefix of the per-user TOTP secrets (absent from resources of before they existed). */
  readonly userSecretPrefix?: string;
  /** The key the per-user secrets are created with (`secretsEncryptionKey`); else Secrets Manager's own. */
  readonly kmsKeyId?: string;
}

const MODES: readonly Mode[] = ['PERMANENT', 'TEMPORARY', 'RESET_REQUIRED'];

/** Raised for properties the handler cannot act on; the message is safe to return. */
export class PropertyError extends ComposedError {}

/**
 * Parses CloudFormation's view of the properties (every scalar a string) back into
 * typed values. Also accepts real booleans and numbers, as a direct invoke sends them.
 */
export function parseProperties(raw: unknown): SeedSpec {
  const props = (raw ?? {}) as Partial<Record<keyof SeedResourceProperties, unknown>>;
  const { userPoolId } = parseRemoval(raw);
  const rawUsers = props.Users ?? [];
  if (!Array.isArray(rawUsers)) {
    throw new PropertyError('Users must be a list of users.');
  }
  const seederMetadata = parseClientMetadata(props.ClientMetadata, 'ClientMetadata');
  const users = rawUsers.map((u, i) => parseUser(u as SeedUserProperties, i, seederMetadata));
  const seen = new Set<string>();
  for (const u of users) {
    if (seen.has(u.username)) {
      throw new PropertyError(`user '${u.username}' is listed twice: list each username once.`);
    }
    seen.add(u.username);
  }
  const siblings = new Map<string, string[]>();
  const rawSiblings = props.Siblings ?? [];
  if (!Array.isArray(rawSiblings)) throw new PropertyError('Siblings must be a list.');
  for (const sibling of rawSiblings as SiblingProperties[]) {
    if (typeof sibling?.Owner !== 'string' || !Array.isArray(sibling.Usernames)) {
      throw new PropertyError('every entry of Siblings needs an Owner and a list of Usernames.');
    }
    siblings.set(sibling.Owner, sibling.Usernames.map(String));
  }
  const totpUsers = users.filter((u) => u.mfa === 'TOTP');
  const removal = parseRemoval(props);
  if (totpUsers.length > 0 && !removal.totp) {
    throw new PropertyError(
      `user '${totpUsers[0].username}' asks for a TOTP token but the resource has no Totp settings: add the user with the construct, which creates them.`,
    );
  }
  const forbidden = props.ForbiddenAccounts ?? [];
  if (!Array.isArray(forbidden)) throw new PropertyError('ForbiddenAccounts must be a list of account ids.');
  const clientId = props.ClientId;
  return {
    ...removal,
    userPoolId,
    siblings,
    clientId: typeof clientId === 'string' && clientId !== '' ? clientId : undefined,
    forbiddenAccounts: forbidden.map((a) => String(a).trim()),
    adoptExistingUsers: parseBoolean(props.AdoptExistingUsers, 'AdoptExistingUsers'),
    deleteAdoptedUsers: parseBoolean(props.DeleteAdoptedUsers, 'DeleteAdoptedUsers'),
    maxConcurrency: parsePositive(props.MaxConcurrency, DEFAULT_MAX_CONCURRENCY, 'MaxConcurrency'),
    users,
  };
}

/** What a Delete needs, which never travels in a users file: the pool, retain, the pace. */
export interface RemovalSpec {
  readonly userPoolId: string;
  readonly retain: boolean;
  readonly maxConcurrency: number;
  readonly rates: Rates;
  /** TOTP secrets of this seeder's users, when any has one. */
  readonly totp?: TotpSpec;
}

export function parseRemoval(raw: unknown): RemovalSpec {
  const props = (raw ?? {}) as Partial<Record<keyof SeedResourceProperties, unknown>>;
  const userPoolId = props.UserPoolId;
  if (typeof userPoolId !== 'string' || userPoolId === '') {
    throw new PropertyError('UserPoolId is required: pass the id of the pool to seed.');
  }
  const rates = (props.Rates ?? {}) as Partial<Record<string, unknown>>;
  const totp = props.Totp as Partial<Record<string, unknown>> | undefined;
  if (totp !== undefined && (typeof totp?.SecretArn !== 'string' || typeof totp?.ClientId !== 'string')) {
    throw new PropertyError('Totp needs a SecretArn and a ClientId.');
  }
  for (const field of ['UserSecretPrefix', 'KmsKeyId'] as const) {
    if (totp?.[field] !== undefined && (typeof totp[field] !== 'string' || totp[field] === '')) {
      throw new PropertyError(`Totp.${field} must be a non-empty string.`);
    }
  }
  return {
    userPoolId,
    ...(totp
      ? {
          totp: {
            secretArn: totp.SecretArn as string,
            clientId: totp.ClientId as string,
            ...(totp.UserSecretPrefix ? { userSecretPrefix: totp.UserSecretPrefix as string } : {}),
            ...(totp.KmsKeyId ? { kmsKeyId: totp.KmsKeyId as string } : {}),
          },
        }
      : {}),
    retain: parseRetain(props.RemovalPolicy),
    maxConcurrency: parsePositive(props.MaxConcurrency, DEFAULT_MAX_CONCURRENCY, 'MaxConcurrency'),
    rates: {
      create: parsePositive(rates.Create, DEFAULT_RATES.create, 'Rates.Create'),
      recovery: parsePositive(rates.Recovery, DEFAULT_RATES.recovery, 'Rates.Recovery'),
      write: parsePositive(rates.Write, DEFAULT_RATES.write, 'Rates.Write'),
      read: parsePositive(rates.Read, DEFAULT_RATES.read, 'Rates.Read'),
    },
  };
}

function parseUser(
  raw: SeedUserProperties,
  index: number,
  seederMetadata: { readonly [key: string]: string },
): UserSpec {
  const username = raw?.Username;
  if (typeof username !== 'string' || username === '') {
    throw new PropertyError(`user #${index + 1} has no Username: give every user a username.`);
  }
  const mode = String(raw.Mode ?? '').toUpperCase() as Mode;
  if (!MODES.includes(mode)) {
    throw new PropertyError(`user '${username}': mode '${String(raw.Mode)}' is not one of ${MODES.join(', ')}.`);
  }
  const password = raw.Password ? parseSource(raw.Password, username) : undefined;
  if (!password && mode !== 'RESET_REQUIRED') {
    throw new PropertyError(`user '${username}': mode ${mode} needs a password source.`);
  }
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw.Attributes ?? {})) {
    attributes[name] = String(value);
  }
  const groups = raw.Groups ?? [];
  if (!Array.isArray(groups)) {
    throw new PropertyError(`user '${username}': Groups must be a list of group names.`);
  }
  const mfa = raw.Mfa === undefined || raw.Mfa === '' ? undefined : String(raw.Mfa).trim().toUpperCase();
  if (mfa !== undefined && mfa !== 'TOTP') {
    throw new PropertyError(`user '${username}': Mfa '${String(raw.Mfa)}' is not supported: use TOTP or leave it out.`);
  }
  if (mfa && mode !== 'PERMANENT') {
    throw new PropertyError(
      `user '${username}': a TOTP token needs mode PERMANENT (a ${mode} user cannot sign in to enrol one): make the user PERMANENT or drop mfa.`,
    );
  }
  return {
    username,
    mode,
    password,
    attributes,
    groups: [...new Set(groups.map(String))],
    passwordRevision: raw.PasswordRevision === undefined ? undefined : String(raw.PasswordRevision),
    ...(mfa ? { mfa: 'TOTP' as const } : {}),
    clientMetadata: {
      ...seederMetadata,
      ...parseClientMetadata(raw.ClientMetadata, `user '${username}': ClientMetadata`),
    },
  };
}

/** A map of strings (CloudFormation sends every value as one); absent is empty. */
function parseClientMetadata(value: unknown, name: string): { readonly [key: string]: string } {
  if (value === undefined || value === null || value === '') return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new PropertyError(`${name} must be a map of strings, got ${Array.isArray(value) ? 'a list' : typeof value}.`);
  }
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, String(v)]));
}

function parseSource(raw: PasswordSourceProperties, username: string): PasswordSource {
  // A reference that is missing would otherwise be read as the text 'undefined'.
  const required = (value: unknown, name: string): string => {
    if (typeof value === 'string' && value !== '') return value;
    throw new PropertyError(
      `user '${username}': password source ${raw.Source} has no ${name}: pass the password with SeedPassword.fromSecret(), fromSsmParameter() or generate() so the construct sets it.`,
    );
  };
  switch (raw.Source) {
    case 'secretsmanager':
      return {
        kind: 'secretsmanager',
        secretArn: required(raw.SecretArn, 'SecretArn'),
        jsonField: raw.JsonField === undefined || raw.JsonField === '' ? undefined : String(raw.JsonField),
      };
    case 'ssm':
      return {
        kind: 'ssm',
        parameterName: required(raw.ParameterName, 'ParameterName'),
        // Only when set, so the source (and its fingerprint) of every other user is unchanged.
        ...(parseBoolean(raw.AllowPlainString, `user '${username}': Password.AllowPlainString`)
          ? { allowPlainString: true }
          : {}),
      };
    case 'plaintext':
      return { kind: 'plaintext', value: String(raw.Value) };
    default:
      throw new PropertyError(
        `user '${username}': password source '${String((raw as { Source?: unknown }).Source)}' is not secretsmanager, ssm or plaintext.`,
      );
  }
}

/** `retain` or `destroy`, in any case and with stray spaces; anything else is refused, not taken as destroy. */
function parseRetain(value: unknown): boolean {
  const text = String(value ?? '')
    .trim()
    .toLowerCase();
  if (text === '' || text === 'destroy') return false;
  if (text === 'retain') return true;
  throw new PropertyError(
    `RemovalPolicy must be 'destroy' or 'retain', got '${String(value)}': use RemovalPolicy.DESTROY or RemovalPolicy.RETAIN.`,
  );
}

function parseBoolean(value: unknown, name: string): boolean {
  if (value === undefined || value === null || value === '') return false;
  const text = String(value).toLowerCase();
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new PropertyError(`${name} must be 'true' or 'false', got '${String(value)}'.`);
}

function parsePositive(value: unknown, fallback: number, name: string): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new PropertyError(`${name} must be a positive number, got '${String(value)}'.`);
  }
  return n;
}
