import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import {
  Annotations,
  ArnFormat,
  Aws,
  Aspects,
  CfnResource,
  CustomResource,
  Duration,
  FileAssetPackaging,
  IAspect,
  Lazy,
  RemovalPolicy,
  Stack,
  Stage,
  Token,
} from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct, IConstruct } from 'constructs';
import {
  ALLOW_SEEDING_CONTEXT,
  FORBIDDEN_ACCOUNTS_CONTEXT,
  FORBIDDEN_STAGES_CONTEXT,
  INLINE_USERS_MAX_BYTES,
  SEED_RESOURCE_TYPE,
  SEED_SERVICE_TIMEOUT_SECONDS,
  TotpProperties,
  SeedResourceProperties,
  SeedUserProperties,
  SiblingProperties,
  UsersFileProperties,
} from './private/contract';
import { knownPool } from './private/known-pools';
import { ClientMetadataMap, renderClientMetadata, validateClientMetadata } from './private/client-metadata';
import { acknowledgeNagRule } from './private/nag';
import { TOTP_USER_SECRET_HASH_LENGTH, TOTP_USER_SECRET_ROOT, totpUserSecretName } from './private/totp-names';
import { SeedFunction, SeedPolicy } from './private/seed-function';
import { SeedQueue } from './private/seed-queue';
import type { SeederLoad } from './private/shared-quota';
import {
  addCreateCalls,
  CallCounts,
  categorySeconds,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_RATES,
  estimateSeconds,
  Rates,
  SEED_BUDGET_SECONDS,
} from './private/time-budget';
import { readUsersFile } from './private/users-file';
import { PasswordMode } from './password-mode';
import { manifestParameterName, manifestParameterPath, manifestPartitionKey } from './private/manifest-format';
import {
  MAX_TOTP_USERS,
  minimumPasswordLength,
  usernameKey,
  validatePositive,
  validateRemovalPolicy,
  validateUsers,
} from './private/validation';
import { passwordReadGrants } from './private/password-grants';
import { SeedPassword, SeedPasswordBinding } from './seed-password';
import { SeedUser } from './seed-user';
import { SeedingFunctionOptions } from './seeding-function-options';

/**
 * Calls per second the seeding function makes in each of Cognito's quota categories.
 * The quotas are per account and region and shared by every pool: leave room for other
 * callers, or raise these where the account's quotas are raised.
 */
export interface SeedRateLimits {
  /**
   * AdminCreateUser (quota category UserCreation).
   *
   * @default 50
   */
  readonly userCreation?: number;

  /**
   * AdminSetUserPassword and AdminResetUserPassword (UserAccountRecovery).
   *
   * @default 30
   */
  readonly accountRecovery?: number;

  /**
   * Attribute updates, group membership changes and user deletes.
   *
   * @default 25
   */
  readonly userWrites?: number;

  /**
   * AdminGetUser, AdminListGroupsForUser, GetGroup and DescribeUserPool.
   *
   * @default 120
   */
  readonly userReads?: number;
}

/**
 * How users are seeded, shared by `UserSeederProps` and `SeededUserPoolProps.seeding`.
 */
export interface SeedingOptions {
  /**
   * What happens to seeded users when they leave the configuration or the stack is
   * deleted: `DESTROY` deletes them, `RETAIN` leaves them in the pool.
   *
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Take over users that already exist in the pool and no seeder holds (set their
   * attributes, password and groups) instead of failing the deploy. The ledger records
   * them as adopted: when they leave the configuration, or the stack is deleted, they
   * are released (left in the pool), never deleted.
   *
   * @default false
   */
  readonly adoptExistingUsers?: boolean;

  /**
   * Record the users `adoptExistingUsers` takes over as this seeder's own, so that they are
   * deleted (after a check of their `sub`) when they leave the configuration or the stack is
   * deleted, like the users it created. Only for taking users back after the ownership
   * ledger was lost, emptied or replaced: deploy once with both options set, then remove
   * them. Every user it adopts this way is one you say is this seeder's to delete.
   *
   * @default false - adopted users are released, never deleted
   */
  readonly deleteAdoptedUsers?: boolean;

  /**
   * Repairs the seeded users on this schedule: each user the seeder holds is put back to
   * what it last applied (a user deleted by hand made again, a disabled one enabled, a
   * changed password set again from its source, a TEMPORARY user back to
   * FORCE_CHANGE_PASSWORD, attributes and groups). An EventBridge rule invokes the seeding
   * function with a repair request; a repair never deletes a user and never touches one
   * the seeder does not hold. It costs at least one AdminGetUser a seeded user (120/s).
   * For example `events.Schedule.cron({ hour: '5', minute: '0' })`: every day at 05:00 UTC.
   *
   * @default - no scheduled repair (repair on demand with `grantRepair` and `cdk-cognito-seeder repair`)
   */
  readonly repairSchedule?: events.Schedule;

  /**
   * Repairs the seeded users when one of their password sources changes: SSM's Parameter
   * Store change events for the parameters they read, and Secrets Manager's
   * `PutSecretValue`, `UpdateSecret` and `RotationSucceeded` for the secrets they read. The
   * new value then reaches Cognito without a deploy. Secrets Manager's events reach
   * EventBridge only through CloudTrail: the account needs a trail that logs management
   * events in the stack's region (without one, only parameter changes start a repair).
   *
   * @default false
   */
  readonly repairOnPasswordChange?: boolean;

  /**
   * The customer managed KMS key for the secrets the seeder makes: each
   * `SeedPassword.generate()` secret and the TOTP secret. The seeding role may then decrypt
   * (and, for the TOTP secret, encrypt) with it through Secrets Manager only, as may the
   * grantees of `grantReadPassword(s)`. For accounts whose rules ask for customer managed
   * keys (HIPAA, NIST 800-53, PCI DSS: SecretsManager using a CMK).
   *
   * @default - the AWS managed key `aws/secretsmanager`
   */
  readonly secretsEncryptionKey?: kms.IKey;

  /**
   * The most users processed at the same time. The seeding function starts with 16 and
   * opens more, up to this, only when Cognito's latency would otherwise cap the configured
   * rates (at 500 ms a call, 30 PERMANENT users a second need about 38 in flight).
   *
   * @default 64
   */
  readonly maxConcurrency?: number;

  /**
   * Calls per second per Cognito quota category.
   *
   * @default - Cognito's default quotas: 50 creations, 30 password calls, 25 other writes, 120 reads
   */
  readonly rateLimits?: SeedRateLimits;

  /**
   * Options for the stack's seeding function, its log group and its ledger: VPC
   * placement, log encryption, retention and removal, reserved concurrency, tracing, a
   * dead-letter queue, a backup plan for the ledger. The function is shared by every
   * seeder of the stack: all of them must pass the same options.
   *
   * @default - not in a VPC, logs kept 30 days with CloudWatch Logs' key and retained on delete, no reserved concurrency, no tracing, no dead-letter queue, the ledger in no backup plan
   */
  readonly seedingFunction?: SeedingFunctionOptions;

  /**
   * The KMS key of the CDK bootstrap assets bucket, when it is encrypted with a customer
   * managed key (`cdk bootstrap --bootstrap-kms-key-id`). A population large enough to
   * travel as a users file is read from that bucket, so the seeding function may then
   * `kms:Decrypt` with this key, only through S3.
   *
   * @default - the bucket's encryption needs no grant (SSE-S3, or the AWS managed aws/s3 key)
   */
  readonly assetsBucketKey?: kms.IKey;

  /**
   * The app client your tests sign in with. Recorded in the manifest, so
   * `SeededUsers.signIn()` (`cdk-cognito-seeder/testing`) needs no client id. It must allow
   * the flow the tests use: `authFlows: { userPassword: true }` or `{ userSrp: true }`.
   *
   * @default - none recorded: tests pass `clientId` to `signIn()`
   */
  readonly signInClient?: cognito.IUserPoolClient;

  /**
   * The stage guard: AWS account ids this seeder must never seed. Checked at synth where
   * the stack's account is known, and at deploy against the seeding function's own
   * account. Added to the context key `cdk-cognito-seeder:forbiddenAccounts`, which a
   * platform team sets for every app. To seed such an account deliberately, deploy with
   * `-c cdk-cognito-seeder:allowSeedingIn=<account id>`.
   *
   * @default - only the accounts in the context key
   */
  readonly forbiddenAccounts?: string[];

  /**
   * The stage guard: names of CDK stages (`cdk.Stage`) in which this seeder must never
   * seed, checked at synth against every stage the seeder is in. Added to the context key
   * `cdk-cognito-seeder:forbiddenStages`. To seed such a stage deliberately, synthesize
   * with `-c cdk-cognito-seeder:allowSeedingIn=<stage name>`.
   *
   * @default - only the stages in the context key
   */
  readonly forbiddenStages?: string[];

  /**
   * ClientMetadata sent with every Cognito call of this seeder that takes it, so the pool's
   * Lambda triggers can tell seeding from a real sign-up: `AdminCreateUser` (pre sign-up
   * trigger), `AdminResetUserPassword` and `AdminUpdateUserAttributes` (custom message
   * trigger), and the sign-in that enrols a TOTP token (`AdminInitiateAuth`,
   * `AdminRespondToAuthChallenge`). Each user's own `clientMetadata` is merged over it, and
   * the seeder always adds the key `cdk-cognito-seeder` (value `seed`), which is reserved.
   *
   * Cognito never stores or encrypts ClientMetadata, and every trigger the call runs
   * receives it: never put a secret in it. Synth refuses a value that resolves to a secret
   * (a `SecretValue`, a `{{resolve:secretsmanager:...}}` or `{{resolve:ssm-secure:...}}`
   * reference, a NoEcho parameter), a key or value over Cognito's 131,072 characters, and
   * a call's map (the marker included) over 131,072 bytes.
   *
   * @default - the marker alone
   */
  readonly clientMetadata?: { [key: string]: string };
}

/**
 * What every user read by `UserSeeder.usersFromFile` shares.
 */
export interface UsersFromFileOptions {
  /**
   * The password of every PERMANENT and TEMPORARY user in the file (a file never holds
   * passwords). Pass one `SeedPassword.generate()` to have the whole population share one
   * generated secret.
   *
   * @default - none: the file's users must all be RESET_REQUIRED
   */
  readonly password?: SeedPassword;

  /**
   * The mode of users whose row gives none.
   *
   * @default - every row must give its mode
   */
  readonly mode?: PasswordMode;

  /**
   * Groups every user of the file joins, besides its own.
   *
   * @default - none
   */
  readonly groups?: string[];

  /**
   * The directory a relative `file` is resolved against. From languages other than
   * TypeScript and JavaScript, pass it (or an absolute path): the app's entry file is
   * then not the app's own.
   *
   * @default - the directory of the app's entry file (`require.main`, the file the
   * `cdk.json` app command runs, e.g. `bin/app.ts`), or the working directory when there is none
   */
  readonly baseDir?: string;
}

/**
 * Properties of a `UserSeeder`.
 */
export interface UserSeederProps extends SeedingOptions {
  /**
   * The pool to seed: one of this app's, or an imported one.
   */
  readonly userPool: cognito.IUserPool;

  /**
   * The users to seed. Add more with `addUser()`.
   *
   * @default - no users
   */
  readonly users?: SeedUser[];

  /**
   * The pool's password policy, so that synth can check plain-text passwords and size
   * generated ones. Known automatically for a `SeededUserPool`.
   *
   * @default - not checked at synth; the seeding function checks every password against the live pool's policy before writing
   */
  readonly passwordPolicy?: cognito.PasswordPolicy;
}

/** Past this many users, a function under LARGE_POPULATION_MB may not hold a slice's work. */
const LARGE_POPULATION_USERS = 40_000;
const LARGE_POPULATION_MB = 512;

interface BoundUser {
  readonly user: SeedUser;
  readonly binding?: SeedPasswordBinding;
}

/**
 * Seeds users into a Cognito user pool at deploy time, through one
 * `Custom::CognitoUserSeed` resource backed by the stack's seeding function.
 *
 * Passwords are read by the function from Secrets Manager or SSM at deploy time and
 * never appear in the template, the resource's properties or its logs. The function's
 * role may call exactly the Cognito operations it needs, on exactly this pool.
 */
export class UserSeeder extends Construct implements iam.IGrantable {
  /**
   * Reads a population kept in a file beside the app: a JSON array of
   * `{ username, mode?, attributes?, groups?, passwordRevision? }`, or a CSV file with a
   * header row (`username`, optional `mode`, `groups` separated by `;`,
   * `passwordRevision`; every other column an attribute). Files never hold passwords:
   * a `password` column is an error; the password comes from `options.password`.
   * Pass the result as `users`, or to `addUser` one by one.
   *
   * @param file path of a `.json` or `.csv` file: absolute, or relative to `options.baseDir`, by default the directory of the app's entry file (not the working directory)
   * @param options what every user of the file shares
   */
  public static usersFromFile(file: string, options: UsersFromFileOptions = {}): SeedUser[] {
    return readUsersFile(file, options);
  }

  /** The pool the users are seeded into. */
  public readonly userPool: cognito.IUserPool;

  /**
   * The role of the stack's seeding function (shared by every seeder in the stack): an
   * escape hatch for what the construct cannot know, such as a customer managed key on
   * the assets bucket (`key.grantDecrypt(seeder)`). Grant it nothing else.
   */
  public readonly seedingRole: iam.IRole;

  /** The seeding function's role, so `key.grantDecrypt(seeder)` and the like work. */
  public readonly grantPrincipal: iam.IPrincipal;

  /**
   * The name of the SSM parameter that points at this seeder's manifest (what it seeded,
   * never a password): `/cdk-cognito-seeder/<stack name>/<seeder path>`.
   * `SeededUsers.load({ stackName })` finds it from the stack name alone.
   */
  public readonly manifestParameterName: string;

  private readonly bound: BoundUser[] = [];
  private readonly usernames = new Set<string>();
  private readonly bindings = new Map<SeedPassword, SeedPasswordBinding>();
  private readonly policy: SeedPolicy;
  private readonly resource: CustomResource;
  private readonly statementKeys = new Set<string>();
  private readonly known;
  private readonly rates: Rates;
  /** Calls a Create of the users makes, per quota category, for the time budget. */
  private readonly createCalls: CallCounts = { create: 0, recovery: 0, write: 0 };
  private inlineUsers?: SeedUserProperties[];
  private inlineSiblings?: SiblingProperties[];
  private usersFile?: UsersFileProperties;
  private tokens?: unknown[];
  private readonly seedFunction: SeedFunction;
  private readonly removalPolicy: RemovalPolicy;
  private readonly secretsEncryptionKey?: kms.IKey;
  private readonly assetsBucketKey?: kms.IKey;
  private readonly manifestParameter: ssm.StringParameter;
  private signInClient?: cognito.IUserPoolClient;
  /** The seeder's ClientMetadata, which each user's is merged over. */
  private readonly clientMetadata: ClientMetadataMap;
  private totp?: {
    readonly secret: secretsmanager.Secret;
    readonly client: cognito.UserPoolClient;
    /** The name prefix of the per-user TOTP secrets the function creates. */
    readonly userSecretPrefix: string;
  };

  constructor(scope: Construct, id: string, props: UserSeederProps) {
    super(scope, id);
    this.known =
      knownPool(props.userPool) ?? (props.passwordPolicy ? { passwordPolicy: props.passwordPolicy } : undefined);
    validateRemovalPolicy(this.node.path, props.removalPolicy);
    if (props.deleteAdoptedUsers && !props.adoptExistingUsers) {
      throw new Error(
        `${this.node.path}: deleteAdoptedUsers is set without adoptExistingUsers: it decides what happens to adopted users, so set adoptExistingUsers: true too (to take users back after the ledger was lost), or drop deleteAdoptedUsers.`,
      );
    }
    validatePositive(this.node.path, 'maxConcurrency', props.maxConcurrency);
    for (const [name, value] of Object.entries(props.rateLimits ?? {})) {
      validatePositive(this.node.path, `rateLimits.${name}`, value as number);
    }
    validateUsers(this.node.path, props.users ?? [], this.known);
    validateClientMetadata(this, this.node.path, props.clientMetadata);
    this.clientMetadata = { ...props.clientMetadata };
    for (const user of props.users ?? []) this.validateUserMetadata(user);
    const forbiddenAccounts = stageGuard(this, props);

    this.userPool = props.userPool;
    this.removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    this.secretsEncryptionKey = props.secretsEncryptionKey;
    this.assetsBucketKey = props.assetsBucketKey;
    this.signInClient = props.signInClient;
    const limits = props.rateLimits ?? {};
    this.rates = {
      create: limits.userCreation ?? DEFAULT_RATES.create,
      recovery: limits.accountRecovery ?? DEFAULT_RATES.recovery,
      write: limits.userWrites ?? DEFAULT_RATES.write,
      read: limits.userReads ?? DEFAULT_RATES.read,
    };
    for (const user of props.users ?? []) this.checkBudget(user);
    const seedFunction = SeedFunction.of(this, props.seedingFunction);
    this.seedFunction = seedFunction;
    this.seedingRole = seedFunction.role;
    this.grantPrincipal = seedFunction.role;
    this.policy = seedFunction.policy(this, 'Policy', [
      new iam.PolicyStatement({
        actions: [
          'cognito-idp:AdminAddUserToGroup',
          'cognito-idp:AdminCreateUser',
          'cognito-idp:AdminDeleteUser',
          'cognito-idp:AdminDeleteUserAttributes',
          // A repair enables a seeded user someone disabled.
          'cognito-idp:AdminEnableUser',
          'cognito-idp:AdminGetUser',
          // A repair finds the groups a seeded user was taken out of.
          'cognito-idp:AdminListGroupsForUser',
          'cognito-idp:AdminRemoveUserFromGroup',
          'cognito-idp:AdminResetUserPassword',
          // Turns off a TOTP token the seeder enrolled, once its user no longer asks for one.
          'cognito-idp:AdminSetUserMFAPreference',
          'cognito-idp:AdminSetUserPassword',
          'cognito-idp:AdminUpdateUserAttributes',
          'cognito-idp:DescribeUserPool',
          'cognito-idp:GetGroup',
          'cognito-idp:ListUsers',
        ],
        resources: [props.userPool.userPoolArn],
      }),
    ]);

    const properties: Record<keyof SeedResourceProperties, unknown> = {
      UserPoolId: props.userPool.userPoolId,
      RemovalPolicy: props.removalPolicy === RemovalPolicy.RETAIN ? 'retain' : 'destroy',
      AdoptExistingUsers: String(props.adoptExistingUsers ?? false),
      // Only when set, so every other seeder's properties (and snapshot) stay as they were.
      DeleteAdoptedUsers: props.deleteAdoptedUsers ? 'true' : undefined,
      MaxConcurrency: String(props.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY),
      Rates: {
        Create: String(this.rates.create),
        Recovery: String(this.rates.recovery),
        Write: String(this.rates.write),
        Read: String(this.rates.read),
      },
      Users: Lazy.any({ produce: () => this.inlineUsers }, { omitEmptyArray: false }),
      Siblings: Lazy.any({ produce: () => this.inlineSiblings }, { omitEmptyArray: true }),
      UsersFile: Lazy.any({ produce: () => this.usersFile }),
      Tokens: Lazy.any({ produce: () => this.tokens }),
      ClientId: Lazy.string({ produce: () => this.signInClient?.userPoolClientId }),
      Totp: Lazy.any({
        produce: (): TotpProperties | undefined =>
          this.totp && {
            SecretArn: this.totp.secret.secretArn,
            ClientId: this.totp.client.userPoolClientId,
            UserSecretPrefix: this.totp.userSecretPrefix,
            KmsKeyId: this.secretsEncryptionKey?.keyArn,
          },
      }),
      ForbiddenAccounts: forbiddenAccounts.length > 0 ? forbiddenAccounts : undefined,
      ClientMetadata: renderClientMetadata(props.clientMetadata),
      StateMachineArn: seedFunction.stateMachine.stateMachineArn,
    };
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: seedFunction.function.functionArn,
      resourceType: SEED_RESOURCE_TYPE,
      // CloudFormation's maximum: a long request runs in slices on the stack's state machine.
      serviceTimeout: Duration.seconds(SEED_SERVICE_TIMEOUT_SECONDS),
      properties,
    });
    // On delete, the users go before the permissions to delete them, and before the ledger.
    this.resource.node.addDependency(this.policy);
    this.resource.node.addDependency(seedFunction.ledger);
    this.resource.node.addDependency(seedFunction.enginePolicy, seedFunction.failureAnswerEnginePolicy);
    Aspects.of(this).add(new DependOnGroups(this.resource, props.userPool));
    // The seeders of a stack share the account's quotas: each runs after the one made before it.
    SeedQueue.of(this).add(this.resource, () => this.load());

    // The manifest's pointer: published after the seed resource, which writes the manifest.
    const stack = Stack.of(this);
    this.manifestParameterName = manifestParameterName(
      stack.stackName,
      this.node.path.slice(stack.node.path.length + 1),
    );
    this.manifestParameter = new ssm.StringParameter(this, 'Manifest', {
      parameterName: this.manifestParameterName,
      description: `Where the manifest of the users ${this.node.path} seeded is (no passwords): read by cdk-cognito-seeder/testing`,
      stringValue: stack.toJsonString({
        version: 1,
        table: seedFunction.ledger.tableName,
        owner: this.ownerLogicalId(),
        userPoolId: props.userPool.userPoolId,
        region: stack.region,
        clientId: Lazy.string({ produce: () => this.signInClient?.userPoolClientId }),
        // What users.repair() and rearm() invoke (with grantRepair / grantRearm).
        functionArn: seedFunction.function.functionArn,
      }),
    });
    this.manifestParameter.node.addDependency(this.resource);
    Aspects.of(this).add({ visit: (node) => node === this.resource && this.placeUsers() });

    for (const user of props.users ?? []) this.bind(user);

    if (props.repairSchedule) {
      new events.Rule(this, 'RepairSchedule', {
        description: `Repairs the users ${this.node.path} seeded (cdk-cognito-seeder)`,
        schedule: props.repairSchedule,
        targets: [this.repairTarget()],
      });
    }
    if (props.repairOnPasswordChange) {
      // Once every user is bound: the rules match the sources of all of them.
      let added = false;
      Aspects.of(this).add({
        visit: (node) => {
          if (node !== this.resource || added) return;
          added = true;
          this.addPasswordChangeRules();
        },
      });
    }
  }

  /**
   * The usernames seeded so far, in the order they were added.
   */
  public get users(): string[] {
    return this.bound.map((u) => u.user.username);
  }

  /**
   * Records the app client your tests sign in with in the manifest (as the `signInClient`
   * prop does), for a client made after the seeder, such as one added to a
   * `SeededUserPool` with `addClient()`.
   *
   * @param client an app client of this seeder's pool
   */
  public useSignInClient(client: cognito.IUserPoolClient): void {
    if (this.signInClient && this.signInClient !== client) {
      throw new Error(
        `${this.node.path}: a sign-in client is set already (${this.signInClient.node.path}): a seeder records one; set it once.`,
      );
    }
    this.signInClient = client;
  }

  /**
   * Adds a user to seed. Throws if the user is invalid or its username is taken.
   */
  public addUser(user: SeedUser): void {
    validateUsers(this.node.path, [user], this.known, this.usernames);
    this.validateUserMetadata(user);
    this.checkBudget(user);
    this.bind(user);
  }

  /**
   * The secret a user's password lives in: the generated one for `SeedPassword.generate()`,
   * or the given one for `SeedPassword.fromSecret()`. A test runner reads the password
   * from it (see `grantReadPasswords`).
   *
   * @param username the seeded user's username
   */
  public passwordSecret(username: string): secretsmanager.ISecret {
    const bound = this.bound.find((u) => u.user.username === username);
    if (!bound) {
      throw new Error(
        `${this.node.path}: no seeded user '${username}' (users: ${this.bound.map((u) => u.user.username).join(', ') || 'none'}): pass the username of a seeded user.`,
      );
    }
    if (!bound.binding?.secret) {
      throw new Error(
        `${this.node.path}: the password of user '${username}' is not stored in a secret: ${passwordSourceName(bound)}. Only users whose password is SeedPassword.generate() or fromSecret() have one; grantReadPasswords() covers SSM parameters too.`,
      );
    }
    return bound.binding.secret;
  }

  /**
   * Lets `grantee` read one user's password: `secretsmanager:GetSecretValue` on its secret
   * or `ssm:GetParameter` on its parameter, and `kms:Decrypt` on a key the construct knows
   * only through that service. IAM cannot narrow a grant to one JSON field: a password
   * kept in one field of a larger secret grants the whole secret (synth warns).
   *
   * @param username the seeded user's username
   * @param grantee who may read, for example a test runner's role
   */
  public grantReadPassword(username: string, grantee: iam.IGrantable): iam.Grant {
    const bound = this.boundUser(username);
    if (!bound.binding?.secret && !bound.binding?.parameter) {
      throw new Error(
        `${this.node.path}: user '${username}' has no stored password to grant (mode ${bound.user.mode}${bound.binding ? ', unsafePlainText' : ''}): only users with SeedPassword.fromSecret(), fromSsmParameter() or generate() have one.`,
      );
    }
    const grant = this.grantBinding(bound.binding, grantee).combine(this.grantReadManifest(grantee));
    return bound.user.mfa ? grant.combine(this.grantReadTotp(grantee, username)) : grant;
  }

  /**
   * Lets `grantee` read the password of every user of this seeder, those added after this
   * call included (resolved at synth): exactly what `grantReadPassword` grants, per store.
   *
   * @param grantee who may read, for example a test runner's role
   */
  public grantReadPasswords(grantee: iam.IGrantable): iam.Grant {
    const granted = new Set<SeedPasswordBinding>();
    const grantAll = (): iam.Grant[] => {
      const grants: iam.Grant[] = [];
      for (const { binding } of this.bound) {
        if (!binding || granted.has(binding) || (!binding.secret && !binding.parameter)) continue;
        granted.add(binding);
        grants.push(this.grantBinding(binding, grantee));
      }
      return grants;
    };
    // Users added after this call are granted when synth visits the seed resource.
    Aspects.of(this).add({ visit: (node) => node === this.resource && grantAll() });
    const now = grantAll();
    // TOTP secrets too, for TOTP users added later as well.
    let totpGranted = false;
    const grantTotp = (): void => {
      if (this.totp && !totpGranted) {
        totpGranted = true;
        this.grantReadTotp(grantee);
      }
    };
    Aspects.of(this).add({ visit: (node) => node === this.resource && grantTotp() });
    grantTotp();
    return now.reduce((all, grant) => all.combine(grant), this.grantReadManifest(grantee));
  }

  /**
   * Lets `grantee` read this seeder's manifest (usernames, modes, groups, where passwords
   * live; never a password): `ssm:GetParameter` on its pointer parameter,
   * `ssm:GetParametersByPath` on the stack's manifest path, and `dynamodb:Query` on the
   * stack's ledger table limited to this seeder's manifest items (`dynamodb:LeadingKeys`).
   * `grantReadPassword`, `grantReadPasswords` and `grantRearm` include it.
   *
   * @param grantee who may read, for example a test runner's role
   */
  public grantReadManifest(grantee: iam.IGrantable): iam.Grant {
    const stack = Stack.of(this);
    const parameters = iam.Grant.addToPrincipal({
      grantee,
      actions: ['ssm:GetParameter'],
      resourceArns: [this.manifestParameter.parameterArn],
    }).combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['ssm:GetParametersByPath'],
        resourceArns: [
          stack.formatArn({
            service: 'ssm',
            resource: 'parameter',
            resourceName: manifestParameterPath(stack.stackName).slice(1),
            arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
          }),
        ],
      }),
    );
    const query = iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: [this.seedFunction.ledger.tableArn],
      conditions: {
        'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [`${MANIFEST_KEY_PREFIX}${this.ownerLogicalId()}`] },
      },
    });
    return parameters.combine(query);
  }

  /**
   * Lets `grantee` ask the seeding function for a repair (`SeededUsers.repair()` in
   * `cdk-cognito-seeder/testing`, `cdk-cognito-seeder repair`): `lambda:InvokeFunction` on
   * the stack's seeding function, and what `grantReadManifest` grants. Nothing on the pool:
   * the function does the repair, and a repair can only put back what the seeder last
   * applied (it names no password, no source, no user the seeder does not hold).
   *
   * @param grantee who may ask for repairs, for example a test runner's role or a pipeline
   */
  public grantRepair(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['lambda:InvokeFunction'],
      resourceArns: [this.seedFunction.function.functionArn],
    }).combine(this.grantReadManifest(grantee));
  }

  /**
   * Lets `grantee` put a TEMPORARY user back into FORCE_CHANGE_PASSWORD with its seeded
   * password (`SeededUsers.rearm()` in `cdk-cognito-seeder/testing`), so every run of a
   * first-sign-in test starts the same. A re-arm is a repair of that user, done by the
   * seeding function: `grantee` gets what `grantRepair` grants (invoking the function,
   * nothing on the pool, so it cannot set a password of its choice), and what
   * `grantReadPassword` grants for every TEMPORARY user, those added later included, to
   * sign in afterwards.
   *
   * @param grantee who may re-arm users, for example a test runner's role
   */
  public grantRearm(grantee: iam.IGrantable): iam.Grant {
    const granted = new Set<SeedPasswordBinding>();
    const grantTemporary = (): void => {
      for (const { user, binding } of this.bound) {
        if (user.mode !== PasswordMode.TEMPORARY || !binding || granted.has(binding)) continue;
        if (!binding.secret && !binding.parameter) continue;
        granted.add(binding);
        this.grantBinding(binding, grantee);
      }
    };
    Aspects.of(this).add({ visit: (node) => node === this.resource && grantTemporary() });
    grantTemporary();
    return this.grantRepair(grantee);
  }

  /** The function, asked for a repair of this seeder's users, without waiting for its report. */
  private repairTarget(): targets.LambdaFunction {
    return new targets.LambdaFunction(this.seedFunction.function, {
      event: events.RuleTargetInput.fromObject({ kind: 'repair', seeder: this.ownerLogicalId(), waitSeconds: 0 }),
      retryAttempts: 2,
    });
  }

  /** Rules that start a repair when a parameter or secret a user's password comes from changes. */
  private addPasswordChangeRules(): void {
    const parameters = new Map<string, ssm.IParameter>();
    const secrets = new Map<string, secretsmanager.ISecret>();
    for (const { binding } of this.bound) {
      if (binding?.parameter) parameters.set(binding.parameter.node.path, binding.parameter);
      if (binding?.secret) secrets.set(binding.secret.node.path, binding.secret);
    }
    if (parameters.size > 0) {
      new events.Rule(this, 'RepairOnParameterChange', {
        description: `Repairs the users ${this.node.path} seeded when a parameter their passwords come from changes`,
        eventPattern: {
          source: ['aws.ssm'],
          detailType: ['Parameter Store Change'],
          detail: {
            name: [...parameters.values()].map((p) => p.parameterName),
            operation: ['Create', 'Update'],
          },
        },
        targets: [this.repairTarget()],
      });
    }
    if (secrets.size > 0) {
      // A call may name the secret by its ARN or its name; rotation names its ARN.
      const ids = [...secrets.values()].flatMap((x) => [x.secretArn, x.secretName]);
      new events.Rule(this, 'RepairOnSecretChange', {
        description: `Repairs the users ${this.node.path} seeded when a secret their passwords come from changes (CloudTrail)`,
        eventPattern: {
          source: ['aws.secretsmanager'],
          detail: {
            eventSource: ['secretsmanager.amazonaws.com'],
            eventName: ['PutSecretValue', 'UpdateSecret', 'RotationSucceeded'],
            $or: [
              { requestParameters: { secretId: ids } },
              { additionalEventData: { SecretId: [...secrets.values()].map((x) => x.secretArn) } },
            ],
          } as Record<string, unknown>,
        },
        targets: [this.repairTarget()],
      });
    }
  }

  /**
   * Reading TOTP seeds: one user's own secret when `username` is given, else the secret
   * that holds every TOTP user's seed (one read for all).
   */
  private grantReadTotp(grantee: iam.IGrantable, username?: string): iam.Grant {
    if (!this.totp) return iam.Grant.drop(grantee, 'no TOTP users');
    const read = iam.Grant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:GetSecretValue'],
      resourceArns: [
        username === undefined
          ? this.totp.secret.secretArn
          : this.totpUserSecretArn(totpUserSecretName(this.totp.userSecretPrefix, username)),
      ],
    });
    const key = this.totp.secret.encryptionKey;
    if (!key) return read;
    return read.combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['kms:Decrypt'],
        resourceArns: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com` } },
      }),
    );
  }

  /**
   * The ARN of a per-user TOTP secret, or of every one when `name` ends in `?`s: Secrets
   * Manager appends a dash and six characters to a secret's name.
   */
  private totpUserSecretArn(name: string): string {
    return Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${name}-??????`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /** The seed resource's logical id: the ledger's owner of its users. */
  private ownerLogicalId(): string {
    return (this.resource.node.defaultChild as CfnResource).logicalId;
  }

  /**
   * The TOTP secret and enrolment client, made with the first TOTP user: the function may
   * write exactly that secret, and the per-user secrets under this seeder's prefix, and
   * sign users in through exactly that client.
   */
  private enableTotp(): void {
    if (this.totp) return;
    // Unique to this seeder in its account and region: the stack's name and the seeder's path.
    const userSecretPrefix = `${TOTP_USER_SECRET_ROOT}/${Stack.of(this).stackName}/${this.node.addr}`;
    const secret = new secretsmanager.Secret(this, 'TotpSecrets', {
      description: `TOTP secrets of the users ${this.node.path} enrolled (written by the seeding function; read by tests)`,
      // A placeholder the function replaces; it ignores anything but pool entries.
      generateSecretString: { secretStringTemplate: '{}', generateStringKey: 'placeholder', excludePunctuation: true },
      removalPolicy: this.removalPolicy,
      encryptionKey: this.secretsEncryptionKey,
    });
    // Rotating it would break every enrolled token: the seeding function is its only writer.
    // Acknowledged here, with the reason, so it is recorded in the assembly for auditors.
    acknowledgeNagRule(
      secret,
      'AwsSolutions-SMG4',
      'Holds the TOTP seeds the seeding function writes at enrolment; rotating it would break every enrolled token.',
    );
    for (const rule of [
      'HIPAA.Security-SecretsManagerRotationEnabled',
      'NIST.800.53.R5-SecretsManagerRotationEnabled',
    ]) {
      acknowledgeNagRule(
        secret,
        rule,
        'Holds the TOTP seeds the seeding function writes at enrolment; rotating it would break every enrolled token.',
      );
    }
    const client = new cognito.UserPoolClient(this, 'TotpEnrolmentClient', {
      userPool: this.userPool,
      authFlows: { adminUserPassword: true },
      generateSecret: false,
      // Sign-in through the admin API only: no hosted UI, no redirect URLs.
      disableOAuth: true,
    });
    this.policy.addStatements(
      new iam.PolicyStatement({
        actions: ['cognito-idp:AdminInitiateAuth', 'cognito-idp:AdminRespondToAuthChallenge'],
        resources: [this.userPool.userPoolArn],
      }),
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
        resources: [secret.secretArn],
      }),
      // One secret per TOTP user, so a grant for one user reads that user's seed only. The
      // function creates them (CloudFormation could make at most a few hundred in a stack),
      // and deletes them with their users: exactly the names of this prefix and hash length,
      // no `*`.
      new iam.PolicyStatement({
        actions: [
          'secretsmanager:CreateSecret',
          'secretsmanager:DeleteSecret',
          'secretsmanager:GetSecretValue',
          'secretsmanager:PutSecretValue',
          'secretsmanager:RestoreSecret',
        ],
        resources: [this.totpUserSecretArn(`${userSecretPrefix}/${'?'.repeat(TOTP_USER_SECRET_HASH_LENGTH)}`)],
      }),
    );
    if (this.secretsEncryptionKey) this.addStatementOnce(encryptThroughSecretsManager(this.secretsEncryptionKey));
    this.totp = { secret, client, userSecretPrefix };
  }

  private grantBinding(binding: SeedPasswordBinding, grantee: iam.IGrantable): iam.Grant {
    if (binding.jsonField !== undefined) {
      Annotations.of(this).addWarningV2(
        'cdk-cognito-seeder:grantWholeSecret',
        `${this.node.path}: a password kept in field '${binding.jsonField}' of a secret is granted as the whole secret (IAM cannot grant one field): every other field of it is readable too. Keep test passwords in a secret of their own.`,
      );
    }
    return passwordReadGrants(binding)
      .map((options) => iam.Grant.addToPrincipal({ grantee, ...options }))
      .reduce((all, grant) => all.combine(grant));
  }

  private boundUser(username: string): BoundUser {
    const bound = this.bound.find((u) => u.user.username === username);
    if (!bound) {
      throw new Error(
        `${this.node.path}: no seeded user '${username}' (users: ${this.bound.map((u) => u.user.username).join(', ') || 'none'}): pass the username of a seeded user.`,
      );
    }
    return bound;
  }

  /** Fails synth, naming the user, when its clientMetadata (over the seeder's) is refused. */
  private validateUserMetadata(user: SeedUser): void {
    validateClientMetadata(
      this,
      `${this.node.path}: user '${user.username}'`,
      user.clientMetadata,
      this.clientMetadata,
    );
  }

  /**
   * Fails synth, naming the user, when the population's Create or its Delete could not
   * finish while CloudFormation waits for the resource (across invocations).
   */
  private checkBudget(user: SeedUser): void {
    addCreateCalls(this.createCalls, user.mode, user.groups?.length ?? 0);
    const { create, recovery, write } = this.rates;
    if ([create, recovery, write].some((r) => Token.isUnresolved(r))) return;
    const budget = SEED_BUDGET_SECONDS;
    const seconds = estimateSeconds(this.createCalls, this.rates);
    const calls = this.createCalls;
    const fix = `Raise rateLimits if your account's Cognito quotas are raised, or split the users across seeders: the seeders of one stack run one after another, each with its own 3,600 s.`;
    if (seconds > budget) {
      throw new Error(
        `${this.node.path}: user '${user.username}' takes the population past what one resource can create: ${calls.create} AdminCreateUser at ${create}/s, ${calls.recovery} password calls at ${recovery}/s, ${calls.write} group writes at ${write}/s need about ${Math.ceil(seconds)} s, and CloudFormation waits ${budget} s for it (its ServiceTimeout, less the margins). ${fix}`,
      );
    }
    // A Delete makes one AdminDeleteUser per user, at the UserUpdate quota.
    const deleteSeconds = calls.create / write;
    if (deleteSeconds > budget) {
      throw new Error(
        `${this.node.path}: user '${user.username}' takes the population past what one resource can delete: ${calls.create} AdminDeleteUser at ${write}/s (userWrites) need about ${Math.ceil(deleteSeconds)} s, and CloudFormation waits ${budget} s for it (its ServiceTimeout, less the margins). ${fix}`,
      );
    }
  }

  /** What this seeder's Create and Delete take at its rates, for the note on stacks that seed together. */
  private load(): SeederLoad | undefined {
    const { create, recovery, write } = this.rates;
    if ([create, recovery, write].some((r) => Token.isUnresolved(r))) return undefined;
    return {
      path: this.node.path,
      create: categorySeconds(this.createCalls, this.rates),
      // A Delete makes one AdminDeleteUser per user, at the UserUpdate quota.
      delete: this.createCalls.create / write,
    };
  }

  /**
   * Decides, at synth, how the users travel: inline when small; otherwise as a JSON file
   * asset whose location and hash the properties carry, with every token of the users
   * (a generated secret's ARN, a group's name) kept in `Tokens` for CloudFormation to
   * resolve. The other seeders of the stack on the same pool travel with them, so the
   * handler hands a moved user over instead of deleting it.
   */
  private placeUsers(): void {
    if (this.bound.length > MAU_FREE_TIER) {
      Annotations.of(this).addInfo(
        `${this.node.path}: seeds ${this.bound.length} users. Each counts as a monthly active user (MAU) in every month it is seeded, updated or signed in as; Cognito's Lite and Essentials plans include ${MAU_FREE_TIER.toLocaleString('en-US')} MAUs a month per account, and Plus none. See the README's "What seeding costs".`,
      );
    }
    const memory = this.seedFunction.memorySize;
    if (this.bound.length > LARGE_POPULATION_USERS && !Token.isUnresolved(memory) && memory < LARGE_POPULATION_MB) {
      Annotations.of(this).addWarningV2(
        'cdk-cognito-seeder:memory',
        `${this.node.path}: seeds ${this.bound.length} users with seedingFunction.memorySize ${memory}. A request's slice holds every user and ledger record at once: 80,000 users peaked at 277 MB (measured), past a 256 MB function. Give it ${LARGE_POPULATION_MB} MB or more (the default is 1,024).`,
      );
    }
    const stack = Stack.of(this);
    const rendered = this.bound.map((u) => renderUser(u));
    const siblings = this.siblings();
    // A file holds the users alone, or, when the stack has siblings on the pool, both.
    const resolved = stack.resolve(siblings.length > 0 ? { Users: rendered, Siblings: siblings } : rendered);
    if (Buffer.byteLength(JSON.stringify(resolved)) <= INLINE_USERS_MAX_BYTES) {
      this.inlineUsers = rendered;
      this.inlineSiblings = siblings;
      return;
    }
    const tokens: unknown[] = [];
    const indexes = new Map<string, number>();
    const text = JSON.stringify(
      replaceIntrinsics(resolved, (intrinsic) => {
        const key = JSON.stringify(intrinsic);
        let index = indexes.get(key);
        if (index === undefined) {
          index = tokens.push(intrinsic) - 1;
          indexes.set(key, index);
        }
        return { $token: index };
      }),
    );
    // Staged in the cloud assembly as a file asset, like any asset: nothing is left behind
    // in a temporary directory, and the same users make the same file name on every synth.
    const sha256 = createHash('sha256').update(text).digest('hex');
    const fileName = `asset.${sha256}.json`;
    const assemblyFile = path.join(Stage.of(this)!.outdir, fileName);
    if (!fs.existsSync(assemblyFile)) fs.writeFileSync(assemblyFile, text);
    const location = stack.synthesizer.addFileAsset({
      fileName,
      packaging: FileAssetPackaging.FILE,
      sourceHash: sha256,
    });
    const objectArn = stack.formatArn({
      service: 's3',
      region: '',
      account: '',
      resource: location.bucketName,
      resourceName: location.objectKey,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    this.usersFile = {
      Bucket: location.bucketName,
      Key: location.objectKey,
      ObjectArn: objectArn,
      Sha256: sha256,
    };
    this.tokens = tokens;
    this.policy.addStatements(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [objectArn] }));
    if (this.assetsBucketKey) {
      this.policy.addStatements(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [this.assetsBucketKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` } },
        }),
      );
    }
  }

  /**
   * The other seeders of this stack on the same pool, and their usernames. Fails synth
   * when two of them list one user: a user belongs to one seeder.
   */
  private siblings(): SiblingProperties[] {
    const stack = Stack.of(this);
    const poolId = JSON.stringify(stack.resolve(this.userPool.userPoolId));
    const mine = new Map(this.usernameList().map((u) => [usernameKey(u, this.known), u]));
    const siblings: SiblingProperties[] = [];
    for (const other of stack.node.findAll()) {
      if (!(other instanceof UserSeeder) || other === this || Stack.of(other) !== stack) continue;
      if (JSON.stringify(stack.resolve(other.userPool.userPoolId)) !== poolId) continue;
      const usernames = other.usernameList();
      for (const u of usernames) {
        const clash = mine.get(usernameKey(u, this.known));
        if (clash !== undefined) {
          throw new Error(
            `${this.node.path}: user '${clash}' is also seeded by ${other.node.path} into the same pool: a user belongs to one seeder; list it in one of them.`,
          );
        }
      }
      const cfn = other.resource.node.defaultChild as CfnResource;
      siblings.push({ Owner: stack.resolve(cfn.logicalId), Usernames: usernames });
    }
    return siblings;
  }

  /**
   * Rotates a generated secret with the seeding function (lambda/rotation.ts): the schedule,
   * Secrets Manager's permission to invoke, and the steps' permissions on exactly this secret.
   */
  private rotate(secret: secretsmanager.Secret, after: Duration): void {
    if (secret.node.tryFindChild('Rotation')) return;
    const permission = this.seedFunction.allowRotation();
    const schedule = new secretsmanager.CfnRotationSchedule(secret, 'Rotation', {
      secretId: secret.secretArn,
      rotationLambdaArn: this.seedFunction.function.functionArn,
      rotationRules: { automaticallyAfterDays: after.toDays() },
      // Never while the stack deploys: the seed resource sets the first password.
      rotateImmediatelyOnUpdate: false,
    });
    schedule.node.addDependency(permission, this.policy);
    this.policy.addStatements(
      new iam.PolicyStatement({
        actions: [
          'secretsmanager:DescribeSecret',
          'secretsmanager:PutSecretValue',
          'secretsmanager:UpdateSecretVersionStage',
        ],
        resources: [secret.secretArn],
      }),
    );
    if (secret.encryptionKey) this.addStatementOnce(encryptThroughSecretsManager(secret.encryptionKey));
  }

  private usernameList(): string[] {
    return this.bound.map((u) => u.user.username);
  }

  private bind(user: SeedUser): void {
    let binding = user.password ? this.bindings.get(user.password) : undefined;
    if (user.password && !binding) {
      binding = user.password._bind(this, {
        username: user.username,
        minimumLength: minimumPasswordLength(this.known),
        path: this.node.path,
        encryptionKey: this.secretsEncryptionKey,
      });
      this.bindings.set(user.password, binding);
      if (binding.rotateAfter && binding.secret instanceof secretsmanager.Secret) {
        this.rotate(binding.secret, binding.rotateAfter);
      }
    }
    if (user.mfa !== undefined) {
      const count = this.bound.filter((u) => u.user.mfa !== undefined).length + 1;
      if (count > MAX_TOTP_USERS) {
        throw new Error(
          `${this.node.path}: user '${user.username}' is TOTP user number ${count}, and one seeder keeps at most ${MAX_TOTP_USERS} TOTP secrets (one Secrets Manager secret of 64 KB): split TOTP users across seeders.`,
        );
      }
      this.enableTotp();
    }
    this.usernames.add(usernameKey(user.username, this.known));
    // A password shared by many users is one grant, not one per user.
    for (const statement of binding?.statements ?? []) this.addStatementOnce(statement);
    this.bound.push({ user, binding });
  }

  /** Adds `statement` to the seeder's policy unless an identical one is there. */
  private addStatementOnce(statement: iam.PolicyStatement): void {
    const key = JSON.stringify(Stack.of(this).resolve(statement.toStatementJson()));
    if (this.statementKeys.has(key)) return;
    this.statementKeys.add(key);
    this.policy.addStatements(statement);
  }
}

/** Encrypting and decrypting with `key` through Secrets Manager only, as Secret.grantRead and grantWrite do. */
function encryptThroughSecretsManager(key: kms.IKey): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
    resources: [key.keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com` } },
  });
}

/** Where a user's password comes from, in words, for messages. */
function passwordSourceName({ user, binding }: BoundUser): string {
  if (!binding) return `it has none (mode ${user.mode})`;
  const source = binding.source;
  if (source.Source === 'ssm') return 'it comes from an SSM parameter (SeedPassword.fromSsmParameter)';
  if (source.Source === 'plaintext') return 'it is in the template (SeedPassword.unsafePlainText)';
  return `it comes from ${source.Source}`;
}

/** Replaces every CloudFormation intrinsic (`Ref`, `Fn::*`) in a resolved value. */
function replaceIntrinsics(value: unknown, replace: (intrinsic: unknown) => unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => replaceIntrinsics(v, replace));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) return replace(value);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceIntrinsics(v, replace)]));
}

function renderUser({ user, binding }: BoundUser): SeedUserProperties {
  const attributes = user.attributes ?? {};
  const groups = user.groups ?? [];
  const clientMetadata = renderClientMetadata(user.clientMetadata);
  return {
    Username: user.username,
    Mode: user.mode,
    ...(binding ? { Password: binding.source } : {}),
    ...(Object.keys(attributes).length > 0 ? { Attributes: { ...attributes } } : {}),
    ...(groups.length > 0 ? { Groups: [...groups] } : {}),
    ...(user.passwordRevision !== undefined ? { PasswordRevision: user.passwordRevision } : {}),
    ...(user.mfa !== undefined ? { Mfa: user.mfa } : {}),
    ...(clientMetadata ? { ClientMetadata: clientMetadata } : {}),
  };
}

/**
 * Makes the seed resource depend on every group of its pool defined in the same stack,
 * so that members are added after their groups exist (and removed before them).
 */
class DependOnGroups implements IAspect {
  constructor(
    private readonly resource: CustomResource,
    private readonly userPool: cognito.IUserPool,
  ) {}

  public visit(node: IConstruct): void {
    if (node !== this.resource) return;
    const stack = Stack.of(this.resource);
    const poolId = JSON.stringify(stack.resolve(this.userPool.userPoolId));
    for (const construct of stack.node.findAll()) {
      if (!(construct instanceof cognito.CfnUserPoolGroup)) continue;
      // A group in a nested stack resolves differently; only this stack's groups count.
      if (Stack.of(construct) !== stack) continue;
      if (JSON.stringify(stack.resolve(construct.userPoolId)) === poolId) {
        this.resource.node.addDependency(construct);
      }
    }
  }
}

/** Monthly active users included free on Cognito's Lite and Essentials plans, per account. */
const MAU_FREE_TIER = 10_000;

/** The prefix of a seeder's manifest items in the ledger (testing/manifest-format.ts). */
const MANIFEST_KEY_PREFIX = manifestPartitionKey('');

/**
 * The stage guard at synth: fails when the seeder's stack is in a forbidden account (when
 * known) or one of its stages is forbidden, unless allowed by name. Returns the forbidden
 * accounts the function checks at deploy (its own account, always known there).
 */
function stageGuard(seeder: Construct, props: SeedingOptions): string[] {
  const node = seeder.node;
  const list = (value: unknown): string[] => {
    if (value === undefined || value === null) return [];
    if (Array.isArray(value)) return value.map((v) => String(v).trim()).filter((v) => v !== '');
    const text = String(value).trim();
    if (text.startsWith('[')) return list(JSON.parse(text));
    return text
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
  };
  const allowed = new Set(list(node.tryGetContext(ALLOW_SEEDING_CONTEXT)));
  const accounts = [
    ...new Set([...list(props.forbiddenAccounts), ...list(node.tryGetContext(FORBIDDEN_ACCOUNTS_CONTEXT))]),
  ];
  const stages = new Set([...list(props.forbiddenStages), ...list(node.tryGetContext(FORBIDDEN_STAGES_CONTEXT))]);
  const allow = `To seed it deliberately, pass -c ${ALLOW_SEEDING_CONTEXT}=`;
  for (const scope of node.scopes) {
    if (Stage.isStage(scope) && stages.has(scope.stageName) && !allowed.has(scope.stageName)) {
      throw new Error(
        `${node.path}: seeding is forbidden in stage '${scope.stageName}' (the stage guard: forbiddenStages or the context key ${FORBIDDEN_STAGES_CONTEXT}). Remove the seeder from this stage. ${allow}${scope.stageName}`,
      );
    }
  }
  const account = Stack.of(seeder).account;
  if (!Token.isUnresolved(account) && accounts.includes(account) && !allowed.has(account)) {
    throw new Error(
      `${node.path}: seeding is forbidden in account ${account} (the stage guard: forbiddenAccounts or the context key ${FORBIDDEN_ACCOUNTS_CONTEXT}). Remove the seeder from this stack. ${allow}${account}`,
    );
  }
  return accounts.filter((a) => !allowed.has(a));
}
