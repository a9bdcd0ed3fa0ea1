/**
 * The properties of a `Custom::CognitoUserSeed` resource: the one contract between the
 * construct (which renders them) and the handler (which parses them back).
 *
 * CloudFormation hands every scalar to the handler as a string, so every scalar here is
 * a string on the wire; `lambda/properties.ts` is the only place that parses them.
 * No field ever carries a password, except a `plaintext` source, which the user chose
 * with `SeedPassword.unsafePlainText` and was warned about at synth.
 */
export interface SeedResourceProperties {
  /** Id of the pool that the users are seeded into. */
  readonly UserPoolId: string;
  /** `destroy` (default) or `retain`: what Delete and user removal do. */
  readonly RemovalPolicy: string;
  /** `true` to adopt users that already exist instead of failing. */
  readonly AdoptExistingUsers: string;
  /** `true` to record adopted users as deletable, as if created (after a ledger loss). */
  readonly DeleteAdoptedUsers?: string;
  /** Users processed at once. */
  readonly MaxConcurrency: string;
  /** Calls per second per quota category. */
  readonly Rates: RateProperties;
  /** The users to seed, when they travel inline (small populations). */
  readonly Users?: SeedUserProperties[];
  /** Where the users are, when they travel as a file asset (large populations). */
  readonly UsersFile?: UsersFileProperties;
  /**
   * The other seed resources of this stack on the same pool, and the usernames each
   * lists, so that a user moved between them is handed over instead of deleted.
   */
  readonly Siblings?: SiblingProperties[];
  /**
   * Values CloudFormation resolves for the users file: the file refers to entry `n` as
   * `{"$token": n}` wherever a token (a generated secret's ARN, a group's name) stood.
   */
  readonly Tokens?: string[];
  /** The app client tests sign in with, recorded in the manifest. */
  readonly ClientId?: string;
  /** Where TOTP users' secrets are kept, and the app client the seeder signs in with to enrol them. */
  readonly Totp?: TotpProperties;
  /** Account ids this seeder must never seed (the stage guard), checked against the function's own account. */
  readonly ForbiddenAccounts?: string[];
  /**
   * The seeder's ClientMetadata, sent with every Cognito call that takes it (each user's own
   * is merged over it, and the marker over both). Absent when the seeder sets none.
   */
  readonly ClientMetadata?: { [key: string]: string };
  /**
   * The stack's state machine, which carries each request's work and its answer. In the
   * properties, not the function's environment: the machine's definition names the
   * function, so the function cannot name the machine without a dependency cycle.
   */
  readonly StateMachineArn: string;
}

/** TOTP enrolment: the seeder's secret for TOTP seeds, and its app client (ADMIN_USER_PASSWORD_AUTH). */
export interface TotpProperties {
  /** The secret that holds every TOTP user's seed (what `grantReadPasswords` reads in one call). */
  readonly SecretArn: string;
  readonly ClientId: string;
  /**
   * The name prefix of the per-user TOTP secrets the function creates, one per enrolled user
   * (lib/private/totp-names.ts): what `grantReadPassword` of one TOTP user reads.
   */
  readonly UserSecretPrefix?: string;
  /** The KMS key the per-user TOTP secrets are encrypted with (`secretsEncryptionKey`). */
  readonly KmsKeyId?: string;
}

/** Another seed resource of the same stack and pool. */
export interface SiblingProperties {
  /** Its logical id: the owner its users have in the ledger. */
  readonly Owner: string;
  readonly Usernames: string[];
}

/**
 * A users file: an S3 object holding `{ "Users": SeedUserProperties[], "Siblings"?: SiblingProperties[] }`.
 */
export interface UsersFileProperties {
  readonly Bucket: string;
  readonly Key: string;
  /** The object's ARN, returned in the response Data as `UsersObjectArn`. */
  readonly ObjectArn: string;
  /** Hex SHA-256 of the file, checked before use. */
  readonly Sha256: string;
}

/** Calls per second for each Cognito quota category. */
export interface RateProperties {
  /** AdminCreateUser (UserCreation). */
  readonly Create: string;
  /** AdminSetUserPassword, AdminResetUserPassword (UserAccountRecovery). */
  readonly Recovery: string;
  /** Attribute, group and delete writes. */
  readonly Write: string;
  /** AdminGetUser, AdminListGroupsForUser, GetGroup, DescribeUserPool. */
  readonly Read: string;
}

/** One user as the template carries it. */
export interface SeedUserProperties {
  readonly Username: string;
  /** `PERMANENT`, `TEMPORARY` or `RESET_REQUIRED`. */
  readonly Mode: string;
  readonly Password?: PasswordSourceProperties;
  readonly Attributes?: { [name: string]: string };
  readonly Groups?: string[];
  readonly PasswordRevision?: string;
  /** `TOTP` to enrol a software token (PERMANENT users). */
  readonly Mfa?: string;
  /** The user's own ClientMetadata, merged over the seeder's. */
  readonly ClientMetadata?: { [key: string]: string };
}

/** Where a password is read at deploy time: a reference, never the value. */
export type PasswordSourceProperties =
  | { readonly Source: 'secretsmanager'; readonly SecretArn: string; readonly JsonField?: string }
  | {
      readonly Source: 'ssm';
      readonly ParameterName: string;
      /** `true` when the user accepted a plain `String` parameter (`allowPlainStringParameter`). */
      readonly AllowPlainString?: string;
    }
  | { readonly Source: 'plaintext'; readonly Value: string };

/**
 * Past this many bytes of rendered users, the users travel as a file asset in S3 instead
 * of inline: CloudFormation's template (1 MB) and Lambda's asynchronous event (1 MB, old
 * and new properties together) would not hold them. About 500 to 1,000 users.
 */
export const INLINE_USERS_MAX_BYTES = 100_000;

/** The custom resource type. A public contract: never change it. */
export const SEED_RESOURCE_TYPE = 'Custom::CognitoUserSeed';

/** The environment variable through which the seeding function finds its ledger table. */
export const LEDGER_TABLE_ENV = 'LEDGER_TABLE_NAME';

/**
 * How long CloudFormation waits for a seed resource's answer (its `ServiceTimeout`, the
 * maximum): a request's execution may run for this long from the first delivery.
 */
export const SEED_SERVICE_TIMEOUT_SECONDS = 3600;

/**
 * Overrides SEED_SERVICE_TIMEOUT_SECONDS (seconds) for the function's deadline: set by
 * tests and rehearsals only, to play a request that runs out of CloudFormation's time.
 */
export const SERVICE_TIMEOUT_ENV = 'SEED_SERVICE_TIMEOUT_SECONDS';

/** What the stack's state machine hands the function: a slice of a request's work, or its answer. */
export const WORK_TASK = 'work';
export const ANSWER_TASK = 'answer';

/**
 * Error names the function throws to the state machine, which retries them: the request
 * record is not complete yet (a delivery is still recording it), or the answer could not
 * be delivered yet.
 */
export const REQUEST_NOT_READY_ERROR = 'RequestNotReady';
export const ANSWER_NOT_DELIVERED_ERROR = 'AnswerNotDelivered';

/**
 * The environment variable that holds the id of the seeding function's own stack: the
 * handler acts only on events whose `StackId` is this one.
 */
export const STACK_ID_ENV = 'SEED_STACK_ID';

/**
 * The environment variable of the failure answerer (the seeding function's asynchronous
 * failure destination) that names the seeding function's log group, where its answer to
 * CloudFormation sends the reader.
 */
export const SEED_LOG_GROUP_ENV = 'SEED_LOG_GROUP_NAME';

/**
 * Set to `true` by the local rehearsal only: lets an event's ResponseURL be a loopback
 * `http://127.0.0.1` address. A deployed function never has it, so it answers only S3.
 */
export const ALLOW_LOOPBACK_ENV = 'SEED_ALLOW_LOOPBACK_RESPONSE_URL';

/** Context key: account ids where no seeder of the app may seed (the platform team's stage guard). */
export const FORBIDDEN_ACCOUNTS_CONTEXT = 'cdk-cognito-seeder:forbiddenAccounts';

/** Context key: CDK stage names where no seeder of the app may seed. */
export const FORBIDDEN_STAGES_CONTEXT = 'cdk-cognito-seeder:forbiddenStages';

/**
 * Context key: one account id or stage name (or a list) where seeding is allowed
 * deliberately although the stage guard forbids it.
 */
export const ALLOW_SEEDING_CONTEXT = 'cdk-cognito-seeder:allowSeedingIn';

/** How long the seeding function waits for one Cognito call's answer before retrying it. */
export const COGNITO_REQUEST_TIMEOUT_MS = 20_000;

/** Overrides COGNITO_REQUEST_TIMEOUT_MS (milliseconds): set by tests and rehearsals only. */
export const COGNITO_REQUEST_TIMEOUT_ENV = 'SEED_COGNITO_REQUEST_TIMEOUT_MS';

/**
 * The ClientMetadata key the seeder adds to every call that takes ClientMetadata, so a
 * pool's Lambda trigger can tell the seeder's calls from real sign-ups without any
 * configuration. A public contract (the README names it): triggers test for it, so it
 * never changes.
 */
export const CLIENT_METADATA_MARKER = 'cdk-cognito-seeder';

/** The marker's value. Triggers should test for the key; the value is there because Cognito's map holds strings. */
export const CLIENT_METADATA_MARKER_VALUE = 'seed';

/**
 * The longest key and the longest value Cognito accepts in ClientMetadata: its API model
 * types both as `StringType`, 0 to 131,072 characters.
 */
export const CLIENT_METADATA_MAX_CHARS = 131_072;

/**
 * The most bytes (UTF-8, keys and values, the marker included) one call's ClientMetadata
 * may hold. Cognito documents no total, so this is the seeder's own bound: one value's
 * maximum. The seeder's map travels in the seed resource's properties, which Lambda's
 * asynchronous event carries twice (old and new, 1 MB in all, beside up to 100 KB of inline
 * users each), and every trigger of the pool receives the map with each call.
 */
export const CLIENT_METADATA_MAX_BYTES = 131_072;

/*
 * A repair's answer, as the seeding function returns it to an invoker (the testing module,
 * the CLI) and keeps it in the ledger. Never a password.
 */

/** One drifted user in a {@link RepairReport}. */
export interface RepairedUser {
  readonly username: string;
  /** What differed: deleted, disabled, password-source-changed, password-may-have-changed, temporary-password-answered, reset-answered, attributes, groups, totp-secret (its own TOTP secret gone or changed), remade-by-hand. */
  readonly found: readonly string[];
  /** What the repair did: created, enabled, attributes, password, groups, totp-secret (nothing in a dry run). */
  readonly done: readonly string[];
  /** Why the user could not be put back. */
  readonly error?: string;
}

/** What a repair found and did. Never a password. */
export interface RepairReport {
  /** The seed resource's logical id. */
  readonly seeder: string;
  readonly dryRun: boolean;
  /** Users the seeder holds that the repair looked at. */
  readonly checked: number;
  /** The drifted users (the first 1,000 by name). */
  readonly users: readonly RepairedUser[];
  /** Drifted users past those listed. */
  readonly more: number;
  /** Users that could not be put back. */
  readonly left: number;
  /** Cognito calls the repair made. */
  readonly calls: number;
  readonly seconds: number;
}

/** The seeding function's answer to a repair request. */
export interface RepairAnswer {
  readonly status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'REFUSED';
  readonly repairId?: string;
  readonly reason?: string;
  readonly report?: RepairReport;
}
