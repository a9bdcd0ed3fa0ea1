/**
 * Pre-flight: everything checked before the first write (the pool, the users as the pool
 * will see them, the password sources, the ledger), and the look-up of the pool's users.
 */
import { LIST_PAGE, LIST_RATE, PoolDescription, VERIFIED_FLAG } from './cognito';
import { ComposedError, describeError } from './log';
import { AbortedError, Lanes, runBounded } from './pace';
import {
  DesiredUser,
  LiveUser,
  Plan,
  RemoveAction,
  WriteAction,
  countCalls,
  estimateSeconds,
  lookupsFor,
  needsPassword,
  passwordPolicyViolations,
  reconcile,
  usernameKey,
} from './plan';
import type { SeedSpec, UserSpec } from './properties';
import {
  INITIAL_LANES,
  LIST_AT_LEAST,
  NotOurs,
  PROGRESS_EVERY,
  UserError,
  append,
  appliedSpec,
  describeSource,
  distinctSources,
  hasVerifiedContact,
  isRemove,
  isWrite,
  more,
  sourceDigest,
  sourceKey,
  usersBySource,
} from './seed-shared';
import { TotpEnrolment } from './totp-enrolment';

export abstract class Preflight extends TotpEnrolment {
  /**
   * Every check that can fail before anything is written, all reported at once: the pool,
   * the usernames (free, or held by this seeder), the passwords, the schema, the groups.
   */
  protected async preflight(spec: SeedSpec): Promise<Plan> {
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
      problems.push(...attributeProblems(action, description));
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
  protected async aliasProblems(plan: Plan, description: PoolDescription, spec: SeedSpec): Promise<string[]> {
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
  protected async lookUp(
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

  protected async runAll<T extends WriteAction | RemoveAction>(
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
}

/** The most characters Cognito takes in one attribute value. */
const MAX_ATTRIBUTE_LENGTH = 2048;

/**
 * What the pool's schema and Cognito's formats refuse in the attributes `action` writes,
 * each naming the user, the rule and the fix: found before any write, where Cognito would
 * refuse the user mid-batch (after others were written, then undone).
 */
export function attributeProblems(action: WriteAction, description: PoolDescription): string[] {
  const user = action.user;
  const who = `user '${user.username}'`;
  const problems: string[] = [];
  const written = action.kind === 'modify' ? action.setAttributes : user.attributes;
  for (const [name, value] of Object.entries(written)) {
    const length = [...value].length;
    const schema = description.schema.get(name);
    if (length > MAX_ATTRIBUTE_LENGTH) {
      problems.push(
        `${who}: attribute ${name} is ${length} characters, Cognito takes at most ${MAX_ATTRIBUTE_LENGTH.toLocaleString('en-US')}: shorten it`,
      );
      continue;
    }
    if (schema?.type === 'Number') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) {
        problems.push(`${who}: attribute ${name} is '${value}', the pool's schema makes it a Number: give a number`);
      } else if (
        (schema.minValue !== undefined && n < schema.minValue) ||
        (schema.maxValue !== undefined && n > schema.maxValue)
      ) {
        problems.push(
          `${who}: attribute ${name} is ${value}, the pool's schema allows ${schema.minValue ?? '-'} to ${schema.maxValue ?? '-'}: give a number in that range`,
        );
      }
    } else if (
      (schema?.minLength !== undefined && length < schema.minLength) ||
      (schema?.maxLength !== undefined && length > schema.maxLength)
    ) {
      problems.push(
        `${who}: attribute ${name} is ${length} characters, the pool's schema allows ${schema?.minLength ?? 0} to ${schema?.maxLength ?? MAX_ATTRIBUTE_LENGTH}: fit the value to that length`,
      );
    }
    if (name === 'email' && !/^[^\s@]+@[^\s@]+$/u.test(value)) {
      problems.push(`${who}: attribute email '${value}' is not an email address: fix the value`);
    }
    if (name === 'phone_number' && !/^\+[0-9]{4,15}$/.test(value)) {
      problems.push(
        `${who}: attribute phone_number '${value}' is not in E.164 format (a + then the country code and number, digits only, e.g. +14155550100): fix the value`,
      );
    }
    if (name === 'birthdate' && !/^\d{4}-\d{2}-\d{2}$/.test(value)) {
      problems.push(`${who}: attribute birthdate '${value}' is not YYYY-MM-DD: fix the value`);
    }
  }
  if (action.kind === 'modify') {
    for (const name of Object.keys(action.setAttributes)) {
      if (description.schema.get(name)?.mutable === false) {
        problems.push(
          `${who}: attribute ${name} cannot change once the user exists (the pool's schema makes it immutable), so the Update cannot set it: keep the value the user was seeded with, or remove the user and add it under another username`,
        );
      }
    }
  }
  if (action.kind === 'create') {
    // Set by Cognito itself: sub; the username itself in pools whose usernames are emails or phones.
    const given = new Set([...Object.keys(user.attributes), 'sub', ...description.usernameRule.usernameAttributes]);
    const missing = [...description.schema].filter(([name, a]) => a.required && !given.has(name)).map(([n]) => n);
    if (missing.length > 0) {
      problems.push(
        `${who}: the pool's schema requires attribute(s) ${missing.join(', ')}, which the user does not give: add them to its attributes`,
      );
    }
  }
  return problems;
}
