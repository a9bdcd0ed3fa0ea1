import { RemovalPolicy, Token } from 'aws-cdk-lib';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import { PasswordMode } from '../password-mode';
import type { SeedUser } from '../seed-user';
import { passwordPolicyViolations } from './password-policy';

/** What synth knows about the pool a user is seeded into. */
export interface KnownPool {
  /** The password policy as the pool's props set it. */
  readonly passwordPolicy?: cognito.PasswordPolicy;
  /** Names (without `custom:`) of the pool's custom attributes. */
  readonly customAttributes?: readonly string[];
  /** False when the pool compares usernames without case (or they are email aliases). */
  readonly caseSensitive?: boolean;
  /** The pool's MFA setting and whether TOTP is one of its second factors, when known. */
  readonly mfa?: { readonly configuration: string; readonly otp: boolean };
}

/** TOTP users a seeder may hold: their secrets share one Secrets Manager secret (64 KB). */
export const MAX_TOTP_USERS = 500;

/** A username as the pool compares it, as far as synth knows the pool. */
export function usernameKey(username: string, pool?: KnownPool): string {
  return pool?.caseSensitive === false ? username.toLowerCase() : username;
}

/** The standard attributes a seeded user may be given. */
const STANDARD_ATTRIBUTES = new Set([
  'address',
  'birthdate',
  'email',
  'email_verified',
  'family_name',
  'gender',
  'given_name',
  'locale',
  'middle_name',
  'name',
  'nickname',
  'phone_number',
  'phone_number_verified',
  'picture',
  'preferred_username',
  'profile',
  'updated_at',
  'website',
  'zoneinfo',
]);

const MAX_USERNAME_LENGTH = 128;

/** Cognito's default password policy, as aws-cdk-lib's UserPool renders it. */
const DEFAULT_POLICY = {
  minLength: 8,
  requireLowercase: true,
  requireUppercase: true,
  requireDigits: true,
  requireSymbols: true,
};

/** The pool's minimum password length, when synth knows it. */
export function minimumPasswordLength(pool: KnownPool | undefined): number | undefined {
  if (!pool?.passwordPolicy) return pool ? DEFAULT_POLICY.minLength : undefined;
  const min = pool.passwordPolicy.minLength ?? DEFAULT_POLICY.minLength;
  return Token.isUnresolved(min) ? undefined : min;
}

/**
 * Checks one user before anything is created for it. Throws an Error naming the
 * construct path, the user, the rule broken and the fix. Unresolved tokens are skipped.
 */
export function validateUser(path: string, user: SeedUser, pool?: KnownPool): void {
  const username = user.username;
  const who = `${path}: user '${username}'`;
  if (!Token.isUnresolved(username)) {
    if (typeof username !== 'string' || username.length === 0) {
      throw new Error(`${path}: a user has an empty username: give every user a username of 1 to 128 characters.`);
    }
    if ([...username].length > MAX_USERNAME_LENGTH) {
      throw new Error(
        `${who}: the username is ${[...username].length} characters, Cognito allows at most ${MAX_USERNAME_LENGTH}: shorten it.`,
      );
    }
    if (/\s/u.test(username)) {
      throw new Error(`${who}: the username contains whitespace, which Cognito usernames cannot: remove it.`);
    }
    const outside = outsideCognitoName(username);
    if (outside) {
      throw new Error(
        `${who}: the username contains ${outside}, which Cognito usernames cannot (letters, marks, symbols, numbers and punctuation only): remove it.`,
      );
    }
  }
  if (!Object.values(PasswordMode).includes(user.mode)) {
    throw new Error(
      `${who}: mode '${String(user.mode)}' is not a PasswordMode: use PERMANENT, TEMPORARY or RESET_REQUIRED.`,
    );
  }
  if (user.mode !== PasswordMode.RESET_REQUIRED && !user.password) {
    throw new Error(
      `${who}: mode ${user.mode} needs a password: set password to SeedPassword.fromSecret(), fromSsmParameter() or generate().`,
    );
  }
  const attributes = user.attributes ?? {};
  for (const name of Object.keys(attributes)) {
    validateAttributeName(who, name, pool);
  }
  for (const flag of ['email_verified', 'phone_number_verified']) {
    const value = attributes[flag];
    if (value !== undefined && !Token.isUnresolved(value) && value !== 'true' && value !== 'false') {
      throw new Error(`${who}: attribute ${flag} is '${value}', it must be 'true' or 'false': use one of those.`);
    }
  }
  const known = (v?: string) => v !== undefined && !Token.isUnresolved(v);
  // In a pool whose usernames are email addresses (or phone numbers), the username is the
  // address: a verified flag without the attribute is then about the username itself.
  const aliasLike = (pattern: RegExp) => !Token.isUnresolved(username) && pattern.test(username);
  if (
    known(attributes.email_verified) &&
    attributes.email_verified === 'true' &&
    !attributes.email &&
    !aliasLike(/^[^@\s]+@[^@\s]+$/)
  ) {
    throw new Error(
      `${who}: email_verified is 'true' but the user has no email: set attribute email, or remove email_verified.`,
    );
  }
  if (
    known(attributes.phone_number_verified) &&
    attributes.phone_number_verified === 'true' &&
    !attributes.phone_number &&
    !aliasLike(/^\+[1-9]\d{1,14}$/)
  ) {
    throw new Error(
      `${who}: phone_number_verified is 'true' but the user has no phone_number: set attribute phone_number, or remove phone_number_verified.`,
    );
  }
  if (known(attributes.phone_number) && !/^\+[1-9]\d{1,14}$/.test(attributes.phone_number)) {
    throw new Error(
      `${who}: phone_number '${attributes.phone_number}' is not in E.164 form, which Cognito requires: write it as + and the country code and number, digits only (for example +14155550100).`,
    );
  }
  if (user.mfa !== undefined) {
    if ((user.mfa as string) !== 'TOTP') {
      throw new Error(`${who}: mfa '${String(user.mfa)}' is not a SeedMfa: use SeedMfa.TOTP or leave mfa out.`);
    }
    if (user.mode !== PasswordMode.PERMANENT) {
      throw new Error(
        `${who}: mfa TOTP needs mode PERMANENT: a ${user.mode} user cannot sign in to enrol a token. Make the user PERMANENT, or drop mfa.`,
      );
    }
    if (pool?.mfa && (pool.mfa.configuration === 'OFF' || !pool.mfa.otp)) {
      throw new Error(
        `${who}: mfa TOTP needs a pool with MFA OPTIONAL or REQUIRED and TOTP as a second factor, and this pool has ${pool.mfa.configuration === 'OFF' ? 'MFA off' : 'no TOTP second factor'}: set mfa: cognito.Mfa.OPTIONAL (or REQUIRED) and mfaSecondFactor: { otp: true, sms: false } on the pool, or drop mfa from the user.`,
      );
    }
  }
  if (user.mode === PasswordMode.RESET_REQUIRED && !hasVerifiedContact(attributes)) {
    throw new Error(
      `${who}: mode RESET_REQUIRED sends a reset code, so it needs a verified email or phone: set attributes email and email_verified: 'true' (or phone_number and phone_number_verified: 'true').`,
    );
  }
  for (const group of user.groups ?? []) {
    if (!Token.isUnresolved(group) && (group.length === 0 || group.length > 128)) {
      throw new Error(`${who}: group name '${group}' must be 1 to 128 characters: fix the group name.`);
    }
    const outside = Token.isUnresolved(group) ? undefined : outsideCognitoName(group);
    if (outside) {
      throw new Error(
        `${who}: group name '${group}' contains ${outside}, which Cognito group names cannot (letters, marks, symbols, numbers and punctuation only): fix the group name.`,
      );
    }
  }
  const plain = user.password?._plainText;
  if (plain !== undefined && pool && !Token.isUnresolved(plain)) {
    const broken = policyViolations(plain, pool.passwordPolicy);
    if (broken.length > 0) {
      throw new Error(
        `${who}: the plain-text password breaks the pool's password policy, which needs ${broken.join(', ')}: choose a password that meets it.`,
      );
    }
  }
}

/**
 * Checks a list of users, duplicates included (compared exactly, as Cognito stores them),
 * against each other and against the usernames already `taken`.
 */
export function validateUsers(
  path: string,
  users: readonly SeedUser[],
  pool?: KnownPool,
  taken: ReadonlySet<string> = new Set(),
): void {
  const seen = new Map<string, string>();
  const normalForms = new Map<string, string>();
  for (const user of users) {
    validateUser(path, user, pool);
    if (Token.isUnresolved(user.username)) continue;
    const key = usernameKey(user.username, pool);
    const other = seen.get(key) ?? (taken.has(key) ? key : undefined);
    if (other === user.username || (other !== undefined && pool?.caseSensitive !== false)) {
      throw new Error(`${path}: user '${user.username}' is listed twice: list each username once.`);
    }
    if (other !== undefined) {
      throw new Error(
        `${path}: users '${other}' and '${user.username}' are one user in this pool, which compares usernames without case: list it once.`,
      );
    }
    // Cognito compares code points: a composed and a decomposed é are two accounts that read
    // as one name.
    const normal = key.normalize('NFC');
    const twin = normalForms.get(normal);
    if (twin !== undefined) {
      throw new Error(
        `${path}: users '${twin}' and '${user.username}' are the same name written in two Unicode forms (${codePoints(twin)} and ${codePoints(user.username)}), which Cognito keeps as two accounts: write both the same way (NFC: username.normalize('NFC')).`,
      );
    }
    normalForms.set(normal, user.username);
    seen.set(key, user.username);
  }
}

/** The seeder's removal policy: DESTROY or RETAIN. */
export function validateRemovalPolicy(path: string, policy: RemovalPolicy | undefined): void {
  if (policy !== undefined && policy !== RemovalPolicy.DESTROY && policy !== RemovalPolicy.RETAIN) {
    throw new Error(
      `${path}: removalPolicy '${policy}' is not supported for seeded users: use RemovalPolicy.DESTROY or RemovalPolicy.RETAIN.`,
    );
  }
}

/** A positive number, or a token. */
export function validatePositive(path: string, name: string, value: number | undefined): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${path}: ${name} is ${value}, it must be a positive number: raise it.`);
  }
}

function validateAttributeName(who: string, name: string, pool?: KnownPool): void {
  if (Token.isUnresolved(name)) return;
  if (name.startsWith('custom:')) {
    const custom = name.slice('custom:'.length);
    if (custom.length === 0 || custom.length > 20 || /\s/u.test(custom)) {
      throw new Error(
        `${who}: attribute '${name}' is not a valid custom attribute name (custom: followed by 1 to 20 characters, no whitespace): rename it.`,
      );
    }
    if (pool?.customAttributes && !pool.customAttributes.includes(custom)) {
      throw new Error(
        `${who}: attribute '${name}' is not defined by the pool (its custom attributes: ${pool.customAttributes.join(', ') || 'none'}): add it to customAttributes or remove it.`,
      );
    }
    return;
  }
  if (!STANDARD_ATTRIBUTES.has(name)) {
    throw new Error(
      `${who}: attribute '${name}' is not a standard Cognito attribute: use a standard name (such as email or given_name) or prefix a custom one with 'custom:'.`,
    );
  }
}

function hasVerifiedContact(attributes: { [name: string]: string }): boolean {
  const present = (v?: string) => v !== undefined && v !== '';
  const verified = (v?: string) => v !== undefined && (Token.isUnresolved(v) || v === 'true');
  return (
    (present(attributes.email) && verified(attributes.email_verified)) ||
    (present(attributes.phone_number) && verified(attributes.phone_number_verified))
  );
}

function policyViolations(password: string, policy?: cognito.PasswordPolicy): string[] {
  const p = { ...DEFAULT_POLICY, ...stripUndefined(policy ?? {}) };
  return passwordPolicyViolations(password, {
    minimumLength: Token.isUnresolved(p.minLength) ? 0 : p.minLength,
    requireUppercase: p.requireUppercase,
    requireLowercase: p.requireLowercase,
    requireNumbers: p.requireDigits,
    requireSymbols: p.requireSymbols,
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** What Cognito's username and group-name pattern admits: `[\p{L}\p{M}\p{S}\p{N}\p{P}]`. */
const COGNITO_NAME_CHARACTER = /[\p{L}\p{M}\p{S}\p{N}\p{P}]/u;

/** The first character of `name` outside Cognito's names, by code point (often invisible); undefined when none. */
function outsideCognitoName(name: string): string | undefined {
  for (const ch of name) {
    if (COGNITO_NAME_CHARACTER.test(ch)) continue;
    const what = /\p{Cf}/u.test(ch)
      ? 'an invisible format character'
      : /\p{Cc}/u.test(ch)
        ? 'a control character'
        : 'a character';
    return `${what}, ${codePoints(ch)}`;
  }
  return undefined;
}

/** `name` with every character but printable ASCII as U+XXXX, for messages about what cannot be seen. */
function codePoints(name: string): string {
  return [...name]
    .map((ch) => (/^[!-~]$/.test(ch) ? ch : `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`))
    .join(' ');
}
