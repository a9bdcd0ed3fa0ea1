/**
 * The seeding Lambda. CloudFormation invokes it with a custom resource event; it answers
 * by PUT to the event's ResponseURL, always: on success, on any error, and from a guard
 * shortly before its own timeout. It never throws back to Lambda.
 */
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'crypto';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { refusalOf } from './authenticate';
import { CognitoPool, stuckCallMessage } from './cognito';
import { describeError, Logger, Redactor } from './log';
import { AbortedError, StopSignal } from './pace';
import { PasswordReader } from './passwords';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  ALLOW_SEEDING_CONTEXT,
  FORBIDDEN_ACCOUNTS_CONTEXT,
  COGNITO_REQUEST_TIMEOUT_ENV,
  COGNITO_REQUEST_TIMEOUT_MS,
  LEDGER_TABLE_ENV,
  SEED_SERVICE_TIMEOUT_SECONDS,
} from '../lib/private/contract';
import { TotpStore } from './totp';
import { Ledger, RequestRecord } from './ledger';
import { parseProperties, parseRemoval, RemovalSpec, SeedSpec } from './properties';
import { renderResponse, sendResponse } from './response';
import { UsersFileReader } from './users-file';
import {
  deleteRequest,
  finishPending,
  physicalId,
  poolOfPhysicalId,
  reconcileRequest,
  RequestIdentity,
  SeedDeps,
  SeedFailure,
  SeedResult,
} from './seed';

// SDK defaults throughout, so AWS_ENDPOINT_URL_* can point the clients at loopback.
// No SDK retries for Cognito: the pacer must see every throttle to share the quota, and it
// retries throttles and transient faults itself (lambda/pace.ts).
// A call Cognito does not answer in time is a TimeoutError the pacer retries, then a
// failure that names the call and the user, not a request that hangs until the guard fires.
const cognito = new CognitoIdentityProviderClient({
  maxAttempts: 1,
  requestHandler: {
    requestTimeout: Number(process.env[COGNITO_REQUEST_TIMEOUT_ENV]) || COGNITO_REQUEST_TIMEOUT_MS,
  },
});
const secretsManager = new SecretsManagerClient({});
const ssm = new SSMClient({});
// Path-style only when an endpoint override (a local rehearsal) cannot take bucket subdomains.
const usersFiles = new UsersFileReader(new S3Client({ forcePathStyle: !!process.env.AWS_ENDPOINT_URL_S3 }));
let dynamodb: DynamoDBClient | undefined;
let lambda: LambdaClient | undefined;

/** The request answers this long before CloudFormation's ServiceTimeout, whatever happens. */
const ANSWER_MARGIN_MS = 120_000;

/** A request continues in a fresh invocation only with at least this much time left overall. */
const CONTINUE_AT_LEAST_MS = 60_000;

function openLedger(): Ledger {
  const table = process.env[LEDGER_TABLE_ENV];
  if (!table) {
    throw new Error(
      `the seeding function has no ${LEDGER_TABLE_ENV}: it finds its ownership ledger through it; redeploy the stack with this library's construct`,
    );
  }
  dynamodb ??= new DynamoDBClient({});
  return new Ledger(dynamodb, table);
}

/** The id a Create answers when its properties name no pool: its Delete has nothing to do. */
export function failedCreateId(requestId: string): string {
  return `failed-create/${requestId}`;
}

/** How often a delivery looks again at a lock another request holds. */
const LOCK_POLL_MS = 1_000;

/** Time kept back from the function's timeout: stop new work, then answer. */
export function guardTimes(remainingMs: number): { stopAt: number; answerAt: number } {
  return {
    // A minute for what is in flight to land (and the hand-over to a fresh invocation);
    // proportionally more of a short timeout, where a few slow calls are a large share.
    stopAt: Math.max(0, remainingMs - Math.min(60_000, remainingMs * 0.4)),
    answerAt: Math.max(0, remainingMs - Math.min(5_000, remainingMs * 0.1)),
  };
}

export async function handler(event: CloudFormationCustomResourceEvent, context?: Partial<Context>): Promise<void> {
  const refusal = refusalOf(event, context);
  if (refusal !== undefined) {
    // Not an event of this stack's seed resources: act on nothing, answer nothing (its
    // ResponseURL is not trusted), and log the rule only, never the event.
    new Logger().error({ outcome: 'refused-event', rule: refusal });
    return;
  }
  const started = Date.now();
  const redactor = new Redactor();
  redactor.add(event?.ResponseURL);
  const logger = new Logger();
  const signal = new StopSignal();
  const cleanupSignal = new StopSignal();
  const who: RequestIdentity = {
    owner: event?.LogicalResourceId ?? '',
    requestId: event?.RequestId ?? '',
    stackId: event?.StackId,
  };
  const token = randomUUID();
  const inFlight: Promise<void>[] = [];
  /** The pools this request speaks to: what a request that ran out of time was waiting on. */
  const pools: CognitoPool[] = [];
  let ledger: Ledger | undefined;
  let locked = false;
  let answered = false;

  /**
   * Answers once per invocation: records the answer in the ledger first (so no later
   * delivery applies this request again), then PUTs it. Every answer is awaited before
   * the handler returns, whoever sent it.
   */
  const answer = (status: 'SUCCESS' | 'FAILED', id: string, reason?: string, data?: Record<string, string>) => {
    if (answered) return Promise.resolve();
    answered = true;
    const record: RequestRecord = {
      status,
      physicalResourceId: id,
      reason,
      data,
      answered: false,
    };
    const sending = (async () => {
      await ledger?.putRequest(who.owner, who.requestId, record).catch((e) => ledgerError(e, 'record'));
      const body = renderResponse({
        Status: status,
        Reason: record.reason,
        PhysicalResourceId: id,
        StackId: event.StackId,
        RequestId: event.RequestId,
        LogicalResourceId: event.LogicalResourceId,
        Data: data,
      });
      const delivered = await sendResponse(event.ResponseURL, body);
      logger.info({ response: status, delivered, physicalResourceId: id });
      if (delivered) {
        await ledger
          ?.putRequest(who.owner, who.requestId, { ...record, answered: true })
          .catch((e) => ledgerError(e, 'record'));
      }
    })();
    inFlight.push(sending);
    return sending;
  };
  const ledgerError = (error: unknown, what: string) =>
    logger.error({ ledger: what, outcome: 'failed', error: describeError(error, redactor) });

  let spec: SeedSpec | undefined;
  const poolOf = (): string | undefined =>
    spec?.userPoolId ??
    (event?.RequestType === 'Create' ? undefined : poolOfPhysicalId(physicalIdOf(event), who.owner));
  const fallbackId = (): string => {
    if (event?.RequestType !== 'Create') return physicalIdOf(event) ?? '';
    // The ledger decides what a Delete may remove, so a Create answers its real id even when it failed.
    const pool = poolOf();
    return pool ? physicalId(pool, who.owner) : failedCreateId(who.requestId);
  };

  const remaining = context?.getRemainingTimeInMillis?.() ?? 15 * 60 * 1000;
  const { stopAt, answerAt } = guardTimes(remaining);
  const stopTimer = setTimeout(() => signal.stop(), stopAt);
  const stopDeadline = Date.now() + stopAt;
  let answerTimer: NodeJS.Timeout | undefined;
  // Resolves once the guard has answered, so a call that never returns cannot hold the
  // invocation open until Lambda kills it.
  const guard = new Promise<void>((resolve) => {
    answerTimer = setTimeout(() => {
      cleanupSignal.stop();
      signal.stop();
      if (answered) return resolve();
      logger.error({ requestType: event?.RequestType, outcome: 'timeout', ms: Date.now() - started });
      const pool = poolOf();
      const pending =
        event?.RequestType !== 'Delete' && pool
          ? ledger?.notePending(who.owner, pool, who.requestId).catch((e) => ledgerError(e, 'pending'))
          : undefined;
      Promise.resolve(pending)
        .then(() =>
          answer(
            'FAILED',
            fallbackId(),
            `${event?.RequestType} did not finish before the function's timeout${stuckOn(pools)}; what it created is recorded in the ledger and the next request on this resource removes it`,
          ),
        )
        .finally(resolve);
    }, answerAt);
  });

  let since = started;
  let invocation = 1;
  const overallDeadline = () => since + SEED_SERVICE_TIMEOUT_SECONDS * 1000 - ANSWER_MARGIN_MS;
  /** A stopped request goes on in a fresh invocation while CloudFormation still waits for it. */
  const canContinue = (): boolean =>
    signal.stopped &&
    !answered &&
    !!context?.invokedFunctionArn &&
    overallDeadline() - Date.now() > CONTINUE_AT_LEAST_MS;

  /**
   * Hands the request to a fresh invocation of this function: the progress is what the
   * ledger holds, so the next invocation reconciles from there. It takes the lock as any
   * delivery would, and whichever invocation finishes answers.
   */
  const continueElsewhere = async (): Promise<void> => {
    answered = true; // the guard must not answer for a request that goes on
    const handing = (async () => {
      const l = ledger as Ledger;
      await l.putProgress(who.owner, who.requestId, { since, invocations: invocation });
      await l.unlock(who.owner, token);
      locked = false;
      lambda ??= new LambdaClient({});
      await lambda.send(
        new InvokeCommand({
          FunctionName: context?.invokedFunctionArn,
          InvocationType: 'Event',
          Payload: Buffer.from(JSON.stringify(event)),
        }),
      );
      logger.info({
        requestType: event.RequestType,
        outcome: 'continuing',
        invocation: invocation + 1,
        ms: Date.now() - started,
        sinceFirstMs: Date.now() - since,
      });
    })();
    inFlight.push(handing);
    try {
      await handing;
    } catch (error) {
      // The rest cannot be handed on: answer now, as a failure.
      answered = false;
      const reason = describeError(error, redactor);
      logger.error({ requestType: event.RequestType, outcome: 'FAILED', error: reason });
      const pool = poolOf();
      if (event.RequestType !== 'Delete' && pool) {
        await ledger?.notePending(who.owner, pool, who.requestId).catch((e) => ledgerError(e, 'pending'));
      }
      await answer(
        'FAILED',
        fallbackId(),
        `${event.RequestType} could not continue in a new invocation (${reason}): what it created is recorded in the ledger and the next request on this resource removes it`,
      );
    }
  };

  /** Takes this resource's lock: 'acquired', 'twin' (this request is acting elsewhere), or 'busy'. */
  const acquire = async (l: Ledger): Promise<'acquired' | 'twin' | 'busy'> => {
    for (;;) {
      const outcome = await l.lock(who.owner, who.requestId, token, Date.now() + remaining + 60_000);
      if (outcome.acquired) return 'acquired';
      if (outcome.heldByRequest === who.requestId) return 'twin';
      if (Date.now() + LOCK_POLL_MS >= stopDeadline) return 'busy';
      await signal.sleep(LOCK_POLL_MS);
    }
  };

  /** A request already applied: answer its recorded answer only if nobody delivered it. */
  const replay = (prior: RequestRecord): Promise<void> | undefined => {
    if (prior.answered) {
      logger.info({
        requestType: event.RequestType,
        outcome: 'duplicate-delivery',
        note: 'already applied and answered',
      });
      answered = true;
      return undefined;
    }
    return answer(prior.status, prior.physicalResourceId, prior.reason, prior.data);
  };

  const work = async (): Promise<void> => {
    try {
      ledger = openLedger();
      const prior = await ledger.getRequest(who.owner, who.requestId);
      if (prior?.answered) return void replay(prior);
      const lock = await acquire(ledger);
      if (lock === 'twin') {
        // The same request is being acted on by another delivery, which answers it.
        answered = true;
        logger.info({
          requestType: event.RequestType,
          outcome: 'duplicate-delivery',
          note: 'another delivery is acting',
        });
        return;
      }
      if (lock === 'busy') {
        throw new Error(
          `another request on resource ${who.owner} held its ledger lock for the whole invocation: retry the deployment once it has finished`,
        );
      }
      locked = true;
      // A twin may have finished between the first look and the lock.
      const settled = await ledger.getRequest(who.owner, who.requestId);
      if (settled) return void (await replay(settled));
      const progress = await ledger.getProgress(who.owner, who.requestId);
      since = progress?.since ?? started;
      invocation = (progress?.invocations ?? 0) + 1;
      if (progress) logger.info({ requestType: event.RequestType, outcome: 'continued', invocation });

      const deps: SeedDeps = {
        pool: (userPoolId, rates) => {
          const pool = new CognitoPool(cognito, userPoolId, rates, signal);
          pools.push(pool);
          return pool;
        },
        passwords: new PasswordReader(redactor, secretsManager, ssm),
        ledger,
        logger,
        redactor,
        signal,
        cleanupSignal,
        // Without its own ARN the function cannot continue elsewhere: this invocation is all it has.
        remainingMs: () =>
          (context?.invokedFunctionArn ? overallDeadline() : Math.min(overallDeadline(), stopDeadline)) - Date.now(),
        canContinue,
        totp: (secretArn) => new TotpStore(secretsManager, secretArn, redactor),
      };
      let result: SeedResult;
      switch (event.RequestType) {
        case 'Create':
        case 'Update': {
          spec = parseProperties(await usersFiles.inline(event.ResourceProperties));
          const id = physicalId(spec.userPoolId, who.owner);
          const failedId = event.RequestType === 'Create' ? id : event.PhysicalResourceId;
          const account = context?.invokedFunctionArn?.split(':')[4];
          if (account && spec.forbiddenAccounts.includes(account)) {
            throw new SeedFailure(
              `seeding is forbidden in account ${account} (the stage guard: forbiddenAccounts or the context key ${FORBIDDEN_ACCOUNTS_CONTEXT}); nothing was written. To seed this account deliberately, deploy with -c ${ALLOW_SEEDING_CONTEXT}=${account}`,
              failedId,
            );
          }
          await finishPending(who, spec, deps);
          result = await reconcileRequest(spec, who, id, failedId, deps);
          break;
        }
        case 'Delete':
          result = await deleteResource(
            event.ResourceProperties,
            event.PhysicalResourceId,
            who,
            deps,
            logger,
            redactor,
          );
          break;
        default:
          throw new Error(`unknown request type '${(event as { RequestType?: string })?.RequestType}'`);
      }
      const ms = Date.now() - started;
      logger.info({
        requestType: event.RequestType,
        outcome: 'SUCCESS',
        users: spec?.users.length,
        ...result.counts,
        ms,
        usersPerSecond: Math.round(((spec?.users.length ?? 0) / Math.max(ms, 1)) * 100_000) / 100,
      });
      const usersFile = (event.ResourceProperties as { UsersFile?: { ObjectArn?: string } }).UsersFile;
      await answer('SUCCESS', result.physicalResourceId, undefined, {
        UserPoolId: spec?.userPoolId ?? '',
        UserCount: String(spec?.users.length ?? 0),
        ...(usersFile?.ObjectArn ? { UsersObjectArn: usersFile.ObjectArn } : {}),
      });
    } catch (error) {
      if (error instanceof AbortedError && canContinue()) return continueElsewhere();
      const reason = describeError(error, redactor);
      logger.error({ requestType: event?.RequestType, outcome: 'FAILED', error: reason, ms: Date.now() - started });
      const id = error instanceof SeedFailure ? error.physicalResourceId : fallbackId();
      await answer(
        'FAILED',
        id || failedCreateId(who.requestId || 'unknown'),
        `${event?.RequestType} failed: ${reason}`,
      ).catch(() => undefined);
    }
  };

  try {
    await Promise.race([work(), guard]);
  } finally {
    clearTimeout(stopTimer);
    clearTimeout(answerTimer);
    // The guard's answer, or the work's, may still be on its way: Lambda freezes the
    // process once the handler returns, so wait for every one of them.
    await Promise.allSettled(inFlight);
    if (locked) await ledger?.unlock(who.owner, token).catch((e) => ledgerError(e, 'unlock'));
  }
}

/**
 * Why a request that ran out of time did: the call it was waiting on, if one had waited
 * long, with where to look; otherwise the pace, with what to change.
 */
function stuckOn(pools: readonly CognitoPool[]): string {
  const oldest = pools.flatMap((p) => p.oldestCall() ?? []).sort((a, b) => a.since - b.since)[0];
  const stuck = stuckCallMessage(oldest);
  if (stuck) return `: ${stuck}`;
  const stats = pools[0]?.stats;
  if (stats && stats.throttles > 0) {
    return `: Cognito throttled ${stats.throttles} of ${stats.calls} calls (TooManyRequestsException). Lower rateLimits to leave room for the account's other callers, or raise the account's Cognito quotas`;
  }
  return ": raise the seeding rates if the account's Cognito quotas allow, or split the users across seeders";
}

function physicalIdOf(event: CloudFormationCustomResourceEvent): string | undefined {
  return (event as { PhysicalResourceId?: string })?.PhysicalResourceId;
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
  logger: Logger,
  redactor: Redactor,
): Promise<SeedResult> {
  let removal: RemovalSpec | undefined;
  try {
    removal = parseRemoval(raw);
  } catch (error) {
    logger.error({ requestType: 'Delete', outcome: 'unreadable-properties', error: describeError(error, redactor) });
  }
  const pool = poolOfPhysicalId(currentId, who.owner) ?? removal?.userPoolId;
  if (!pool || !removal) {
    // No pool of ours named, or no way to know whether users are retained: keep everything.
    return { physicalResourceId: currentId, counts: {} };
  }
  await finishPending(who, removal, deps);
  return deleteRequest(removal, pool, who, currentId, deps);
}
