/**
 * What a request does to a pool: reconcile the desired users against the ownership
 * ledger (pre-flight first, then the writes, each recorded), remove what the ledger holds,
 * or repair it. The work is one `Run` per pool, built in layers along its seams, each a
 * module: run-base (state and small steps), writes, totp-enrolment, preflight, repair, and
 * here the request's course (reconcile, compensation, removal).
 */
import { RepairReport } from './drift';
import { Progress } from './ledger';
import { ComposedError, describeError } from './log';
import { buildManifest } from './manifest';
import { AbortedError, StopSignal, runBounded } from './pace';
import {
  DesiredUser,
  Plan,
  countCalls,
  estimateSeconds,
  lookupsFor,
  planCompensation,
  planRemoveAll,
  reconcile,
  usernameKey,
} from './plan';
import type { RemovalSpec, SeedSpec } from './properties';
import {
  RepairOptions,
  RequestIdentity,
  SeedDeps,
  SeedFailure,
  SeedResult,
  appliedSpec,
  sourceDigest,
} from './seed-shared';
import { Repair } from './repair';
export { physicalId, poolOfPhysicalId, SeedFailure } from './seed-shared';
export type { Counts, RepairOptions, RequestIdentity, SeedDeps, SeedResult } from './seed-shared';
export type { PasswordPolicy } from './drift';

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
class Run extends Repair {
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

  /**
   * Undoes what the request did, after it failed (`what`), and fails with a reason that
   * says so. Undefined when the slice ended first: the next slice goes on undoing.
   */
  protected async undo(what: string, failedId: string): Promise<undefined> {
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
  protected async replan(spec: SeedSpec, progress: Progress): Promise<Plan> {
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
    if (this.pace.totp && !retain) await this.deps.totp(this.pace.totp).save(this.userPoolId, new Map());
    await this.deps.ledger.forgetPool(this.who.owner, this.userPoolId);
    return { physicalResourceId: currentId, counts: { ...this.counts, calls: this.pool.stats.calls } };
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
}
