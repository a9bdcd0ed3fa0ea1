/**
 * The `Work` task: one slice of a request. It takes the resource (after any older request
 * has let go), works until the slice's time, the request's deadline or a newer request
 * stops it, and returns the next state of the execution: done, or a cursor to go on from.
 * Everything it learns is in the ledger, so a slice that crashed is simply run again.
 */
import type { Context } from 'aws-lambda';
import {
  ALLOW_SEEDING_CONTEXT,
  COGNITO_REQUEST_TIMEOUT_ENV,
  COGNITO_REQUEST_TIMEOUT_MS,
  FORBIDDEN_ACCOUNTS_CONTEXT,
  REQUEST_NOT_READY_ERROR,
} from '../lib/private/contract';
import { clients, openLedger } from './clients';
import { CognitoPool, stuckCallMessage } from './cognito';
import type { ExecutionInput, RequestRef } from './engine';
import type { Ledger, Outcome, Progress, RequestRecord } from './ledger';
import { FenceWatch, takeResource } from './lifecycle';
import { describeError, Logger, Redactor } from './log';
import { AbortedError, StopSignal } from './pace';
import { PasswordReader } from './passwords';
import { parseProperties, parseRemoval, RemovalSpec } from './properties';
import { deadlines, failedCreateId } from './protocol';
import {
  deleteRequest,
  finishPending,
  physicalId,
  poolOfPhysicalId,
  reconcileRequest,
  repairRequest,
  RequestIdentity,
  SeedDeps,
  SeedFailure,
  SeedResult,
} from './seed';
import { TotpStore } from './totp';
import { propertiesDigest } from './verify';

/** What the `Work` task is given. */
export interface WorkInput {
  readonly request: RequestRef;
  readonly cursor: { readonly slice: number } | null;
}

/** Thrown to the engine, which retries it: a delivery is still recording the request. */
class RequestNotReady extends Error {
  constructor() {
    super('the request is not recorded yet');
    this.name = REQUEST_NOT_READY_ERROR;
  }
}

/** Time a slice keeps back from the function's timeout: stop new work, let what is in flight land. */
export function sliceStop(remainingMs: number): number {
  return Math.max(0, remainingMs - Math.min(60_000, remainingMs * 0.4));
}

export async function workTask(input: WorkInput, context?: Partial<Context>): Promise<ExecutionInput> {
  const started = Date.now();
  const { owner, requestId } = input.request;
  const slice = (input.cursor?.slice ?? 0) + 1;
  const next = (done: boolean): ExecutionInput => ({
    request: input.request,
    cursor: { slice },
    done,
    failure: null,
  });
  const logger = new Logger();
  const ledger = openLedger();
  const record = await ledger.getRequest(owner, requestId);
  if (record?.fence === undefined || record.properties === undefined) {
    // Answered already (a slice run again after the last one), or not recorded yet.
    if (record?.outcome || record?.answered) return next(true);
    throw new RequestNotReady();
  }
  if (record.outcome) return next(true);
  const remaining = context?.getRemainingTimeInMillis?.() ?? 15 * 60 * 1000;
  const sliceEnd = started + sliceStop(remaining);
  const limits = deadlines(record.since);
  const properties = JSON.parse(record.properties) as Record<string, unknown>;
  const machineArn = String(properties.StateMachineArn ?? '');

  const start = await takeResource(ledger, record, machineArn, Math.min(sliceEnd, limits.work), logger);
  if (start === 'superseded') {
    logger.info({ requestType: record.type, request: requestId, outcome: 'superseded', slice });
    return next(true);
  }
  if (start === 'waiting') {
    if (Date.now() < limits.work) {
      logger.info({ requestType: record.type, request: requestId, outcome: 'waiting-for-older-request', slice });
      return next(false);
    }
    await finish(ledger, record, {
      status: 'FAILED',
      physicalResourceId: fallbackId(record, properties),
      reason: `${record.type} failed: an older request on this resource was still running when CloudFormation's time ran out, so nothing was done: deploy again once it has finished`,
    });
    return next(true);
  }

  const signal = new StopSignal();
  const cleanupSignal = new StopSignal();
  // A stop raised at the end of the slice or at the request's deadline, whichever is first;
  // undoing a failure may go on a little longer (the last 20 s of the slice are for its
  // calls to land), and stops before the answer's own time.
  const hardEnd = started + Math.max(0, remaining - Math.min(20_000, remaining * 0.1));
  const timers = [
    setTimeout(() => signal.stop(), Math.max(0, Math.min(sliceEnd, limits.work) - Date.now())),
    setTimeout(() => cleanupSignal.stop(), Math.max(0, Math.min(hardEnd, limits.cleanup) - Date.now())),
    // Still here just before Lambda ends the slice: say which call it waits on, so that the
    // answer after the last retry can name it.
    setTimeout(() => void noteStuck(), Math.max(0, hardEnd - Date.now())),
  ];
  const noteStuck = async (): Promise<void> => {
    const oldest = pools.flatMap((p) => p.oldestCall() ?? []).sort((a, b) => a.since - b.since)[0];
    // Long for a call, or a quarter of a short slice.
    const stuck = stuckCallMessage(oldest, Date.now(), Math.min(5_000, remaining / 4));
    if (!stuck) return;
    logger.error({ requestType: record.type, outcome: 'stuck', slice, note: stuck });
    await ledger.updateRequest(owner, requestId, { progress: { ...progress, stuck } }).catch(() => undefined);
  };
  const watch = new FenceWatch(ledger, owner, record.fence, [signal, cleanupSignal]).start();
  const redactor = new Redactor();
  const pools: CognitoPool[] = [];
  let progress: Progress = { ...record.progress, slices: slice };
  const deps: SeedDeps = {
    pool: (userPoolId, rates) => {
      const pool = new CognitoPool(clients().cognito, userPoolId, rates, signal);
      pools.push(pool);
      return pool;
    },
    passwords: new PasswordReader(redactor, clients().secretsManager, clients().ssm),
    ledger,
    logger,
    redactor,
    signal,
    cleanupSignal,
    since: record.since,
    invocationEnds: started + remaining,
    callTimeoutMs: Number(process.env[COGNITO_REQUEST_TIMEOUT_ENV]) || COGNITO_REQUEST_TIMEOUT_MS,
    settling: record.settling === true || record.type === 'Delete',
    remainingMs: () => limits.work - Date.now(),
    // A newer request moved the fence: stop untouched, it settles the users from the ledger.
    continues: (phase) => watch.moved || Date.now() < (phase === 'work' ? limits.work : limits.cleanup),
    progress,
    saveProgress: async (p) => {
      progress = { ...p, slices: slice };
      await ledger.updateRequest(owner, requestId, { progress });
    },
    totp: (settings) => new TotpStore(clients().secretsManager, settings, redactor),
  };
  const who: RequestIdentity = { owner, requestId, stackId: record.stackId, requestType: record.type };
  let outcome: Outcome | undefined;
  // What the slice spent before its first write: reading the users, the ledger and the pool.
  const beforeFirstWrite = (): number | undefined => {
    const first = Math.min(...pools.map((p) => p.firstWriteAt ?? Infinity));
    return Number.isFinite(first) ? first - started : undefined;
  };
  try {
    const result = await runSlice(record, properties, who, deps, slice, context);
    if (watch.moved) {
      // Logged below.
    } else if (result) {
      outcome = success(record, properties, result);
      const ms = Date.now() - record.since;
      logger.info({
        requestType: record.type,
        outcome: 'SUCCESS',
        users: result.users,
        ...result.counts,
        slice,
        firstWriteMs: beforeFirstWrite(),
        ms,
        usersPerSecond: Math.round(((result.users ?? 0) / Math.max(ms, 1)) * 100_000) / 100,
      });
    } else {
      logger.info({
        requestType: record.type,
        request: requestId,
        outcome: 'continuing',
        slice,
        firstWriteMs: beforeFirstWrite(),
        ms: Date.now() - started,
      });
    }
  } catch (error) {
    if (error instanceof AbortedError && !watch.moved && deps.continues('work')) {
      // The slice's time ran out outside the work's own stop handling (finishing an earlier
      // request's compensation took it all): the next slice goes on, from the ledger.
      logger.info({
        requestType: record.type,
        request: requestId,
        outcome: 'continuing',
        slice,
        note: 'the slice ended before its own work was done',
        ms: Date.now() - started,
      });
    } else if (!watch.moved) {
      const reason = describeError(error, redactor);
      logger.error({ requestType: record.type, outcome: 'FAILED', error: reason, slice });
      const id = error instanceof SeedFailure ? error.physicalResourceId : fallbackId(record, properties);
      outcome = {
        status: 'FAILED',
        physicalResourceId: id || failedCreateId(requestId),
        reason: `${record.type} failed: ${reason}`,
      };
    }
  } finally {
    watch.stop();
    timers.forEach(clearTimeout);
  }
  if (outcome) {
    await finish(ledger, record, outcome);
    return next(true);
  }
  if (watch.moved) {
    logger.info({ requestType: record.type, request: requestId, outcome: 'superseded', slice });
    await ledger.releaseSlice(owner, requestId);
    return next(true);
  }
  return next(false);
}

/**
 * Records how the request ended and lets the resource go, for the next request. Properties
 * applied with success vouch for a later rollback that sends them again.
 */
async function finish(ledger: Ledger, record: RequestRecord, outcome: Outcome): Promise<void> {
  if (outcome.status === 'SUCCESS' && (record.type === 'Create' || record.type === 'Update') && record.properties) {
    const properties = JSON.parse(record.properties) as Record<string, unknown>;
    await ledger.noteAppliedProperties(
      record.owner,
      propertiesDigest(properties),
      JSON.stringify(withoutPlainText(properties)),
    );
  }
  await ledger.updateRequest(record.owner, record.requestId, { outcome });
  await ledger.releaseSlice(record.owner, record.requestId);
}

/** The work of one slice: undefined when it goes on in the next slice. */
async function runSlice(
  record: RequestRecord,
  properties: Record<string, unknown>,
  who: RequestIdentity,
  deps: SeedDeps,
  slice: number,
  context?: Partial<Context>,
): Promise<SeedResult | undefined> {
  if (record.type === 'Delete') {
    return deleteResource(properties, record.physicalResourceId ?? '', who, deps, slice);
  }
  if (record.type === 'Repair') {
    const spec = parseProperties(await clients().usersFiles.inline(properties));
    const report = await repairRequest(spec, who, deps, record.repair ?? { dryRun: true, passwords: 'changed' });
    return report && { physicalResourceId: '', counts: {}, report };
  }
  const spec = parseProperties(await clients().usersFiles.inline(properties));
  const id = physicalId(spec.userPoolId, who.owner);
  const failedId = record.type === 'Create' ? id : (record.physicalResourceId ?? id);
  const account = context?.invokedFunctionArn?.split(':')[4];
  if (account && spec.forbiddenAccounts.includes(account)) {
    throw new SeedFailure(
      `seeding is forbidden in account ${account} (the stage guard: forbiddenAccounts or the context key ${FORBIDDEN_ACCOUNTS_CONTEXT}); nothing was written. To seed this account deliberately, deploy with -c ${ALLOW_SEEDING_CONTEXT}=${account}`,
      failedId,
    );
  }
  if (slice === 1) await finishPending(who, spec, deps);
  return reconcileRequest(spec, who, id, failedId, deps);
}

/**
 * Delete removes what the ledger holds for this resource in the pool its physical id
 * names (the old pool, on the cleanup after a move). It needs no users file.
 */
async function deleteResource(
  raw: unknown,
  currentId: string,
  who: RequestIdentity,
  deps: SeedDeps,
  slice: number,
): Promise<SeedResult | undefined> {
  let removal: RemovalSpec | undefined;
  try {
    removal = parseRemoval(raw);
  } catch (error) {
    deps.logger.error({
      requestType: 'Delete',
      outcome: 'unreadable-properties',
      error: describeError(error, deps.redactor),
    });
  }
  const pool = poolOfPhysicalId(currentId, who.owner) ?? removal?.userPoolId;
  if (!pool || !removal) {
    // No pool of ours named, or no way to know whether users are retained: keep everything.
    return { physicalResourceId: currentId, counts: {} };
  }
  if (slice === 1) await finishPending(who, removal, deps);
  return deleteRequest(removal, pool, who, currentId, deps);
}

/**
 * The properties without a plain-text password's value (kept in the ledger for a repair,
 * which reads such a value from the template again, where unsafePlainText put it).
 */
function withoutPlainText(properties: Record<string, unknown>): Record<string, unknown> {
  const users = properties.Users;
  if (!Array.isArray(users)) return properties;
  return {
    ...properties,
    Users: users.map((u: { Password?: { Source?: string } }) =>
      u?.Password?.Source === 'plaintext' ? { ...u, Password: { Source: 'plaintext' } } : u,
    ),
  };
}

/** The answer of a request that succeeded: its physical id and what it returns. */
function success(record: RequestRecord, properties: Record<string, unknown>, result: SeedResult): Outcome {
  if (record.type === 'Delete') return { status: 'SUCCESS', physicalResourceId: result.physicalResourceId };
  if (result.report) {
    const left = result.report.left;
    return {
      status: left > 0 ? 'FAILED' : 'SUCCESS',
      physicalResourceId: '',
      reason: left > 0 ? `${left} user(s) could not be put back: see the report` : undefined,
      report: result.report,
    };
  }
  const usersFile = properties.UsersFile as { ObjectArn?: string } | undefined;
  return {
    status: 'SUCCESS',
    physicalResourceId: result.physicalResourceId,
    data: {
      UserPoolId: String(properties.UserPoolId ?? ''),
      UserCount: String(result.users ?? 0),
      ...(usersFile?.ObjectArn ? { UsersObjectArn: usersFile.ObjectArn } : {}),
    },
  };
}

/** The id a request answers when it failed before knowing better. */
function fallbackId(record: RequestRecord, properties: Record<string, unknown>): string {
  if (record.type !== 'Create') return record.physicalResourceId ?? '';
  const pool = properties.UserPoolId;
  return typeof pool === 'string' && pool !== '' ? physicalId(pool, record.owner) : failedCreateId(record.requestId);
}
