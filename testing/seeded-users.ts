/**
 * `SeededUsers`: the users one seeder seeded, for the tests that sign in as them. It reads
 * the seeder's manifest, and each password from its own store with the caller's AWS
 * credentials, only when a test asks for that user.
 *
 * No password, TOTP secret, TOTP code or token is ever logged or put in an error: messages
 * are composed from names and ARNs, and the text of any AWS error they quote is scrubbed of
 * every secret value this object has read.
 */
import type { RepairAnswer, RepairReport } from '../lib/private/contract';
import { Redactor } from '../lambda/log';
import { TOTP_USER_SECRET_ROOT, totpUserSecretName } from '../lib/private/totp-names';
import { Aws, AuthStep, SeededUsersClients } from './aws';
import { amplifyLocalStorage, BrowserStorageState, LocalStorageEntry, playwrightStorageState } from './browser-storage';
import { awsErrorParts, isAccessDenied, SeededUsersError, SeededUsersErrorCode } from './errors';
import type { Manifest, ManifestMode, ManifestPointer, ManifestSource, ManifestUser } from './manifest-format';
import { findPointer, FoundPointer, parsePointer, readManifest } from './manifest-reader';
import { startSrp, SrpExchange } from './srp';
import { nextTotpSlot, TOTP_PERIOD_MS, totpCode } from './totp';

/** How a {@link SeededUsers} reaches AWS. */
export interface SeededUsersOptions {
  /**
   * The region of the manifest, the pool and the password stores.
   * @default - to find the pointer, the SDK's (`AWS_REGION`, then the profile); after that, the pointer's
   */
  readonly region?: string;
  /**
   * AWS SDK v3 clients to use instead of the ones this module creates (other credentials or endpoints).
   * @default - clients created on first use, with `region` and `maxAttempts`
   */
  readonly clients?: SeededUsersClients;
  /**
   * The SDK's attempts per call (throttling and transient errors are retried).
   * @default 5
   */
  readonly maxAttempts?: number;
  /**
   * Read secrets the manifest names outside its stack's account and region. By default
   * they are refused: the manifest's body lives in the ledger table, and a body changed
   * there could make a test read (and the CLI print) another account's secret.
   * @default false
   */
  readonly allowForeignReferences?: boolean;
}

/** Where {@link SeededUsers.load} finds the manifest: a stack (and seeder), or the pointer parameter. */
export interface LoadSeededUsersOptions extends SeededUsersOptions {
  /** The CloudFormation stack that has the seeder. Required unless `parameterName` is given. */
  readonly stackName?: string;
  /**
   * The seeder's construct path inside its stack (e.g. `Users/Seeder`).
   * @default - the stack's only seeder; required when it has several
   */
  readonly seeder?: string;
  /**
   * The pointer parameter's name, as the seeder exposes it (then `stackName` and `seeder` are not needed).
   * @default - found under `/cdk-cognito-seeder/<stackName>`
   */
  readonly parameterName?: string;
}

/** What the manifest says about one user. Never a password. */
export interface SeededUser {
  readonly username: string;
  readonly mode: ManifestMode;
  readonly groups: readonly string[];
  /** Whether the user has a TOTP software token that {@link SeededUsers.totp} can answer for. */
  readonly totp: boolean;
  /** Where the password lives; absent for RESET_REQUIRED users. */
  readonly passwordSource?: ManifestSource;
}

/** A user's sign-in credentials. */
export interface SeededCredentials {
  readonly username: string;
  readonly password: string;
}

/** A sign-in flow the app client allows. */
export type SignInFlow = 'USER_PASSWORD_AUTH' | 'USER_SRP_AUTH';

/** How {@link SeededUsers.signIn} signs in. */
export interface SignInOptions {
  /**
   * The app client (a public one: no client secret).
   * @default - the seeder's app client, from the manifest
   */
  readonly clientId?: string;
  /**
   * `USER_PASSWORD_AUTH` needs `ALLOW_USER_PASSWORD_AUTH` on the client (CDK: `authFlows: { userPassword: true }`);
   * `USER_SRP_AUTH` needs `ALLOW_USER_SRP_AUTH` (`authFlows: { userSrp: true }`, and clients without explicit flows).
   * @default 'USER_PASSWORD_AUTH' (the flow local emulators such as cognito-local implement)
   */
  readonly flow?: SignInFlow;
  /**
   * The answer to NEW_PASSWORD_REQUIRED (TEMPORARY users). Cognito accepts the temporary
   * password itself as the new one unless the pool keeps a password history; after the
   * answer the user is CONFIRMED with this password, and {@link SeededUsers.rearm} puts it
   * back to FORCE_CHANGE_PASSWORD with the seeded password for the next run.
   * @default - the seeded password
   */
  readonly newPassword?: string;
  /**
   * ClientMetadata for the pool's Lambda triggers, sent with InitiateAuth and every
   * RespondToAuthChallenge of the sign-in. Cognito passes InitiateAuth's to the pre
   * authentication (and user migration) trigger as `validationData`, and a challenge
   * answer's to the post authentication and pre token generation triggers as
   * `clientMetadata`; a USER_PASSWORD_AUTH sign-in without a challenge gives the pre token
   * generation trigger none (use `USER_SRP_AUTH`, whose tokens come from a challenge answer).
   * Never encrypted, and every trigger of the call sees it: no secrets.
   * @default - none
   */
  readonly clientMetadata?: Readonly<Record<string, string>>;
}

export type { RepairedUser, RepairReport } from '../lib/private/contract';

/** What {@link SeededUsers.repair} repairs. */
export interface RepairOptions {
  /** Report what differs from what the seeder applied, and change nothing. @default false */
  readonly dryRun?: boolean;
  /** Only these seeded users. @default - every user the seeder holds */
  readonly usernames?: readonly string[];
  /** How long to wait for the report. @default 900 */
  readonly timeoutSeconds?: number;
}

/** The tokens of a signed-in user. */
export interface SeededTokens {
  readonly idToken: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  /** Seconds the access and id tokens are valid for. */
  readonly expiresIn?: number;
  readonly tokenType?: string;
}

/** How {@link SeededUsers.storageState} signs in, and for which page. */
export interface StorageStateOptions extends SignInOptions {
  /** The origin of the app under test, e.g. `http://localhost:3000`. */
  readonly origin: string;
}

/** Challenges answered in one sign-in at most (password verifier, new password, MFA). */
const MAX_CHALLENGES = 6;
/** How many usernames an unknown-user error lists. */
const NAMES_LISTED = 5;
/** Shorter values are not scrubbed from AWS messages: they would mask ordinary words. */
const MIN_SCRUBBED_LENGTH = 4;

/**
 * The users one seeder seeded, found through its manifest: their credentials, sign-in as
 * any of them, and the repairs a test run needs (re-arm a TEMPORARY user, a TOTP code).
 * Create it with {@link SeededUsers.load}; {@link SeededUsers.destroy} closes its clients.
 */
export class SeededUsers {
  /**
   * Loads the manifest of a seeder, found by its stack (and, when the stack has several,
   * its construct path) or by its pointer parameter's name.
   */
  static async load(options: LoadSeededUsersOptions): Promise<SeededUsers> {
    const lookup = awsFor(options, options.region);
    let found: FoundPointer;
    try {
      found = await findPointer(lookup, options);
    } finally {
      lookup.destroy();
    }
    return SeededUsers.fromPointer(found.pointer, options, found.parameterName);
  }

  /**
   * Loads the manifest a pointer names: the pointer parameter's value, parsed, from wherever
   * the test got it. `parameterName` only labels where it came from, in messages and
   * {@link SeededUsers.parameterName}.
   */
  static async fromPointer(
    pointer: ManifestPointer,
    options: SeededUsersOptions = {},
    parameterName?: string,
  ): Promise<SeededUsers> {
    const checked = parsePointer(JSON.stringify(pointer), parameterName ?? 'given to fromPointer');
    const aws = awsFor(options, options.region ?? checked.region);
    try {
      return new SeededUsers(
        aws,
        checked,
        await readManifest(aws, checked),
        parameterName,
        options.allowForeignReferences === true,
      );
    } catch (error) {
      aws.destroy();
      throw error;
    }
  }

  /** The manifest as the seeder wrote it (read-only). */
  readonly manifest: Manifest;
  /** The pointer the manifest was found through. */
  readonly pointer: ManifestPointer;
  /** The pointer parameter's name, when the manifest was found through SSM. */
  readonly parameterName?: string;

  private readonly byName = new Map<string, ManifestUser>();
  private readonly stored = new Map<string, Promise<string | undefined>>();
  private readonly secretValues = new Set<string>();
  private readonly redactor = new Redactor();
  private readonly totpWindows = new Map<string, number>();
  private readonly totpTurns = new Map<string, Promise<unknown>>();
  /** Set once reading the seeder's TOTP secret (every user's seed) was denied: read users' own. */
  private totpWholeDenied = false;

  private constructor(
    private readonly aws: Aws,
    pointer: ManifestPointer,
    manifest: Manifest,
    parameterName: string | undefined,
    private readonly allowForeign: boolean,
  ) {
    this.pointer = pointer;
    this.manifest = manifest;
    this.parameterName = parameterName;
    for (const user of manifest.users) this.byName.set(user.username, user);
  }

  /** Every seeded username, in the manifest's order. */
  get usernames(): string[] {
    return this.manifest.users.map((u) => u.username);
  }

  /** The pool the users are in. */
  get userPoolId(): string {
    return this.manifest.userPoolId;
  }

  /** The region of the pool and the manifest. */
  get region(): string {
    return this.aws.options.region ?? this.pointer.region;
  }

  /** The seeder's app client, if it was given one. */
  get clientId(): string | undefined {
    return this.manifest.clientId ?? this.pointer.clientId;
  }

  /** What the manifest says about `username`. */
  user(username: string): SeededUser {
    const user = this.manifestUser(username);
    return {
      username: user.username,
      mode: user.mode,
      groups: user.groups,
      totp: user.totp === true,
      ...(user.password !== undefined ? { passwordSource: this.manifest.sources[user.password] } : {}),
    };
  }

  /**
   * The username and password of a user, read from its Secrets Manager secret (a JSON field
   * when the seeder was given one) or SSM parameter with the caller's AWS credentials. A
   * secret shared by several users is read once per `SeededUsers`.
   */
  async credentials(username: string): Promise<SeededCredentials> {
    return this.guard('PASSWORD_UNREADABLE', async () => {
      const user = this.manifestUser(username);
      if (user.mode === 'RESET_REQUIRED' || user.password === undefined) {
        throw new SeededUsersError(
          'NO_PASSWORD',
          `'${username}' is RESET_REQUIRED: it has no password to read. The user must complete a password reset ` +
            '(ForgotPassword, then ConfirmForgotPassword with the code sent to its verified email or phone) before it can sign in',
        );
      }
      const source = this.manifest.sources[user.password];
      switch (source.type) {
        case 'plaintext':
          throw new SeededUsersError(
            'NO_PASSWORD',
            `The password of '${username}' is SeedPassword.unsafePlainText: its value is only in the CloudFormation ` +
              'template, which this module does not read. Keep it in a secret (SeedPassword.fromSecret or SeedPassword.generate) ' +
              'or an SSM SecureString to use it in tests',
          );
        case 'secretsmanager': {
          this.checkLocal(source.secretArn, `the password of '${username}'`);
          const text = await this.readStored(`secret ${source.secretArn}`, username, () =>
            this.aws.secretString(source.secretArn),
          );
          const value =
            source.jsonField === undefined ? text : jsonField(text, [source.jsonField], `secret ${source.secretArn}`);
          return { username: user.username, password: value };
        }
        case 'ssm': {
          const text = await this.readStored(`SSM parameter ${source.parameterName}`, username, async () => {
            return (await this.aws.parameter(source.parameterName)).value;
          });
          return { username: user.username, password: text };
        }
        default:
          throw new SeededUsersError(
            'PASSWORD_UNREADABLE',
            `The password source of '${username}' is of a type this testing module does not know: upgrade it`,
          );
      }
    });
  }

  /**
   * Signs a user in with its seeded password through the public app client, answering the
   * challenges Cognito asks on the way: PASSWORD_VERIFIER (SRP), NEW_PASSWORD_REQUIRED
   * (TEMPORARY users, see {@link SignInOptions.newPassword}), SELECT_MFA_TYPE and
   * SOFTWARE_TOKEN_MFA (with {@link SeededUsers.totp}'s code; Cognito takes each code once,
   * so a second sign-in of the same user in the same 30 s window waits for the next one).
   */
  async signIn(username: string, options: SignInOptions = {}): Promise<SeededTokens> {
    const { password } = await this.credentials(username);
    return this.guard('SIGN_IN_FAILED', async () => {
      const clientId = this.requireClientId(options.clientId);
      const flow = options.flow ?? 'USER_PASSWORD_AUTH';
      if (flow !== 'USER_PASSWORD_AUTH' && flow !== 'USER_SRP_AUTH') {
        throw new SeededUsersError(
          'INVALID_ARGUMENT',
          `flow must be USER_PASSWORD_AUTH or USER_SRP_AUTH, not '${flow}'`,
        );
      }
      if (options.newPassword !== undefined) this.remember(options.newPassword);
      const user = this.manifestUser(username);
      const at = { username, clientId, flow };
      let srp: SrpExchange | undefined;
      let step;
      try {
        if (flow === 'USER_SRP_AUTH') {
          srp = await startSrp(user.username, password, this.userPoolId);
          step = await this.aws.initiateAuth(clientId, flow, { ...srp.authParameters }, options.clientMetadata);
        } else {
          step = await this.aws.initiateAuth(
            clientId,
            flow,
            { USERNAME: user.username, PASSWORD: password },
            options.clientMetadata,
          );
        }
      } catch (error) {
        throw this.authError(error, at, 'InitiateAuth');
      }
      for (let answered = 0; answered <= MAX_CHALLENGES; answered++) {
        if (step.authenticationResult) return tokensOf(step.authenticationResult);
        const challenge = step.challengeName ?? '(none)';
        const parameters = step.challengeParameters;
        const challengeUser = parameters.USER_ID_FOR_SRP ?? parameters.USERNAME ?? user.username;
        let responses: Record<string, string>;
        switch (challenge) {
          case 'PASSWORD_VERIFIER':
            if (!srp) throw unexpected(challenge, username);
            responses = await srp.answer(parameters);
            break;
          case 'NEW_PASSWORD_REQUIRED': {
            const required = jsonList(parameters.requiredAttributes);
            if (required.length > 0) {
              throw new SeededUsersError(
                'UNSUPPORTED_CHALLENGE',
                `Cognito asks '${username}' for a new password and the attributes ${required.join(', ')}: seed the user with them`,
              );
            }
            responses = { USERNAME: challengeUser, NEW_PASSWORD: options.newPassword ?? password };
            break;
          }
          case 'SELECT_MFA_TYPE':
            if (!user.totp || !jsonList(parameters.MFAS_CAN_CHOOSE).includes('SOFTWARE_TOKEN_MFA')) {
              throw unexpected(challenge, username, 'it can only answer with a TOTP software token');
            }
            responses = { USERNAME: challengeUser, ANSWER: 'SOFTWARE_TOKEN_MFA' };
            break;
          case 'SOFTWARE_TOKEN_MFA':
            if (!user.totp) {
              throw unexpected(challenge, username, 'the manifest records no TOTP token for this user');
            }
            responses = { USERNAME: challengeUser, SOFTWARE_TOKEN_MFA_CODE: await this.nextTotp(username) };
            break;
          case 'MFA_SETUP':
            throw unexpected(
              challenge,
              username,
              'the pool requires MFA and the user has none: seed it with a TOTP token',
            );
          default:
            throw unexpected(challenge, username);
        }
        try {
          step = await this.aws.respondToAuthChallenge(
            clientId,
            challenge,
            step.session,
            responses,
            options.clientMetadata,
          );
        } catch (error) {
          throw this.authError(error, at, `the answer to ${challenge}`);
        }
      }
      throw new SeededUsersError(
        'SIGN_IN_FAILED',
        `Cognito asked '${username}' more than ${MAX_CHALLENGES} challenges`,
      );
    });
  }

  /**
   * Signs a user in and returns a Playwright `storageState` holding its tokens where Amplify
   * JS looks for them (localStorage of `origin`): a browser test then starts signed in.
   */
  async storageState(username: string, options: StorageStateOptions): Promise<BrowserStorageState> {
    // The origin is checked before signing in: a TEMPORARY user's sign-in changes its state.
    playwrightStorageState(options.origin, []);
    const tokens = await this.signIn(username, options);
    return playwrightStorageState(options.origin, this.browserTokens(tokens, options.clientId));
  }

  /** The localStorage entries Amplify JS keeps for a signed-in user of the app client. */
  browserTokens(tokens: SeededTokens, clientId?: string): LocalStorageEntry[] {
    return amplifyLocalStorage(this.requireClientId(clientId), tokens);
  }

  /**
   * Puts a TEMPORARY user back into FORCE_CHANGE_PASSWORD with its seeded password, so the
   * next run of a first-sign-in test starts the same. The seeding function does it, as a
   * repair of that one user (the test runner needs `seeder.grantRearm(role)`: it invokes the
   * function and gets nothing on the pool).
   */
  async rearm(username: string): Promise<void> {
    const user = this.manifestUser(username);
    if (user.mode !== 'TEMPORARY') {
      throw new SeededUsersError(
        'NOT_APPLICABLE',
        `'${username}' is ${user.mode}, not TEMPORARY: only TEMPORARY users are re-armed`,
      );
    }
    const report = await this.runRepair({ usernames: [username] }, 'always', 'grantRearm');
    const entry = report.users.find((u) => u.username === username);
    if (entry?.error || report.left > 0) {
      throw new SeededUsersError(
        'REPAIR_FAILED',
        `Re-arming '${username}' in pool ${this.userPoolId} failed: ${entry?.error ?? 'the repair could not put it back'}`,
      );
    }
  }

  /**
   * Puts the seeded users (all, or `usernames`) back to what the seeder last applied: a user
   * deleted by hand is made again, a disabled one enabled, a password changed since the seeder
   * set it (or whose source has a new value) set again, a TEMPORARY user back to
   * FORCE_CHANGE_PASSWORD, attributes and groups. The seeding function does it, in turn with
   * the stack's deploys; it never deletes a user and never touches one the seeder does not
   * hold (a user made again by hand is reported, not changed). The test runner needs
   * `seeder.grantRepair(role)`.
   *
   * @returns what was found and done, per drifted user; `left` counts the users it could not put back
   */
  async repair(options: RepairOptions = {}): Promise<RepairReport> {
    if (options.usernames) for (const u of options.usernames) this.manifestUser(u);
    return this.runRepair(options, 'changed', 'grantRepair');
  }

  private async runRepair(
    options: RepairOptions,
    passwords: 'changed' | 'always',
    grant: 'grantRepair' | 'grantRearm',
  ): Promise<RepairReport> {
    const functionArn = this.pointer.functionArn;
    if (!functionArn) {
      throw new SeededUsersError(
        'NOT_APPLICABLE',
        `The manifest of ${this.manifest.owner} names no seeding function (deployed with an older cdk-cognito-seeder): deploy the stack again with this version`,
      );
    }
    const seeder = this.manifest.owner;
    const timeoutMs = (options.timeoutSeconds ?? 900) * 1000;
    const started = Date.now();
    const ask = async (payload: Record<string, unknown>): Promise<RepairAnswer> => {
      try {
        return (await this.aws.invoke(functionArn, payload)) as RepairAnswer;
      } catch (error) {
        const { name, message } = awsErrorParts(error);
        if (isAccessDenied(error)) {
          throw new SeededUsersError(
            'ACCESS_DENIED',
            `Access denied invoking the seeding function ${functionArn} (${name}: ${message}): the test runner needs seeder.${grant}(role)`,
          );
        }
        throw new SeededUsersError(
          'REPAIR_FAILED',
          `Invoking the seeding function ${functionArn} failed: ${name}: ${message}`,
        );
      }
    };
    let answer = await ask({
      kind: 'repair',
      seeder,
      ...(options.usernames ? { usernames: options.usernames } : {}),
      ...(options.dryRun ? { dryRun: true } : {}),
      passwords,
    });
    while (answer?.status === 'RUNNING' && answer.repairId) {
      if (Date.now() - started > timeoutMs) {
        throw new SeededUsersError(
          'REPAIR_FAILED',
          `The repair ${answer.repairId} of ${seeder} was still running after ${timeoutMs / 1000} s: it goes on; raise timeoutSeconds to wait for its report`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
      answer = await ask({ kind: 'repair-status', seeder, repairId: answer.repairId });
    }
    // The repair may have set passwords from sources that changed since this object read
    // them: read them again next time.
    this.stored.clear();
    // A repair that could not put every user back still reports: `left` says how many.
    if ((answer?.status !== 'SUCCEEDED' && answer?.status !== 'FAILED') || !answer.report) {
      throw new SeededUsersError(
        'REPAIR_FAILED',
        `The seeding function did not repair the users of ${seeder}: ${answer?.reason ?? `it answered ${JSON.stringify(answer?.status)}`}`,
      );
    }
    return answer.report;
  }

  /** The current 6-digit TOTP code of a user with a software token. */
  async totp(username: string): Promise<string> {
    return totpCode(await this.totpSecret(username), Date.now());
  }

  /** Closes the AWS clients this object created. Optional: their sockets do not keep Node running. */
  destroy(): void {
    this.aws.destroy();
  }

  private manifestUser(username: string): ManifestUser {
    const user = this.byName.get(username);
    if (user) return user;
    const names = this.manifest.users.map((u) => u.username);
    const like = names.find((n) => n.toLowerCase() === String(username).toLowerCase());
    const some = names.slice(0, NAMES_LISTED).map((n) => `'${n}'`);
    const more = names.length > NAMES_LISTED ? `, and ${names.length - NAMES_LISTED} more` : '';
    throw new SeededUsersError(
      'UNKNOWN_USER',
      `No user '${username}' in the manifest of ${this.manifest.owner} (pool ${this.userPoolId})` +
        (like ? `; did you mean '${like}'?` : '') +
        (names.length ? `; its users are ${some.join(', ')}${more}` : '; it has no users'),
    );
  }

  private requireClientId(clientId: string | undefined): string {
    const id = clientId ?? this.clientId;
    if (!id) {
      throw new SeededUsersError(
        'NO_CLIENT',
        `No app client to sign in with: pass { clientId }, or give the seeder its app client (the manifest of ${this.manifest.owner} names none)`,
      );
    }
    return id;
  }

  /**
   * A TOTP user's seed: from the seeder's secret, one read for every user, when the caller
   * may read it (`grantReadPasswords`); else from the user's own secret (`grantReadPassword`).
   */
  private async totpSecret(username: string): Promise<string> {
    return this.guard('PASSWORD_UNREADABLE', async () => {
      const user = this.manifestUser(username);
      const arn = this.manifest.totpSecretArn;
      if (!user.totp || !arn) {
        throw new SeededUsersError('NOT_APPLICABLE', `'${username}' has no TOTP software token in the manifest`);
      }
      const prefix = this.manifest.totpUserSecretPrefix;
      if (prefix === undefined || !this.totpWholeDenied) {
        this.checkLocal(arn, `the TOTP secret of '${username}'`);
        try {
          const text = await this.readStored(`TOTP secret ${arn}`, username, () => this.aws.secretString(arn));
          // { "<userPoolId>": { "<username>": "<base32>" } }, as testing/manifest-format.ts describes it.
          return jsonField(text, [this.userPoolId, user.username], `TOTP secret ${arn}`);
        } catch (error) {
          if (prefix === undefined || !(error instanceof SeededUsersError && error.code === 'ACCESS_DENIED'))
            throw error;
          this.totpWholeDenied = true;
        }
      }
      return this.ownTotpSecret(prefix, user.username);
    });
  }

  /** A TOTP user's own secret, under the seeder's prefix in the manifest. */
  private async ownTotpSecret(prefix: string, username: string): Promise<string> {
    const stackName = this.manifest.stackId.split(':')[5]?.split('/')[1] ?? '';
    if (!this.allowForeign && !prefix.startsWith(`${TOTP_USER_SECRET_ROOT}/${stackName}/`)) {
      throw new SeededUsersError(
        'MANIFEST_UNREADABLE',
        `The manifest of ${this.manifest.owner} names TOTP secrets under '${prefix}', not under ${TOTP_USER_SECRET_ROOT}/${stackName}/ where its seeder keeps them: a manifest changed in the ledger could point anywhere, so it is not read. If the seeder really keeps them there, pass { allowForeignReferences: true } to SeededUsers.load`,
      );
    }
    const name = totpUserSecretName(prefix, username);
    const parse = (text: string) => {
      try {
        return JSON.parse(text) as { userPoolId?: unknown; username?: unknown; secret?: unknown } | undefined;
      } catch {
        return undefined;
      }
    };
    // The seed is secret; the pool id and the username beside it are not, and messages name them.
    const text = await this.readStored(
      `TOTP secret ${name}`,
      username,
      () => this.aws.secretString(name),
      (held) => {
        const seed = parse(held)?.secret;
        return typeof seed === 'string' ? [seed] : [held];
      },
    );
    const value = parse(text);
    if (value?.userPoolId !== this.userPoolId || value.username !== username || typeof value.secret !== 'string') {
      throw new SeededUsersError(
        'PASSWORD_UNREADABLE',
        `TOTP secret ${name} does not hold the seed of '${username}' in pool ${this.userPoolId}: deploy the stack again, and the seeding function writes it`,
      );
    }
    return value.secret;
  }

  /**
   * Refuses a secret outside the stack's account and region (from the manifest's stackId),
   * unless the caller allowed it.
   */
  private checkLocal(arn: string, what: string): void {
    if (this.allowForeign) return;
    const [, , , stackRegion, stackAccount] = this.manifest.stackId.split(':');
    const [, , service, region, account] = arn.split(':');
    if (service === 'secretsmanager' && region === stackRegion && account === stackAccount) return;
    throw new SeededUsersError(
      'MANIFEST_UNREADABLE',
      `The manifest of ${this.manifest.owner} names ${arn} for ${what}, outside its stack's account ${stackAccount} and region ${stackRegion}: a manifest changed in the ledger could point anywhere, so it is not read. If the seeder really reads it there, pass { allowForeignReferences: true } to SeededUsers.load`,
    );
  }

  /** A code no sign-in of this object has sent yet: the next window's when this one's was used. */
  private nextTotp(username: string): Promise<string> {
    const turn = (this.totpTurns.get(username) ?? Promise.resolve()).then(async () => {
      const secret = await this.totpSecret(username);
      const slot = nextTotpSlot(this.totpWindows.get(username), Date.now());
      if (slot.waitMs > 0) await new Promise((resolve) => setTimeout(resolve, slot.waitMs));
      this.totpWindows.set(username, slot.window);
      return totpCode(secret, Math.max(Date.now(), slot.window * TOTP_PERIOD_MS));
    });
    this.totpTurns.set(
      username,
      turn.catch(() => undefined),
    );
    return turn;
  }

  /**
   * The value of a secret or parameter, read once per object (concurrent reads share the
   * call) and remembered for scrubbing; a failed read is not kept, so a retry reads again.
   */
  private async readStored(
    what: string,
    username: string,
    read: () => Promise<string | undefined>,
    secretParts: (text: string) => readonly string[] = (text) => [text],
  ): Promise<string> {
    let value = this.stored.get(what);
    if (!value) {
      value = read();
      this.stored.set(what, value);
      value.catch(() => this.stored.delete(what));
    }
    let text: string | undefined;
    try {
      text = await value;
    } catch (error) {
      const { name, message } = awsErrorParts(error);
      if (isAccessDenied(error)) {
        throw new SeededUsersError(
          'ACCESS_DENIED',
          `Access denied reading ${what} for '${username}' (${name}: ${message}): the test runner needs ` +
            `seeder.grantReadPassword('${username}', role), or seeder.grantReadPasswords(role) for every user`,
        );
      }
      if (name === 'ResourceNotFoundException' || name === 'ParameterNotFound') {
        throw new SeededUsersError(
          'PASSWORD_UNREADABLE',
          `${what} of '${username}' does not exist in ${this.region}: was it deleted after the deploy?`,
        );
      }
      throw new SeededUsersError(
        'PASSWORD_UNREADABLE',
        `Reading ${what} for '${username}' failed: ${name}: ${message}`,
      );
    }
    if (typeof text !== 'string' || text === '') {
      throw new SeededUsersError('PASSWORD_UNREADABLE', `${what} of '${username}' holds no text value`);
    }
    for (const part of secretParts(text)) this.remember(part);
    return text;
  }

  private remember(value: string): void {
    if (value.length < MIN_SCRUBBED_LENGTH) return;
    this.secretValues.add(value);
    // And in every form the seeding function masks: Unicode normal forms, JSON-escaped twice
    // or as \uXXXX, URL-encoded, and cut short.
    this.redactor.add(value);
    this.secretValues.add(JSON.stringify(value).slice(1, -1));
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      // Not JSON: the value as a whole is remembered.
      return;
    }
    // A JSON secret: every string in it too (TOTP secrets are nested by pool), as a message might quote one alone.
    const strings = (node: unknown): string[] =>
      typeof node === 'string' ? [node] : node && typeof node === 'object' ? Object.values(node).flatMap(strings) : [];
    if (parsed && typeof parsed === 'object') for (const field of strings(parsed)) this.remember(field);
  }

  private scrub(text: string): string {
    let out = text;
    for (const value of [...this.secretValues].sort((a, b) => b.length - a.length)) {
      out = out.split(value).join('***');
    }
    return this.redactor.redact(out);
  }

  /**
   * Runs `work`, and lets out only {@link SeededUsersError}s whose message is scrubbed of every
   * value read so far; anything else becomes one with `code`.
   */
  private async guard<T>(code: SeededUsersErrorCode, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof SeededUsersError) {
        const message = this.scrub(error.message);
        if (message === error.message) throw error;
        throw new SeededUsersError(error.code, message);
      }
      const { name, message } = awsErrorParts(error);
      throw new SeededUsersError(code, this.scrub(`${name}: ${message}`));
    }
  }

  private authError(
    error: unknown,
    at: { readonly username: string; readonly clientId: string; readonly flow: SignInFlow },
    call: string,
  ): SeededUsersError {
    const { name, message } = awsErrorParts(error);
    const said = `${name}: ${message}`;
    if (name === 'InvalidParameterException' && /not enabled for (the|this) client/i.test(message)) {
      const cdk = at.flow === 'USER_SRP_AUTH' ? 'userSrp' : 'userPassword';
      const other = at.flow === 'USER_SRP_AUTH' ? 'USER_PASSWORD_AUTH' : 'USER_SRP_AUTH';
      return new SeededUsersError(
        'CLIENT_CONFIGURATION',
        `App client ${at.clientId} does not allow ${at.flow} (${said}): enable ALLOW_${at.flow} on it ` +
          `(CDK: authFlows: { ${cdk}: true }), or sign in with { flow: '${other}' } if the client allows that`,
      );
    }
    if (name === 'NotAuthorizedException' && /SECRET_HASH|secret hash/i.test(message)) {
      return new SeededUsersError(
        'CLIENT_CONFIGURATION',
        `App client ${at.clientId} has a client secret (${said}): sign in through a public client (CDK: generateSecret: false)`,
      );
    }
    if (name === 'ResourceNotFoundException') {
      return new SeededUsersError(
        'CLIENT_CONFIGURATION',
        `App client ${at.clientId} was not found in ${this.region} (${said})`,
      );
    }
    if (name === 'PasswordResetRequiredException') {
      return new SeededUsersError(
        'SIGN_IN_FAILED',
        `'${at.username}' must reset its password before it can sign in (${said})`,
      );
    }
    // cognito-local answers a wrong password with InvalidPasswordException; Cognito with NotAuthorizedException.
    const passwordRefused = name === 'InvalidPasswordException' && call === 'InitiateAuth';
    if (name === 'NotAuthorizedException' || name === 'UserNotFoundException' || passwordRefused) {
      return new SeededUsersError(
        'SIGN_IN_FAILED',
        `Cognito refused ${call} for '${at.username}' with ${at.flow} (${this.scrub(said)}). If a sign-in answered ` +
          'NEW_PASSWORD_REQUIRED with another password, call rearm(); if the password changed after the deploy, ' +
          'redeploy the seeder (passwordRevision) so the pool has the stored password',
      );
    }
    if (name === 'InvalidPasswordException') {
      return new SeededUsersError(
        'SIGN_IN_FAILED',
        `The pool refused the new password of '${at.username}' (${this.scrub(said)}): pass another newPassword to signIn`,
      );
    }
    if (name === 'CodeMismatchException' || name === 'ExpiredCodeException') {
      return new SeededUsersError(
        'SIGN_IN_FAILED',
        `Cognito refused the TOTP code of '${at.username}' (${said}): check this machine's clock, and that no other ` +
          'process signed the user in within the same 30 s',
      );
    }
    return new SeededUsersError('SIGN_IN_FAILED', `${call} for '${at.username}' failed: ${this.scrub(said)}`);
  }
}

function awsFor(options: SeededUsersOptions, region: string | undefined): Aws {
  return new Aws({ region, maxAttempts: options.maxAttempts ?? 5, clients: options.clients ?? {} });
}

function tokensOf(result: NonNullable<AuthStep['authenticationResult']>): SeededTokens {
  if (!result.idToken || !result.accessToken || !result.refreshToken) {
    throw new SeededUsersError(
      'SIGN_IN_FAILED',
      'Cognito signed the user in but returned no id, access or refresh token',
    );
  }
  return {
    idToken: result.idToken,
    accessToken: result.accessToken,
    refreshToken: result.refreshToken,
    ...(result.expiresIn !== undefined ? { expiresIn: result.expiresIn } : {}),
    ...(result.tokenType !== undefined ? { tokenType: result.tokenType } : {}),
  };
}

/** The string at `path` in a secret's JSON text; the errors never quote the text. */
function jsonField(text: string, path: readonly string[], where: string): string {
  const name = path.length === 1 ? `field '${path[0]}'` : `entry ${path.map((key) => `["${key}"]`).join('')}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // JSON.parse quotes its input in its message: never pass that on.
    throw new SeededUsersError('PASSWORD_UNREADABLE', `${where} is not JSON, so it has no ${name}`);
  }
  let value = parsed;
  for (const key of path) {
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  }
  if (typeof value !== 'string' || value === '') {
    throw new SeededUsersError('PASSWORD_UNREADABLE', `${where} has no string ${name}`);
  }
  return value;
}

function jsonList(text: string | undefined): string[] {
  try {
    const parsed: unknown = JSON.parse(text ?? '[]');
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}

function unexpected(challenge: string, username: string, why?: string): SeededUsersError {
  return new SeededUsersError(
    'UNSUPPORTED_CHALLENGE',
    `Cognito asks '${username}' for ${challenge}, which this module does not answer${why ? `: ${why}` : ''}`,
  );
}
