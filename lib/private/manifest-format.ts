/**
 * The manifest: what a seeder seeded, published at deploy for the tests that sign in as
 * its users. It holds no password: only where each password (and TOTP secret) lives.
 *
 * This file is the one contract between the writer (the seeding handler, lambda/, and the
 * construct, lib/, which names the pointer) and the
 * readers (`cdk-cognito-seeder/testing` and its CLI). It imports nothing, so both sides
 * can use it: the handler through its bundle, the testing module at run time.
 *
 * Where it lives:
 * - a pointer: an SSM `String` parameter the construct creates, named
 *   `/cdk-cognito-seeder/<stackName>/<seeder path in the stack>` (see
 *   {@link manifestParameterName}), whose value is a {@link ManifestPointer} as JSON. A test
 *   finds every seeder of a stack with `GetParametersByPath('/cdk-cognito-seeder/<stackName>')`.
 * - the body: items in the stack's ledger table, written by the handler after a Create or
 *   Update succeeded and removed by its Delete, in parts small enough for DynamoDB's 400 KB
 *   item limit, so that a population of any size stays readable:
 *   - `pk = MANIFEST#<owner>`, `sk = <poolId>#HEAD`: attributes `generation` (S),
 *     `parts` (N), `sha256` (S, hex of the whole body);
 *   - `pk = MANIFEST#<owner>`, `sk = <poolId>#PART#<generation>#<nnnnnn>`: attribute
 *     `body` (S), one slice of the body's JSON text.
 *   A reader queries the HEAD, then the parts of its generation, joins the bodies in `sk`
 *   order, checks the SHA-256 and parses a {@link Manifest}.
 */

/** The version of the pointer and body formats. */
export const MANIFEST_VERSION = 1;

/** The prefix of every manifest pointer parameter. */
export const MANIFEST_PARAMETER_PREFIX = '/cdk-cognito-seeder';

/** Where a stack's manifest pointers are: the path for `GetParametersByPath`. */
export function manifestParameterPath(stackName: string): string {
  return `${MANIFEST_PARAMETER_PREFIX}/${stackName}`;
}

/**
 * The pointer parameter of one seeder: the stack's path, then the seeder's construct path
 * inside its stack (e.g. `Users/Seeder`), with any character SSM does not allow in a name
 * replaced by `_`.
 */
export function manifestParameterName(stackName: string, seederPath: string): string {
  const safe = seederPath
    .split('/')
    .map((part) => part.replace(/[^A-Za-z0-9_.-]/g, '_'))
    .join('/');
  return `${manifestParameterPath(stackName)}/${safe}`;
}

/** The value of a pointer parameter (JSON). */
export interface ManifestPointer {
  readonly version: number;
  /** The ledger table that holds the body. */
  readonly table: string;
  /** The seed resource's logical id: the body's owner. */
  readonly owner: string;
  readonly userPoolId: string;
  readonly region: string;
  /** The app client tests sign in with, when the seeder was given one. */
  readonly clientId?: string;
  /** The seeding function, which carries out `repair` and `rearm` (absent before version 0.2 of the construct). */
  readonly functionArn?: string;
}

/** Where a user's password is read. Never the value. */
export type ManifestSource =
  | { readonly type: 'secretsmanager'; readonly secretArn: string; readonly jsonField?: string }
  | { readonly type: 'ssm'; readonly parameterName: string }
  /** `SeedPassword.unsafePlainText`: the value is in the template, which the testing module does not read. */
  | { readonly type: 'plaintext' };

export type ManifestMode = 'PERMANENT' | 'TEMPORARY' | 'RESET_REQUIRED';

/** One seeded user. */
export interface ManifestUser {
  /** The username as seeded (the alias in email or phone username pools). */
  readonly username: string;
  readonly mode: ManifestMode;
  readonly groups: readonly string[];
  /** Index into {@link Manifest.sources}; absent for RESET_REQUIRED users. */
  readonly password?: number;
  /** `true` when the user has a TOTP software token; see {@link Manifest.totpSecretArn} for where its secret is. */
  readonly totp?: boolean;
}

/** The body: what one seeder seeded into one pool. */
export interface Manifest {
  readonly version: number;
  /** The stack that owns the seeder. */
  readonly stackId: string;
  /** The seed resource's logical id. */
  readonly owner: string;
  readonly userPoolId: string;
  readonly region: string;
  readonly clientId?: string;
  /** The CloudFormation request whose success this manifest describes. */
  readonly requestId: string;
  /** Password sources, each once: 10,000 users sharing one secret reference it by index. */
  readonly sources: readonly ManifestSource[];
  /**
   * The Secrets Manager secret holding the TOTP secrets of `totp` users, as
   * `{ "<userPoolId>": { "<username>": "<base32>" } }` (per pool, so a seeder that moves to
   * another pool keeps both until CloudFormation's cleanup settles).
   */
  readonly totpSecretArn?: string;
  /**
   * The name prefix of the per-user TOTP secrets: user `u`'s is
   * `totpUserSecretName(prefix, u)` (lib/private/totp-names.ts), holding
   * `{ "userPoolId", "username", "secret" }`. What a test runner granted one user reads.
   */
  readonly totpUserSecretPrefix?: string;
  readonly users: readonly ManifestUser[];
}

/** The partition key of a seeder's manifest items. */
export function manifestPartitionKey(owner: string): string {
  return `MANIFEST#${owner}`;
}

/** The sort key of a manifest's HEAD item. */
export function manifestHeadKey(userPoolId: string): string {
  return `${userPoolId}#HEAD`;
}

/** The sort-key prefix of one generation's parts. */
export function manifestPartPrefix(userPoolId: string, generation: string): string {
  return `${userPoolId}#PART#${generation}#`;
}

/** The sort key of part `index` of a generation. */
export function manifestPartKey(userPoolId: string, generation: string, index: number): string {
  return `${manifestPartPrefix(userPoolId, generation)}${String(index).padStart(6, '0')}`;
}

/** The most characters of body text in one part (DynamoDB items hold 400 KB; UTF-8 may take 3 bytes a character). */
export const MANIFEST_PART_CHARACTERS = 100_000;

/** Splits a body's JSON text into parts, never between the two halves of a surrogate pair. */
export function splitManifestBody(text: string, partCharacters = MANIFEST_PART_CHARACTERS): string[] {
  const parts: string[] = [];
  let i = 0;
  while (i < text.length) {
    let end = Math.min(i + partCharacters, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    parts.push(text.slice(i, end));
    i = end;
  }
  return parts.length ? parts : [''];
}
