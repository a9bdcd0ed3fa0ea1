/**
 * What the parts of a request's work share (lambda/seed.ts and the modules of its Run:
 * run-base, writes, totp-enrolment, preflight, repair): its errors, dependencies, results,
 * and the small pure helpers.
 */
import { CognitoPool } from './cognito';
import { PasswordPolicy, RepairReport } from './drift';
import { AppliedSpec, Ledger, Progress } from './ledger';
import { ComposedError, Logger, Redactor } from './log';
import { StopSignal } from './pace';
import { PasswordReader } from './passwords';
import { RemoveAction, WriteAction, sourceRef } from './plan';
import type { PasswordSource, Rates, TotpSpec, UserSpec } from './properties';
import { TotpStore } from './totp';
import { createHash } from 'crypto';

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
export class UserError extends ComposedError {
  constructor(username: string, message: string) {
    super(`user '${username}': ${message}`);
  }
}

/** How long after its timeout a call Cognito received may still land (generous: it is processed on arrival). */
export const CALL_LANDING_MS = 5_000;

/** A user this seeder cannot prove its own: a rollback or cleanup leaves it be instead of failing. */
export class NotOurs extends UserError {}

/** The time windows of the create's attempts whose outcome was unknown (no answer, a fault). */
export function unknownAttempts(error: unknown): readonly { from: number; to: number }[] {
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
export const LIST_AT_LEAST = 20;

/** Users worked on at once at first; more open as Cognito's latency asks (up to maxConcurrency). */
export const INITIAL_LANES = 16;

export function isWrite(action: WriteAction | RemoveAction): action is WriteAction {
  return ['create', 'complete', 'adopt', 'takeover', 'modify'].includes(action.kind);
}

export function isRemove(action: WriteAction | RemoveAction): action is RemoveAction {
  return !isWrite(action);
}

/** Log a progress line after this many users. */
export const PROGRESS_EVERY = 500;

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
  readonly totp: (settings: TotpSpec) => TotpStore;
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
export const ENROL_BATCH = 50;

export interface SeedResult {
  readonly physicalResourceId: string;
  readonly counts: Counts;
  /** The users the request seeds (Create and Update). */
  readonly users?: number;
  /** A repair's report. */
  readonly report?: RepairReport;
}

export type Counts = Record<string, number>;

/** What a repair is asked to do. */
export interface RepairOptions {
  readonly usernames?: readonly string[];
  readonly dryRun: boolean;
  readonly passwords: PasswordPolicy;
  /** Users left out: their unsafePlainText password is no longer in the template. */
  readonly skipped?: readonly string[];
}

/** One request's work against one pool. */

/** What the ledger records of a user's seeded spec. */
export function appliedSpec(user: UserSpec, version: string | undefined): AppliedSpec {
  return {
    mode: user.mode,
    attributes: { ...user.attributes },
    groups: [...user.groups].sort(),
    source: sourceRef(user.password, user.password?.kind === 'plaintext' ? version : undefined),
    sourceVersion: user.password?.kind === 'plaintext' ? undefined : version,
    revision: user.passwordRevision,
  };
}

export function sourceKey(source: PasswordSource): string {
  return JSON.stringify(source);
}

/** A source as the request's progress names it: a digest, never a plain-text password. */
export function sourceDigest(source: PasswordSource): string {
  return createHash('sha256').update(sourceKey(source)).digest('hex').slice(0, 24);
}

export function distinctSources(users: readonly UserSpec[]): PasswordSource[] {
  const seen = new Map<string, PasswordSource>();
  for (const u of users) if (u.password && u.mode !== 'RESET_REQUIRED') seen.set(sourceKey(u.password), u.password);
  return [...seen.values()];
}

export function more(users: readonly string[]): string {
  return users.length > 1 ? ` (and ${users.length - 1} more)` : '';
}

export function hasVerifiedContact(user: UserSpec): boolean {
  const a = user.attributes;
  return (!!a.email && a.email_verified === 'true') || (!!a.phone_number && a.phone_number_verified === 'true');
}

export function describeSource(source: PasswordSource): string {
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
export function usersBySource(users: readonly UserSpec[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const u of users) if (u.password) append(map, sourceKey(u.password), u.username);
  return map;
}

/** Adds `value` to the list under `key`, in place: copying a list per value is quadratic. */
export function append<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
