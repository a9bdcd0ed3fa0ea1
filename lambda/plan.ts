/**
 * The handler's decisions, as pure functions with no SDK import: what each request
 * must do to each user, and whether a password meets a pool's policy.
 */
import type { Mode, PasswordSource, SeedSpec, UserSpec } from './properties';

export { COGNITO_SYMBOLS, passwordPolicyViolations } from '../lib/private/password-policy';
export type { PasswordPolicy } from '../lib/private/password-policy';
export { estimateSeconds } from '../lib/private/time-budget';
import { addCreateCalls, CallCounts, passwordCalls } from '../lib/private/time-budget';

/** Create a user that is not in the pool yet. */
export interface CreateAction {
  readonly kind: 'create';
  readonly user: UserSpec;
}

/** Bring an existing user in line with a changed spec. */
export interface ModifyAction {
  readonly kind: 'modify';
  readonly user: UserSpec;
  readonly setAttributes: { readonly [name: string]: string };
  readonly deleteAttributes: readonly string[];
  readonly addGroups: readonly string[];
  readonly removeGroups: readonly string[];
  readonly applyPassword: boolean;
}

/** Delete a user. */
export interface DeleteAction {
  readonly kind: 'delete';
  readonly username: string;
}

export type UserAction = CreateAction | ModifyAction | DeleteAction;

/** Everything a request does, in order: writes first, deletes last. */
export interface Plan {
  /** True when the update moves the seed to another pool (a new physical id). */
  readonly poolChanged: boolean;
  readonly actions: readonly UserAction[];
}

export function planCreate(spec: SeedSpec): Plan {
  return { poolChanged: false, actions: spec.users.map((user) => ({ kind: 'create', user })) };
}

export function planDelete(spec: SeedSpec): Plan {
  if (spec.retain) return { poolChanged: false, actions: [] };
  return {
    poolChanged: false,
    actions: spec.users.map((u) => ({ kind: 'delete', username: u.username })),
  };
}

/**
 * Diffs the old properties against the new ones, user by user. An unchanged user gets
 * no action at all, so a user who already answered a temporary-password challenge keeps
 * the password they chose. Deletes come last, so a failure earlier deletes nobody.
 */
export function planUpdate(oldSpec: SeedSpec, newSpec: SeedSpec): Plan {
  if (oldSpec.userPoolId !== newSpec.userPoolId) {
    // The old pool is cleaned by CloudFormation's Delete of the old physical id.
    return { poolChanged: true, actions: planCreate(newSpec).actions };
  }
  const oldUsers = new Map(oldSpec.users.map((u) => [u.username, u]));
  const writes: UserAction[] = [];
  for (const user of newSpec.users) {
    const before = oldUsers.get(user.username);
    if (!before) {
      writes.push({ kind: 'create', user });
      continue;
    }
    const modify = diffUser(before, user);
    if (modify) writes.push(modify);
  }
  const newNames = new Set(newSpec.users.map((u) => u.username));
  const deletes: UserAction[] = newSpec.retain
    ? []
    : oldSpec.users.filter((u) => !newNames.has(u.username)).map((u) => ({ kind: 'delete', username: u.username }));
  return { poolChanged: false, actions: [...writes, ...deletes] };
}

function diffUser(before: UserSpec, after: UserSpec): ModifyAction | undefined {
  const setAttributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(after.attributes)) {
    if (before.attributes[name] !== value) setAttributes[name] = value;
  }
  const deleteAttributes = Object.keys(before.attributes).filter((name) => !(name in after.attributes));
  const addGroups = after.groups.filter((g) => !before.groups.includes(g));
  const removeGroups = before.groups.filter((g) => !after.groups.includes(g));
  const applyPassword =
    before.mode !== after.mode ||
    before.passwordRevision !== after.passwordRevision ||
    !sameSource(before.password, after.password);
  const changed =
    Object.keys(setAttributes).length > 0 ||
    deleteAttributes.length > 0 ||
    addGroups.length > 0 ||
    removeGroups.length > 0 ||
    applyPassword;
  if (!changed) return undefined;
  return {
    kind: 'modify',
    user: after,
    setAttributes,
    deleteAttributes,
    addGroups,
    removeGroups,
    applyPassword,
  };
}

function sameSource(a?: PasswordSource, b?: PasswordSource): boolean {
  if (!a || !b) return a === b;
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'secretsmanager':
      return b.kind === a.kind && a.secretArn === b.secretArn && a.jsonField === b.jsonField;
    case 'ssm':
      return b.kind === a.kind && a.parameterName === b.parameterName;
    case 'plaintext':
      return b.kind === a.kind && a.value === b.value;
  }
}

/** The users whose password must be read for a plan. */
export function usersNeedingPassword(plan: Plan): UserSpec[] {
  return plan.actions.flatMap((a) => {
    if (a.kind === 'create' && a.user.mode !== 'RESET_REQUIRED') return [a.user];
    if (a.kind === 'modify' && a.applyPassword && a.user.mode !== 'RESET_REQUIRED') return [a.user];
    return [];
  });
}

export function countCalls(plan: Plan): CallCounts {
  const counts: CallCounts = { create: 0, recovery: 0, write: 0 };
  for (const a of plan.actions) {
    if (a.kind === 'create') {
      addCreateCalls(counts, a.user.mode, a.user.groups.length);
    } else if (a.kind === 'modify') {
      if (a.applyPassword) counts.recovery += passwordCalls(a.user.mode, false);
      counts.write += (Object.keys(a.setAttributes).length > 0 ? 1 : 0) + (a.deleteAttributes.length > 0 ? 1 : 0);
      counts.write += a.addGroups.length + a.removeGroups.length;
    } else {
      counts.write++;
    }
  }
  return counts;
}

/** A user as the pool reports it, for deciding what an existing user is. */
export interface ExistingUser {
  readonly attributes: { readonly [name: string]: string };
  readonly groups: readonly string[];
  readonly status?: string;
  readonly createdAt?: Date;
}

/** The status a user has right after the seeder creates it in `mode`. */
export const STATUS_AFTER_CREATE: Record<Mode, string> = {
  PERMANENT: 'CONFIRMED',
  TEMPORARY: 'FORCE_CHANGE_PASSWORD',
  RESET_REQUIRED: 'RESET_REQUIRED',
};

/**
 * True when an existing user is exactly what the seeder makes of `spec`: the same
 * attributes (Cognito's own `sub` aside) and the same groups, no more and no fewer.
 * The handler only trusts that for users it can have made itself: see `lambda/seed.ts`.
 */
export function matchesSpec(existing: ExistingUser, spec: UserSpec): boolean {
  const attributes = Object.entries(existing.attributes).filter(([name]) => name !== 'sub');
  return (
    attributes.length === Object.keys(spec.attributes).length &&
    attributes.every(([name, value]) => spec.attributes[name] === value) &&
    existing.groups.length === spec.groups.length &&
    spec.groups.every((g) => existing.groups.includes(g))
  );
}
