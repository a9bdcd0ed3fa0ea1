// Stand-ins for what CloudFormation and Lambda give the handler: the rehearsal's loopback
// ResponseURL server, events whose scalars are strings, a context, and captured output.
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';

export type { CfnResponseBody } from '../../rehearsal/response-server';
export { ResponseServer } from '../../rehearsal/response-server';

export const POOL_ID = 'us-east-1_POOL1';
export const POOL_ARN = `arn:aws:cognito-idp:us-east-1:111111111111:userpool/${POOL_ID}`;
/** The seed resource's logical id: the ledger's owner. */
export const LOGICAL_ID = 'UsersSeeder7F21A71B';

/** The physical id the handler answers: `<pool>/<LogicalResourceId>`. */
export function physicalIdOf(poolId: string = POOL_ID, logicalId: string = LOGICAL_ID): string {
  return `${poolId}/${logicalId}`;
}

/** Properties as CloudFormation delivers them: every scalar a string. */
export function props(users: object[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ServiceToken: 'arn:aws:lambda:us-east-1:111111111111:function:seed',
    UserPoolId: POOL_ID,
    RemovalPolicy: 'destroy',
    AdoptExistingUsers: 'false',
    MaxConcurrency: '4',
    Rates: { Create: '1000', Recovery: '1000', Write: '1000', Read: '1000' },
    Users: users,
    StateMachineArn: STATE_MACHINE_ARN,
    ...overrides,
  };
}

/** The stack's state machine the test events name (test/support/engine.ts runs it). */
export const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:111111111111:stateMachine:seed-engine';

/** The stack every test event comes from; test/support/handler-env.js gives the handler the same id. */
export const STACK_ID = 'arn:aws:cloudformation:us-east-1:111111111111:stack/s/1';

const base = {
  ServiceToken: 'arn:aws:lambda:us-east-1:111111111111:function:seed',
  StackId: STACK_ID,
  LogicalResourceId: LOGICAL_ID,
  ResourceType: 'Custom::CognitoUserSeed',
};

let requests = 0;

export function createEvent(url: string, properties: Record<string, unknown>): CloudFormationCustomResourceEvent {
  return {
    ...base,
    RequestType: 'Create',
    RequestId: `req-${++requests}`,
    ResponseURL: url,
    ResourceProperties: properties as never,
  };
}

export function updateEvent(
  url: string,
  physicalResourceId: string,
  oldProperties: Record<string, unknown>,
  properties: Record<string, unknown>,
): CloudFormationCustomResourceEvent {
  return {
    ...base,
    RequestType: 'Update',
    RequestId: `req-${++requests}`,
    ResponseURL: url,
    PhysicalResourceId: physicalResourceId,
    ResourceProperties: properties as never,
    OldResourceProperties: oldProperties as never,
  };
}

export function deleteEvent(
  url: string,
  physicalResourceId: string,
  properties: Record<string, unknown>,
): CloudFormationCustomResourceEvent {
  return {
    ...base,
    RequestType: 'Delete',
    RequestId: `req-${++requests}`,
    ResponseURL: url,
    PhysicalResourceId: physicalResourceId,
    ResourceProperties: properties as never,
  };
}

/** The same event from another seed resource of the stack. */
export function fromResource(
  event: CloudFormationCustomResourceEvent,
  logicalId: string,
): CloudFormationCustomResourceEvent {
  return { ...event, LogicalResourceId: logicalId };
}

/** The seeding function's own ARN: the ServiceToken of every event above. */
export const FUNCTION_ARN = base.ServiceToken;

export function context(remainingMs = 900_000): {
  getRemainingTimeInMillis: () => number;
  invokedFunctionArn: string;
} {
  const deadline = Date.now() + remainingMs;
  return { getRemainingTimeInMillis: () => deadline - Date.now(), invokedFunctionArn: FUNCTION_ARN };
}

/** A context without the function's ARN: it cannot continue in a fresh invocation. */
export function withoutArn(c: ReturnType<typeof context>): { getRemainingTimeInMillis: () => number } {
  return { getRemainingTimeInMillis: c.getRemainingTimeInMillis };
}

/** Everything the handler prints, by any route, while capturing (one object for a whole suite). */
export class CapturedOutput {
  private chunks: string[] = [];
  private spies: jest.SpyInstance[] = [];

  /** Starts a fresh capture; what an earlier one caught is dropped. */
  start(): this {
    this.restore();
    this.chunks = [];
    const keep = (c: string | Uint8Array) => {
      this.chunks.push(String(c));
      return true;
    };
    this.spies = [
      jest.spyOn(process.stdout, 'write').mockImplementation(keep),
      jest.spyOn(process.stderr, 'write').mockImplementation(keep),
      ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
        jest.spyOn(console, m).mockImplementation((...args: unknown[]) => {
          this.chunks.push(args.map(String).join(' ') + '\n');
        }),
      ),
    ];
    return this;
  }

  /** Stops capturing; what was caught stays readable. */
  restore(): void {
    this.spies.forEach((s) => s.mockRestore());
    this.spies = [];
  }

  text(): string {
    return this.chunks.join('');
  }

  lines(): Record<string, unknown>[] {
    return this.text()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
  }
}

/** Captures everything the handler prints, from now on. */
export function captureOutput(): CapturedOutput {
  return new CapturedOutput().start();
}
