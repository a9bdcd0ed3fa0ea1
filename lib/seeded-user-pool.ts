import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { rememberPool } from './private/known-pools';
import { KnownPool, validateUsers } from './private/validation';
import { SeedUser } from './seed-user';
import { SeedingOptions, UserSeeder } from './user-seeder';

/**
 * Properties of a `SeededUserPool`: those of a `cognito.UserPool`, plus its users.
 */
export interface SeededUserPoolProps extends cognito.UserPoolProps {
  /**
   * The users to seed. Add more with `addUser()`.
   *
   * @default - no users
   */
  readonly users?: SeedUser[];

  /**
   * How the users are seeded. (`removalPolicy` on the pool itself is the pool's own.)
   *
   * @default - users are deleted with the stack, default quotas, existing users fail the deploy
   */
  readonly seeding?: SeedingOptions;
}

/**
 * A Cognito user pool that seeds its own users at deploy time: a `cognito.UserPool`
 * with a `UserSeeder` (`seeder`) that knows its password policy and custom attributes,
 * so plain-text passwords, generated password lengths and attribute names are checked
 * at synth.
 */
export class SeededUserPool extends cognito.UserPool {
  /** The seeder that seeds this pool's users. */
  public readonly seeder: UserSeeder;

  constructor(scope: Construct, id: string, props: SeededUserPoolProps = {}) {
    const facts: KnownPool = {
      passwordPolicy: props.passwordPolicy,
      customAttributes: Object.keys(props.customAttributes ?? {}),
      caseSensitive: poolComparesCase(props),
      mfa: { configuration: props.mfa ?? cognito.Mfa.OFF, otp: props.mfaSecondFactor?.otp === true },
    };
    // Bad users fail before the pool or anything else is created.
    validateUsers(scope.node.path ? `${scope.node.path}/${id}` : id, props.users ?? [], facts);
    super(scope, id, props);
    rememberPool(this, facts);
    this.seeder = new UserSeeder(this, 'Seeder', {
      ...props.seeding,
      userPool: this,
      users: props.users,
    });
  }

  /**
   * Adds a user to seed into this pool.
   */
  public addUser(user: SeedUser): void {
    this.seeder.addUser(user);
  }
}

/** False when the pool compares usernames without case, or its usernames are email aliases. */
function poolComparesCase(props: SeededUserPoolProps): boolean {
  const aliases = props.signInAliases;
  const emailUsername = !!aliases && !aliases.username && !!aliases.email && !aliases.phone;
  return props.signInCaseSensitive !== false && !emailUsername;
}
