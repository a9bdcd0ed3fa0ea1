/**
 * Every Cognito call the handler makes, each paced by the rate limiter of its quota
 * category and retried when throttled.
 */
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminInitiateAuthCommand,
  AdminRespondToAuthChallengeCommand,
  AdminSetUserMFAPreferenceCommand,
  AssociateSoftwareTokenCommand,
  AdminDeleteUserAttributesCommand,
  AdminDeleteUserCommand,
  AdminEnableUserCommand,
  AdminGetUserCommand,
  AdminListGroupsForUserCommand,
  AdminRemoveUserFromGroupCommand,
  AdminResetUserPasswordCommand,
  AdminSetUserPasswordCommand,
  AdminUpdateUserAttributesCommand,
  CognitoIdentityProviderClient,
  DescribeUserPoolCommand,
  GetGroupCommand,
  ListUsersCommand,
  SetUserMFAPreferenceCommand,
  VerifySoftwareTokenCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { ComposedError } from './log';
import { isThrottle, isTransient, paced, PaceStats, RateLimiter, StopSignal } from './pace';
import type { LiveUser, PasswordPolicy, UsernameRule } from './plan';
import { DEFAULT_RATES, Rates } from './properties';
import { ClientMetadata, explainTriggerFailure } from './triggers';

/** What pre-flight needs to know about a pool. */
export interface PoolDescription {
  readonly passwordPolicy: PasswordPolicy;
  /** How the pool compares usernames. */
  readonly usernameRule: UsernameRule;
  /** Cognito's estimate of the pool's population (0 when not reported). */
  readonly estimatedUsers: number;
  /** Attribute names the pool's schema has (`custom:` prefixed); empty when not reported. */
  readonly attributeNames: ReadonlySet<string>;
  /** `OFF`, `ON` (required) or `OPTIONAL`; undefined when not reported. */
  readonly mfaConfiguration?: string;
  /** Attributes users may also sign in with (`email`, `phone_number`, `preferred_username`). */
  readonly aliasAttributes: readonly string[];
  /** The schema's attributes as DescribeUserPool reports them, by name (`custom:` prefixed). */
  readonly schema: ReadonlyMap<string, SchemaAttribute>;
}

/** What the pool's schema says of one attribute. */
export interface SchemaAttribute {
  /** `String`, `Number`, `DateTime` or `Boolean`; undefined when not reported. */
  readonly type?: string;
  readonly required?: boolean;
  readonly mutable?: boolean;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minValue?: number;
  readonly maxValue?: number;
}

/** A user holding an alias value: its pool username and whether the value is verified there. */
export interface AliasHolder {
  readonly username: string;
  readonly verified: boolean;
}

/**
 * Where a TOTP enrolment stands after a sign-in: tokens (MFA optional), a session to set
 * MFA up with (MFA required), or a TOTP challenge (a token is enrolled already).
 */
export type EnrolmentStart =
  | { readonly kind: 'tokens'; readonly accessToken: string }
  | { readonly kind: 'setup'; readonly session: string }
  | { readonly kind: 'enrolled' };

/** The token or session the software-token calls authenticate with. */
export type EnrolmentAuth = { readonly accessToken: string } | { readonly session: string };

/** The attributes that can be a sign-in alias, and the flag that says each is verified. */
export const VERIFIED_FLAG: Record<string, string> = { email: 'email_verified', phone_number: 'phone_number_verified' };

/** Cognito's ListUsers quota (UserList), calls per second. */
export const LIST_RATE = 30;

/** Users a ListUsers page holds. */
export const LIST_PAGE = 60;

export function errorName(error: unknown): string {
  return (error as { name?: string })?.name ?? '';
}

/** A Cognito call waiting for its answer. */
export interface InFlightCall {
  readonly op: string;
  readonly user?: string;
  readonly since: number;
}

/**
 * Quota categories with fixed default quotas that the seeder uses a little: pre-flight
 * reads of the pool and its groups, TOTP enrolment. Calls per second (Cognito's quotas
 * page: UserPoolRead 15, UserPoolResourceRead 20 an account and 5 a pool, UserAuthentication
 * 120, UserResourceUpdate 25).
 */
export const FIXED_RATES = { poolRead: 15, groupRead: 5, auth: 120, resourceUpdate: 25 } as const;

/** A category paced by the seeder: one of the configurable rates, or a fixed one. */
export type Category = keyof Rates | keyof typeof FIXED_RATES;

/** Cognito allows 10 writes a second to one user: one every 100 ms. */
export const PER_USER_WRITE_INTERVAL_MS = 100;

const WRITE_CATEGORIES: ReadonlySet<Category> = new Set(['create', 'recovery', 'write', 'resourceUpdate']);

/** Limiters shared by a pool and its copies (compensation runs with another signal). */
type Limiters = Record<Category, RateLimiter>;

/** A call waiting this long for its answer is what a request that ran out of time was stuck on. */
export const STUCK_CALL_MS = 5_000;

/** What a request that ran out of time was stuck on, with where to look; undefined when no call waited long. */
export function stuckCallMessage(
  call: InFlightCall | undefined,
  now = Date.now(),
  threshold = STUCK_CALL_MS,
): string | undefined {
  if (!call || now - call.since < threshold) return undefined;
  return `${call.op}${call.user ? ` for user '${call.user}'` : ''} had waited ${Math.round((now - call.since) / 1000)} s for Cognito's answer. Check the function's network path to cognito-idp (in a VPC: a NAT gateway or a cognito-idp interface endpoint) and deploy again`;
}

/** One pool, spoken to at the configured pace. */
export class CognitoPool {
  readonly stats: PaceStats;
  private readonly inFlight = new Set<InFlightCall>();
  private readonly limiters: Limiters;
  /** When each user was last written (for the per-user limit), pruned as it grows. */
  private readonly lastWrite: Map<string, number>;
  /** ListUsers has a quota of its own (UserList, 30 calls a second), a quarter of the reads'. */
  private readonly listLimiter: RateLimiter;

  constructor(
    private readonly client: CognitoIdentityProviderClient,
    readonly userPoolId: string,
    rates: Rates,
    private readonly signal: StopSignal,
    shared?: { limiters: Limiters; stats: PaceStats; lastWrite: Map<string, number> },
  ) {
    this.stats = shared?.stats ?? { calls: 0, throttles: 0 };
    this.lastWrite = shared?.lastWrite ?? new Map();
    // Every quota is the account's, shared with callers the seeder does not see.
    const limiter = (rate: number) => new RateLimiter(rate, Date.now, { shared: true });
    this.limiters = shared?.limiters ?? {
      create: limiter(rates.create),
      recovery: limiter(rates.recovery),
      write: limiter(rates.write),
      read: limiter(rates.read),
      poolRead: limiter(FIXED_RATES.poolRead),
      groupRead: limiter(FIXED_RATES.groupRead),
      auth: limiter(FIXED_RATES.auth),
      resourceUpdate: limiter(FIXED_RATES.resourceUpdate),
    };
    this.listLimiter = limiter(Math.min(LIST_RATE, rates.read / 4));
  }

  /** The same pool, pace and counts, stopped by another signal (for compensation). */
  withSignal(signal: StopSignal): CognitoPool {
    return new CognitoPool(this.client, this.userPoolId, DEFAULT_RATES, signal, {
      limiters: this.limiters,
      stats: this.stats,
      lastWrite: this.lastWrite,
    });
  }

  /** The pool's password policy and schema; undefined when the pool does not exist. */
  async describe(): Promise<PoolDescription | undefined> {
    try {
      const out = await this.call('poolRead', 'DescribeUserPool', undefined, () =>
        this.client.send(new DescribeUserPoolCommand({ UserPoolId: this.userPoolId })),
      );
      const policy = out?.UserPool?.Policies?.PasswordPolicy;
      return {
        passwordPolicy: {
          minimumLength: policy?.MinimumLength,
          requireUppercase: policy?.RequireUppercase,
          requireLowercase: policy?.RequireLowercase,
          requireNumbers: policy?.RequireNumbers,
          requireSymbols: policy?.RequireSymbols,
        },
        estimatedUsers: out?.UserPool?.EstimatedNumberOfUsers ?? 0,
        usernameRule: {
          // A pool created without UsernameConfiguration compares usernames with case.
          caseSensitive: out?.UserPool?.UsernameConfiguration?.CaseSensitive !== false,
          usernameAttributes: out?.UserPool?.UsernameAttributes ?? [],
        },
        attributeNames: new Set((out?.UserPool?.SchemaAttributes ?? []).flatMap((a) => (a.Name ? [a.Name] : []))),
        mfaConfiguration: out?.UserPool?.MfaConfiguration,
        aliasAttributes: out?.UserPool?.AliasAttributes ?? [],
        schema: new Map(
          (out?.UserPool?.SchemaAttributes ?? []).flatMap((a) =>
            a.Name
              ? [
                  [
                    a.Name,
                    {
                      type: a.AttributeDataType,
                      required: a.Required,
                      mutable: a.Mutable,
                      minLength: numberOf(a.StringAttributeConstraints?.MinLength),
                      maxLength: numberOf(a.StringAttributeConstraints?.MaxLength),
                      minValue: numberOf(a.NumberAttributeConstraints?.MinValue),
                      maxValue: numberOf(a.NumberAttributeConstraints?.MaxValue),
                    },
                  ] as const,
                ]
              : [],
          ),
        ),
      };
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  }

  async groupExists(groupName: string): Promise<boolean> {
    try {
      await this.call('groupRead', 'GetGroup', undefined, () =>
        this.client.send(new GetGroupCommand({ UserPoolId: this.userPoolId, GroupName: groupName })),
      );
      return true;
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') return false;
      throw error;
    }
  }

  /**
   * AdminCreateUser, welcome message suppressed; the pool's username and `sub` of the new
   * user. A UsernameExistsException carries `unknownAttempts`: the times of earlier attempts
   * that got no answer or a fault (they may have made the user), empty when it is clear.
   * `clientMetadata` reaches the pool's pre sign-up trigger.
   */
  async createUser(
    username: string,
    attributes: { readonly [name: string]: string },
    temporaryPassword?: string,
    beforeRetry?: () => Promise<void>,
    clientMetadata?: ClientMetadata,
  ): Promise<LiveUser> {
    const userAttributes = Object.entries(attributes).map(([Name, Value]) => ({ Name, Value }));
    const unknownAttempts: { from: number; to: number }[] = [];
    let out;
    try {
      let attempts = 0;
      out = await this.call('create', 'AdminCreateUser', username, async () => {
        if (attempts++ > 0) await beforeRetry?.();
        const from = Date.now();
        try {
          return await this.client.send(
            new AdminCreateUserCommand({
              UserPoolId: this.userPoolId,
              Username: username,
              MessageAction: 'SUPPRESS',
              TemporaryPassword: temporaryPassword,
              UserAttributes: userAttributes.length > 0 ? userAttributes : undefined,
              ClientMetadata: clientMetadata,
            }),
          );
        } catch (error) {
          // A throttle was refused before it did anything; a timeout or a fault may have landed.
          if (!isThrottle(error) && (errorName(error) === 'TimeoutError' || isTransient(error))) {
            unknownAttempts.push({ from, to: Date.now() });
          }
          throw error;
        }
      });
    } catch (error) {
      if (errorName(error) === 'UsernameExistsException') Object.assign(error as object, { unknownAttempts });
      throw error;
    }
    return {
      username: out?.User?.Username ?? username,
      sub: out?.User?.Attributes?.find((a) => a.Name === 'sub')?.Value,
      createdAt: out?.User?.UserCreateDate,
    };
  }

  async setPassword(username: string, password: string, permanent: boolean): Promise<void> {
    await this.call('recovery', 'AdminSetUserPassword', username, () =>
      this.client.send(
        new AdminSetUserPasswordCommand({
          UserPoolId: this.userPoolId,
          Username: username,
          Password: password,
          Permanent: permanent,
        }),
      ),
    );
  }

  /** `clientMetadata` reaches the pool's custom message (or custom sender) trigger. */
  async resetPassword(username: string, clientMetadata?: ClientMetadata): Promise<void> {
    await this.call('recovery', 'AdminResetUserPassword', username, () =>
      this.client.send(
        new AdminResetUserPasswordCommand({
          UserPoolId: this.userPoolId,
          Username: username,
          ClientMetadata: clientMetadata,
        }),
      ),
    );
  }

  /** `clientMetadata` reaches the pool's custom message (or custom sender) trigger. */
  async updateAttributes(
    username: string,
    attributes: { readonly [name: string]: string },
    clientMetadata?: ClientMetadata,
  ): Promise<void> {
    await this.call('write', 'AdminUpdateUserAttributes', username, () =>
      this.client.send(
        new AdminUpdateUserAttributesCommand({
          UserPoolId: this.userPoolId,
          Username: username,
          UserAttributes: Object.entries(attributes).map(([Name, Value]) => ({ Name, Value })),
          ClientMetadata: clientMetadata,
        }),
      ),
    );
  }

  async deleteAttributes(username: string, names: readonly string[]): Promise<void> {
    await this.call('write', 'AdminDeleteUserAttributes', username, () =>
      this.client.send(
        new AdminDeleteUserAttributesCommand({
          UserPoolId: this.userPoolId,
          Username: username,
          UserAttributeNames: [...names],
        }),
      ),
    );
  }

  async addToGroup(username: string, groupName: string): Promise<void> {
    await this.call('write', 'AdminAddUserToGroup', username, () =>
      this.client.send(
        new AdminAddUserToGroupCommand({ UserPoolId: this.userPoolId, Username: username, GroupName: groupName }),
      ),
    );
  }

  async removeFromGroup(username: string, groupName: string): Promise<void> {
    await this.call('write', 'AdminRemoveUserFromGroup', username, () =>
      this.client.send(
        new AdminRemoveUserFromGroupCommand({
          UserPoolId: this.userPoolId,
          Username: username,
          GroupName: groupName,
        }),
      ),
    );
  }

  /** Deletes a user; false when it, or its whole pool, was already gone. */
  async deleteUser(username: string): Promise<boolean> {
    try {
      await this.call('write', 'AdminDeleteUser', username, () =>
        this.client.send(new AdminDeleteUserCommand({ UserPoolId: this.userPoolId, Username: username })),
      );
      return true;
    } catch (error) {
      if (errorName(error) === 'UserNotFoundException' || errorName(error) === 'ResourceNotFoundException') {
        return false;
      }
      throw error;
    }
  }

  /** A user's pool username, `sub` and creation date; undefined when it does not exist. */
  async getUser(username: string): Promise<LiveUser | undefined> {
    let out;
    try {
      out = await this.call('read', 'AdminGetUser', username, () =>
        this.client.send(new AdminGetUserCommand({ UserPoolId: this.userPoolId, Username: username })),
      );
    } catch (error) {
      if (errorName(error) === 'UserNotFoundException') return undefined;
      throw error;
    }
    if (!out) return undefined;
    return {
      username: out.Username ?? username,
      sub: out.UserAttributes?.find((a) => a.Name === 'sub')?.Value,
      createdAt: out.UserCreateDate,
      status: out.UserStatus,
      enabled: out.Enabled,
      modifiedAt: out.UserLastModifiedDate,
      attributes: Object.fromEntries((out.UserAttributes ?? []).map((a) => [a.Name ?? '', a.Value ?? ''])),
    };
  }

  /** The groups a user is in. */
  async groupsOf(username: string): Promise<string[]> {
    const groups: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.call('read', 'AdminListGroupsForUser', username, () =>
        this.client.send(
          new AdminListGroupsForUserCommand({ UserPoolId: this.userPoolId, Username: username, NextToken: token }),
        ),
      );
      groups.push(...(out?.Groups ?? []).flatMap((g) => (g.GroupName ? [g.GroupName] : [])));
      token = out?.NextToken;
    } while (token);
    return groups;
  }

  async enableUser(username: string): Promise<void> {
    await this.call('write', 'AdminEnableUser', username, () =>
      this.client.send(new AdminEnableUserCommand({ UserPoolId: this.userPoolId, Username: username })),
    );
  }

  /**
   * Every user of the pool, 60 a page, with the attributes that can be a username alias.
   * Cheaper than one AdminGetUser per user when many users are looked up in a small pool.
   */
  async listUsers(visit: (user: LiveUser, aliases: readonly string[]) => void): Promise<void> {
    let token: string | undefined;
    do {
      const page = await paced(this.listLimiter, this.signal, this.stats, () =>
        this.client.send(
          new ListUsersCommand({
            UserPoolId: this.userPoolId,
            PaginationToken: token,
            AttributesToGet: ['sub', 'email', 'phone_number'],
          }),
        ),
      );
      for (const u of page?.Users ?? []) {
        const attribute = (name: string) => u.Attributes?.find((a) => a.Name === name)?.Value;
        const aliases = [attribute('email'), attribute('phone_number')].filter((a): a is string => !!a);
        visit({ username: u.Username ?? '', sub: attribute('sub'), createdAt: u.UserCreateDate }, aliases);
      }
      token = page?.PaginationToken;
    } while (token);
  }

  /**
   * The users whose attribute `name` (`email` or `phone_number`) is `value`, with whether
   * they verified it: one filtered ListUsers (on its own quota).
   */
  async aliasHolders(name: string, value: string): Promise<AliasHolder[]> {
    const holders: AliasHolder[] = [];
    let token: string | undefined;
    do {
      const page = await paced(this.listLimiter, this.signal, this.stats, () =>
        this.client.send(
          new ListUsersCommand({
            UserPoolId: this.userPoolId,
            PaginationToken: token,
            Filter: `${name} = "${value.replace(/["\\]/g, '\\$&')}"`,
            AttributesToGet: [name, VERIFIED_FLAG[name]],
          }),
        ),
      );
      for (const u of page?.Users ?? []) {
        const verified = u.Attributes?.find((a) => a.Name === VERIFIED_FLAG[name])?.Value === 'true';
        holders.push({ username: u.Username ?? '', verified });
      }
      token = page?.PaginationToken;
    } while (token);
    return holders;
  }

  /**
   * Signs a user in through the seeder's app client (ADMIN_USER_PASSWORD_AUTH) to enrol a TOTP
   * token. `clientMetadata` reaches the pre authentication trigger (as `validationData`).
   */
  async startEnrolment(
    clientId: string,
    username: string,
    password: string,
    clientMetadata?: ClientMetadata,
  ): Promise<EnrolmentStart> {
    const out = await this.call('auth', 'AdminInitiateAuth', username, () =>
      this.client.send(
        new AdminInitiateAuthCommand({
          UserPoolId: this.userPoolId,
          ClientId: clientId,
          AuthFlow: 'ADMIN_USER_PASSWORD_AUTH',
          AuthParameters: { USERNAME: username, PASSWORD: password },
          ClientMetadata: clientMetadata,
        }),
      ),
    );
    if (out?.AuthenticationResult?.AccessToken)
      return { kind: 'tokens', accessToken: out.AuthenticationResult.AccessToken };
    if (out?.ChallengeName === 'MFA_SETUP' && out.Session) return { kind: 'setup', session: out.Session };
    if (out?.ChallengeName === 'SOFTWARE_TOKEN_MFA') return { kind: 'enrolled' };
    throw new Error(
      `signing in to enrol a TOTP token gave challenge ${out?.ChallengeName ?? 'none'}, not tokens or MFA_SETUP`,
    );
  }

  /** AssociateSoftwareToken: the new token's base32 secret, and the session to verify it with. */
  async associateSoftwareToken(auth: EnrolmentAuth): Promise<{ secretCode: string; auth: EnrolmentAuth }> {
    const out = await this.call('resourceUpdate', 'AssociateSoftwareToken', undefined, () =>
      this.client.send(
        new AssociateSoftwareTokenCommand(
          'accessToken' in auth ? { AccessToken: auth.accessToken } : { Session: auth.session },
        ),
      ),
    );
    if (!out?.SecretCode) throw new Error('AssociateSoftwareToken returned no secret');
    return {
      secretCode: out.SecretCode,
      auth: 'accessToken' in auth ? auth : { session: out.Session ?? auth.session },
    };
  }

  /** VerifySoftwareToken with a current code; the session to finish MFA_SETUP with, if any. */
  async verifySoftwareToken(auth: EnrolmentAuth, code: string): Promise<EnrolmentAuth> {
    const out = await this.call('resourceUpdate', 'VerifySoftwareToken', undefined, () =>
      this.client.send(
        new VerifySoftwareTokenCommand({
          ...('accessToken' in auth ? { AccessToken: auth.accessToken } : { Session: auth.session }),
          UserCode: code,
          FriendlyDeviceName: 'cdk-cognito-seeder',
        }),
      ),
    );
    if (out?.Status && out.Status !== 'SUCCESS') throw new Error(`VerifySoftwareToken answered ${out.Status}`);
    return 'accessToken' in auth ? auth : { session: out?.Session ?? auth.session };
  }

  /**
   * Finishes an MFA_SETUP sign-in (pools with MFA required): an access token.
   * `clientMetadata` reaches the post authentication and pre token generation triggers.
   */
  async finishSetup(
    clientId: string,
    username: string,
    session: string,
    clientMetadata?: ClientMetadata,
  ): Promise<string> {
    const out = await this.call('auth', 'AdminRespondToAuthChallenge', username, () =>
      this.client.send(
        new AdminRespondToAuthChallengeCommand({
          UserPoolId: this.userPoolId,
          ClientId: clientId,
          ChallengeName: 'MFA_SETUP',
          Session: session,
          ChallengeResponses: { USERNAME: username },
          ClientMetadata: clientMetadata,
        }),
      ),
    );
    const token = out?.AuthenticationResult?.AccessToken;
    if (!token) throw new Error(`finishing MFA_SETUP gave challenge ${out?.ChallengeName ?? 'none'}, not tokens`);
    return token;
  }

  /** Makes the software token the user's enabled, preferred MFA method (with the user's own token). */
  async preferSoftwareToken(accessToken: string): Promise<void> {
    await this.call('resourceUpdate', 'SetUserMFAPreference', undefined, () =>
      this.client.send(
        new SetUserMFAPreferenceCommand({
          AccessToken: accessToken,
          SoftwareTokenMfaSettings: { Enabled: true, PreferredMfa: true },
        }),
      ),
    );
  }

  /** Turns a user's software-token MFA off (the seeder no longer asks for it); false when the user is gone. */
  async disableSoftwareToken(username: string): Promise<boolean> {
    try {
      await this.call('resourceUpdate', 'AdminSetUserMFAPreference', username, () =>
        this.client.send(
          new AdminSetUserMFAPreferenceCommand({
            UserPoolId: this.userPoolId,
            Username: username,
            SoftwareTokenMfaSettings: { Enabled: false, PreferredMfa: false },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (errorName(error) === 'UserNotFoundException') return false;
      throw error;
    }
  }

  /**
   * Waits until `user` may be written again (10 writes a second per user), and notes this
   * write. The interval is kept again from the write's answer ({@link CognitoPool.call}):
   * Cognito counts a request when it arrives, and the time from here to its arrival varies
   * (the SDK's middleware, the network), so only spacing from the answer before is sure to
   * reach Cognito 100 ms apart.
   */
  private async spaceWrite(user: string): Promise<void> {
    const now = Date.now();
    const wait = (this.lastWrite.get(user) ?? -Infinity) + PER_USER_WRITE_INTERVAL_MS - now;
    this.lastWrite.set(user, Math.max(now, now + wait));
    if (wait > 0) await this.signal.sleep(wait);
    if (this.lastWrite.size > 10_000) {
      for (const [name, at] of this.lastWrite) if (at < now - PER_USER_WRITE_INTERVAL_MS) this.lastWrite.delete(name);
    }
  }

  /**
   * The call that has waited longest for Cognito's answer, if any is in flight: what a
   * request that ran out of time was stuck on.
   */
  /** When this pool's first write (create, password, attribute, group or delete call) was sent. */
  firstWriteAt?: number;

  oldestCall(): InFlightCall | undefined {
    let oldest: InFlightCall | undefined;
    for (const call of this.inFlight) if (!oldest || call.since < oldest.since) oldest = call;
    return oldest;
  }

  private async call<T>(category: Category, op: string, user: string | undefined, fn: () => Promise<T>): Promise<T> {
    return paced(this.limiters[category], this.signal, this.stats, async () => {
      if (user !== undefined && WRITE_CATEGORIES.has(category)) await this.spaceWrite(user);
      const call: InFlightCall = { op, user, since: Date.now() };
      if (this.firstWriteAt === undefined && WRITE_CATEGORIES.has(category)) this.firstWriteAt = call.since;
      this.inFlight.add(call);
      try {
        return await fn();
      } catch (error) {
        if (errorName(error) === 'TimeoutError') {
          // No answer in time: say which call, and where to look, rather than a socket message.
          throw Object.assign(
            new ComposedError(
              `${op} got no answer from Cognito in time: the function cannot reach cognito-idp, or Cognito stalls. In a VPC, give the function's subnets a NAT gateway or a cognito-idp interface endpoint`,
            ),
            // Retried as any network timeout is (lambda/pace.ts).
            { code: 'ETIMEDOUT' },
          );
        }
        const trigger = explainTriggerFailure(op, errorName(error), (error as Error)?.message ?? '');
        if (trigger !== undefined) {
          // Not a ComposedError: the trigger's own words are text the handler does not
          // control, so they pass the redactor like any service message. The name stays
          // Cognito's, so the Reason shows which exception it was.
          throw Object.assign(new Error(trigger), { name: errorName(error) });
        }
        throw error;
      } finally {
        this.inFlight.delete(call);
        if (user !== undefined && WRITE_CATEGORIES.has(category)) {
          this.lastWrite.set(user, Math.max(this.lastWrite.get(user) ?? -Infinity, Date.now()));
        }
        this.stats.callMs = (this.stats.callMs ?? 0) + (Date.now() - call.since);
      }
    });
  }
}

/** A schema constraint (DescribeUserPool reports them as strings); undefined when absent. */
function numberOf(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}
