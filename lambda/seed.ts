/**
 * What a request does to a pool: reconcile the desired users against the ownership
 * ledger (pre-flight first, then the writes, each recorded), or remove what the ledger
 * holds. Every delete goes through `deleteOwned`, whose first line checks ownership.
 */
import {
  CognitoPool,
  EnrolmentAuth,
  VERIFIED_FLAG,
  errorName,
  LIST_PAGE,
  LIST_RATE,
  PoolDescription,
  stuckCallMessage,
} from './cognito';
import { createHash } from 'crypto';
import { attributesToRestore, Drift, driftOf, PasswordPolicy, REPORT_MAX, RepairedUser, RepairReport } from './drift';
export type { PasswordPolicy };
import { AppliedSpec, Ledger, Progress, UserRecord } from './ledger';
import { ComposedError, describeError, Logger, Redactor } from './log';
import { AbortedError, Lanes, runBounded, StopSignal } from './pace';
import { PasswordReader } from './passwords';
import {
  countCalls,
  DesiredUser,
  estimateSeconds,
  LiveUser,
  lookupsFor,
  madeWithin,
  ModifyAction,
  needsPassword,
  passwordPolicyViolations,
  Plan,
  planCompensation,
  planRemoveAll,
  reconcile,
  RemoveAction,
  sourceRef,
  usernameKey,
  WriteAction,
} from './plan';
import type { PasswordSource, Rates, RemovalSpec, SeedSpec, UserSpec } from './properties';
import { throwawayPassword } from './throwaway-password';
import { buildManifest } from './manifest';
import { totpCode, TotpStore } from './totp';
import { ClientMetadata, clientMetadataFor } from './triggers';

/** A request that failed; carries the physical id to answer with. */
export class SeedFailure extends ComposedError {
  constructor(
    message: string,
    readonly physicalResourceId: string,
  ) {
    super(message);
  }
}

/** A failure about one user; its message names the user. */
class UserError extends ComposedError {
  constructor(username: string, message: string) {
    super(`user '${username}': ${message}`);
  }
}

/** How long after its timeout a call Cognito received may still land (generous: it is processed on arrival). */
const CALL_LANDING_MS = 5_000;

/** A user this seeder cannot prove its own: a rollback or cleanup leaves it be instead of failing. */
class NotOurs extends UserError {}

/** The time windows of the create's attempts whose outcome was unknown (no answer, a fault). */
function unknownAttempts(error: unknown): readonly { from: number; to: number }[] {
  return (error as { unknownAttempts?: { from: number; to: number }[] })?.unknownAttempts ?? [];
}

/** The physical id of a seed: a new pool means a new id, so CloudFormation cleans the old. */
export function physicalId(userPoolId: string, logicalResourceId: string): string {
  return `${userPoolId}/${logicalResourceId}`;
}

/** The pool a physical id names, when it is one of ours. */
export function poolOfPhysicalId(id: string | undefined, logicalResourceId: string): string | undefined {
  const suffix = `/${logicalResourceId}`;
  return id?.endsWith(suffix) && id.length > suffix.length ? id.slice(0, -suffix.length) : undefined;
}

/**
 * Fewer new users than this are looked up one by one, whatever the pool's size (exact, and
 * quick: 20 reads are a sixth of a second at the read quota).
 */
const LIST_AT_LEAST = 20;

/** Users worked on at once at first; more open as Cognito's latency asks (up to maxConcurrency). */
const INITIAL_LANES = 16;

function isWrite(action: WriteAction | RemoveAction): action is WriteAction {
  return ['create', 'complete', 'adopt', 'takeover', 'modify'].includes(action.kind);
}

function isRemove(action: WriteAction | RemoveAction): action is RemoveAction {
  return !isWrite(action);
}

/** Log a progress line after this many users. */
const PROGRESS_EVERY = 500;

export interface SeedDeps {
  readonly pool: (userPoolId: string, rates: Rates) => CognitoPool;
  readonly passwords: PasswordReader;
  readonly ledger: Ledger;
  readonly logger: Logger;
  readonly redactor: Redactor;
  /** Raised shortly before the function's timeout: start nothing new. */
  readonly signal: StopSignal;
  /** Raised at the last moment: stop compensating, answer. */
  readonly cleanupSignal: StopSignal;
  /** When the request arrived (ms since epoch). */
  readonly since: number;
  /** When Lambda ends this invocation at the latest: no call of it can land after. */
  readonly invocationEnds: number;
  /** How long a Cognito call waits for its answer before it is given up (and maybe retried). */
  readonly callTimeoutMs: number;
  /**
   * A rollback or a cleanup: what the ledger cannot prove this seeder's is left as it is and
   * reported, never a reason to fail (CloudFormation's rollback must be able to finish).
   */
  readonly settling: boolean;
  /** Milliseconds the request has left for its work, across slices. */
  readonly remainingMs: () => number;
  /**
   * True when a stop came from the end of a slice, with the request's time left for the
   * work (or, for `cleanup`, for undoing it), or from a newer request: the next slice (or
   * the newer request) goes on from the ledger, so a stopped request returns untouched
   * (no compensation).
   */
  readonly continues: (phase: 'work' | 'cleanup') => boolean;
  /** What earlier slices of the request established. */
  readonly progress: Progress;
  /** Keeps what this slice established, for the next one. */
  readonly saveProgress: (progress: Progress) => Promise<void>;
  /** The store of TOTP secrets kept in `secretArn`. */
  readonly totp: (secretArn: string) => TotpStore;
}

/** Who is asking: the seed resource (the ledger's owner) and the request. */
export interface RequestIdentity {
  readonly owner: string;
  readonly requestId: string;
  /** The stack the resource belongs to (recorded in the manifest). */
  readonly stackId?: string;
  readonly requestType?: string;
}

/** TOTP users enrolled per batch: one write of the TOTP secret each, sessions well inside their 3 minutes. */
const ENROL_BATCH = 50;

export interface SeedResult {
  readonly physicalResourceId: string;
  readonly counts: Counts;
  /** The users the request seeds (Create and Update). */
  readonly users?: number;
  /** A repair's report. */
  readonly report?: RepairReport;
}

export type Counts = Record<string, number>;

/**
 * Create and Update: reconcile `spec` against the ledger. On failure, the users this
 * request created are removed again (what cannot be removed in time stays recorded for
 * the next request) and a SeedFailure carries `failedId`.
 */
export async function reconcileRequest(
  spec: SeedSpec,
  who: RequestIdentity,
  successId: string,
  failedId: string,
  deps: SeedDeps,
): Promise<SeedResult | undefined> {
  const run = new Run(spec.userPoolId, spec, who, deps);
  return run.reconcile(spec, successId, failedId);
}

/** Delete: remove every user the ledger holds for this owner in `userPoolId`. */
export async function deleteRequest(
  removal: RemovalSpec,
  userPoolId: string,
  who: RequestIdentity,
  currentId: string,
  deps: SeedDeps,
): Promise<SeedResult | undefined> {
  const run = new Run(userPoolId, removal, who, deps);
  return run.removeAll(removal.retain, currentId);
}

/** What a repair is asked to do. */
export interface RepairOptions {
  readonly usernames?: readonly string[];
  readonly dryRun: boolean;
  readonly passwords: PasswordPolicy;
  /** Users left out: their unsafePlainText password is no longer in the template. */
  readonly skipped?: readonly string[];
}

/**
 * A repair: every user the ledger holds for this seeder (or the ones named) back to what was
 * last applied to it. It never deletes, never touches a user the ledger does not hold, and
 * reports a user made again by hand instead of changing it. Undefined when the slice ended
 * with users still to look at (the next slice starts again: what is repaired looks right).
 */
export async function repairRequest(
  spec: SeedSpec,
  who: RequestIdentity,
  deps: SeedDeps,
  options: RepairOptions,
): Promise<RepairReport | undefined> {
  return new Run(spec.userPoolId, spec, who, deps).repair(spec, options);
}

/**
 * Finishes the compensation of earlier requests that failed and could not remove all they
 * created, in any pool: `pending` markers name them.
 */
export async function finishPending(who: RequestIdentity, removal: RemovalSpec, deps: SeedDeps): Promise<void> {
  for (const pending of await deps.ledger.pendingCompensations(who.owner)) {
    const run = new Run(pending.pool, removal, who, deps);
    const undo = await run.compensateFor(pending.requestId, deps.signal);
    // What is still left stays marked, for the request after this one.
    if (undo.left === 0) await deps.ledger.clearPending(who.owner, pending.pool, pending.requestId);
  }
}

/** One request's work against one pool. */
class Run {
  private readonly pool: CognitoPool;
  private readonly counts: Counts = {};
  private description?: PoolDescription;
  /** The password sources' versions pre-flight read, by `sourceDigest`. */
  private readonly versions = new Map<string, string>();
  /** The pool's ledger records as pre-flight read them. */
  private records: readonly UserRecord[] = [];
  private done = 0;
  /** Users whose action finished. */
  private completed = 0;
  private readonly started = Date.now();

  constructor(
    private readonly userPoolId: string,
    private readonly pace: RemovalSpec,
    private readonly who: RequestIdentity,
    private readonly deps: SeedDeps,
  ) {
    this.pool = deps.pool(userPoolId, pace.rates);
  }

  /**
   * One slice of a Create or Update: pre-flight (first slice) or a plan from the ledger
   * (the slices after it), then the writes. Undefined when the slice ended with the rest
   * to do; the result once done; a SeedFailure once failed and undone.
   */
  async reconcile(spec: SeedSpec, successId: string, failedId: string): Promise<SeedResult | undefined> {
    const progress = this.deps.progress;
    if (progress.failed !== undefined) return this.undo(progress.failed, failedId);
    let plan: Plan;
    try {
      plan = progress.preflight ? await this.replan(spec, progress) : await this.preflight(spec);
    } catch (error) {
      if (this.continues(error)) return undefined;
      throw new SeedFailure(describeError(error, this.deps.redactor), failedId);
    }
    if (!progress.preflight) {
      const counts = countCalls(plan);
      const needed = estimateSeconds(counts, spec.rates);
      const left = this.deps.remainingMs() / 1000;
      if (needed > left) {
        // Fail before the first write rather than time out half-way.
        throw new SeedFailure(
          `the users need about ${Math.ceil(needed)} s at the configured rates (${counts.create} AdminCreateUser at ${spec.rates.create}/s, ${counts.recovery} password calls at ${spec.rates.recovery}/s, ${counts.write} other writes at ${spec.rates.write}/s), and the request has ${Math.floor(left)} s left of CloudFormation's hour; nothing was written. Raise rateLimits if your account's Cognito quotas are raised, or split the users across seeders in separate deploys`,
          failedId,
        );
      }
      await this.deps.saveProgress({ ...progress, preflight: true, versions: Object.fromEntries(this.versions) });
    }
    this.count('unchanged', plan.unchanged);
    if (plan.writes.length > 0) await this.deps.ledger.notePool(this.who.owner, this.userPoolId);
    let error = await this.runAll(plan.writes, (a) => this.write(a));
    if (error === undefined) error = await this.runAll(plan.removals, (a) => this.remove(a));
    if (error === undefined)
      error = await this.settleTotp(spec).then(
        () => undefined,
        (e: unknown) => e,
      );
    if (error === undefined) {
      error = await this.deps.ledger
        .putManifest(
          this.who.owner,
          this.userPoolId,
          this.who.requestId,
          JSON.stringify(buildManifest(spec, this.who.owner, this.who.stackId ?? '', this.who.requestId)),
        )
        .then(
          () => undefined,
          (e: unknown) =>
            new ComposedError(
              `the manifest could not be written to the ledger (${describeError(e, this.deps.redactor)})`,
            ),
        );
    }
    if (error === undefined) {
      return {
        physicalResourceId: successId,
        counts: { ...this.counts, calls: this.pool.stats.calls, throttles: this.pool.stats.throttles },
        users: spec.users.length,
      };
    }
    // Stopped at the end of a slice, with time left: the next slice goes on from the ledger.
    if (this.continues(error)) return undefined;
    const what =
      error instanceof AbortedError
        ? this.outOfTime(plan.writes.length + plan.removals.length - this.completed)
        : describeError(error, this.deps.redactor);
    return this.undo(what, failedId);
  }

  async repair(spec: SeedSpec, options: RepairOptions): Promise<RepairReport | undefined> {
    this.repairing = true;
    const description = await this.pool.describe();
    if (!description)
      throw new ComposedError(`user pool ${this.userPoolId} does not exist any more: nothing to repair`);
    this.description = description;
    const rule = description.usernameRule;
    const named = options.usernames ? new Set(options.usernames.map((u) => usernameKey(u, rule))) : undefined;
    const byKey = new Map(spec.users.map((u) => [usernameKey(u.username, rule), u]));
    const records = (await this.deps.ledger.poolRecords(this.userPoolId)).filter(
      (r) => r.owner === this.who.owner && r.state === 'present' && byKey.has(r.key) && (!named || named.has(r.key)),
    );
    const versions = new Map<string, string | undefined>();
    await runBounded(distinctSources(spec.users), spec.maxConcurrency, this.deps.signal, async (source) => {
      versions.set(
        sourceKey(source),
        await this.deps.passwords.readVersioned(source).then(
          (v) => v.version,
          () => undefined,
        ),
      );
    });
    const users: RepairedUser[] = [];
    let left = 0;
    const error = await runBounded(records, spec.maxConcurrency, this.deps.signal, async (record) => {
      const user = byKey.get(record.key) as UserSpec;
      const name = record.cognitoUsername ?? record.username;
      const live = await this.pool.getUser(name);
      const applied = record.applied as AppliedSpec;
      const groups = live && applied.groups.length > 0 ? await this.pool.groupsOf(live.username) : [];
      const sourceVersion = user.password ? versions.get(sourceKey(user.password)) : undefined;
      const drift = driftOf({ applied, record, live, groups, sourceVersion, passwords: options.passwords });
      if (drift === 'remade') {
        left++;
        users.push({
          username: user.username,
          found: ['remade-by-hand'],
          done: [],
          error: 'its sub is not the one the seeder recorded: someone made it again; left as it is',
        });
        return;
      }
      if (drift.length === 0) return;
      if (options.dryRun) {
        users.push({ username: user.username, found: drift, done: [] });
        return;
      }
      const done: string[] = [];
      try {
        await this.putBack(record, user, applied, live, drift, sourceVersion, done);
        users.push({ username: user.username, found: drift, done });
      } catch (e) {
        left++;
        users.push({ username: user.username, found: drift, done, error: describeError(e, this.deps.redactor) });
      }
    });
    if (error !== undefined) {
      if (this.continues(error)) return undefined;
      throw error;
    }
    // Users made again get their TOTP token as at the first deploy.
    if (!options.dryRun && users.some((u) => u.found.includes('deleted'))) await this.settleTotp(spec);
    for (const username of options.skipped ?? []) {
      left++;
      users.push({
        username,
        found: [],
        done: [],
        error:
          'its unsafePlainText password is no longer in the template, so a repair cannot set it: deploy to re-apply it',
      });
    }
    users.sort((a, b) => a.username.localeCompare(b.username));
    return {
      seeder: this.who.owner,
      dryRun: options.dryRun,
      checked: records.length,
      users: users.slice(0, REPORT_MAX),
      more: Math.max(0, users.length - REPORT_MAX),
      left,
      calls: this.pool.stats.calls,
      seconds: Math.round((Date.now() - this.deps.since) / 1000),
    };
  }

  /** Puts a drifted user back, as `drift` says, and records what was applied and when. */
  private async putBack(
    record: UserRecord,
    user: UserSpec,
    applied: AppliedSpec,
    live: LiveUser | undefined,
    drift: readonly Drift[],
    sourceVersion: string | undefined,
    done: string[],
  ): Promise<void> {
    const now = { ...applied, sourceVersion: applied.sourceVersion === undefined ? undefined : sourceVersion };
    if (!live) {
      // Deleted by hand: made again as at the first deploy; its new sub is recorded.
      await this.deps.ledger.save({ ...record, state: 'creating', at: Date.now(), sub: undefined, totp: undefined });
      await this.create(record.key, user, now);
      done.push('created');
      return;
    }
    const name = live.username;
    if (drift.includes('disabled')) {
      await this.pool.enableUser(name);
      done.push('enabled');
    }
    const restore = attributesToRestore(applied, live);
    if (Object.keys(restore).length > 0) {
      await this.pool.updateAttributes(name, restore, this.metadata(user));
      done.push('attributes');
    }
    if (drift.some((d) => d.startsWith('password') || d === 'temporary-password-answered' || d === 'reset-answered')) {
      await this.applyPassword(name, user);
      done.push('password');
    }
    if (drift.includes('groups')) {
      const groups = await this.pool.groupsOf(name);
      for (const group of applied.groups.filter((g) => !groups.includes(g))) await this.pool.addToGroup(name, group);
      done.push('groups');
    }
    await this.deps.ledger.save({ ...record, applied: now, appliedAt: Date.now() });
  }

  /**
   * Undoes what the request did, after it failed (`what`), and fails with a reason that
   * says so. Undefined when the slice ended first: the next slice goes on undoing.
   */
  private async undo(what: string, failedId: string): Promise<undefined> {
    const before = this.deps.progress.undone ?? { deleted: 0, released: 0 };
    const undo = await this.compensateFor(this.who.requestId, this.deps.cleanupSignal);
    const undone = { deleted: before.deleted + undo.deleted, released: before.released + undo.released };
    // Stopped by the end of the slice, not by failures: the next slice goes on undoing.
    if (undo.left > 0 && this.deps.cleanupSignal.stopped && this.deps.continues('cleanup')) {
      await this.deps.saveProgress({ ...this.deps.progress, failed: what, undone });
      return undefined;
    }
    let note = '';
    if (undo.left === 0 && undone.deleted + undone.released > 0) {
      note = ` Undid what this request did: deleted the ${undone.deleted} user(s) it had created${undone.released > 0 ? `, released or handed back the ${undone.released} it had adopted or taken over` : ''}.`;
    }
    if (undo.left > 0) {
      await this.deps.ledger.notePending(this.who.owner, this.userPoolId, this.who.requestId);
      note = ` ${undo.left} user(s) this request created are still recorded in the ledger; the next request on this resource removes them.`;
    }
    throw new SeedFailure(`${what}.${note}`, failedId);
  }

  /**
   * The plan of a slice after the first: pre-flight passed, so every listed user the ledger
   * does not hold was free then and is created now (if someone made it meanwhile, its
   * create says so); only users caught mid-create, or to adopt, are looked up again.
   */
  private async replan(spec: SeedSpec, progress: Progress): Promise<Plan> {
    const description = await this.pool.describe();
    if (!description) {
      throw new ComposedError(`user pool ${this.userPoolId} was deleted while the request ran`);
    }
    this.description = description;
    const rule = description.usernameRule;
    const desired: DesiredUser[] = spec.users.map((user) => ({
      key: usernameKey(user.username, rule),
      user,
      applied: appliedSpec(user, user.password ? progress.versions?.[sourceDigest(user.password)] : undefined),
    }));
    const records = await this.deps.ledger.poolRecords(this.userPoolId);
    this.records = records;
    const byKey = new Map(records.map((r) => [r.key, r]));
    const lookups = new Set(lookupsFor(this.who.owner, desired, records));
    const again = desired.filter(
      (d) => lookups.has(d.key) && (spec.adoptExistingUsers || byKey.get(d.key)?.state === 'creating'),
    );
    const live = await this.lookUp(again, description, spec);
    for (const d of desired) if (lookups.has(d.key) && !live.has(d.key)) live.set(d.key, null);
    const plan = reconcile({
      owner: this.who.owner,
      desired,
      records,
      live,
      siblings: new Map(
        [...spec.siblings].map(([owner, names]) => [owner, new Set(names.map((name) => usernameKey(name, rule)))]),
      ),
      adoptExistingUsers: spec.adoptExistingUsers,
      deleteAdoptedUsers: spec.deleteAdoptedUsers,
      retain: spec.retain,
    });
    await this.dropStale(plan);
    const conflicts = this.unprovable(plan.conflicts);
    if (conflicts.length > 0) {
      throw new ComposedError(
        `${conflicts.length} user(s) changed hands while the request ran: ${conflicts.join('; ')}`,
      );
    }
    return plan;
  }

  async removeAll(retain: boolean, currentId: string): Promise<SeedResult | undefined> {
    const records = await this.deps.ledger.poolRecords(this.userPoolId);
    const actions = planRemoveAll(this.who.owner, records, retain);
    if (actions.length > 0 && !(await this.pool.describe())) {
      // The pool is gone, and its users with it: only the records are left to drop.
      for (const action of actions) await this.deps.ledger.drop(action.record);
      this.count('pool-gone', actions.length);
    } else {
      const error = await this.runAll(actions, (a) => this.remove(a));
      if (this.continues(error)) return undefined;
      if (error !== undefined) {
        const what =
          error instanceof AbortedError
            ? this.outOfTime(actions.length - this.completed)
            : describeError(error, this.deps.redactor);
        throw new SeedFailure(what, currentId);
      }
    }
    await this.deps.ledger.deleteManifest(this.who.owner, this.userPoolId);
    // Retained users keep their tokens, and the secret is retained with them.
    if (this.pace.totp && !retain) await this.deps.totp(this.pace.totp.secretArn).save(this.userPoolId, new Map());
    await this.deps.ledger.forgetPool(this.who.owner, this.userPoolId);
    return { physicalResourceId: currentId, counts: { ...this.counts, calls: this.pool.stats.calls } };
  }

  /**
   * Why a request ran out of time, and what to do: the call it was stuck on, or the
   * throttling that slowed it, or the pace itself.
   */
  private outOfTime(left: number): string {
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

  private continues(error: unknown): boolean {
    return error instanceof AbortedError && this.deps.continues('work');
  }

  /** Undoes what request `requestId` did in this pool; how many there were and how many are left. */
  async compensateFor(
    requestId: string,
    signal: StopSignal,
  ): Promise<{ total: number; left: number; deleted: number; released: number }> {
    const records = await this.deps.ledger.poolRecords(this.userPoolId);
    const actions = planCompensation(this.who.owner, requestId, records);
    if (actions.length === 0) return { total: 0, left: 0, deleted: 0, released: 0 };
    let undone = 0;
    let deleted = 0;
    let released = 0;
    await runBounded(actions, this.pace.maxConcurrency, signal, async (action) => {
      try {
        const outcome = await this.remove(action, signal);
        if (outcome === 'deleted') deleted++;
        if (outcome === 'released' || outcome === 'handed-over') released++;
        undone++;
      } catch (error) {
        this.deps.logger.error({
          user: action.record.username,
          action: 'compensate',
          outcome: 'failed',
          error: describeError(error, this.deps.redactor),
        });
      }
    });
    return { total: actions.length, left: actions.length - undone, deleted, released };
  }

  /**
   * Every check that can fail before anything is written, all reported at once: the pool,
   * the usernames (free, or held by this seeder), the passwords, the schema, the groups.
   */
  private async preflight(spec: SeedSpec): Promise<Plan> {
    const description = await this.pool.describe();
    if (!description) {
      throw new ComposedError(
        `user pool ${this.userPoolId} does not exist: check the pool id, or create the pool before seeding it`,
      );
    }
    this.description = description;
    const rule = description.usernameRule;
    const problems: string[] = [];

    const keys = new Map<string, string>();
    for (const user of spec.users) {
      const key = usernameKey(user.username, rule);
      const other = keys.get(key);
      if (other !== undefined) {
        problems.push(
          `users '${other}' and '${user.username}' are one user in this pool (it compares usernames without case): list it once`,
        );
      }
      keys.set(key, user.username);
    }

    const versions = this.versions;
    const failedSources = new Set<string>();
    let usersOf: Map<string, string[]> | undefined;
    await runBounded(distinctSources(spec.users), spec.maxConcurrency, this.deps.signal, async (source) => {
      try {
        const read = await this.deps.passwords.readVersioned(source);
        if (read.version !== undefined) versions.set(sourceDigest(source), read.version);
      } catch (error) {
        failedSources.add(sourceKey(source));
        // Indexed once, on the first failure: many failing sources must not scan every user each.
        usersOf ??= usersBySource(spec.users);
        const users = usersOf.get(sourceKey(source)) ?? [];
        problems.push(`user '${users[0]}'${more(users)}: ${describeError(error, this.deps.redactor)}`);
      }
    });
    this.deps.signal.throwIfStopped();

    const desired: DesiredUser[] = spec.users.map((user) => ({
      key: usernameKey(user.username, rule),
      user,
      applied: appliedSpec(user, user.password ? versions.get(sourceDigest(user.password)) : undefined),
    }));
    const records = await this.deps.ledger.poolRecords(this.userPoolId);
    this.records = records;
    const lookups = new Set(lookupsFor(this.who.owner, desired, records));
    const live = await this.lookUp(
      desired.filter((d) => lookups.has(d.key)),
      description,
      spec,
    );

    const siblings = new Map(
      [...spec.siblings].map(([owner, names]) => [owner, new Set(names.map((name) => usernameKey(name, rule)))]),
    );
    const plan = reconcile({
      owner: this.who.owner,
      desired,
      records,
      live,
      siblings,
      adoptExistingUsers: spec.adoptExistingUsers,
      deleteAdoptedUsers: spec.deleteAdoptedUsers,
      retain: spec.retain,
    });
    await this.dropStale(plan);
    const conflicts = this.unprovable(plan.conflicts);
    problems.push(...conflicts);
    if (conflicts.length > 0 && this.who.requestType === 'Update' && !records.some((r) => r.owner === this.who.owner)) {
      // An Update of a resource that holds nothing: the ledger lost what it knew.
      problems.push(
        `the ownership ledger (DynamoDB table ${this.deps.ledger.table}) holds no user of this resource, though it seeded before: the table was emptied, replaced or restored. Take the users back with adoptExistingUsers: true and deleteAdoptedUsers: true for one deploy (then remove both), so that a later Delete removes them again`,
      );
    }

    for (const action of plan.writes) {
      const user = action.user;
      if (needsPassword(action) && user.password && !failedSources.has(sourceKey(user.password))) {
        const password = await this.deps.passwords.read(user.password);
        const broken = passwordPolicyViolations(password, description.passwordPolicy);
        if (broken.length > 0) {
          problems.push(
            `user '${user.username}': the password from ${describeSource(user.password)} breaks the pool's password policy, which needs ${broken.join(', ')}: store a password that meets the policy`,
          );
        }
      }
      const names = Object.keys(user.attributes);
      const unknown = names.filter((n) => description.attributeNames.size > 0 && !description.attributeNames.has(n));
      if (unknown.length > 0) {
        problems.push(
          `user '${user.username}': attribute(s) ${unknown.join(', ')} are not in the pool's schema: add them to the pool or remove them from the user`,
        );
      }
      if (user.mfa === 'TOTP' && description.mfaConfiguration === 'OFF') {
        problems.push(
          `user '${user.username}': asks for a TOTP token, but pool ${this.userPoolId} has MFA turned off: set the pool's mfa to OPTIONAL or REQUIRED with mfaSecondFactor { otp: true }, or drop mfa from the user`,
        );
      }
      if (user.mode === 'RESET_REQUIRED' && !hasVerifiedContact(user)) {
        problems.push(
          `user '${user.username}': mode RESET_REQUIRED needs a verified email or phone (email with email_verified 'true', or phone_number with phone_number_verified 'true')`,
        );
      }
    }

    problems.push(...(await this.aliasProblems(plan, description, spec)));

    // The members of each group (50,000 in one group is one list, not 50,000 copies).
    const members = new Map<string, string[]>();
    for (const action of plan.writes) {
      const groups = action.kind === 'modify' ? action.addGroups : action.user.groups;
      for (const g of groups) append(members, g, action.user.username);
    }
    await runBounded([...members.keys()], spec.maxConcurrency, this.deps.signal, async (group) => {
      const users = members.get(group) ?? [];
      let exists: boolean;
      try {
        exists = await this.pool.groupExists(group);
      } catch (error) {
        // Not knowing is not knowing it exists: fail before any write, with the cause.
        problems.push(
          `user '${users[0]}'${more(users)}: group '${group}' could not be checked (${describeError(error, this.deps.redactor)}): check the seeding role's permissions on pool ${this.userPoolId}`,
        );
        return;
      }
      if (!exists) {
        problems.push(
          `user '${users[0]}'${more(users)}: group '${group}' does not exist in pool ${this.userPoolId}: create the group (for example with cognito.UserPoolGroup) or remove it from the user`,
        );
      }
    });
    this.deps.signal.throwIfStopped();

    if (problems.length > 0) {
      throw new ComposedError(
        `pre-flight found ${problems.length} problem(s), nothing was written: ${problems.join('; ')}`,
      );
    }
    return plan;
  }

  /**
   * In a pool where email or phone is a sign-in alias (or the username), a verified value
   * names one user only, or Cognito refuses the write (AliasExistsException) half-way
   * through: two seeded users with one value, or a value another user of the pool holds,
   * are found before any write.
   */
  private async aliasProblems(plan: Plan, description: PoolDescription, spec: SeedSpec): Promise<string[]> {
    const asUsername = new Set(description.usernameRule.usernameAttributes);
    const names = Object.keys(VERIFIED_FLAG).filter(
      (n) => asUsername.has(n) || description.aliasAttributes.includes(n),
    );
    if (names.length === 0) return [];
    const problems: string[] = [];
    const unique = (user: UserSpec, name: string): string | undefined => {
      const value = user.attributes[name];
      if (!value || (!asUsername.has(name) && user.attributes[VERIFIED_FLAG[name]] !== 'true')) return undefined;
      return name === 'email' ? value.toLowerCase() : value;
    };
    for (const name of names) {
      const first = new Map<string, string>();
      for (const user of spec.users) {
        const value = unique(user, name);
        if (value === undefined) continue;
        const other = first.get(value);
        if (other === undefined) first.set(value, user.username);
        else {
          problems.push(
            `users '${other}' and '${user.username}' have the same verified ${name}, and in this pool a verified ${name} signs in one user only: give each its own, or set ${VERIFIED_FLAG[name]} to 'false' on one`,
          );
        }
      }
    }
    const checks: { action: WriteAction; name: string; value: string; own?: string }[] = [];
    for (const action of plan.writes) {
      const own =
        action.kind === 'create'
          ? undefined
          : action.kind === 'adopt' || action.kind === 'complete'
            ? action.live.username
            : (action.record.cognitoUsername ?? action.record.username);
      const sets =
        action.kind === 'modify'
          ? action.setAttributes
          : action.kind === 'takeover'
            ? (action.modify?.setAttributes ?? {})
            : action.user.attributes;
      for (const name of names) {
        const value = sets[name] !== undefined ? unique(action.user, name) : undefined;
        if (value !== undefined) checks.push({ action, name, value: action.user.attributes[name], own });
      }
    }
    const error = await runBounded(checks, spec.maxConcurrency, this.deps.signal, async (check) => {
      const holders = await this.pool.aliasHolders(check.name, check.value);
      const other = holders.find((h) => h.username !== check.own && (asUsername.has(check.name) || h.verified));
      if (other) {
        problems.push(
          `user '${check.action.user.username}': its ${check.name} ${check.value} is already the verified sign-in ${check.name} of another user of pool ${this.userPoolId} (Cognito would refuse it: AliasExistsException): give it another ${check.name}, set ${VERIFIED_FLAG[check.name]} to 'false', or remove the other user's`,
        );
      }
    });
    if (error !== undefined) throw error;
    return problems;
  }

  /**
   * Whether each user is in the pool: one AdminGetUser each (the read quota), or, when
   * listing the whole pool is quicker (many new users, a small pool), ListUsers pages.
   */
  private async lookUp(
    users: readonly DesiredUser[],
    description: PoolDescription,
    spec: SeedSpec,
  ): Promise<Map<string, LiveUser | null>> {
    const live = new Map<string, LiveUser | null>();
    if (users.length === 0) return live;
    const oneByOne = users.length / spec.rates.read;
    const listing = (Math.ceil(description.estimatedUsers / LIST_PAGE) + 1) / Math.min(LIST_RATE, spec.rates.read / 4);
    // AdminGetUser is exact; listing only pays off (and only matters) for large batches.
    if (users.length >= LIST_AT_LEAST && listing < oneByOne) {
      const wanted = new Set(users.map((d) => d.key));
      const rule = description.usernameRule;
      await this.pool.listUsers((user, aliases) => {
        for (const name of [user.username, ...aliases]) {
          const key = usernameKey(name, rule);
          if (wanted.has(key)) live.set(key, user);
        }
      });
      for (const d of users) if (!live.has(d.key)) live.set(d.key, null);
    } else {
      const error = await runBounded(users, spec.maxConcurrency, this.deps.signal, async (d) => {
        try {
          live.set(d.key, (await this.pool.getUser(d.user.username)) ?? null);
        } catch (e) {
          throw new UserError(
            d.user.username,
            `could not be looked up in pool ${this.userPoolId} (${describeError(e, this.deps.redactor)}), so nothing was written`,
          );
        }
      });
      if (error !== undefined) throw error;
    }
    this.deps.signal.throwIfStopped();
    return live;
  }

  private async runAll<T extends WriteAction | RemoveAction>(
    actions: readonly T[],
    worker: (action: T) => Promise<string>,
  ): Promise<unknown> {
    if (actions.length === 0) return undefined;
    // Users a second the rates allow for this work, and the lanes that keeps busy at the
    // latency Cognito shows: open more when calls are slow, up to maxConcurrency.
    const all: readonly (WriteAction | RemoveAction)[] = actions;
    const calls = countCalls({
      writes: all.filter(isWrite),
      removals: all.filter(isRemove),
      unchanged: 0,
      conflicts: [],
    });
    const usersPerSecond = actions.length / Math.max(estimateSeconds(calls, this.pace.rates), 0.001);
    const startMs = this.pool.stats.callMs ?? 0;
    const startDone = this.done;
    const lanes: Lanes = {
      start: Math.min(INITIAL_LANES, this.pace.maxConcurrency),
      want: () => {
        const done = Math.max(1, this.done - startDone);
        const perUserMs = ((this.pool.stats.callMs ?? 0) - startMs) / done;
        // A quarter more than Little's law asks, for the spread of latencies.
        return usersPerSecond * (perUserMs / 1000) * 1.25;
      },
    };
    return runBounded(
      actions,
      this.pace.maxConcurrency,
      this.deps.signal,
      async (action) => {
        const username = 'user' in action ? action.user.username : action.record.username;
        const started = Date.now();
        try {
          const outcome = await worker(action);
          this.completed++;
          this.count(outcome);
          this.deps.logger.info({ user: username, action: action.kind, outcome, ms: Date.now() - started });
        } catch (error) {
          if (error instanceof NotOurs && this.deps.settling) {
            this.completed++;
            this.count('left-as-is');
            this.deps.logger.info({ user: username, action: action.kind, outcome: 'left-as-is', note: error.message });
            return;
          }
          this.count('failed');
          this.deps.logger.error({
            user: username,
            action: action.kind,
            outcome: 'failed',
            ms: Date.now() - started,
            error: describeError(error, this.deps.redactor),
          });
          throw error instanceof UserError || error instanceof AbortedError
            ? error
            : new UserError(username, `${action.kind} failed (${describeError(error, this.deps.redactor)})`);
        } finally {
          if (++this.done % PROGRESS_EVERY === 0) {
            this.deps.logger.info({
              progress: this.done,
              of: actions.length,
              calls: this.pool.stats.calls,
              throttles: this.pool.stats.throttles,
              ms: Date.now() - this.started,
            });
          }
        }
      },
      lanes,
    );
  }

  private async write(action: WriteAction): Promise<string> {
    switch (action.kind) {
      case 'create':
        return this.create(action.key, action.user, action.applied);
      case 'complete':
        return this.complete(action.record, action.live, action.user, action.applied);
      case 'adopt':
        return this.adopt(action.key, action.user, action.applied, action.live, action.deletable);
      case 'takeover':
        return this.takeOver(action.record, action.user, action.applied, action.modify);
      case 'modify':
        return this.modify(action);
    }
  }

  private remove(action: RemoveAction, signal: StopSignal = this.deps.signal): Promise<string> {
    switch (action.kind) {
      case 'delete':
        return this.deleteOwned(action.record, signal);
      case 'release':
        return this.deps.ledger.drop(action.record).then(() => 'released');
      case 'handover':
        return this.handOver(action.record, action.to);
    }
  }

  private newRecord(key: string, user: UserSpec, extra: Partial<UserRecord>): UserRecord {
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
   * Records `creating` (with the window its create may land in), creates, records the
   * `sub`, sets password and groups, records `present`. A user of that name made by anyone
   * else is never claimed: a clear UsernameExistsException says so, and after an attempt
   * whose outcome is unknown only a user made inside that attempt's time counts as ours.
   */
  private async create(key: string, user: UserSpec, applied: AppliedSpec): Promise<string> {
    // The latest a call can land: its own timeout after it was sent (and each retry moves it).
    const landsBy = () => Math.min(Date.now() + this.deps.callTimeoutMs + CALL_LANDING_MS, this.deps.invocationEnds);
    let record = this.newRecord(key, user, { until: landsBy() });
    if (!(await this.deps.ledger.beginCreate(record))) {
      throw new UserError(user.username, 'another seeder of this stack took this username meanwhile: deploy again');
    }
    const password = user.password ? await this.deps.passwords.read(user.password) : undefined;
    let live: LiveUser;
    try {
      // TEMPORARY is one call: the temporary password is set by AdminCreateUser itself.
      live = await this.pool.createUser(
        user.username,
        user.attributes,
        user.mode === 'TEMPORARY' ? password : undefined,
        async () => {
          record = { ...record, until: landsBy() };
          await this.deps.ledger.save(record);
        },
        this.metadata(user),
      );
    } catch (error) {
      if (errorName(error) !== 'UsernameExistsException') throw error;
      const unknown = unknownAttempts(error);
      const found = unknown.length > 0 ? await this.pool.getUser(user.username) : undefined;
      if (!found || !unknown.some((w) => madeWithin(found, { at: w.from, until: w.to }))) {
        await this.deps.ledger.drop(record);
        throw new UserError(
          user.username,
          `was made in pool ${this.userPoolId} by someone else while this request ran (UsernameExistsException${unknown.length > 0 ? ", and not inside the time of this seeder's unanswered attempt" : ''}): it is not this seeder's and was not touched; remove it from the pool or drop it from the seeder, and deploy again`,
        );
      }
      return this.complete(record, found, user, applied);
    }
    const withSub = { ...record, cognitoUsername: live.username, sub: live.sub ?? (await this.subOf(live.username)) };
    await this.deps.ledger.save(withSub);
    if (user.mode === 'PERMANENT') await this.pool.setPassword(live.username, password as string, true);
    if (user.mode === 'RESET_REQUIRED') await this.forceReset(live.username, user);
    for (const group of user.groups) await this.pool.addToGroup(live.username, group);
    await this.deps.ledger.save({ ...withSub, state: 'present', applied, appliedAt: Date.now() });
    return 'created';
  }

  /** A `creating` user that is in the pool: its create succeeded and the answer was lost. */
  private async complete(record: UserRecord, live: LiveUser, user: UserSpec, applied: AppliedSpec): Promise<string> {
    const withSub = {
      ...record,
      requestId: record.requestId,
      cognitoUsername: live.username,
      sub: live.sub ?? (await this.subOf(live.username)),
    };
    await this.deps.ledger.save(withSub);
    await this.applyPassword(live.username, user);
    for (const group of user.groups) await this.pool.addToGroup(live.username, group);
    await this.deps.ledger.save({ ...withSub, state: 'present', applied, appliedAt: Date.now() });
    return 'created';
  }

  /**
   * Takes over a user nobody holds (adoptExistingUsers): it is released later, never
   * deleted, unless the seeder says its adopted users are its own (deleteAdoptedUsers).
   */
  private async adopt(
    key: string,
    user: UserSpec,
    applied: AppliedSpec,
    live: LiveUser,
    deletable: boolean,
  ): Promise<string> {
    const record = this.newRecord(key, user, {
      origin: deletable ? 'reclaimed' : 'adopted',
      state: 'present',
      cognitoUsername: live.username,
      sub: live.sub,
    });
    if (!(await this.deps.ledger.adopt(record))) {
      throw new UserError(user.username, 'another seeder of this stack took this username meanwhile: deploy again');
    }
    if (Object.keys(user.attributes).length > 0)
      await this.pool.updateAttributes(live.username, user.attributes, this.metadata(user));
    await this.applyPassword(live.username, user);
    for (const group of user.groups) await this.pool.addToGroup(live.username, group);
    await this.deps.ledger.save({ ...record, applied, appliedAt: Date.now() });
    return 'adopted';
  }

  private async takeOver(
    held: UserRecord,
    user: UserSpec,
    applied: AppliedSpec,
    modify?: ModifyAction,
  ): Promise<string> {
    const record: UserRecord = {
      ...held,
      owner: this.who.owner,
      username: user.username,
      requestId: this.who.requestId,
      previousOwner: held.owner,
    };
    if (modify) await this.checkSub(held, user.username);
    if (!(await this.deps.ledger.save(record, held.owner))) {
      throw new UserError(user.username, `seed resource ${held.owner} changed it meanwhile: deploy again`);
    }
    if (modify) await this.applyChanges(record, modify);
    await this.deps.ledger.save({ ...record, applied, appliedAt: Date.now() });
    return 'taken-over';
  }

  private async modify(action: ModifyAction): Promise<string> {
    const { record, user } = action;
    try {
      if (!(await this.checkSub(record, user.username)))
        throw Object.assign(new Error('gone'), { name: 'UserNotFoundException' });
      await this.applyChanges(record, action);
    } catch (error) {
      if (errorName(error) !== 'UserNotFoundException') throw error;
      // Deleted outside CloudFormation: seed it again rather than fail the update.
      await this.deps.ledger.save({ ...record, state: 'creating', at: Date.now(), sub: undefined, totp: undefined });
      return this.create(action.key, user, action.applied);
    }
    await this.deps.ledger.save({ ...record, applied: action.applied, appliedAt: Date.now() });
    return 'updated';
  }

  /** Drops `creating` records whose user someone else made: the user stays, unclaimed. */
  private async dropStale(plan: Plan): Promise<void> {
    for (const record of plan.stale ?? []) {
      await this.deps.ledger.drop(record);
      this.deps.logger.info({ user: record.username, action: 'complete', outcome: 'kept-not-ours' });
    }
  }

  /**
   * The conflicts that fail the request: all of them, except in a rollback or cleanup, which
   * leaves the users it cannot prove its own as they are and says so in the log.
   */
  private unprovable(conflicts: readonly string[]): readonly string[] {
    if (!this.deps.settling) return conflicts;
    for (const conflict of conflicts) {
      this.deps.logger.info({ action: 'settle', outcome: 'left-as-is', note: conflict });
      this.count('left-as-is');
    }
    return [];
  }

  /**
   * Before any write to a held user: its live `sub` is the one recorded. False when the user
   * is gone; a user deleted and made again by hand (another `sub`) is not this seeder's and
   * is never changed: the request fails naming it (a rollback or cleanup leaves it be).
   */
  private async checkSub(record: UserRecord, username: string): Promise<boolean> {
    const live = await this.pool.getUser(record.cognitoUsername ?? record.username);
    if (!live) return false;
    if (!record.sub || live.sub === record.sub) return true;
    throw new NotOurs(
      username,
      `was deleted and made again outside this seeder (its sub is no longer the one the ledger recorded), so it is someone else's user now and was left as it is: delete it from the pool to have the seeder make it again, or drop it from the seeder`,
    );
  }

  private async applyChanges(record: UserRecord, action: ModifyAction): Promise<void> {
    const name = record.cognitoUsername ?? record.username;
    if (Object.keys(action.setAttributes).length > 0)
      await this.pool.updateAttributes(name, action.setAttributes, this.metadata(action.user));
    if (action.deleteAttributes.length > 0) await this.pool.deleteAttributes(name, action.deleteAttributes);
    if (action.applyPassword) await this.applyPassword(name, action.user);
    for (const group of action.addGroups) await this.pool.addToGroup(name, group);
    for (const group of action.removeGroups) await this.removeFromGroup(name, group);
  }

  /**
   * The one way a user is deleted. Only a user this owner created, in this pool, whose
   * live `sub` is the one recorded; anything else keeps the user.
   */
  private async deleteOwned(record: UserRecord, signal: StopSignal): Promise<string> {
    if (record.owner !== this.who.owner || record.origin === 'adopted' || record.pool !== this.userPoolId) {
      throw new UserError(record.username, 'is not a user this seeder created in this pool: kept');
    }
    const pool = this.pool.withSignal(signal);
    const live = await pool.getUser(record.cognitoUsername ?? record.username);
    if (!live) {
      await this.deps.ledger.drop(record);
      return 'already-gone';
    }
    const ours = record.sub ? live.sub === record.sub : record.state === 'creating' && madeWithin(live, record);
    if (!ours) {
      // The user this seeder made is gone, and someone made another of the same name.
      await this.deps.ledger.drop(record);
      this.deps.logger.info({ user: record.username, action: 'delete', outcome: 'kept-not-ours' });
      return 'kept-not-ours';
    }
    await pool.deleteUser(live.username);
    await this.deps.ledger.drop(record);
    return 'deleted';
  }

  private async handOver(record: UserRecord, to: string): Promise<string> {
    const moved: UserRecord = { ...record, owner: to, previousOwner: undefined };
    // If `to` took it over already, the record is no longer ours: nothing to do.
    await this.deps.ledger.save(moved, record.owner);
    return 'handed-over';
  }

  /**
   * Brings TOTP tokens in line with the spec, after the writes and removals: enrols users
   * that ask for a token and have none, turns tokens off for held users that no longer ask,
   * and keeps in the TOTP secret exactly the held, enrolled users of this pool.
   */
  private async settleTotp(spec: SeedSpec): Promise<void> {
    const rule = this.description?.usernameRule ?? { caseSensitive: true, usernameAttributes: [] };
    const wanted = spec.users.filter((u) => u.mfa === 'TOTP');
    const wantedKeys = new Set(wanted.map((u) => usernameKey(u.username, rule)));
    const desiredKeys = new Set(spec.users.map((u) => usernameKey(u.username, rule)));
    // Tokens this seeder enrolled for users it still seeds that no longer ask for one (the
    // ledger as pre-flight read it). Users that left were deleted with their token, or
    // released as they are.
    const turnOff = this.records.filter(
      (r) => r.owner === this.who.owner && r.totp === 'enrolled' && desiredKeys.has(r.key) && !wantedKeys.has(r.key),
    );
    const offError = await runBounded(turnOff, spec.maxConcurrency, this.deps.signal, async (record) => {
      // A user this request deleted has no token left to turn off.
      if (await this.pool.disableSoftwareToken(record.cognitoUsername ?? record.username)) {
        await this.deps.ledger.save({ ...record, totp: undefined });
        this.count('totp-off');
      }
    });
    if (offError !== undefined) throw offError;
    if (!spec.totp) return;
    const { secretArn, clientId } = spec.totp;
    const records = (await this.deps.ledger.poolRecords(this.userPoolId)).filter(
      (r) => r.owner === this.who.owner && r.state === 'present',
    );
    const store = this.deps.totp(secretArn);
    const secrets = await store.load(this.userPoolId);
    const before = JSON.stringify([...secrets.entries()].sort());

    const byKey = new Map(records.map((r) => [r.key, r]));
    const toEnrol = wanted.flatMap((user) => {
      const record = byKey.get(usernameKey(user.username, rule));
      return record && record.totp !== 'enrolled' ? [{ user, record }] : [];
    });
    // Keep the secrets of held users that have or are getting a token; drop the rest (removed users).
    const keep = new Set([
      ...records.filter((r) => r.totp === 'enrolled' && wantedKeys.has(r.key)).map((r) => r.username),
      ...toEnrol.map((e) => e.user.username),
    ]);
    for (const name of [...secrets.keys()]) if (!keep.has(name)) secrets.delete(name);
    for (let i = 0; i < toEnrol.length; i += ENROL_BATCH) {
      await this.enrolBatch(toEnrol.slice(i, i + ENROL_BATCH), clientId, secrets, store);
    }
    if (JSON.stringify([...secrets.entries()].sort()) !== before) await store.save(this.userPoolId, secrets);
  }

  /**
   * Enrols a batch: sign in and associate a token for each, write the TOTP secret once
   * (before any token is verified, so no verified token's secret can be lost), then verify
   * each with a current code and make it the preferred MFA method.
   */
  private async enrolBatch(
    batch: readonly { user: UserSpec; record: UserRecord }[],
    clientId: string,
    secrets: Map<string, string>,
    store: TotpStore,
  ): Promise<void> {
    const associated: { user: UserSpec; record: UserRecord; name: string; auth: EnrolmentAuth; secret: string }[] = [];
    const startError = await runBounded(batch, this.pace.maxConcurrency, this.deps.signal, async ({ user, record }) => {
      const name = record.cognitoUsername ?? record.username;
      const password = await this.deps.passwords.read(user.password as PasswordSource);
      try {
        const start = await this.pool.startEnrolment(clientId, name, password, this.metadata(user));
        if (start.kind === 'enrolled') {
          if (!secrets.has(user.username)) {
            throw new Error(
              'already has a TOTP token this seeder holds no secret for: turn its software-token MFA off (AdminSetUserMFAPreference) and deploy again',
            );
          }
          await this.deps.ledger.save({ ...record, totp: 'enrolled' });
          return;
        }
        const auth: EnrolmentAuth =
          start.kind === 'tokens' ? { accessToken: start.accessToken } : { session: start.session };
        if ('accessToken' in auth) this.deps.redactor.add(auth.accessToken);
        const token = await this.pool.associateSoftwareToken(auth);
        this.deps.redactor.add(token.secretCode);
        associated.push({ user, record, name, auth: token.auth, secret: token.secretCode });
      } catch (error) {
        throw new UserError(user.username, `TOTP enrolment failed (${describeError(error, this.deps.redactor)})`);
      }
    });
    if (startError !== undefined) throw startError;
    if (associated.length === 0) return;
    for (const a of associated) secrets.set(a.user.username, a.secret);
    await store.save(this.userPoolId, secrets);
    const verifyError = await runBounded(associated, this.pace.maxConcurrency, this.deps.signal, async (a) => {
      try {
        const auth = await this.pool.verifySoftwareToken(a.auth, totpCode(a.secret));
        const accessToken =
          'accessToken' in auth
            ? auth.accessToken
            : await this.pool.finishSetup(clientId, a.name, auth.session, this.metadata(a.user));
        this.deps.redactor.add(accessToken);
        await this.pool.preferSoftwareToken(accessToken);
      } catch (error) {
        throw new UserError(a.user.username, `TOTP enrolment failed (${describeError(error, this.deps.redactor)})`);
      }
      await this.deps.ledger.save({ ...a.record, totp: 'enrolled' });
      this.count('totp-enrolled');
      this.deps.logger.info({ user: a.user.username, action: 'enrol-totp', outcome: 'enrolled' });
    });
    if (verifyError !== undefined) throw verifyError;
  }

  private async removeFromGroup(username: string, group: string): Promise<void> {
    try {
      await this.pool.removeFromGroup(username, group);
    } catch (error) {
      // The group itself is gone, or the membership was removed by hand: drift, not failure.
      if (errorName(error) !== 'ResourceNotFoundException') throw error;
    }
  }

  private async applyPassword(username: string, user: UserSpec): Promise<void> {
    if (user.mode === 'RESET_REQUIRED') return this.forceReset(username, user);
    const password = await this.deps.passwords.read(user.password as PasswordSource);
    await this.pool.setPassword(username, password, user.mode === 'PERMANENT');
  }

  /** AdminResetUserPassword acts on confirmed users: confirm with a throwaway first. */
  private async forceReset(username: string, user: UserSpec): Promise<void> {
    const policy = this.description?.passwordPolicy ?? {};
    const throwaway = throwawayPassword(policy);
    // Never stored or logged, but an error may echo it: mask it like any other password.
    this.deps.redactor.add(throwaway);
    await this.pool.setPassword(username, throwaway, true);
    await this.pool.resetPassword(username, this.metadata(user));
  }

  /** The ClientMetadata of `user`'s calls: its map, and the seeder's marker. */
  private metadata(user: UserSpec): ClientMetadata {
    return clientMetadataFor(user.clientMetadata ?? {}, this.repairing ? 'repair' : undefined);
  }

  /** A repair's calls carry the marker's value `repair`, so a trigger can tell it from seeding. */
  private repairing = false;

  private async subOf(username: string): Promise<string | undefined> {
    return (await this.pool.getUser(username))?.sub;
  }

  private count(outcome: string, by = 1): void {
    if (by > 0) this.counts[outcome] = (this.counts[outcome] ?? 0) + by;
  }
}

/** What the ledger records of a user's seeded spec. */
function appliedSpec(user: UserSpec, version: string | undefined): AppliedSpec {
  return {
    mode: user.mode,
    attributes: { ...user.attributes },
    groups: [...user.groups].sort(),
    source: sourceRef(user.password, user.password?.kind === 'plaintext' ? version : undefined),
    sourceVersion: user.password?.kind === 'plaintext' ? undefined : version,
    revision: user.passwordRevision,
  };
}

function sourceKey(source: PasswordSource): string {
  return JSON.stringify(source);
}

/** A source as the request's progress names it: a digest, never a plain-text password. */
function sourceDigest(source: PasswordSource): string {
  return createHash('sha256').update(sourceKey(source)).digest('hex').slice(0, 24);
}

function distinctSources(users: readonly UserSpec[]): PasswordSource[] {
  const seen = new Map<string, PasswordSource>();
  for (const u of users) if (u.password && u.mode !== 'RESET_REQUIRED') seen.set(sourceKey(u.password), u.password);
  return [...seen.values()];
}

function more(users: readonly string[]): string {
  return users.length > 1 ? ` (and ${users.length - 1} more)` : '';
}

function hasVerifiedContact(user: UserSpec): boolean {
  const a = user.attributes;
  return (!!a.email && a.email_verified === 'true') || (!!a.phone_number && a.phone_number_verified === 'true');
}

function describeSource(source: PasswordSource): string {
  switch (source.kind) {
    case 'secretsmanager':
      return `secret ${source.secretArn}${source.jsonField ? ` (field '${source.jsonField}')` : ''}`;
    case 'ssm':
      return `SSM parameter ${source.parameterName}`;
    case 'plaintext':
      return 'the plain-text password';
  }
}

/** The usernames of the users of each password source, by `sourceKey`. */
function usersBySource(users: readonly UserSpec[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const u of users) if (u.password) append(map, sourceKey(u.password), u.username);
  return map;
}

/** Adds `value` to the list under `key`, in place: copying a list per value is quadratic. */
function append<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
