/**
 * The writes of a request, each recorded in the ledger before and after it: create,
 * complete, adopt, take over, modify, and removal (every delete goes through `deleteOwned`,
 * whose first line checks ownership).
 */
import { errorName } from './cognito';
import { AppliedSpec, UserRecord } from './ledger';
import { StopSignal } from './pace';
import { LiveUser, ModifyAction, RemoveAction, WriteAction, fingerprint, madeWithin } from './plan';
import type { UserSpec } from './properties';
import { CALL_LANDING_MS, UserError, unknownAttempts } from './seed-shared';
import { RunBase } from './run-base';

export abstract class Writes extends RunBase {
  protected async write(action: WriteAction): Promise<string> {
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

  protected remove(action: RemoveAction, signal: StopSignal = this.deps.signal): Promise<string> {
    switch (action.kind) {
      case 'delete':
        return this.deleteOwned(action.record, signal);
      case 'release':
        return this.deps.ledger.drop(action.record).then(() => 'released');
      case 'handover':
        return this.handOver(action.record, action.to);
    }
  }

  /**
   * Records `creating` (with the window its create may land in), creates, records the
   * `sub`, sets password and groups, records `present`. A user of that name made by anyone
   * else is never claimed: a clear UsernameExistsException says so, and after an attempt
   * whose outcome is unknown only a user made inside that attempt's time counts as ours.
   */
  protected async create(key: string, user: UserSpec, applied: AppliedSpec): Promise<string> {
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
  protected async complete(record: UserRecord, live: LiveUser, user: UserSpec, applied: AppliedSpec): Promise<string> {
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
  protected async adopt(
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

  protected async takeOver(
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
    await this.deps.ledger.save({ ...record, applied, appliedAt: Date.now(), pending: undefined });
    return 'taken-over';
  }

  protected async modify(action: ModifyAction): Promise<string> {
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
    await this.deps.ledger.save({ ...record, applied: action.applied, appliedAt: Date.now(), pending: undefined });
    return 'updated';
  }

  protected async applyChanges(record: UserRecord, action: ModifyAction): Promise<void> {
    // Recorded before the first write: if this request is cut off, the next one knows the
    // user may hold some of it, and undoes or finishes it.
    if (!record.pending || fingerprint(record.pending) !== fingerprint(action.applied)) {
      await this.deps.ledger.save({ ...record, pending: action.applied });
    }
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
  protected async deleteOwned(record: UserRecord, signal: StopSignal): Promise<string> {
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

  protected async handOver(record: UserRecord, to: string): Promise<string> {
    const moved: UserRecord = { ...record, owner: to, previousOwner: undefined };
    // If `to` took it over already, the record is no longer ours: nothing to do.
    await this.deps.ledger.save(moved, record.owner);
    return 'handed-over';
  }
}
