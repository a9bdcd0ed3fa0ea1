/**
 * How long seeding takes at Cognito's quotas: one pure module, shared by synth-time
 * checks and the handler's deploy-time estimate (bundled into the handler by esbuild).
 */

import { SEED_SERVICE_TIMEOUT_SECONDS } from './contract';

/**
 * What a request may spend across invocations: CloudFormation's wait (3,600 s) less the
 * 120 s the handler keeps to answer and the 60 s each of four invocations keeps back.
 */
export const SEED_BUDGET_SECONDS = SEED_SERVICE_TIMEOUT_SECONDS - 120 - 4 * 60;

/** Calls per second per quota category. */
export interface Rates {
  readonly create: number;
  readonly recovery: number;
  readonly write: number;
  readonly read: number;
}

/** Cognito's default quotas, calls per second: the seeder's default pace. */
export const DEFAULT_RATES: Rates = { create: 50, recovery: 30, write: 25, read: 120 };
/**
 * The most users worked on at once. The seeding function starts with 16 and opens more
 * only as Cognito's latency requires to keep the configured rates (Little's law).
 */
export const DEFAULT_MAX_CONCURRENCY = 64;

/** Cognito calls per quota category. */
export interface CallCounts {
  create: number;
  recovery: number;
  write: number;
}

/** Password calls (AdminSetUserPassword, AdminResetUserPassword) to apply a password in `mode`. */
export function passwordCalls(mode: string, creating: boolean): number {
  if (mode === 'RESET_REQUIRED') return 2;
  if (mode === 'PERMANENT') return 1;
  // TEMPORARY: AdminCreateUser sets it; an existing user needs AdminSetUserPassword.
  return creating ? 0 : 1;
}

/** Adds the calls that creating one user in `mode` with `groups` groups makes. */
export function addCreateCalls(counts: CallCounts, mode: string, groups: number): void {
  counts.create += 1;
  counts.recovery += passwordCalls(mode, true);
  counts.write += groups;
}

/** Seconds the calls of each category take at `rates` (each category is paced on its own). */
export function categorySeconds(counts: CallCounts, rates: Omit<Rates, 'read'>): CallCounts {
  return {
    create: counts.create / rates.create,
    recovery: counts.recovery / rates.recovery,
    write: counts.write / rates.write,
  };
}

/** Seconds the calls take at `rates`: each category is paced on its own, the slowest sets the time. */
export function estimateSeconds(counts: CallCounts, rates: Omit<Rates, 'read'>): number {
  const seconds = categorySeconds(counts, rates);
  return Math.max(seconds.create, seconds.recovery, seconds.write);
}
