/**
 * How a seeded user's password is set, and so the status the user starts in.
 */
export enum PasswordMode {
  /**
   * `AdminSetUserPassword` with `Permanent: true`: the user is `CONFIRMED` and signs in
   * with the password as it is.
   */
  PERMANENT = 'PERMANENT',

  /**
   * `AdminCreateUser` with a `TemporaryPassword`: the user is `FORCE_CHANGE_PASSWORD` and
   * must choose a new password at the first sign-in (`NEW_PASSWORD_REQUIRED`).
   */
  TEMPORARY = 'TEMPORARY',

  /**
   * `AdminResetUserPassword`: the user is `RESET_REQUIRED` and must complete the
   * forgot-password flow with a code sent to a verified email or phone. Needs no password.
   */
  RESET_REQUIRED = 'RESET_REQUIRED',
}
