/**
 * Where one TOTP user's seed is kept on its own: a Secrets Manager secret the seeding
 * function creates at enrolment and deletes with the user, named from the seeder's prefix
 * and the username. The construct names it in grants, the function writes it and
 * the testing module reads it: all three compute the name here.
 */
import { createHash } from 'crypto';

/** Every per-user TOTP secret's name begins with this, then the stack's name. */
export const TOTP_USER_SECRET_ROOT = 'cdk-cognito-seeder/totp';

/** The length of the hash that names a user's secret under its seeder's prefix. */
export const TOTP_USER_SECRET_HASH_LENGTH = 32;

/**
 * The name of `username`'s TOTP secret under a seeder's `prefix`. The username is hashed:
 * Secrets Manager names allow only `A-Za-z0-9/_+=.@-`, and a username may hold any
 * character (the secret's description names the user). The pool is not in the name (a
 * grant made at synth cannot hash a pool id that is a token); the value names it, and the
 * function deletes a user's secret only when the value is of the pool it is cleaning.
 */
export function totpUserSecretName(prefix: string, username: string): string {
  const hash = createHash('sha256').update(username, 'utf8').digest('hex').slice(0, TOTP_USER_SECRET_HASH_LENGTH);
  return `${prefix}/${hash}`;
}

/** What a per-user TOTP secret holds (as JSON). */
export interface TotpUserSecretValue {
  readonly userPoolId: string;
  readonly username: string;
  /** The base32 TOTP seed. */
  readonly secret: string;
}
