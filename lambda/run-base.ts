/**
 * The state a request's work keeps against one pool, and the small steps every part of it
 * uses: counting, the calls' ClientMetadata, applying a password, the ledger's checks.
 */
import { CognitoPool, PoolDescription, errorName, stuckCallMessage } from './cognito';
import { UserRecord } from './ledger';
import { AbortedError } from './pace';
import { Plan } from './plan';
import type { PasswordSource, RemovalSpec, UserSpec } from './properties';
import { throwawayPassword } from './throwaway-password';
import { ClientMetadata, clientMetadataFor } from './triggers';
import { Counts, NotOurs, RequestIdentity, SeedDeps } from './seed-shared';

export abstract class RunBase {
  protected readonly pool: CognitoPool;
  protected readonly counts: Counts = {};
  protected description?: PoolDescription;
  /** The password sources' versions pre-flight read, by `sourceDigest`. */
  protected readonly versions = new Map<string, string>();
  /** The pool's ledger records as pre-flight read them. */
  protected records: readonly UserRecord[] = [];
  protected done = 0;
  /** Users whose action finished. */
  protected completed = 0;
  protected readonly started = Date.now();

  constructor(
    protected readonly userPoolId: string,
    protected readonly pace: RemovalSpec,
    protected readonly who: RequestIdentity,
    protected readonly deps: SeedDeps,
  ) {
    this.pool = deps.pool(userPoolId, pace.rates);
  }

  /**
   * Why a request ran out of time, and what to do: the call it was stuck on, or the
   * throttling that slowed it, or the pace itself.
   */
  protected outOfTime(left: number): string {
    const seconds = Math.round((Date.now() - this.deps.since) / 1000);
    const head = `ran out of CloudFormation's time with ${left} user(s) still to do, ${seconds} s after the request arrived`;
    const stuck = stuckCallMessage(this.pool.oldestCall());
    if (stuck) return `${head}: ${stuck}`;
    const { calls, throttles } = this.pool.stats;
    if (throttles > 0 && throttles * 10 >= calls) {
      return `${head}: Cognito throttled ${throttles} of ${calls} calls (TooManyRequestsException), so the account's quota is busier than the configured rates allow for. Lower rateLimits to leave room for the account's other callers, raise the account's Cognito quotas, or deploy again when the account is quieter`;
    }
    return `${head} at the configured rates (${throttles} of ${calls} calls throttled). Raise rateLimits if the account's Cognito quotas allow, or split the users across seeders in separate deploys`;
  }

  protected continues(error: unknown): boolean {
    return error instanceof AbortedError && this.deps.continues('work');
  }

  protected count(outcome: string, by = 1): void {
    if (by > 0) this.counts[outcome] = (this.counts[outcome] ?? 0) + by;
  }

  /** The ClientMetadata of `user`'s calls: its map, and the seeder's marker. */
  protected metadata(user: UserSpec): ClientMetadata {
    return clientMetadataFor(user.clientMetadata ?? {}, this.repairing ? 'repair' : undefined);
  }

  /** A repair's calls carry the marker's value `repair`, so a trigger can tell it from seeding. */
  protected repairing = false;

  protected async subOf(username: string): Promise<string | undefined> {
    return (await this.pool.getUser(username))?.sub;
  }

  protected async applyPassword(username: string, user: UserSpec): Promise<void> {
    if (user.mode === 'RESET_REQUIRED') return this.forceReset(username, user);
    const password = await this.deps.passwords.read(user.password as PasswordSource);
    await this.pool.setPassword(username, password, user.mode === 'PERMANENT');
  }

  /** AdminResetUserPassword acts on confirmed users: confirm with a throwaway first. */
  protected async forceReset(username: string, user: UserSpec): Promise<void> {
    const policy = this.description?.passwordPolicy ?? {};
    const throwaway = throwawayPassword(policy);
    // Never stored or logged, but an error may echo it: mask it like any other password.
    this.deps.redactor.add(throwaway);
    await this.pool.setPassword(username, throwaway, true);
    await this.pool.resetPassword(username, this.metadata(user));
  }

  protected async removeFromGroup(username: string, group: string): Promise<void> {
    try {
      await this.pool.removeFromGroup(username, group);
    } catch (error) {
      // The group itself is gone, or the membership was removed by hand: drift, not failure.
      if (errorName(error) !== 'ResourceNotFoundException') throw error;
    }
  }

  protected newRecord(key: string, user: UserSpec, extra: Partial<UserRecord>): UserRecord {
    return {
      pool: this.userPoolId,
      key,
      owner: this.who.owner,
      username: user.username,
      origin: 'created',
      state: 'creating',
      requestId: this.who.requestId,
      at: Date.now(),
      ...extra,
    };
  }

  /**
   * Before any write to a held user: its live `sub` is the one recorded. False when the user
   * is gone; a user deleted and made again by hand (another `sub`) is not this seeder's and
   * is never changed: the request fails naming it (a rollback or cleanup leaves it be).
   */
  protected async checkSub(record: UserRecord, username: string): Promise<boolean> {
    const live = await this.pool.getUser(record.cognitoUsername ?? record.username);
    if (!live) return false;
    if (!record.sub || live.sub === record.sub) return true;
    throw new NotOurs(
      username,
      `was deleted and made again outside this seeder (its sub is no longer the one the ledger recorded), so it is someone else's user now and was left as it is: delete it from the pool to have the seeder make it again, or drop it from the seeder`,
    );
  }

  /** Drops `creating` records whose user someone else made: the user stays, unclaimed. */
  protected async dropStale(plan: Plan): Promise<void> {
    for (const record of plan.stale ?? []) {
      await this.deps.ledger.drop(record);
      this.deps.logger.info({ user: record.username, action: 'complete', outcome: 'kept-not-ours' });
    }
  }

  /**
   * The conflicts that fail the request: all of them, except in a rollback or cleanup, which
   * leaves the users it cannot prove its own as they are and says so in the log.
   */
  protected unprovable(conflicts: readonly string[]): readonly string[] {
    if (!this.deps.settling) return conflicts;
    for (const conflict of conflicts) {
      this.deps.logger.info({ action: 'settle', outcome: 'left-as-is', note: conflict });
      this.count('left-as-is');
    }
    return [];
  }
}
