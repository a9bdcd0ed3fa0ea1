/**
 * The one error type of `cdk-cognito-seeder/testing`. Its message names what failed, where
 * (stack, parameter, table, secret ARN, app client) and what to do; it never holds a
 * password, a TOTP secret or code, or a token.
 */

/** What went wrong, for tests that branch on it. */
export type SeededUsersErrorCode =
  /** No manifest pointer under the stack's path, or none at the given parameter name. */
  | 'NO_MANIFEST'
  /** The stack has several seeders and no `seeder` was given, or the given one is not among them. */
  | 'SEEDER_AMBIGUOUS'
  /** The pointer or the body cannot be read or does not check out (missing parts, SHA-256 mismatch, bad JSON). */
  | 'MANIFEST_UNREADABLE'
  /** The username is not in the manifest. */
  | 'UNKNOWN_USER'
  /** The user has no password to read: RESET_REQUIRED, or `SeedPassword.unsafePlainText`. */
  | 'NO_PASSWORD'
  /** AWS refused a call for lack of permission; the message names the grant. */
  | 'ACCESS_DENIED'
  /** A secret or parameter could not be read, or does not hold what the manifest says. */
  | 'PASSWORD_UNREADABLE'
  /** No app client: neither `clientId` nor the seeder's. */
  | 'NO_CLIENT'
  /** The app client does not allow the sign-in flow, or has a client secret. */
  | 'CLIENT_CONFIGURATION'
  /** Cognito refused the sign-in or a challenge answer. */
  | 'SIGN_IN_FAILED'
  /** Cognito asked for something this module cannot answer (SMS, email OTP, MFA setup, required attributes). */
  | 'UNSUPPORTED_CHALLENGE'
  /** The operation does not apply to this user (rearm of a user that is not TEMPORARY, TOTP of a user without one). */
  | 'NOT_APPLICABLE'
  /** An option is missing or malformed. */
  | 'INVALID_ARGUMENT'
  /** The seeding function would not repair now (a deploy of the seeder is running, or it never applied anything), or the repair failed. */
  | 'REPAIR_FAILED';

/** An error of `cdk-cognito-seeder/testing`. */
export class SeededUsersError extends Error {
  /** What went wrong. */
  readonly code: SeededUsersErrorCode;

  constructor(code: SeededUsersErrorCode, message: string) {
    super(message);
    this.name = 'SeededUsersError';
    this.code = code;
  }
}

/** The name and message of an AWS SDK error (or anything thrown), before any redaction. */
export function awsErrorParts(error: unknown): { readonly name: string; readonly message: string } {
  const e = error as { name?: unknown; message?: unknown } | undefined;
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    message: typeof e?.message === 'string' ? e.message : String(error),
  };
}

/** Whether AWS refused the call for lack of permission (IAM or a key policy). */
export function isAccessDenied(error: unknown): boolean {
  const { name } = awsErrorParts(error);
  return /^(AccessDenied(Exception)?|KMSAccessDeniedException)$/.test(name);
}
