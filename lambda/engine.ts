/**
 * The function's calls to its stack's state machine: start a request's execution (the
 * name comes from the request, so a duplicate delivery starts nothing), and describe or
 * stop an older one. Every call has a timeout and the SDK's standard retries.
 */
import { createHash } from 'crypto';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';

let client: SFNClient | undefined;

function sfn(): SFNClient {
  client ??= new SFNClient({ maxAttempts: 5, requestHandler: { requestTimeout: 10_000, connectionTimeout: 5_000 } });
  return client;
}

/** What the execution carries: which request, and where to answer it (sealed). */
export interface ExecutionInput {
  readonly request: RequestRef;
  /** Opaque to the engine: what the last slice said, for the next one. */
  readonly cursor: Cursor | null;
  readonly done: boolean;
  /** The name of the error that ended the work, on the failure path. */
  readonly failure: string | null;
}

export interface RequestRef {
  readonly owner: string;
  readonly requestId: string;
  /** The ResponseURL, sealed (lambda/seal.ts). */
  readonly answerTo: string;
}

/** What a slice hands the next one: no user, no password, no URL. */
export interface Cursor {
  readonly slice: number;
}

/**
 * The execution's name: at most 80 characters of [A-Za-z0-9_-], the same for every
 * delivery of one request, distinct between requests and resources.
 */
export function executionName(owner: string, requestId: string): string {
  const clean = (text: string) => text.replace(/[^A-Za-z0-9_-]/g, '');
  const digest = createHash('sha256').update(`${owner}\n${requestId}`).digest('hex').slice(0, 12);
  return `${clean(owner).slice(0, 24)}-${clean(requestId).slice(0, 40)}-${digest}`;
}

/** The ARN of execution `name` of the state machine `machineArn`. */
export function executionArn(machineArn: string, name: string): string {
  return `${machineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** Starts the execution; true when it was started now, false when a delivery had started it. */
export async function startExecution(machineArn: string, name: string, input: ExecutionInput): Promise<boolean> {
  try {
    await sfn().send(new StartExecutionCommand({ stateMachineArn: machineArn, name, input: JSON.stringify(input) }));
    return true;
  } catch (error) {
    // Its twin delivery started it, with the same request (and another seal of its URL).
    if (error instanceof ExecutionAlreadyExists || (error as { name?: string })?.name === 'ExecutionAlreadyExists') {
      return false;
    }
    throw error;
  }
}

/** RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED or PENDING_REDRIVE; undefined when there is none. */
export async function executionStatus(arn: string): Promise<string | undefined> {
  try {
    const out = await sfn().send(new DescribeExecutionCommand({ executionArn: arn }));
    return out.status;
  } catch (error) {
    if ((error as { name?: string })?.name === 'ExecutionDoesNotExist') return undefined;
    throw error;
  }
}

export async function stopExecution(arn: string, cause: string): Promise<void> {
  await sfn().send(new StopExecutionCommand({ executionArn: arn, error: 'Superseded', cause }));
}
