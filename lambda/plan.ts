/**
 * The handler's decisions, as pure functions with no SDK import: the reconcile plan
 * (desired users, ledger records, pool view) -> actions, and whether a password meets
 * a pool's policy.
 */
import type { AppliedSpec, UserRecord } from './ledger';
import type { PasswordSource, UserSpec } from './properties';

export { COGNITO_SYMBOLS, passwordPolicyViolations } from '../lib/private/password-policy';
export type { PasswordPolicy } from '../lib/private/password-policy';
export { estimateSeconds } from '../lib/private/time-budget';
import { addCreateCalls, CallCounts, passwordCalls } from '../lib/private/time-budget';

/** How a pool compares usernames. */
export interface UsernameRule {
  /** False for pools created case-insensitive (the console's default). */
  readonly caseSensitive: boolean;
  /** `email` and/or `phone_number` when the username is one of them (an alias). */
  readonly usernameAttributes: readonly string[];
}

/** The username as the pool compares it: the ledger's key. */
export function usernameKey(username: string, rule: UsernameRule): string {
  // Email aliases are always compared without case; phone numbers have none.
  if (!rule.caseSensitive || rule.usernameAttributes.includes('email')) return username.toLowerCase();
  return username;
}

/** A user as the pool reports it now. */
export interface LiveUser {
  /** The pool's own username (a UUID in alias pools). */
  readonly username: string;
  readonly sub?: string;
  readonly createdAt?: Date;
  /** As AdminGetUser reports them (a repair compares them with what was applied). */
  readonly status?: string;
  readonly enabled?: boolean;
  readonly modifiedAt?: Date;
  readonly attributes?: { readonly [name: string]: string };
}

/** A desired user, keyed as the pool compares it, with the spec it would be seeded to. */
export interface DesiredUser {
  readonly key: string;
  readonly user: UserSpec;
  readonly applied: AppliedSpec;
}

export interface ReconcileInput {
  /** The seed resource: its logical id. */
  readonly owner: string;
  readonly desired: readonly DesiredUser[];
  /** Every ledger record of the pool, whoever holds it. */
  readonly records: readonly UserRecord[];
  /** Live state of the users looked up (see `lookupsFor`); null when not in the pool. */
  readonly live: ReadonlyMap<string, LiveUser | null>;
  /** Other seed resources of this stack on this pool, and the usernames each now lists (keyed). */
  readonly siblings: ReadonlyMap<string, ReadonlySet<string>>;
  readonly adoptExistingUsers: boolean;
  /** Adopted users are recorded as deletable (`deleteAdoptedUsers`): taken back after a ledger loss. */
  readonly deleteAdoptedUsers?: boolean;
  readonly retain: boolean;
}

/** Create a user not in the pool (also: one whose earlier create never happened). */
export interface CreateAction {
  readonly kind: 'create';
  readonly key: string;
  readonly user: UserSpec;
  readonly applied: AppliedSpec;
}

/** A `creating` record whose user is in the pool: the create's answer was lost. Finish it. */
export interface CompleteAction {
  readonly kind: 'complete';
  readonly key: string;
  readonly user: UserSpec;
  readonly applied: AppliedSpec;
  readonly record: UserRecord;
  readonly live: LiveUser;
}

/** Take over a user that exists in the pool and nobody holds (adoptExistingUsers). */
export interface AdoptAction {
  readonly kind: 'adopt';
  readonly key: string;
  readonly user: UserSpec;
  readonly applied: AppliedSpec;
  readonly live: LiveUser;
  /** Recorded as deletable (`deleteAdoptedUsers`), not only releasable. */
  readonly deletable: boolean;
}

/** Take over a user a sibling seed resource of this stack holds and no longer lists. */
export interface TakeOverAction {
  readonly kind: 'takeover';
  readonly key: string;
  readonly user: UserSpec;
  readonly applied: AppliedSpec;
  readonly record: UserRecord;
  /** What to change once taken over, from what the sibling applied. */
  readonly modify?: ModifyAction;
}

/** Bring a held user from what was applied to what is desired. */
export interface ModifyAction {
  readonly kind: 'modify';
  readonly key: string;
  readonly user: UserSpec;
  readonly applied: AppliedSpec;
  readonly record: UserRecord;
  readonly setAttributes: { readonly [name: string]: string };
  readonly deleteAttributes: readonly string[];
  readonly addGroups: readonly string[];
  readonly removeGroups: readonly string[];
  readonly applyPassword: boolean;
}

/** Delete a user this owner created (after the live `sub` check). */
export interface DeleteAction {
  readonly kind: 'delete';
  readonly record: UserRecord;
}

/** Stop holding a user, leave it in the pool (adopted, or RETAIN). */
export interface ReleaseAction {
  readonly kind: 'release';
  readonly record: UserRecord;
}

/** Hand a user over to the sibling that now lists it. */
export interface HandOverAction {
  readonly kind: 'handover';
  readonly record: UserRecord;
  readonly to: string;
}

export type WriteAction = CreateAction | CompleteAction | AdoptAction | TakeOverAction | ModifyAction;
export type RemoveAction = DeleteAction | ReleaseAction | HandOverAction;

export interface Plan {
  /** Writes first; a failure among them removes nothing. */
  readonly writes: readonly WriteAction[];
  /** Then removals. */
  readonly removals: readonly RemoveAction[];
  readonly unchanged: number;
  /** Users that cannot be seeded: the request fails before any write (a rollback leaves them be). */
  readonly conflicts: readonly string[];
  /**
   * `creating` records whose user in the pool was made outside the time their create could
   * have made it: someone else's user, so the record goes and the user stays.
   */
  readonly stale?: readonly UserRecord[];
}

/** How far Cognito's clock and the function's may disagree about when a user was made. */
export const CLOCK_SKEW_MS = 5_000;

/**
 * Whether a live user was made while the create recorded as `creating` could have made it:
 * from just before its first attempt to the end of the invocation that made it (or of its
 * last attempt whose outcome was unknown).
 */
export function madeWithin(live: LiveUser, record: Pick<UserRecord, 'at' | 'until'>): boolean {
  if (!live.createdAt) return false;
  const made = new Date(live.createdAt).getTime();
  return made >= record.at - CLOCK_SKEW_MS && made <= (record.until ?? record.at) + CLOCK_SKEW_MS;
}

/**
 * The keys whose live state the plan needs: every desired user this owner does not hold
 * as `present` (is it free in the pool?).
 */
export function lookupsFor(owner: string, desired: readonly DesiredUser[], records: readonly UserRecord[]): string[] {
  const held = new Map(records.map((r) => [r.key, r]));
  return desired
    .filter((d) => {
      const r = held.get(d.key);
      return !r || r.owner !== owner || r.state === 'creating';
    })
    .map((d) => d.key);
}

/**
 * Reconciles the desired users against what the ledger says this owner holds. Users are
 * deleted only when this owner created them; a user someone else holds, or that is in the
 * pool and held by nobody, is a conflict unless adopting (or a sibling hands it over).
 */
export function reconcile(input: ReconcileInput): Plan {
  const byKey = new Map(input.records.map((r) => [r.key, r]));
  const writes: WriteAction[] = [];
  const conflicts: string[] = [];
  const stale: UserRecord[] = [];
  let unchanged = 0;

  for (const d of input.desired) {
    const record = byKey.get(d.key);
    const live = input.live.get(d.key);
    if (record && record.owner === input.owner) {
      if (record.state === 'creating') {
        if (!live) {
          writes.push({ kind: 'create', key: d.key, user: d.user, applied: d.applied });
        } else if (madeWithin(live, record)) {
          writes.push({ kind: 'complete', key: d.key, user: d.user, applied: d.applied, record, live });
        } else {
          stale.push(record);
          conflicts.push(
            `user '${d.user.username}' is in the pool, but was made ${when(live)}, outside the time this seeder's interrupted create could have made it (${new Date(record.at).toISOString()} to ${new Date(record.until ?? record.at).toISOString()}): someone else made it, so it is not this seeder's: remove it from the pool or drop it from the seeder`,
          );
        }
        continue;
      }
      const modify = diff(d, record);
      if (modify) writes.push(modify);
      else unchanged++;
      continue;
    }
    if (record) {
      const sibling = input.siblings.get(record.owner);
      if (sibling && !sibling.has(d.key) && record.state === 'present') {
        writes.push({
          kind: 'takeover',
          key: d.key,
          user: d.user,
          applied: d.applied,
          record,
          modify: diff(d, record),
        });
      } else {
        conflicts.push(
          `user '${d.user.username}' is held by seed resource ${record.owner} of this stack${sibling ? ', which still lists it' : ''}: a user belongs to one seeder; remove it from ${record.owner} first, or keep that seeder's construct id unchanged`,
        );
      }
      continue;
    }
    if (live === undefined) {
      conflicts.push(`user '${d.user.username}' was not looked up in the pool`);
    } else if (live === null) {
      writes.push({ kind: 'create', key: d.key, user: d.user, applied: d.applied });
    } else if (input.adoptExistingUsers) {
      writes.push({
        kind: 'adopt',
        key: d.key,
        user: d.user,
        applied: d.applied,
        live,
        deletable: !!input.deleteAdoptedUsers,
      });
    } else {
      conflicts.push(
        `user '${d.user.username}' already exists in the pool and was not created by this seeder: remove it from the pool, drop it from the seeder, or set adoptExistingUsers: true to take it over (adopted users are released, never deleted)`,
      );
    }
  }

  const wanted = new Set(input.desired.map((d) => d.key));
  const removals: RemoveAction[] = [];
  for (const record of input.records) {
    if (record.owner !== input.owner || wanted.has(record.key)) continue;
    const to = [...input.siblings].find(([, keys]) => keys.has(record.key))?.[0];
    if (to && record.state === 'present') removals.push({ kind: 'handover', record, to });
    else if (record.origin === 'adopted' || input.retain) removals.push({ kind: 'release', record });
    else removals.push({ kind: 'delete', record });
  }
  return { writes, removals, unchanged, conflicts, stale };
}

function when(live: LiveUser): string {
  return live.createdAt ? `at ${new Date(live.createdAt).toISOString()}` : 'at an unknown time';
}

/** The users this owner holds in a pool, all to go (a Delete, a cleanup of an old pool). */
export function planRemoveAll(owner: string, records: readonly UserRecord[], retain: boolean): RemoveAction[] {
  return records
    .filter((r) => r.owner === owner)
    .map((record) =>
      record.origin === 'adopted' || retain ? { kind: 'release', record } : { kind: 'delete', record },
    );
}

/**
 * What a failed request undoes: the users it created (deleted) or adopted (released),
 * and the users it took over (handed back).
 */
export function planCompensation(owner: string, requestId: string, records: readonly UserRecord[]): RemoveAction[] {
  return records
    .filter((r) => r.owner === owner && r.requestId === requestId)
    .map((record): RemoveAction => {
      if (record.previousOwner) return { kind: 'handover', record, to: record.previousOwner };
      // What it took over (adopted or reclaimed) it releases; it deletes only what it made.
      return record.origin === 'created' ? { kind: 'delete', record } : { kind: 'release', record };
    });
}

/** Attribute pairs Cognito resets when the first changes unless the second is set with it. */
const VERIFIED_FLAGS: Record<string, string> = { email: 'email_verified', phone_number: 'phone_number_verified' };

function diff(d: DesiredUser, record: UserRecord): ModifyAction | undefined {
  const after = d.applied;
  // What the user may hold now: what was applied, and what a request cut off began to
  // write over it (some of its writes may have landed). Both are brought to `after`.
  const befores = record.pending ? [record.applied, record.pending] : [record.applied];
  if (befores.every((b) => b && fingerprint(b) === fingerprint(after))) return undefined;
  const setAttributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(after.attributes)) {
    if (befores.some((b) => (b?.attributes ?? {})[name] !== value)) setAttributes[name] = value;
  }
  // Changing email (or phone) resets its verified flag unless the same call sets it.
  for (const [attribute, flag] of Object.entries(VERIFIED_FLAGS)) {
    if (attribute in setAttributes && after.attributes[flag] !== undefined) {
      setAttributes[flag] = after.attributes[flag];
    }
  }
  const union = (pick: (b: AppliedSpec) => readonly string[]) => [
    ...new Set(befores.flatMap((b) => (b ? pick(b) : []))),
  ];
  const deleteAttributes = union((b) => Object.keys(b.attributes)).filter((name) => !(name in after.attributes));
  const addGroups = after.groups.filter((g) => befores.some((b) => !(b?.groups ?? []).includes(g)));
  const removeGroups = union((b) => b.groups).filter((g) => !after.groups.includes(g));
  const applyPassword = befores.some(
    (before) =>
      !before ||
      before.mode !== after.mode ||
      before.source !== after.source ||
      before.sourceVersion !== after.sourceVersion ||
      before.revision !== after.revision,
  );
  return {
    kind: 'modify',
    key: d.key,
    user: d.user,
    applied: after,
    record,
    setAttributes,
    deleteAttributes,
    addGroups,
    removeGroups,
    applyPassword,
  };
}

/** A stable string of an applied spec: equal specs, equal fingerprints. */
export function fingerprint(spec: AppliedSpec): string {
  const attributes = Object.keys(spec.attributes)
    .sort()
    .map((k) => [k, spec.attributes[k]]);
  return JSON.stringify([
    spec.mode,
    attributes,
    [...spec.groups].sort(),
    spec.source ?? '',
    spec.sourceVersion ?? '',
    spec.revision ?? '',
  ]);
}

/** Where a password comes from, as the ledger may record it: a reference, never a value. */
export function sourceRef(source: PasswordSource | undefined, plaintextDigest?: string): string | undefined {
  if (!source) return undefined;
  switch (source.kind) {
    case 'secretsmanager':
      return `secretsmanager:${source.secretArn}#${source.jsonField ?? ''}`;
    case 'ssm':
      return `ssm:${source.parameterName}`;
    case 'plaintext':
      // The value is already in the template (unsafePlainText); the ledger keeps a digest.
      return `plaintext:${plaintextDigest ?? ''}`;
  }
}

/** The users whose password must be read to carry out the writes. */
export function needsPassword(action: WriteAction): boolean {
  if (action.user.mode === 'RESET_REQUIRED') return false;
  if (action.kind === 'modify') return action.applyPassword;
  return true;
}

export function countCalls(plan: Plan): CallCounts {
  const counts: CallCounts = { create: 0, recovery: 0, write: 0 };
  for (const a of plan.writes) {
    if (a.kind === 'create') {
      addCreateCalls(counts, a.user.mode, a.user.groups.length);
    } else if (a.kind === 'modify') {
      if (a.applyPassword) counts.recovery += passwordCalls(a.user.mode, false);
      counts.write += (Object.keys(a.setAttributes).length > 0 ? 1 : 0) + (a.deleteAttributes.length > 0 ? 1 : 0);
      counts.write += a.addGroups.length + a.removeGroups.length;
    } else if (a.kind === 'takeover') {
      if (a.modify?.applyPassword) counts.recovery += passwordCalls(a.user.mode, false);
      counts.write += (a.modify?.addGroups.length ?? 0) + (a.modify?.removeGroups.length ?? 0);
    } else {
      counts.recovery += passwordCalls(a.user.mode, false);
      counts.write += a.user.groups.length + (a.kind === 'adopt' ? 1 : 0);
    }
  }
  for (const r of plan.removals) if (r.kind === 'delete') counts.write++;
  return counts;
}

/** The status a user has right after the seeder creates it in a mode. */
export const STATUS_AFTER_CREATE: Record<string, string> = {
  PERMANENT: 'CONFIRMED',
  TEMPORARY: 'FORCE_CHANGE_PASSWORD',
  RESET_REQUIRED: 'RESET_REQUIRED',
};
