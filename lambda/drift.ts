/**
 * What a repair finds wrong with a seeded user: the user as the pool has it now against
 * what the seeder last applied to it (the ledger's record). Pure: no SDK.
 */
import type { AppliedSpec, UserRecord } from './ledger';
import { CLOCK_SKEW_MS, LiveUser } from './plan';

/** The ways a seeded user drifts from what was applied, in the order a repair puts them back. */
export type Drift =
  | 'deleted'
  | 'disabled'
  | 'password-source-changed'
  | 'password-may-have-changed'
  | 'temporary-password-answered'
  | 'reset-answered'
  | 'attributes'
  | 'groups'
  /** The user's own TOTP secret is gone or holds another seed (found by the repair, not here). */
  | 'totp-secret';

/** Whether to set passwords again when nothing says they changed. */
export type PasswordPolicy = 'changed' | 'always';

export interface DriftInput {
  readonly applied: AppliedSpec;
  readonly record: UserRecord;
  /** Undefined when the user is not in the pool. */
  readonly live?: LiveUser;
  /** The groups the user is in now (only read when the applied spec has groups). */
  readonly groups?: readonly string[];
  /** The version its password source has now (undefined when it has none). */
  readonly sourceVersion?: string;
  readonly passwords: PasswordPolicy;
}

/** The status a user has when its seeded password is as the seeder left it. */
const SETTLED: Record<string, string> = {
  PERMANENT: 'CONFIRMED',
  TEMPORARY: 'FORCE_CHANGE_PASSWORD',
  RESET_REQUIRED: 'RESET_REQUIRED',
};

/**
 * What differs, or `remade` when the user in the pool is not the one the seeder made (its
 * `sub` is another): such a user is reported, never changed.
 */
export function driftOf(input: DriftInput): Drift[] | 'remade' {
  const { applied, record, live } = input;
  if (!live) return ['deleted'];
  if (record.sub && live.sub && live.sub !== record.sub) return 'remade';
  const found: Drift[] = [];
  if (live.enabled === false) found.push('disabled');
  const settled = live.status === SETTLED[applied.mode];
  const sourceChanged =
    applied.mode !== 'RESET_REQUIRED' &&
    input.sourceVersion !== undefined &&
    applied.sourceVersion !== undefined &&
    input.sourceVersion !== applied.sourceVersion;
  if (applied.mode === 'PERMANENT') {
    // Changed by its user (or an admin) after the seeder set it: the pool only shows when.
    const touched =
      live.modifiedAt !== undefined &&
      new Date(live.modifiedAt).getTime() > (record.appliedAt ?? record.at) + CLOCK_SKEW_MS;
    if (sourceChanged) found.push('password-source-changed');
    else if (!settled || touched || input.passwords === 'always') found.push('password-may-have-changed');
  } else if (applied.mode === 'TEMPORARY') {
    if (sourceChanged) found.push('password-source-changed');
    else if (!settled || input.passwords === 'always') found.push('temporary-password-answered');
  } else if (!settled || input.passwords === 'always') {
    found.push('reset-answered');
  }
  const attributes = live.attributes ?? {};
  if (Object.entries(applied.attributes).some(([name, value]) => attributes[name] !== value)) found.push('attributes');
  if (applied.groups.some((g) => !(input.groups ?? []).includes(g))) found.push('groups');
  return found;
}

/** The attributes to set again: the applied ones the pool has otherwise now. */
export function attributesToRestore(applied: AppliedSpec, live: LiveUser): Record<string, string> {
  const now = live.attributes ?? {};
  return Object.fromEntries(Object.entries(applied.attributes).filter(([name, value]) => now[name] !== value));
}

export type { RepairedUser, RepairReport } from '../lib/private/contract';

/** Drifted users a report lists by name (the ledger keeps the report in one item). */
export const REPORT_MAX = 1000;
