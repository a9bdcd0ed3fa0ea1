/**
 * The seeding function's asynchronous failure destination (`index.onFailure`, a function of
 * its own built from the same bundle). CloudFormation invokes the seeding function
 * asynchronously; when every attempt at an event failed (Lambda retries twice: a crash, an
 * out-of-memory, a timeout), Lambda hands this function its invocation record. For an event
 * of one of the stack's own seed resources it answers CloudFormation itself, as the seeding
 * function answers a request it could not start, so the stack does not wait out the hour.
 * Anything else (a scheduled repair, an EventBridge event) is logged and left.
 *
 * It never logs or answers with the ResponseURL, a property, or the seeding function's error
 * message (the record's `responsePayload.errorMessage` is never read): only names it checks.
 */
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { SEED_LOG_GROUP_ENV } from '../lib/private/contract';
import { refusalOf } from './authenticate';
import { stackStatus } from './cloudformation';
import { errorName } from './cognito';
import { executionArn, executionName, executionStatus } from './engine';
import { LogField, Logger } from './log';
import { keptUsersReason, unstartedPhysicalId } from './protocol';
import { renderResponse, sendResponse } from './response';
import { ROLLING_BACK } from './verify';

/** What Lambda sends an asynchronous invocation's failure destination (its fields as received: unchecked). */
export interface InvocationRecord {
  readonly requestContext?: {
    readonly requestId?: unknown;
    readonly functionArn?: unknown;
    readonly condition?: unknown;
    readonly approximateInvokeCount?: unknown;
  };
  readonly requestPayload?: unknown;
  readonly responseContext?: unknown;
  /** The failed attempt's error: only its `errorType` is read, never its `errorMessage`. */
  readonly responsePayload?: { readonly errorType?: unknown } | null;
}

/** Thrown back to Lambda, which runs this function again: CloudFormation did not take the answer yet. */
class AnswerNotDelivered extends Error {
  constructor() {
    super('the answer could not be delivered to CloudFormation; Lambda retries this invocation');
    this.name = 'AnswerNotDelivered';
  }
}

export async function onFailure(record: InvocationRecord, _context?: Partial<Context>): Promise<void> {
  const logger = new Logger();
  const failure = failureOf(record);
  const payload = record?.requestPayload;
  if (!looksLikeCloudFormation(payload)) {
    // Nobody waits for an answer: the line says what failed and where to look, by name only.
    logger.error({
      outcome: 'seeding-function-failed',
      ...payloadFields(payload),
      ...failure,
      note: "every attempt failed and nothing is waiting for an answer: see the seeding function's log group",
    });
    return;
  }
  const functionArn = record.requestContext?.functionArn;
  const refusal = refusalOf(payload, { invokedFunctionArn: typeof functionArn === 'string' ? functionArn : undefined });
  if (refusal !== undefined) {
    // The same rules the seeding function applies: a URL that is not CloudFormation's gets nothing.
    logger.error({ outcome: 'refused-event', rule: refusal, ...failure });
    return;
  }
  const e = payload as CloudFormationCustomResourceEvent;
  const execution = await executionOf(e, logger);
  if (execution !== undefined) {
    // An attempt started the request's execution before it failed: its Answer task answers
    // (reached on success and from every Catch). A second answer here could contradict it.
    logger.info({
      requestType: e.RequestType,
      request: e.RequestId,
      outcome: 'left-to-the-execution',
      execution: execution.name,
      status: execution.status,
      ...failure,
    });
    return;
  }
  const settles = await settled(e, logger);
  const logGroup = process.env[SEED_LOG_GROUP_ENV] || "the seeding function's log group";
  const attempts = failure.attempts === undefined ? 'every attempt' : `all ${failure.attempts} attempts`;
  const why =
    `the seeding function failed ${attempts} to take request ${e.RequestId} on ${e.LogicalResourceId}` +
    `${failure.condition ? ` (${failure.condition}${failure.error ? `, ${failure.error}` : ''})` : ''}; ` +
    `see its log group ${logGroup}` +
    `${failure.lambdaRequest ? ` for Lambda request ${failure.lambdaRequest}` : ''}`;
  const status = settles ? 'SUCCESS' : 'FAILED';
  const id = unstartedPhysicalId(e);
  const body = renderResponse({
    Status: status,
    Reason: settles ? keptUsersReason(e.RequestType, why) : `${e.RequestType} failed: ${why}, then deploy again`,
    PhysicalResourceId: id,
    StackId: e.StackId,
    RequestId: e.RequestId,
    LogicalResourceId: e.LogicalResourceId,
  });
  const delivered = await sendResponse(e.ResponseURL, body);
  logger.info({
    requestType: e.RequestType,
    request: e.RequestId,
    outcome: 'answered-for-the-seeding-function',
    response: status,
    delivered,
    physicalResourceId: id,
    ...failure,
  });
  if (!delivered) throw new AnswerNotDelivered();
}

/**
 * The request's execution, when an attempt started it (its name comes from the request, as
 * the seeding function derives it) and it answers (running, or ended through `Answer`);
 * undefined when there is none, when it was stopped or timed out (no `Answer` then), or when
 * it cannot be read (then answering twice is better than leaving CloudFormation waiting for
 * the hour).
 */
async function executionOf(
  e: CloudFormationCustomResourceEvent,
  logger: Logger,
): Promise<{ name: string; status: string } | undefined> {
  const machineArn = (e.ResourceProperties as { StateMachineArn?: unknown } | undefined)?.StateMachineArn;
  if (
    typeof machineArn !== 'string' ||
    !/^arn:[\w-]+:states:[\w-]+:\d{12}:stateMachine:[\w-]{1,80}$/.test(machineArn)
  ) {
    return undefined;
  }
  const executionName_ = executionName(e.LogicalResourceId, e.RequestId);
  try {
    const status = await executionStatus(executionArn(machineArn, executionName_));
    // Stopped or timed out, it reaches no Answer: the request is answered here.
    if (status === undefined || status === 'ABORTED' || status === 'TIMED_OUT') return undefined;
    return { name: executionName_, status };
  } catch (error) {
    logger.error({
      outcome: 'execution-unread',
      execution: executionName_,
      error: errorName(error) || 'Error',
      note: 'answered here, in case no execution answers',
    });
    return undefined;
  }
}

/**
 * Whether CloudFormation must be able to finish the request without its work, as the seeding
 * function settles one it could not start: a Delete (a stack Delete, a rollback's or a
 * cleanup's) and a rollback Update. A Create or a forward Update fails, and CloudFormation
 * rolls back; so does an Update whose stack cannot be read.
 */
async function settled(e: CloudFormationCustomResourceEvent, logger: Logger): Promise<boolean> {
  if (e.RequestType === 'Delete') return true;
  if (e.RequestType !== 'Update') return false;
  try {
    return ROLLING_BACK.includes((await stackStatus(e.StackId)).status ?? '');
  } catch (error) {
    logger.error({ outcome: 'stack-unread', error: errorName(error) || 'Error', note: 'answered as a forward Update' });
    return false;
  }
}

/** A CloudFormation custom resource event, or something dressed as one: it has a request type and a URL. */
function looksLikeCloudFormation(payload: unknown): boolean {
  return payload !== null && typeof payload === 'object' && 'RequestType' in payload && 'ResponseURL' in payload;
}

/** What the record says of the failure, as names a log line or a Reason may carry. */
function failureOf(record: InvocationRecord): Record<string, LogField> {
  const context = record?.requestContext;
  const attempts = context?.approximateInvokeCount;
  return {
    lambdaRequest: name(context?.requestId),
    condition: name(context?.condition),
    error: name(record?.responsePayload?.errorType),
    attempts: Number.isInteger(attempts) && (attempts as number) > 0 ? (attempts as number) : undefined,
  };
}

/** What a payload other than CloudFormation's was, by its names only. */
function payloadFields(payload: unknown): Record<string, LogField> {
  if (typeof payload !== 'object' || payload === null) return { payload: 'unknown' };
  const p = payload as Record<string, unknown>;
  if (p.kind === 'repair') return { payload: 'repair', seeder: logicalId(p.seeder) };
  if ('detail-type' in p && 'source' in p) {
    return { payload: 'eventbridge', source: name(p.source), detailType: name(p['detail-type']) };
  }
  return { payload: 'unknown' };
}

/** A name AWS or the construct chose (an id, a condition, an error type): never free text. */
function name(value: unknown): string | undefined {
  return typeof value === 'string' && /^[\w.:$/ -]{1,128}$/.test(value) ? value : undefined;
}

function logicalId(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z0-9]{1,255}$/.test(value) ? value : undefined;
}
