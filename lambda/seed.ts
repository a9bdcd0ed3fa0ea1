/**
 * What Create, Update and Delete do to a pool: pre-flight validation, then the planned
 * writes at a bounded concurrency, then compensation if anything failed.
 */
import { CognitoPool, errorName, PoolDescription } from './cognito';
import { describeError, Logger, Redactor } from './log';
import { AbortedError, runBounded, StopSignal } from './pace';
import { PasswordReader } from './passwords';
import {
  countCalls,
  estimateSeconds,
  ExistingUser,
  matchesSpec,
  ModifyAction,
  passwordPolicyViolations,
  Plan,
  planCreate,
  planDelete,
  planUpdate,
  STATUS_AFTER_CREATE,
  UserAction,
  usersNeedingPassword,
} from './plan';
import type { PasswordSource, Rates, SeedSpec, UserSpec } from './properties';
import { throwawayPassword } from './throwaway-password';

/** A request that failed; carries the physical id to answer with. */
export class SeedFailure extends Error {
  constructor(
    message: string,
    readonly physicalResourceId: string,
  ) {
    super(message);
  }
}

/** A failure about one user; its message names the user. */
class UserError extends Error {
  constructor(username: string, message: string) {
    super(`user '${username}': ${message}`);
  }
}

/** The physical id of a seed: a new pool means a new id, so CloudFormation cleans the old. */
export function physicalId(userPoolId: string, logicalResourceId: string): string {
  return `${userPoolId}/${logicalResourceId}`;
}

const FAILED_CREATE_PREFIX = 'failed-create/';

/** The id a compensated Create answers with: its rollback Delete has nothing to do. */
export function failedCreateId(requestId: string): string {
  return `${FAILED_CREATE_PREFIX}${requestId}`;
}

export function isFailedCreateId(id: string | undefined): boolean {
  return id?.startsWith(FAILED_CREATE_PREFIX) ?? false;
}

/** A user created within this window and matching its spec is a repeat delivery's work. */
const REPEAT_WINDOW_MS = 20 * 60 * 1000;

/** Log a progress line after this many users. */
const PROGRESS_EVERY = 500;

export interface SeedDeps {
  readonly pool: (userPoolId: string, rates: Rates) => CognitoPool;
  readonly passwords: PasswordReader;
  readonly logger: Logger;
  readonly redactor: Redactor;
  /** Raised shortly before the function's timeout: start nothing new. */
  readonly signal: StopSignal;
  /** Raised at the last moment: stop compensating, answer. */
  readonly cleanupSignal: StopSignal;
  /** Users this request created and has not removed again, for the timeout guard. */
  readonly created: Set<string>;
  /** Milliseconds left before the guard stops new work. */
  readonly remainingMs: () => number;
}

export interface SeedResult {
  readonly physicalResourceId: string;
  readonly counts: Counts;
}

export type Counts = Record<string, number>;

type Phase = 'create' | 'update';

export async function onCreate(
  spec: SeedSpec,
  logicalId: string,
  requestId: string,
  deps: SeedDeps,
): Promise<SeedResult> {
  const id = physicalId(spec.userPoolId, logicalId);
  const run = new Run(spec, deps, 'create');
  return run.apply(planCreate(spec), id, failedCreateId(requestId), id);
}

export async function onUpdate(
  oldSpec: SeedSpec,
  newSpec: SeedSpec,
  logicalId: string,
  currentId: string,
  deps: SeedDeps,
): Promise<SeedResult> {
  const plan = planUpdate(oldSpec, newSpec);
  if (!plan.poolChanged) {
    return new Run(newSpec, deps, 'update').apply(plan, currentId, currentId, currentId);
  }
  const movedId = physicalId(newSpec.userPoolId, logicalId);
  if (currentId === movedId) {
    // The resource still lives in this pool: a move away from it failed and was
    // compensated, and this is CloudFormation's rollback. That pool was never touched.
    return { physicalResourceId: movedId, counts: { unchanged: newSpec.users.length } };
  }
  return new Run(newSpec, deps, 'update').apply(plan, movedId, currentId, currentId);
}

export async function onDelete(spec: SeedSpec, currentId: string, deps: SeedDeps): Promise<SeedResult> {
  if (isFailedCreateId(currentId)) {
    return { physicalResourceId: currentId, counts: {} };
  }
  const run = new Run(spec, deps, 'update');
  return run.apply(planDelete(spec), currentId, currentId, currentId, { preflight: false });
}

/** One request's work against one pool. */
class Run {
  private readonly pool: CognitoPool;
  private readonly created: string[] = [];
  private readonly counts: Counts = {};
  private description?: PoolDescription;
  private done = 0;
  private readonly started = Date.now();

  constructor(
    private readonly spec: SeedSpec,
    private readonly deps: SeedDeps,
    private readonly phase: Phase,
  ) {
    this.pool = deps.pool(spec.userPoolId, spec.rates);
  }

  /**
   * Runs `plan`. Answers `successId`; on a failure that was fully compensated,
   * `failedId`; on one that could not be (time ran out), `partialId`.
   */
  async apply(
    plan: Plan,
    successId: string,
    failedId: string,
    partialId: string,
    options: { preflight?: boolean } = {},
  ): Promise<SeedResult> {
    if (options.preflight !== false && plan.actions.length > 0) {
      try {
        await this.preflight(plan);
      } catch (error) {
        throw new SeedFailure(describeError(error, this.deps.redactor), failedId);
      }
    }
    const counts = countCalls(plan);
    const needed = estimateSeconds(counts, this.spec.rates);
    const left = this.deps.remainingMs() / 1000;
    if (needed > left) {
      // Fail before the first write rather than time out half-way.
      throw new SeedFailure(
        `the users need about ${Math.ceil(needed)} s at the configured rates (${counts.create} AdminCreateUser at ${this.spec.rates.create}/s, ${counts.recovery} password calls at ${this.spec.rates.recovery}/s, ${counts.write} other writes at ${this.spec.rates.write}/s), and the function has ${Math.floor(left)} s left; nothing was written. Raise rateLimits if your account's Cognito quotas are raised, or split the users across seeders in separate deploys`,
        failedId,
      );
    }
    const writes = plan.actions.filter((a) => a.kind !== 'delete');
    const deletes = plan.actions.filter((a) => a.kind === 'delete');
    let error = await this.runActions(writes);
    if (error === undefined) error = await this.runActions(deletes);
    if (error === undefined) {
      return {
        physicalResourceId: successId,
        counts: { ...this.counts, calls: this.pool.stats.calls, throttles: this.pool.stats.throttles },
      };
    }
    const compensated = await this.compensate();
    const what = describeError(error, this.deps.redactor);
    const undo =
      this.created.length === 0
        ? ''
        : compensated
          ? ` Removed the ${this.created.length} user(s) this request had created.`
          : ` Could not remove all ${this.created.length} user(s) this request created; CloudFormation's rollback Delete removes the rest.`;
    throw new SeedFailure(`${what}.${undo}`, compensated ? failedId : partialId);
  }

  /** Every check that can fail before anything is written, all reported at once. */
  private async preflight(plan: Plan): Promise<void> {
    const description = await this.pool.describe();
    if (!description) {
      throw new Error(
        `user pool ${this.spec.userPoolId} does not exist: check the pool id, or create the pool before seeding it`,
      );
    }
    this.description = description;
    const problems: string[] = [];
    const touched = plan.actions.flatMap((a) => (a.kind === 'delete' ? [] : [a]));

    await runBounded(usersNeedingPassword(plan), this.spec.maxConcurrency, this.deps.signal, async (user) => {
      const source = user.password as PasswordSource;
      let password: string;
      try {
        password = await this.deps.passwords.read(source);
      } catch (error) {
        problems.push(`user '${user.username}': ${describeError(error, this.deps.redactor)}`);
        return;
      }
      const broken = passwordPolicyViolations(password, description.passwordPolicy);
      if (broken.length > 0) {
        problems.push(
          `user '${user.username}': the password from ${describeSource(source)} breaks the pool's password policy, which needs ${broken.join(', ')}: store a password that meets the policy`,
        );
      }
    });
    this.deps.signal.throwIfStopped();

    for (const action of touched) {
      const user = action.user;
      const names =
        action.kind === 'create'
          ? Object.keys(user.attributes)
          : [...Object.keys(action.setAttributes), ...action.deleteAttributes];
      const unknown = names.filter((n) => description.attributeNames.size > 0 && !description.attributeNames.has(n));
      if (unknown.length > 0) {
        problems.push(
          `user '${user.username}': attribute(s) ${unknown.join(', ')} are not in the pool's schema: add them to the pool or remove them from the user`,
        );
      }
      if (user.mode === 'RESET_REQUIRED' && !hasVerifiedContact(user)) {
        problems.push(
          `user '${user.username}': mode RESET_REQUIRED needs a verified email or phone (email with email_verified 'true', or phone_number with phone_number_verified 'true')`,
        );
      }
    }

    const members = new Map<string, string[]>();
    for (const action of touched) {
      const groups = action.kind === 'create' ? action.user.groups : action.addGroups;
      for (const g of groups) members.set(g, [...(members.get(g) ?? []), action.user.username]);
    }
    await runBounded([...members.keys()], this.spec.maxConcurrency, this.deps.signal, async (group) => {
      if (!(await this.pool.groupExists(group))) {
        const users = members.get(group) ?? [];
        problems.push(
          `user '${users[0]}'${users.length > 1 ? ` (and ${users.length - 1} more)` : ''}: group '${group}' does not exist in pool ${this.spec.userPoolId}: create the group (for example with cognito.UserPoolGroup) or remove it from the user`,
        );
      }
    });
    this.deps.signal.throwIfStopped();

    if (problems.length > 0) {
      throw new Error(`pre-flight found ${problems.length} problem(s), nothing was written: ${problems.join('; ')}`);
    }
  }

  private async runActions(actions: readonly UserAction[]): Promise<unknown> {
    if (actions.length === 0) return undefined;
    return runBounded(actions, this.spec.maxConcurrency, this.deps.signal, async (action) => {
      const username = action.kind === 'delete' ? action.username : action.user.username;
      const started = Date.now();
      try {
        const outcome = await this.runAction(action);
        this.count(outcome);
        this.deps.logger.info({ user: username, action: action.kind, outcome, ms: Date.now() - started });
      } catch (error) {
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
    });
  }

  private runAction(action: UserAction): Promise<string> {
    switch (action.kind) {
      case 'create':
        return this.createUser(action.user);
      case 'modify':
        return this.modifyUser(action);
      case 'delete':
        return this.pool.deleteUser(action.username).then((gone) => (gone ? 'deleted' : 'not-found'));
    }
  }

  private async createUser(user: UserSpec): Promise<string> {
    const password = user.password ? await this.deps.passwords.read(user.password) : undefined;
    try {
      // TEMPORARY is one call: the temporary password is set by AdminCreateUser itself.
      await this.pool.createUser(user.username, user.attributes, user.mode === 'TEMPORARY' ? password : undefined);
    } catch (error) {
      if (errorName(error) === 'UsernameExistsException') return this.existingUser(user);
      throw error;
    }
    this.created.push(user.username);
    this.deps.created.add(user.username);
    if (user.mode === 'PERMANENT') await this.pool.setPassword(user.username, password as string, true);
    if (user.mode === 'RESET_REQUIRED') await this.forceReset(user.username);
    for (const group of user.groups) await this.pool.addToGroup(user.username, group);
    return 'created';
  }

  /**
   * A user to create is already there. Adopt it if told to. Otherwise it is only ours if
   * it is exactly what we would have made of it (see matchesSpec): on Create, also made in
   * the last minutes and still in its first status (a repeat delivery of this request);
   * on Update, at any time (a rollback re-adding a user the failed update never removed).
   * Anything else fails the request, naming the user.
   */
  private async existingUser(user: UserSpec): Promise<string> {
    if (this.spec.adoptExistingUsers) {
      if (Object.keys(user.attributes).length > 0) await this.pool.updateAttributes(user.username, user.attributes);
      await this.applyPassword(user);
      for (const group of user.groups) await this.pool.addToGroup(user.username, group);
      return 'adopted';
    }
    const existing = await this.pool.getUser(user.username);
    if (existing && matchesSpec(existing, user) && (this.phase === 'update' || isRepeat(existing, user))) {
      return 'already-present';
    }
    throw new UserError(
      user.username,
      `already exists in pool ${this.spec.userPoolId} and was not created by this seeder: remove it from the pool, drop it from the seeder, or set adoptExistingUsers: true to take it over`,
    );
  }

  private async modifyUser(action: ModifyAction): Promise<string> {
    const { user } = action;
    try {
      if (Object.keys(action.setAttributes).length > 0) {
        await this.pool.updateAttributes(user.username, action.setAttributes);
      }
      if (action.deleteAttributes.length > 0) await this.pool.deleteAttributes(user.username, action.deleteAttributes);
      if (action.applyPassword) await this.applyPassword(user);
      for (const group of action.addGroups) await this.pool.addToGroup(user.username, group);
      for (const group of action.removeGroups) await this.removeFromGroup(user.username, group);
    } catch (error) {
      // Deleted outside CloudFormation: seed it again rather than fail the update.
      if (errorName(error) === 'UserNotFoundException') return this.createUser(user);
      throw error;
    }
    return 'updated';
  }

  private async removeFromGroup(username: string, group: string): Promise<void> {
    try {
      await this.pool.removeFromGroup(username, group);
    } catch (error) {
      // The group itself is gone, and the membership with it.
      if (errorName(error) !== 'ResourceNotFoundException') throw error;
    }
  }

  private async applyPassword(user: UserSpec): Promise<void> {
    if (user.mode === 'RESET_REQUIRED') return this.forceReset(user.username);
    const password = await this.deps.passwords.read(user.password as PasswordSource);
    await this.pool.setPassword(user.username, password, user.mode === 'PERMANENT');
  }

  /** AdminResetUserPassword acts on confirmed users: confirm with a throwaway first. */
  private async forceReset(username: string): Promise<void> {
    const policy = this.description?.passwordPolicy ?? {};
    await this.pool.setPassword(username, throwawayPassword(policy), true);
    await this.pool.resetPassword(username);
  }

  /** Deletes the users this request created; true when all are gone. */
  private async compensate(): Promise<boolean> {
    if (this.created.length === 0) return true;
    const cleanup = this.pool.withSignal(this.deps.cleanupSignal);
    let removed = 0;
    const error = await runBounded(
      this.created,
      this.spec.maxConcurrency,
      this.deps.cleanupSignal,
      async (username) => {
        const started = Date.now();
        try {
          await cleanup.deleteUser(username);
          this.deps.created.delete(username);
          removed++;
          this.deps.logger.info({ user: username, action: 'compensate', outcome: 'deleted', ms: Date.now() - started });
        } catch (e) {
          this.deps.logger.error({
            user: username,
            action: 'compensate',
            outcome: 'failed',
            ms: Date.now() - started,
            error: describeError(e, this.deps.redactor),
          });
          throw e;
        }
      },
    );
    return error === undefined && removed === this.created.length;
  }

  private count(outcome: string): void {
    this.counts[outcome] = (this.counts[outcome] ?? 0) + 1;
  }
}

/** Made by this Create's earlier delivery: moments ago, and untouched since. */
function isRepeat(existing: ExistingUser, user: UserSpec): boolean {
  const created = existing.createdAt === undefined ? NaN : new Date(existing.createdAt).getTime();
  return Date.now() - created < REPEAT_WINDOW_MS && existing.status === STATUS_AFTER_CREATE[user.mode];
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
