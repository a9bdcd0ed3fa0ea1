/**
 * A repair: the users the ledger holds for a seeder put back to what was last applied to
 * them. It never deletes, and never touches a user the ledger does not hold.
 */
import { Drift, REPORT_MAX, RepairReport, RepairedUser, attributesToRestore, driftOf } from './drift';
import { AppliedSpec, UserRecord } from './ledger';
import { ComposedError, describeError } from './log';
import { runBounded } from './pace';
import { LiveUser, usernameKey } from './plan';
import type { SeedSpec, UserSpec } from './properties';
import { RepairOptions, distinctSources, sourceKey } from './seed-shared';
import { Preflight } from './preflight';

export abstract class Repair extends Preflight {
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
    left += await this.repairTotpSecrets(spec, records, byKey, users, options.dryRun);
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

  /**
   * Finds the users kept as they are whose own TOTP secret was deleted or changed by hand,
   * and writes it again from the seeder's secret (users made again were re-enrolled, and
   * their secrets written, above). Adds them to `users`; gives how many could not be put back.
   */
  private async repairTotpSecrets(
    spec: SeedSpec,
    records: readonly UserRecord[],
    byKey: ReadonlyMap<string, UserSpec>,
    users: RepairedUser[],
    dryRun: boolean,
  ): Promise<number> {
    if (spec.totp?.userSecretPrefix === undefined) return 0;
    const reported = new Map(users.map((u) => [u.username, u]));
    const names = records
      .filter((r) => r.totp === 'enrolled' && byKey.get(r.key)?.mfa === 'TOTP')
      .map((r) => (byKey.get(r.key) as UserSpec).username)
      .filter((name) => {
        const found = reported.get(name)?.found ?? [];
        return !found.includes('deleted') && !found.includes('remade-by-hand');
      });
    if (names.length === 0) return 0;
    const store = this.deps.totp(spec.totp);
    const secrets = await store.load(this.userPoolId);
    const off = await store.userSecretsOff(this.userPoolId, secrets, names);
    if (off.length === 0) return 0;
    let error: string | undefined;
    if (!dryRun) {
      await store.restoreUserSecrets(this.userPoolId, secrets, off).catch((e: unknown) => {
        error = describeError(e, this.deps.redactor);
      });
    }
    for (const name of off) {
      const entry = reported.get(name);
      const found = [...(entry?.found ?? []), 'totp-secret'];
      const done = [...(entry?.done ?? []), ...(dryRun || error !== undefined ? [] : ['totp-secret'])];
      const failed = entry?.error ?? error;
      const next: RepairedUser = { username: name, found, done, ...(failed === undefined ? {} : { error: failed }) };
      if (entry) users[users.indexOf(entry)] = next;
      else users.push(next);
    }
    return error === undefined ? 0 : off.filter((name) => reported.get(name)?.error === undefined).length;
  }

  /** Puts a drifted user back, as `drift` says, and records what was applied and when. */
  protected async putBack(
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
}
