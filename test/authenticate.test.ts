// Only events this function's own stack sends for its own seed resources are acted on.
// Forged events (another stack, another resource type, another function, a ResponseURL
// that is not S3) are neither acted on nor answered, and their content is never logged.
import { AdminGetUserCommand } from '@aws-sdk/client-cognito-identity-provider';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { refusalOf } from '../lambda/authenticate';
import { context, createEvent, FUNCTION_ARN, props, STACK_ID } from './support/cfn';
import { inProcessHandler } from './support/in-process';
import { cognito, secrets, ssm, strictMocks } from './support/mocks';

const ENV = { SEED_STACK_ID: STACK_ID };
const RULE = "ResponseURL is not on CloudFormation's response bucket for the stack's region";
const S3_URL =
  'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws/x?X-Amz-Signature=abc';

function event(overrides: Record<string, unknown> = {}): CloudFormationCustomResourceEvent {
  return { ...createEvent(S3_URL, props([])), ...overrides } as CloudFormationCustomResourceEvent;
}

describe('refusalOf', () => {
  test.each([
    ['a virtual-hosted S3 URL', S3_URL, STACK_ID],
    [
      'a regional S3 URL',
      'https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/k',
      STACK_ID.replace('us-east-1', 'eu-west-1'),
    ],
    [
      'a legacy dash-region S3 URL',
      'https://cloudformation-custom-resource-response-uswest2.s3-us-west-2.amazonaws.com/k',
      STACK_ID.replace('us-east-1', 'us-west-2'),
    ],
    [
      'the external-1 S3 URL of us-east-1',
      'https://cloudformation-custom-resource-response-useast1.s3-external-1.amazonaws.com/k',
      STACK_ID,
    ],
    [
      'a path-style S3 URL',
      'https://s3.amazonaws.com/cloudformation-custom-resource-response-useast1/arn%3Aaws/x',
      STACK_ID,
    ],
    [
      'a China S3 URL',
      'https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/k',
      STACK_ID.replace('arn:aws:', 'arn:aws-cn:').replace('us-east-1', 'cn-north-1'),
    ],
  ])('accepts its own stack’s event with %s', (_name, url, stackId) => {
    const e = event({ ResponseURL: url, StackId: stackId });
    expect(refusalOf(e, context(), { SEED_STACK_ID: stackId })).toBeUndefined();
  });

  test.each([
    ['an alias', `${FUNCTION_ARN}:live`, FUNCTION_ARN],
    ['a version', `${FUNCTION_ARN}:7`, FUNCTION_ARN],
    ['a qualified ServiceToken', FUNCTION_ARN, `${FUNCTION_ARN}:$LATEST`],
  ])('accepts an invocation through %s', (_name, invoked, token) => {
    const ctx = { ...context(), invokedFunctionArn: invoked };
    expect(refusalOf(event({ ServiceToken: token }), ctx, ENV)).toBeUndefined();
  });

  test.each<[string, Record<string, unknown>, string]>([
    ['another stack', { StackId: `${STACK_ID}-other` }, "StackId is not the function's own stack"],
    ['no StackId', { StackId: undefined }, "StackId is not the function's own stack"],
    ['another resource type', { ResourceType: 'Custom::Other' }, 'ResourceType is not Custom::CognitoUserSeed'],
    ['no resource type', { ResourceType: undefined }, 'ResourceType is not Custom::CognitoUserSeed'],
    ['another function', { ServiceToken: `${FUNCTION_ARN}-evil` }, 'ServiceToken is not this function'],
    [
      'the same name in another account',
      { ServiceToken: FUNCTION_ARN.replace('111111111111', '222222222222') },
      'ServiceToken is not this function',
    ],
    ['no ServiceToken', { ServiceToken: undefined }, 'ServiceToken is not this function'],
    ['an http ResponseURL', { ResponseURL: 'http://x.s3.amazonaws.com/k' }, RULE],
    ['a look-alike host', { ResponseURL: 'https://s3.amazonaws.com.evil.example/k' }, RULE],
    ['a host under an S3 name', { ResponseURL: 'https://evil.example/s3.amazonaws.com' }, RULE],
    ['credentials in the URL', { ResponseURL: 'https://u:p@x.s3.amazonaws.com/k' }, RULE],
    ['a port', { ResponseURL: 'https://x.s3.amazonaws.com:8443/k' }, RULE],
    ['a loopback URL without leave', { ResponseURL: 'http://127.0.0.1:8080/k' }, RULE],
    ['not a URL', { ResponseURL: 'not a url' }, RULE],
    [
      'another bucket',
      { ResponseURL: 'https://attacker-bucket.s3.amazonaws.com/cloudformation-custom-resource-response-useast1/k' },
      RULE,
    ],
    [
      "CloudFormation's bucket of another region",
      { ResponseURL: 'https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/k' },
      RULE,
    ],
    ['an access point', { ResponseURL: 'https://mine-111111111111.s3-accesspoint.us-east-1.amazonaws.com/k' }, RULE],
    ['a load balancer named s3-', { ResponseURL: 'https://s3-evil.elb.us-east-1.amazonaws.com/k' }, RULE],
    [
      'a path-style URL into another bucket',
      { ResponseURL: 'https://s3.amazonaws.com/attacker/cloudformation-custom-resource-response-useast1/k' },
      RULE,
    ],
    ['an unknown request type', { RequestType: 'Adopt' }, 'RequestType is not Create, Update or Delete'],
    ['no RequestId', { RequestId: '' }, 'the event has no RequestId'],
    ['no LogicalResourceId', { LogicalResourceId: undefined }, 'the event has no LogicalResourceId'],
  ])('refuses an event with %s', (_name, overrides, rule) => {
    expect(refusalOf(event(overrides), context(), ENV)).toBe(rule);
  });

  test('refuses everything when the function was not told its stack', () => {
    expect(refusalOf(event(), context(), {})).toBe(
      "the function has no SEED_STACK_ID, so it cannot tell its own stack's events",
    );
  });

  test('refuses when the function cannot tell its own ARN', () => {
    expect(refusalOf(event(), { getRemainingTimeInMillis: () => 1 }, ENV)).toBe('the function cannot tell its own ARN');
  });

  test('without an invoked ARN (the rehearsal) the function name must match', () => {
    const ctx = { getRemainingTimeInMillis: () => 1 };
    expect(refusalOf(event(), ctx, { ...ENV, AWS_LAMBDA_FUNCTION_NAME: 'seed' })).toBeUndefined();
    expect(refusalOf(event(), ctx, { ...ENV, AWS_LAMBDA_FUNCTION_NAME: 'other' })).toBe(
      'ServiceToken is not this function',
    );
  });

  test('a loopback ResponseURL only with the rehearsal’s explicit leave', () => {
    const loopback = event({ ResponseURL: 'http://127.0.0.1:9000/k' });
    expect(refusalOf(loopback, context(), { ...ENV, SEED_ALLOW_LOOPBACK_RESPONSE_URL: 'true' })).toBeUndefined();
    const other = event({ ResponseURL: 'http://169.254.169.254/latest' });
    expect(refusalOf(other, context(), { ...ENV, SEED_ALLOW_LOOPBACK_RESPONSE_URL: 'true' })).toBe(RULE);
  });
});

describe('the handler, given a forged event', () => {
  const { server, ledger, output, deliver } = inProcessHandler(() => {
    strictMocks();
    cognito.on(AdminGetUserCommand).resolves({ Username: 'victim', UserAttributes: [{ Name: 'sub', Value: 's' }] });
  });

  // The takeover the issue measured: adopt an existing user and set a password of the caller's choice.
  const takeover = () =>
    createEvent(
      server.url,
      props(
        [{ Username: 'victim', Mode: 'PERMANENT', Password: { Source: 'plaintext', Value: 'Attacker-Chosen-1!' } }],
        { AdoptExistingUsers: 'true' },
      ),
    );

  test.each<[string, (e: CloudFormationCustomResourceEvent) => CloudFormationCustomResourceEvent]>([
    ['from another stack', (e) => ({ ...e, StackId: 'arn:aws:cloudformation:us-east-1:111111111111:stack/evil/2' })],
    ['of another resource type', (e) => ({ ...e, ResourceType: 'Custom::Anything' })],
    ['naming another function', (e) => ({ ...e, ServiceToken: 'arn:aws:lambda:us-east-1:111111111111:function:x' })],
    ['with a ResponseURL that is not S3', (e) => ({ ...e, ResponseURL: 'https://attacker.example/collect' })],
    ['that is not an event at all', () => ({}) as CloudFormationCustomResourceEvent],
  ])('does nothing and answers nothing for an event %s', async (_name, forge) => {
    // WHEN
    await deliver(forge(takeover()), context());

    // THEN nothing was read or written, nothing answered, and the log names the rule only
    expect(cognito.calls()).toHaveLength(0);
    expect(secrets.calls()).toHaveLength(0);
    expect(ssm.calls()).toHaveLength(0);
    expect(await ledger.items()).toEqual([]);
    expect(server.raw).toEqual([]);
    const lines = output.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'ERROR', outcome: 'refused-event' });
    expect(output.text()).not.toMatch(/victim|Attacker|RESPONSE-URL-CANARY|attacker\.example|evil/);
  });

  test('the same event from its own stack is acted on (the control)', async () => {
    await deliver(takeover(), context());
    expect(server.bodies).toHaveLength(1);
  });
});
