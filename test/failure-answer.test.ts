// The failure answerer (`index.onFailure`): Lambda hands it the record of a CloudFormation
// event every attempt of the seeding function failed at, and it answers CloudFormation
// once, at the event's own ResponseURL (the loopback server here), as the seeding function
// answers a request it could not start. Nothing else is answered; nothing it prints or
// sends holds the ResponseURL, a property value or the crashed function's error message.
import { DescribeStacksCommand, StackStatus } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { onFailure } from '../lambda';
import { executionArn, executionName } from '../lambda/engine';
import type { InvocationRecord } from '../lambda/failure-answer';
import {
  captureOutput,
  CfnResponseBody,
  createEvent,
  deleteEvent,
  FUNCTION_ARN,
  LOGICAL_ID,
  physicalIdOf,
  props,
  ResponseServer,
  STACK_ID,
  STATE_MACHINE_ARN,
  updateEvent,
} from './support/cfn';
import { awsError, cloudformation } from './support/mocks';

const LOG_GROUP = 'S-CognitoUserSeederFunctionLogGroup-AbC123';
const LAMBDA_REQUEST = '7f3c2a10-5d4e-4b8a-9c1d-0e2f3a4b5c6d';
/** A password that travels in the properties (an unsafePlainText user) and one in the crash's message. */
const CANARIES = { property: 'Canary-Prop-Plain-8!qW', crash: 'Canary-Crash-Msg-3!zX' };

let server: ResponseServer;
/** The stack's state machine: no request has an execution unless a test says so. */
const sfn = mockClient(SFNClient);

beforeAll(async () => {
  server = new ResponseServer();
  await server.start();
  process.env.SEED_LOG_GROUP_NAME = LOG_GROUP;
});

afterAll(async () => {
  await server.stop();
  delete process.env.SEED_LOG_GROUP_NAME;
});

beforeEach(() => {
  server.reset();
  cloudformation.reset();
  cloudformation.onAnyCommand().rejects(awsError('UnexpectedCall', 'a call the test did not set up'));
  sfn.reset();
  sfn.onAnyCommand().rejects(awsError('UnexpectedCall', 'a call the test did not set up'));
  sfn.on(DescribeExecutionCommand).rejects(awsError('ExecutionDoesNotExist', 'Execution Does Not Exist'));
});

const properties = () =>
  props([{ Username: 'erin', Mode: 'PERMANENT', Password: { Source: 'plaintext', Value: CANARIES.property } }]);

/** What Lambda sends the failure destination after the last retry of `payload`. */
function record(payload: unknown): InvocationRecord {
  return {
    requestContext: {
      requestId: LAMBDA_REQUEST,
      functionArn: `${FUNCTION_ARN}:$LATEST`,
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
    },
    requestPayload: payload,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: {
      errorType: 'Runtime.ExitError',
      errorMessage: `RequestId: ${LAMBDA_REQUEST} Error: Runtime exited with error: ${CANARIES.crash}`,
    },
  } as InvocationRecord;
}

/** Every string in the properties long enough to mean something (ARNs, ids, the plain-text password). */
function leaves(value: unknown): string[] {
  if (typeof value === 'string') return value.length >= 8 ? [value] : [];
  if (value && typeof value === 'object') return Object.values(value).flatMap(leaves);
  return [];
}

/** Runs the answerer on `payload`'s record; what it sent and printed. */
async function answer(payload: unknown): Promise<{ bodies: CfnResponseBody[]; raw: string[]; printed: string }> {
  const output = captureOutput();
  try {
    await onFailure(record(payload));
  } finally {
    output.restore();
  }
  return { bodies: [...server.bodies], raw: [...server.raw], printed: output.text() };
}

/** The JSON lines the answerer printed. */
function jsonLines(printed: string): Record<string, unknown>[] {
  return printed
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

function expectNothingSecret(
  event: CloudFormationCustomResourceEvent,
  sent: { raw: string[]; printed: string; bodies: CfnResponseBody[] },
): void {
  const everything = sent.raw.join('\n') + sent.printed;
  for (const canary of [event.ResponseURL, 'RESPONSE-URL-CANARY', 'SIG-CANARY', ...Object.values(CANARIES)]) {
    expect({ canary, found: everything.includes(canary) }).toEqual({ canary, found: false });
  }
  for (const body of sent.bodies) {
    for (const value of leaves(event.ResourceProperties)) {
      expect({ value, inReason: body.Reason?.includes(value) }).toEqual({ value, inReason: false });
    }
  }
}

describe('a CloudFormation event of the stack every attempt failed at', () => {
  test.each<[string, 'SUCCESS' | 'FAILED', () => CloudFormationCustomResourceEvent, StackStatus | undefined]>([
    ['a Create', 'FAILED', () => createEvent(server.url, properties()), undefined],
    [
      'a forward Update',
      'FAILED',
      () => updateEvent(server.url, physicalIdOf(), properties(), properties()),
      'UPDATE_IN_PROGRESS',
    ],
    [
      'a rollback Update',
      'SUCCESS',
      () => updateEvent(server.url, physicalIdOf(), properties(), properties()),
      'UPDATE_ROLLBACK_IN_PROGRESS',
    ],
    ["a stack's Delete", 'SUCCESS', () => deleteEvent(server.url, physicalIdOf(), properties()), undefined],
  ])('%s is answered once, %s, at its ResponseURL', async (_name, status, make, stackStatus) => {
    // GIVEN the stack in the state CloudFormation shows while it sends the event
    const event = make();
    if (stackStatus) {
      cloudformation
        .on(DescribeStacksCommand, { StackName: STACK_ID })
        .resolves({ Stacks: [{ StackName: 's', StackStatus: stackStatus, CreationTime: new Date() }] });
    }

    // WHEN
    const sent = await answer(event);

    // THEN one answer, naming the request and where to look, and nothing secret anywhere
    expect(sent.bodies).toEqual([
      {
        Status: status,
        Reason: expect.any(String),
        // A Create's is the one its work would have answered; the others keep theirs.
        PhysicalResourceId: physicalIdOf(),
        StackId: STACK_ID,
        RequestId: event.RequestId,
        LogicalResourceId: LOGICAL_ID,
      },
    ]);
    const reason = sent.bodies[0].Reason!;
    expect(reason).toContain(`request ${event.RequestId} on ${LOGICAL_ID}`);
    expect(reason).toContain(`log group ${LOG_GROUP} for Lambda request ${LAMBDA_REQUEST}`);
    expect(reason).toContain('all 3 attempts');
    expect(reason).toMatch(
      status === 'SUCCESS'
        ? new RegExp(`^${event.RequestType} changed no user: .*still in the pool`)
        : new RegExp(`^${event.RequestType} failed: .*then deploy again$`),
    );
    expectNothingSecret(event, sent);
  });

  test('a Create whose properties name no pool answers an id its Delete has nothing to do for', async () => {
    const event = createEvent(server.url, { ...properties(), UserPoolId: '' });

    const sent = await answer(event);

    expect(sent.bodies).toEqual([
      expect.objectContaining({ Status: 'FAILED', PhysicalResourceId: `failed-create/${event.RequestId}` }),
    ]);
    expectNothingSecret(event, sent);
  });

  test('an Update whose stack cannot be read is answered as a forward one: FAILED', async () => {
    cloudformation.on(DescribeStacksCommand).rejects(awsError('AccessDenied', `denied ${CANARIES.crash}`));
    const event = updateEvent(server.url, physicalIdOf(), properties(), properties());

    const sent = await answer(event);

    expect(sent.bodies).toEqual([expect.objectContaining({ Status: 'FAILED', PhysicalResourceId: physicalIdOf() })]);
    expect(sent.printed).toMatch(/"outcome":"stack-unread","error":"AccessDenied"/);
    expectNothingSecret(event, sent);
  });

  test('fails back to Lambda, which runs it again, when CloudFormation did not take the answer', async () => {
    server.failFirst = 5;
    const event = createEvent(server.url, properties());
    const output = captureOutput();

    let thrown: unknown;
    try {
      await onFailure(record(event));
    } catch (error) {
      thrown = error;
    } finally {
      output.restore();
    }

    expect(thrown).toMatchObject({ name: 'AnswerNotDelivered' });
    expect(server.bodies).toEqual([]);
    expectNothingSecret(event, { raw: [String((thrown as Error).message)], printed: output.text(), bodies: [] });
  });
});

describe('what is not answered', () => {
  test.each<[string, (e: CloudFormationCustomResourceEvent) => CloudFormationCustomResourceEvent, RegExp]>([
    [
      'a ResponseURL that is not CloudFormation’s (another host)',
      (e) => ({ ...e, ResponseURL: e.ResponseURL.replace('127.0.0.1', 'localhost') }),
      /ResponseURL is not on CloudFormation's response bucket/,
    ],
    ['another stack’s event', (e) => ({ ...e, StackId: `${STACK_ID}-other` }), /StackId is not the function's own/],
    [
      'an event for another function',
      (e) => ({ ...e, ServiceToken: `${FUNCTION_ARN}-other` }),
      /ServiceToken is not this function/,
    ],
    [
      'another resource type',
      (e) => ({ ...e, ResourceType: 'Custom::Other' }) as CloudFormationCustomResourceEvent,
      /ResourceType is not Custom::CognitoUserSeed/,
    ],
  ])('%s: nothing is sent, and the rule is logged', async (_name, forge, rule) => {
    const event = forge(createEvent(server.url, properties()));

    const sent = await answer(event);

    expect(sent.bodies).toEqual([]);
    const lines = jsonLines(sent.printed);
    expect(lines).toEqual([
      expect.objectContaining({ level: 'ERROR', outcome: 'refused-event', rule: expect.stringMatching(rule) }),
    ]);
    expectNothingSecret(event, sent);
  });

  test.each<[string, unknown, Record<string, unknown>]>([
    [
      "a schedule's repair request",
      { kind: 'repair', seeder: 'UsersSeederSeed1', waitSeconds: 0 },
      { payload: 'repair', seeder: 'UsersSeederSeed1' },
    ],
    [
      'an EventBridge event',
      {
        version: '0',
        id: 'e1',
        'detail-type': 'Parameter Store Change',
        source: 'aws.ssm',
        detail: { name: '/seed/password', note: CANARIES.property },
      },
      { payload: 'eventbridge', source: 'aws.ssm', detailType: 'Parameter Store Change' },
    ],
    ['no payload', null, { payload: 'unknown' }],
    ['text', CANARIES.property, { payload: 'unknown' }],
  ])('%s: nothing is sent, one line names what failed', async (_name, payload, fields) => {
    const sent = await answer(payload);

    expect(sent.bodies).toEqual([]);
    const lines = jsonLines(sent.printed);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        outcome: 'seeding-function-failed',
        ...fields,
        lambdaRequest: LAMBDA_REQUEST,
        condition: 'RetriesExhausted',
        error: 'Runtime.ExitError',
        attempts: 3,
      }),
    ]);
    for (const canary of Object.values(CANARIES)) expect(sent.printed).not.toContain(canary);
  });
});

describe('a request whose execution an attempt started before it failed', () => {
  const arnOf = (event: CloudFormationCustomResourceEvent) =>
    executionArn(STATE_MACHINE_ARN, executionName(LOGICAL_ID, event.RequestId));

  test.each(['RUNNING', 'SUCCEEDED', 'FAILED'])(
    'is left to that execution (%s), whose Answer answers: nothing sent, one line naming it',
    async (status) => {
      // GIVEN the execution the request's name gives, in that state
      const event = createEvent(server.url, properties());
      sfn.on(DescribeExecutionCommand, { executionArn: arnOf(event) }).resolves({ status } as never);

      // WHEN
      const sent = await answer(event);

      // THEN no answer from here; the line says whose it is
      expect(sent.bodies).toEqual([]);
      expect(jsonLines(sent.printed)).toEqual([
        expect.objectContaining({
          outcome: 'left-to-the-execution',
          execution: executionName(LOGICAL_ID, event.RequestId),
          status,
          requestType: 'Create',
        }),
      ]);
      expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(1);
      expectNothingSecret(event, sent);
    },
  );

  test.each(['ABORTED', 'TIMED_OUT'])('an execution %s reaches no Answer: the answerer answers', async (status) => {
    const event = createEvent(server.url, properties());
    sfn.on(DescribeExecutionCommand, { executionArn: arnOf(event) }).resolves({ status } as never);

    const sent = await answer(event);

    expect(sent.bodies).toEqual([expect.objectContaining({ Status: 'FAILED' })]);
  });

  test('with no execution of that name, the answerer answers (it looked by exactly that ARN)', async () => {
    const event = deleteEvent(server.url, physicalIdOf(), properties());

    const sent = await answer(event);

    expect(sent.bodies).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
    expect(sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input.executionArn)).toEqual([arnOf(event)]);
  });

  test('when the execution cannot be read, it answers all the same, and says why', async () => {
    sfn.on(DescribeExecutionCommand).rejects(awsError('AccessDeniedException', `denied ${CANARIES.crash}`));
    const event = createEvent(server.url, properties());

    const sent = await answer(event);

    expect(sent.bodies).toEqual([expect.objectContaining({ Status: 'FAILED' })]);
    expect(sent.printed).toMatch(/"outcome":"execution-unread".*"error":"AccessDeniedException"/);
    expectNothingSecret(event, sent);
  });

  test('properties whose StateMachineArn is not a state machine ARN are not looked up', async () => {
    const event = createEvent(server.url, { ...properties(), StateMachineArn: 'https://example.com/x' });

    const sent = await answer(event);

    expect(sent.bodies).toEqual([expect.objectContaining({ Status: 'FAILED' })]);
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(0);
  });
});
