import { SeedMfa } from './seed-mfa';
import { PasswordMode } from './password-mode';
import { SeedPassword } from './seed-password';

/**
 * A user to seed into a Cognito user pool at deploy time.
 */
export interface SeedUser {
  /**
   * The user's username: 1 to 128 characters, no whitespace. If the pool signs users in
   * by email or phone only, this must be the email address or phone number.
   */
  readonly username: string;

  /**
   * How the password is set, and so the status the user starts in.
   */
  readonly mode: PasswordMode;

  /**
   * Where the password is read at deploy time. Never a string in the template, unless
   * `SeedPassword.unsafePlainText` is chosen.
   *
   * @default - none; required unless `mode` is `PasswordMode.RESET_REQUIRED`
   */
  readonly password?: SeedPassword;

  /**
   * User attributes, by name: standard names such as `email`, `email_verified`,
   * `phone_number`, or `custom:` names that the pool's schema defines.
   *
   * @default - no attributes
   */
  readonly attributes?: { [name: string]: string };

  /**
   * Names of groups of the pool to add the user to. The groups must exist; groups defined
   * in the same stack are created before the users are seeded.
   *
   * @default - no groups
   */
  readonly groups?: string[];

  /**
   * Change this value to set the password again on the next deploy, for example after
   * rotating the secret it comes from. An unchanged user is never touched on update.
   *
   * @default - the password is set when the user is created, or when its source or mode changes
   */
  readonly passwordRevision?: string;

  /**
   * A second factor to enrol at seed time, for pools with MFA optional or required.
   * PERMANENT users only.
   *
   * @default - none: the user signs in with its password alone (in a pool with MFA required, it is asked to set MFA up)
   */
  readonly mfa?: SeedMfa;

  /**
   * ClientMetadata for this user's calls, merged over the seeder's `clientMetadata` (a key
   * set here wins). Sent with the calls that take it, to the pool's Lambda triggers (see
   * the README, "Pools with Lambda triggers"); the seeder adds its marker
   * `cdk-cognito-seeder` to it. Cognito never stores or encrypts it, and every trigger the
   * call runs receives it: never put a secret in it (synth refuses a secret's reference).
   *
   * @default - the seeder's clientMetadata alone
   */
  readonly clientMetadata?: { [key: string]: string };
}
