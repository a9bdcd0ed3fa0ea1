/**
 * CloudFormation's protocol: receive an event (check it, record it, start its execution),
 * and answer it (the `Answer` task: one PUT of the response, retried by the engine until
 * delivered or until CloudFormation no longer waits). The ResponseURL is never logged and
 * never travels unsealed.
 */
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import {
  ANSWER_NOT_DELIVERED_ERROR,
  SEED_RESOURCE_TYPE,
  SEED_SERVICE_TIMEOUT_SECONDS,
  SERVICE_TIMEOUT_ENV,
} from '../lib/private/contract';
import { stackResources, stackStatus, templateProperties } from './cloudformation';
import { CLEANING_UP, IN_PROGRESS, propertiesDigest, propertiesMismatch, ROLLING_BACK } from './verify';
import { refusalOf } from './authenticate';
import { ledgerTable, openLedger } from './clients';
import { errorName } from './cognito';
import { executionName, RequestRef, startExecution } from './engine';
import type { Ledger, Outcome, RequestRecord } from './ledger';
import { admit } from './lifecycle';
import { ComposedError, describeError, Logger, Redactor } from './log';
import { PropertyError } from './properties';
import { renderResponse, sendResponse } from './response';
import { seal, unseal } from './seal';
import { physicalId } from './seed';

/** CloudFormation's wait for an answer, in ms (tests and rehearsals may shorten it). */
export function serviceTimeoutMs(): number {
  return (Number(process.env[SERVICE_TIMEOUT_ENV]) || SEED_SERVICE_TIMEOUT_SECONDS) * 1000;
}

/**
 * When a request must stop, counted from its first delivery: CloudFormation may have
 * queued the event before that (a minute at most is allowed for), the work stops first,
 * undoing what failed stops next, and the answer goes last.
 */
export function deadlines(
  since: number,
  timeoutMs = serviceTimeoutMs(),
): { work: number; cleanup: number; answer: number } {
  const end = since - Math.min(60_000, timeoutMs * 0.02) + timeoutMs;
  return {
    work: end - Math.min(180_000, timeoutMs * 0.08),
    cleanup: end - Math.min(30_000, timeoutMs * 0.02),
    answer: end,
  };
}

/** The id a Create answers when its properties name no pool: its Delete has nothing to do. */
export function failedCreateId(requestId: string): string {
  return `failed-create/${requestId}`;
}

/** A request the engine cannot be given: the ledger or the state machine is missing. */
class NotStarted extends ComposedError {}

/**
 * A CloudFormation event: acted on only when it is one of its own stack's seed resources
 * (a refused event is neither acted on nor answered: its ResponseURL is not trusted).
 * Recorded in the ledger, given the next fence number and handed to a new execution of the
 * stack's state machine, named after the request: a duplicate delivery starts nothing.
 */
export async function receive(event: unknown, context?: Partial<Context>): Promise<void> {
  const logger = new Logger();
  const refusal = refusalOf(event, context);
  if (refusal !== undefined) {
    // The rule only, never the event.
    logger.error({ outcome: 'refused-event', rule: refusal });
    return;
  }
  const e = event as CloudFormationCustomResourceEvent;
  const redactor = new Redactor();
  redactor.add(e.ResponseURL);
  const owner = e.LogicalResourceId;
  const requestId = e.RequestId;
  let known: RequestRecord | undefined;
  try {
    known = await openLedger().getRequest(owner, requestId);
  } catch {
    // Read again below, where a missing ledger is answered.
  }
  if (known?.answered) {
    logger.info({ requestType: e.RequestType, outcome: 'duplicate-delivery', note: 'already answered' });
    return;
  }
  let refused: string | undefined;
  let settling = false;
  try {
    ({ refused, settling } = await checkedByCloudFormation(e));
  } catch (error) {
    // CloudFormation could not be asked (after the SDK's retries): the event is not known
    // to be its, so it is neither acted on nor answered.
    logger.error({
      outcome: 'unverified-event',
      error: describeError(error, redactor),
      fix: 'the seeding function needs cloudformation:ListStackResources and GetTemplate on its stack, and a route to the CloudFormation API (in a VPC: a NAT gateway or a cloudformation interface endpoint)',
    });
    return;
  }
  if (refused !== undefined) {
    logger.error({ outcome: 'refused-event', rule: refused });
    return;
  }
  try {
    const machineArn = (e.ResourceProperties as { StateMachineArn?: unknown }).StateMachineArn;
    if (typeof machineArn !== 'string' || machineArn === '') {
      throw new NotStarted(
        'the resource has no StateMachineArn, so its work cannot be started: deploy it with this version of the construct, which sets it',
      );
    }
    let ledger: Ledger;
    let record: RequestRecord;
    try {
      ledger = openLedger();
      record = await admit(
        ledger,
        {
          owner,
          requestId,
          type: e.RequestType,
          stackId: e.StackId,
          properties: e.ResourceProperties,
          physicalResourceId: (e as { PhysicalResourceId?: string }).PhysicalResourceId,
          settling,
        },
        Date.now(),
      );
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') {
        throw new NotStarted(
          `the ownership ledger table ${ledgerTable()} does not exist (ResourceNotFoundException; deleted by hand?), so nothing can be proven this seeder's. To get it back, restore the table under the same name from its backup (DynamoDB keeps one of a deleted table that had point-in-time recovery, for 35 days) and deploy again; without it, the users it seeded stay in the pool until you delete them`,
        );
      }
      throw new NotStarted(`the ownership ledger could not record it (${describeError(error, redactor)})`);
    }
    if (record.answered || record.key === undefined) {
      logger.info({ requestType: e.RequestType, outcome: 'duplicate-delivery', note: 'already answered' });
      return;
    }
    const name = executionName(owner, requestId);
    const request: RequestRef = {
      owner,
      requestId,
      answerTo: seal(e.ResponseURL, Buffer.from(record.key, 'base64')).sealed,
    };
    const started = await startExecution(machineArn, name, { request, cursor: null, done: false, failure: null });
    logger.info({
      requestType: e.RequestType,
      outcome: started ? 'started' : 'duplicate-delivery',
      execution: name,
      fence: record.fence,
    });
  } catch (error) {
    await answerUnstarted(e, error, settling, logger, redactor);
  }
}

/**
 * The one answer not sent by the engine: for a request that could not be given to it.
 * A Delete whose ledger is gone or whose properties name no engine answers SUCCESS and
 * deletes nothing (nothing can be proven ours); anything else FAILED, with the cause.
 */
async function answerUnstarted(
  e: CloudFormationCustomResourceEvent,
  error: unknown,
  settling: boolean,
  logger: Logger,
  redactor: Redactor,
): Promise<void> {
  const reason = describeError(error, redactor);
  // A stack Delete, a cleanup or a rollback must be able to finish: it deletes nothing it
  // cannot prove, and says so.
  const settles =
    (e.RequestType === 'Delete' || settling) && (error instanceof NotStarted || error instanceof PropertyError);
  logger.error({ requestType: e.RequestType, outcome: settles ? 'kept-users' : 'not-started', error: reason });
  const status = settles ? 'SUCCESS' : 'FAILED';
  const id = unstartedPhysicalId(e);
  const body = renderResponse({
    Status: status,
    Reason: settles ? keptUsersReason(e.RequestType, reason) : `${e.RequestType} could not be started: ${reason}`,
    PhysicalResourceId: id,
    StackId: e.StackId,
    RequestId: e.RequestId,
    LogicalResourceId: e.LogicalResourceId,
  });
  const delivered = await sendResponse(e.ResponseURL, body);
  logger.info({ response: status, delivered, physicalResourceId: id });
}

/**
 * The physical id of a request whose work never started: the one CloudFormation sent, or
 * for a Create the one its work would have answered (the pool's and the logical id's), or,
 * when the properties name no pool, one its Delete has nothing to do for.
 */
export function unstartedPhysicalId(e: CloudFormationCustomResourceEvent): string {
  const physical = (e as { PhysicalResourceId?: string }).PhysicalResourceId;
  const pool = (e.ResourceProperties as { UserPoolId?: unknown } | undefined)?.UserPoolId;
  return (
    physical ??
    (typeof pool === 'string' && pool !== '' ? physicalId(pool, e.LogicalResourceId) : failedCreateId(e.RequestId))
  );
}

/**
 * The reason of a SUCCESS that changed nothing: a stack Delete, a cleanup or a rollback
 * that must be able to finish although its work could not run.
 */
export function keptUsersReason(requestType: string, why: string): string {
  return `${requestType} changed no user: ${why}. The users it seeded, if any, are still in the pool; delete them by hand if they should go`;
}

/** How long CloudFormation may take to show a resource in progress after sending its event. */
const STATUS_SETTLE_MS = [500, 1_000, 2_000, 4_000];

/**
 * The rule an event breaks when checked with its own stack, or undefined when CloudFormation
 * really sent it: the stack is running this request type on this logical id, and the
 * properties are what the template gives the resource (or, in a rollback or a cleanup,
 * what an earlier request on it applied). Never quotes the event.
 */
async function checkedByCloudFormation(
  e: CloudFormationCustomResourceEvent,
): Promise<{ refused?: string; settling: boolean }> {
  const physical = (e as { PhysicalResourceId?: string }).PhysicalResourceId;
  for (let attempt = 0; ; attempt++) {
    const resources = await stackResources(e.StackId);
    const resource = resources.get(e.LogicalResourceId);
    if (!resource) return { refused: `the stack has no resource ${e.LogicalResourceId}`, settling: false };
    if (resource.type !== SEED_RESOURCE_TYPE)
      return { refused: `the stack's resource ${e.LogicalResourceId} is not a ${SEED_RESOURCE_TYPE}`, settling: false };
    let status: { status?: string; parameters: Map<string, string> } | undefined;
    const stack = async () => (status ??= await stackStatus(e.StackId));
    // A Delete of a physical id the resource no longer has: CloudFormation cleaning up after a replacement.
    // (A resource CloudFormation has no physical id for yet is one whose Create it gave up on.)
    const replaced =
      e.RequestType === 'Delete' &&
      physical !== undefined &&
      resource.physicalId !== undefined &&
      physical !== resource.physicalId;
    const inProgress = replaced
      ? CLEANING_UP.includes((await stack()).status ?? '')
      : IN_PROGRESS[e.RequestType].includes(resource.status);
    if (!inProgress) {
      // CloudFormation shows the status a moment after it sends the event.
      if (attempt < STATUS_SETTLE_MS.length) {
        await new Promise((resolve) => setTimeout(resolve, STATUS_SETTLE_MS[attempt]));
        continue;
      }
      return {
        refused: replaced
          ? `the stack is not cleaning up ${e.LogicalResourceId}'s replaced resource`
          : `the stack is not running a ${e.RequestType} on ${e.LogicalResourceId} (its status is ${resource.status})`,
        settling: false,
      };
    }
    const template = await templateProperties(e.StackId, e.LogicalResourceId);
    if (!template.found)
      return { refused: `the stack's template does not give ${e.LogicalResourceId} (or is not JSON)`, settling: false };
    const view = {
      stackId: e.StackId,
      physicalIds: new Map([...resources].flatMap(([id, r]) => (r.physicalId ? [[id, r.physicalId] as const] : []))),
    };
    let mismatch = propertiesMismatch(template.properties, e.ResourceProperties, view);
    if (mismatch && JSON.stringify(template.properties).includes('"Ref"')) {
      // The template may reference its parameters.
      mismatch = propertiesMismatch(template.properties, e.ResourceProperties, {
        ...view,
        parameters: (await stack()).parameters,
      });
    }
    // A Delete and a cleanup always settle; an Update with the template's own properties is a
    // forward one, with an earlier template's a rollback.
    const settles = e.RequestType === 'Delete' || replaced;
    if (!mismatch) return { settling: settles };
    // A rollback or a cleanup sends an earlier template's properties: the ledger knows the
    // ones that were applied (only checked events are ever applied).
    // (A ledger that cannot be read knows no history: a rollback is then settled, not refused.)
    const applied = await openLedger()
      .appliedProperties(e.LogicalResourceId)
      .catch(() => [] as string[]);
    if (applied.includes(propertiesDigest(e.ResourceProperties))) return { settling: true };
    if (applied.length === 0 && (replaced || ROLLING_BACK.includes((await stack()).status ?? ''))) {
      // A rollback with no history in the ledger (lost or emptied): acted on, so the rollback
      // can finish; it only ever removes what the ledger proves this resource created.
      return { settling: true };
    }
    return {
      refused: `the properties are not the ones the stack gives ${e.LogicalResourceId}: ${mismatch}`,
      settling: false,
    };
  }
}

/** What the `Answer` task is given: the request, and the name of the error that ended its work, if any. */
export interface AnswerInput {
  readonly request: RequestRef;
  readonly failure?: string | null;
}

/** Thrown to the engine, which retries it: the answer did not reach CloudFormation yet. */
class AnswerNotDelivered extends Error {
  constructor() {
    super('the answer could not be delivered to CloudFormation yet');
    this.name = ANSWER_NOT_DELIVERED_ERROR;
  }
}

/**
 * The `Answer` task: sends the request's outcome (or, for work that never finished, why),
 * once, and forgets the request's properties and sealing key once delivered.
 */
export async function answerTask(input: AnswerInput): Promise<{ answered: boolean }> {
  const logger = new Logger();
  const { owner, requestId } = input.request;
  const ledger = openLedger();
  const record = await ledger.getRequest(owner, requestId);
  if (record?.type === 'Repair') {
    // Nobody to answer but the ledger, where the invoker reads the report.
    if (!record.outcome) await unfinished(ledger, record, input.failure ?? undefined, logger);
    await ledger.updateRequest(owner, requestId, { answered: true, properties: undefined });
    return { answered: true };
  }
  if (!record?.key) {
    logger.error({
      request: requestId,
      outcome: record?.answered ? 'answered' : 'no-request',
      note: 'nothing to answer',
    });
    return { answered: !!record?.answered };
  }
  const outcome = record.outcome ?? (await unfinished(ledger, record, input.failure ?? undefined, logger));
  if (Date.now() > deadlines(record.since).answer + 60_000) {
    logger.error({ request: requestId, outcome: 'not-answered', note: 'CloudFormation no longer waits for it' });
    await ledger.updateRequest(owner, requestId, { key: undefined, properties: undefined });
    return { answered: false };
  }
  const body = renderResponse({
    Status: outcome.status,
    Reason: outcome.reason,
    PhysicalResourceId: outcome.physicalResourceId,
    StackId: record.stackId,
    RequestId: requestId,
    LogicalResourceId: owner,
    Data: outcome.data,
  });
  const url = unseal(input.request.answerTo, record.key);
  const delivered = await sendResponse(url, body, { attempts: 6, baseDelayMs: 500 });
  logger.info({ response: outcome.status, delivered, physicalResourceId: outcome.physicalResourceId });
  if (!delivered) throw new AnswerNotDelivered();
  await ledger.updateRequest(owner, requestId, { answered: true, key: undefined, properties: undefined });
  return { answered: true };
}

/**
 * The outcome of a request whose work did not finish: superseded by a newer request, or
 * ended by an error the engine caught. What it created stays recorded, and the next
 * request on the resource removes it.
 */
async function unfinished(
  ledger: Ledger,
  record: RequestRecord,
  failure: string | undefined,
  logger: Logger,
): Promise<Outcome> {
  const properties = JSON.parse(record.properties ?? '{}') as { UserPoolId?: unknown };
  const pool =
    typeof properties.UserPoolId === 'string' && properties.UserPoolId !== '' ? properties.UserPoolId : undefined;
  const id = record.physicalResourceId ?? (pool ? physicalId(pool, record.owner) : failedCreateId(record.requestId));
  const superseded = (await ledger.getFence(record.owner)).fence !== record.fence;
  let reason: string;
  if (superseded) {
    reason = `${record.type} was superseded by a newer request on this resource before it finished; the newer request settles the users from the ledger`;
  } else {
    if (pool && (record.type === 'Create' || record.type === 'Update'))
      await ledger.notePending(record.owner, pool, record.requestId);
    const stuck =
      failure === 'Lambda.Unknown' && record.progress?.stuck
        ? ` (the last slice ended waiting: ${record.progress.stuck})`
        : '';
    reason = `${record.type} failed: ${engineFailure(failure)}${stuck}; what it created is recorded in the ledger, and the next request on this resource removes it`;
  }
  const outcome: Outcome = { status: 'FAILED', physicalResourceId: id, reason };
  logger.error({ request: record.requestId, outcome: 'FAILED', error: reason });
  await ledger.updateRequest(record.owner, record.requestId, { outcome });
  return outcome;
}

/** What an error name the engine caught means, and what to do. */
function engineFailure(name: string | undefined): string {
  switch (name) {
    case 'Lambda.Unknown':
      return 'a slice of its work crashed, ran out of memory or timed out, again after every retry (Lambda.Unknown): see the seeding function’s log group; if it ran out of memory, raise seedingFunction.memorySize';
    case 'Lambda.TooManyRequestsException':
      return 'the seeding function was throttled, again after every retry (Lambda.TooManyRequestsException): raise the account’s Lambda concurrency, or the function’s reservedConcurrentExecutions';
    case undefined:
    case '':
      return 'its work stopped before it finished';
    default:
      return `the engine could not run its work (${name}): see the state machine’s execution history and the seeding function’s log group`;
  }
}
