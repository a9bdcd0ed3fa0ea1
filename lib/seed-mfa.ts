/**
 * A second factor the seeder enrols for a user at seed time.
 */
export enum SeedMfa {
  /**
   * A TOTP software token (an authenticator app): the seeder signs the user in, associates
   * and verifies a token, and makes it the user's preferred MFA method. Its secret is kept
   * in a Secrets Manager secret the seeder creates, so tests can compute codes
   * (`SeededUsers.totp()` in `cdk-cognito-seeder/testing`). PERMANENT users only; the pool
   * needs MFA `OPTIONAL` or `REQUIRED` with `mfaSecondFactor: { otp: true }`.
   */
  TOTP = 'TOTP',
}
