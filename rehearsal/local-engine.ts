/**
 * The stack's state machine, run locally: the synthesized definition itself, interpreted by
 * aws-local-stepfunctions, behind a loopback endpoint that speaks the Step Functions API
 * the function calls (StartExecution, DescribeExecution, StopExecution). Each task state
 * runs through `runTask`, which reports a crashed, killed or timed-out invocation as
 * `Lambda.Unknown` and a function error by its type, as Step Functions does.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

// aws-local-stepfunctions uses Promise.withResolvers (Node 22); Node 20 has it not.
const withResolvers = Promise as unknown as { withResolvers?: unknown };
withResolvers.withResolvers ??= function <T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason?: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine } = require('aws-local-stepfunctions') as typeof import('aws-local-stepfunctions');

/** Runs one task state's invocation: resolves with the function's result, or rejects with an error named as Step Functions names it. */
export type TaskRunner = (payload: unknown, info: TaskInfo) => Promise<unknown>;

export interface TaskInfo {
  readonly state: string;
  readonly executionArn: string;
  readonly executionName: string;
}

type Status = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface LocalExecution {
  readonly arn: string;
  readonly name: string;
  readonly machineArn: string;
  readonly input: string;
  status: Status;
  /** Settles when the execution has ended and every task it started has returned. */
  readonly settled: Promise<void>;
  /** Task invocations by state name. */
  readonly tasks: Record<string, number>;
  abort(): void;
}

/** An error as a task reports it: `name` is what Retry and Catch match. */
export function taskError(name: string, message = name): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

export class LocalStepFunctions {
  readonly executions = new Map<string, LocalExecution>();
  private readonly machines = new Map<string, { definition: object; runTask: TaskRunner }>();
  private server?: http.Server;
  /** Task invocations in flight, across executions (a stopped execution's slice runs on, as in Lambda). */
  private readonly inFlight = new Set<Promise<unknown>>();

  /**
   * @param retryScale multiplies every Retry interval (1: the definition's own; tests may
   *        shorten the long ones, never change which errors are retried or how often)
   */
  constructor(private readonly retryScale = 1) {}

  /** Serves `definition` as the state machine `machineArn`, its tasks run by `runTask`. */
  register(machineArn: string, definition: object, runTask: TaskRunner): void {
    this.machines.set(machineArn, { definition, runTask });
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const target = String(req.headers['x-amz-target'] ?? '');
        const reply = (status: number, payload: object) =>
          res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(payload));
        try {
          const input = body ? JSON.parse(body) : {};
          if (target === 'AWSStepFunctions.StartExecution') reply(200, this.startExecution(input));
          else if (target === 'AWSStepFunctions.DescribeExecution') reply(200, this.describe(input.executionArn));
          else if (target === 'AWSStepFunctions.StopExecution') reply(200, this.stop(input.executionArn));
          else reply(400, { __type: 'UnknownOperationException', message: `${target} is not served locally` });
        } catch (error) {
          reply(400, { __type: (error as Error).name, message: (error as Error).message });
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** Every execution of a request, by name. */
  execution(name: string): LocalExecution | undefined {
    return [...this.executions.values()].find((e) => e.name === name);
  }

  /** Waits until no execution runs and no task invocation is in flight. */
  async settle(): Promise<void> {
    for (;;) {
      const pending = [...this.executions.values()].map((e) => e.settled);
      await Promise.all([...pending, ...this.inFlight]);
      if ([...this.executions.values()].every((e) => e.status !== 'RUNNING') && this.inFlight.size === 0) return;
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }

  private stop(arn: string): object {
    const execution = this.executions.get(arn);
    if (!execution) throw taskError('ExecutionDoesNotExist', `execution ${arn} does not exist`);
    if (execution.status === 'RUNNING') execution.abort();
    return { stopDate: Date.now() / 1000 };
  }

  private describe(arn: string): object {
    const execution = this.executions.get(arn);
    if (!execution) throw taskError('ExecutionDoesNotExist', `execution ${arn} does not exist`);
    return {
      executionArn: arn,
      stateMachineArn: execution.machineArn,
      name: execution.name,
      status: execution.status,
      startDate: Date.now() / 1000,
    };
  }

  private startExecution(input: { stateMachineArn: string; name: string; input?: string }): object {
    const machine = this.machines.get(input.stateMachineArn);
    if (!machine) throw taskError('StateMachineDoesNotExist', `state machine ${input.stateMachineArn} does not exist`);
    const arn = `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}`;
    const existing = this.executions.get(arn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === (input.input ?? '{}')) {
        return { executionArn: arn, startDate: Date.now() / 1000 };
      }
      throw taskError('ExecutionAlreadyExists', `execution ${input.name} already exists`);
    }
    const tasks: Record<string, number> = {};
    const handler = (state: string) => async (parameters: unknown) => {
      tasks[state] = (tasks[state] ?? 0) + 1;
      const payload = (parameters as { Payload?: unknown }).Payload;
      const running = machine.runTask(payload, { state, executionArn: arn, executionName: input.name });
      this.inFlight.add(running);
      try {
        return { Payload: (await running) ?? null, StatusCode: 200 };
      } finally {
        this.inFlight.delete(running);
      }
    };
    const states = Object.entries((machine.definition as { States: Record<string, { Type: string }> }).States);
    const sm = new StateMachine(withTaskTimeouts(machine.definition) as never, {
      validationOptions: { checkArn: false },
    });
    const retryIntervalOverrides =
      this.retryScale === 1
        ? undefined
        : Object.fromEntries(
            states
              .filter(([, s]) => 'Retry' in s)
              .map(([name, s]) => [
                name,
                (s as unknown as { Retry: { IntervalSeconds?: number }[] }).Retry.map(
                  (r) => (r.IntervalSeconds ?? 1) * 1000 * this.retryScale,
                ),
              ]),
          );
    const run = sm.run(JSON.parse(input.input ?? '{}'), {
      noThrowOnAbort: true,
      overrides: {
        taskResourceLocalHandlers: Object.fromEntries(
          states.filter(([, s]) => s.Type === 'Task').map(([name]) => [name, handler(name)]),
        ) as never,
        retryIntervalOverrides,
      },
    });
    const execution: LocalExecution = {
      arn,
      name: input.name,
      machineArn: input.stateMachineArn,
      input: input.input ?? '{}',
      status: 'RUNNING',
      tasks,
      abort: () => {
        execution.status = 'ABORTED';
        run.abort();
      },
      settled: run.result.then(
        () => {
          if (execution.status === 'RUNNING') execution.status = 'SUCCEEDED';
        },
        (error: Error) => {
          if (execution.status !== 'RUNNING') return;
          execution.status = error?.name === 'ExecutionTimeoutError' ? 'TIMED_OUT' : 'FAILED';
        },
      ),
    };
    this.executions.set(arn, execution);
    // Before the caller hears that it started (a test kills it here: a crash after the start).
    for (const listener of this.startListeners) listener(input.name);
    return { executionArn: arn, startDate: Date.now() / 1000 };
  }

  /** Called with each new execution's name as it starts, before StartExecution answers. */
  readonly startListeners = new Set<(name: string) => void>();
}

/**
 * Step Functions waits on a Task state with no TimeoutSeconds for as long as its work runs
 * (a Lambda invoke: up to the function's timeout), while aws-local-stepfunctions follows the
 * States Language spec's 60 s and would fail every slice longer than a minute with
 * States.Timeout. Such tasks get a day here (Node's timers cap at 24.8 days).
 */
const UNSET_TASK_TIMEOUT_SECONDS = 86_400;

function withTaskTimeouts(definition: object): object {
  const { States: states, ...rest } = definition as {
    States: Record<string, { Type: string; TimeoutSeconds?: number }>;
  };
  return {
    ...rest,
    States: Object.fromEntries(
      Object.entries(states).map(([name, state]) => [
        name,
        state.Type === 'Task' && state.TimeoutSeconds === undefined && !('TimeoutSecondsPath' in state)
          ? { ...state, TimeoutSeconds: UNSET_TASK_TIMEOUT_SECONDS }
          : state,
      ]),
    ),
  };
}
