// Events checked with CloudFormation itself: only an event for a resource its stack is
// operating on, with the properties the stack's template gives it, is acted on. Forged and
// replayed events are refused: nothing read or written, nothing answered.
import { AdminGetUserCommand } from '@aws-sdk/client-cognito-identity-provider';
import { DescribeStacksCommand, GetTemplateCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { handler } from '../lambda';
import { propertiesDigest, propertiesMismatch } from '../lambda/verify';
import {
  context,
  createEvent,
  deleteEvent,
  LOGICAL_ID,
  physicalIdOf,
  props,
  STACK_ID,
  updateEvent,
} from './support/cfn';
import { inProcessHandler } from './support/in-process';
import { cloudformation, cognito, createsAnyUser, secrets, ssm, strictMocks } from './support/mocks';

const view = {
  stackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Qa/0a1b',
  physicalIds: new Map([
    ['Pool', 'eu-west-1_POOL'],
    ['Secret', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:s-AbCdEf'],
  ]),
};

describe('propertiesMismatch', () => {
  const template = {
    ServiceToken: { 'Fn::GetAtt': ['Fn', 'Arn'] },
    UserPoolId: { Ref: 'Pool' },
    AdoptExistingUsers: 'false',
    MaxConcurrency: 64,
    Users: [{ Username: 'a', Password: { Source: 'secretsmanager', SecretArn: { Ref: 'Secret' } } }],
    Bucket: { 'Fn::Sub': 'cdk-assets-${AWS::AccountId}-${AWS::Region}' },
    Joined: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':x:', { 'Fn::GetAtt': ['Fn', 'Arn'] }]] },
  };
  const event = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:seed',
    UserPoolId: 'eu-west-1_POOL',
    AdoptExistingUsers: 'false',
    MaxConcurrency: '64',
    Users: [{ Username: 'a', Password: { Source: 'secretsmanager', SecretArn: view.physicalIds.get('Secret') } }],
    Bucket: 'cdk-assets-123456789012-eu-west-1',
    Joined: 'arn:aws:x:anything',
  };

  test('Compliance: the properties CloudFormation resolved from the template, every scalar a string', () => {
    expect(propertiesMismatch(template, event, view)).toBeUndefined();
  });

  test.each<[string, Record<string, unknown>, string]>([
    ['a flag turned on', { AdoptExistingUsers: 'true' }, 'Properties.AdoptExistingUsers differs from the template'],
    ['another pool', { UserPoolId: 'eu-west-1_OTHER' }, 'Properties.UserPoolId is not what the template resolves to'],
    [
      'a plain-text password instead of the secret',
      { Users: [{ Username: 'a', Password: { Source: 'plaintext', Value: 'Chosen-1!' } }] },
      'Properties.Users[0].Password.Source differs from the template',
    ],
    [
      'another user',
      { Users: [{ Username: 'a', Password: event.Users[0].Password }, { Username: 'b' }] },
      "Properties.Users is not the template's list",
    ],
    ['a property the template does not give', { Extra: 'x' }, 'Properties.Extra is not in the template'],
    [
      'a bucket of another account',
      { Bucket: 'cdk-assets-999999999999-eu-west-1' },
      'Properties.Bucket is not what the template resolves to',
    ],
    [
      'a hole filled outside its place',
      { Joined: 'arn:aws-cn:x:y' },
      'Properties.Joined is not what the template resolves to',
    ],
  ])('Noncompliance: %s', (_name, change, why) => {
    expect(propertiesMismatch(template, { ...event, ...change }, view)).toBe(why);
  });

  test('a digest of properties does not depend on key order or on scalars being strings', () => {
    expect(propertiesDigest({ b: 1, a: [true, { y: 'x', x: null }] })).toBe(
      propertiesDigest({ a: ['true', { x: null, y: 'x' }], b: '1' }),
    );
    expect(propertiesDigest({ a: 'true' })).not.toBe(propertiesDigest({ a: 'false' }));
  });
});

describe('the handler checks each event with its stack', () => {
  const { server, ledger, output, deliver } = inProcessHandler(() => {
    strictMocks();
    cognito.on(AdminGetUserCommand).resolves({ Username: 'victim', UserAttributes: [{ Name: 'sub', Value: 's' }] });
  });

  /** CloudFormation's view: `resources` (logical id -> status, physical id) and the template's properties. */
  function stack(
    resources: Record<string, { status: string; physicalId?: string }>,
    templates: Record<string, unknown>,
    stackStatus = 'UPDATE_IN_PROGRESS',
  ): void {
    cloudformation.reset();
    cloudformation.on(ListStackResourcesCommand).resolves({
      StackResourceSummaries: Object.entries(resources).map(([id, r]) => ({
        LogicalResourceId: id,
        PhysicalResourceId: r.physicalId,
        ResourceType: 'Custom::CognitoUserSeed',
        ResourceStatus: r.status as never,
        LastUpdatedTimestamp: new Date(),
      })),
    });
    cloudformation.on(GetTemplateCommand).resolves({
      TemplateBody: JSON.stringify({
        Resources: Object.fromEntries(
          Object.entries(templates).map(([id, p]) => [id, { Type: 'Custom::CognitoUserSeed', Properties: p }]),
        ),
      }),
    });
    cloudformation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 's', StackStatus: stackStatus as never, CreationTime: new Date() }],
    });
  }

  const honest = () =>
    props([{ Username: 'victim', Mode: 'RESET_REQUIRED', Attributes: { email: 'v@x.com', email_verified: 'true' } }]);
  // The takeover the issue measured: adopt an existing user and set a password of the caller's choice.
  const takeover = () =>
    props([{ Username: 'victim', Mode: 'PERMANENT', Password: { Source: 'plaintext', Value: 'Attacker-Chosen-1!' } }], {
      AdoptExistingUsers: 'true',
    });

  async function expectRefused(event: CloudFormationCustomResourceEvent, rule: RegExp): Promise<void> {
    await handler(event, context());
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(cognito.calls()).toHaveLength(0);
    expect(secrets.calls()).toHaveLength(0);
    expect(ssm.calls()).toHaveLength(0);
    expect(await ledger.items()).toEqual([]);
    expect(server.raw).toEqual([]);
    const refusals = output.lines().filter((l) => l.outcome === 'refused-event');
    expect(refusals).toHaveLength(1);
    expect(String(refusals[0].rule)).toMatch(rule);
    expect(output.text()).not.toMatch(/Attacker|RESPONSE-URL-CANARY/);
  }

  test('a replayed Create outside a deployment (the resource is CREATE_COMPLETE) is refused', async () => {
    const event = createEvent(server.url, honest());
    stack({ [LOGICAL_ID]: { status: 'CREATE_COMPLETE', physicalId: physicalIdOf() } }, { [LOGICAL_ID]: honest() });
    await expectRefused(
      event,
      /the stack is not running a Create on UsersSeeder7F21A71B \(its status is CREATE_COMPLETE\)/,
    );
  }, 20_000);

  test('an event under a new logical id is refused', async () => {
    const event = { ...createEvent(server.url, takeover()), LogicalResourceId: 'Forged1234' };
    stack({ [LOGICAL_ID]: { status: 'CREATE_IN_PROGRESS' } }, { [LOGICAL_ID]: honest() });
    await expectRefused(event, /^the stack has no resource Forged1234$/);
  });

  test('an event with changed properties, while the stack really creates the resource, is refused', async () => {
    const event = createEvent(server.url, takeover());
    stack({ [LOGICAL_ID]: { status: 'CREATE_IN_PROGRESS' } }, { [LOGICAL_ID]: honest() });
    await expectRefused(event, /^the properties are not the ones the stack gives UsersSeeder7F21A71B: Properties\./);
  });

  test('a replayed Delete while the stack is not deleting the resource is refused', async () => {
    const event = deleteEvent(server.url, physicalIdOf(), honest());
    stack({ [LOGICAL_ID]: { status: 'UPDATE_COMPLETE', physicalId: physicalIdOf() } }, { [LOGICAL_ID]: honest() });
    await expectRefused(event, /not running a Delete/);
  }, 20_000);

  test('a Delete of an old physical id outside a cleanup is refused', async () => {
    const event = deleteEvent(server.url, 'us-east-1_OLD/UsersSeeder7F21A71B', honest());
    stack(
      { [LOGICAL_ID]: { status: 'UPDATE_COMPLETE', physicalId: physicalIdOf() } },
      { [LOGICAL_ID]: honest() },
      'UPDATE_COMPLETE',
    );
    await expectRefused(event, /the stack is not cleaning up UsersSeeder7F21A71B's replaced resource/);
  }, 20_000);

  test('a rollback Update with the properties an earlier request applied is acted on, though the template now gives others', async () => {
    // GIVEN the honest properties applied by a Create
    createsAnyUser();
    cognito.on(AdminGetUserCommand).rejects(Object.assign(new Error('no'), { name: 'UserNotFoundException' }));
    const v1 = props([
      { Username: 'bob', Mode: 'TEMPORARY', Password: { Source: 'plaintext', Value: 'Local-Passw0rd!' } },
    ]);
    await deliver(createEvent(server.url, v1));
    expect(server.last.Status).toBe('SUCCESS');
    const v2 = { ...v1, MaxConcurrency: '8' };

    // WHEN CloudFormation rolls back a failed Update to v2: the template already gives v2
    stack(
      { [LOGICAL_ID]: { status: 'UPDATE_IN_PROGRESS', physicalId: physicalIdOf() } },
      { [LOGICAL_ID]: v2 },
      'UPDATE_ROLLBACK_IN_PROGRESS',
    );
    await handler(updateEvent(server.url, physicalIdOf(), v2, v1), context());
    await new Promise((resolve) => setTimeout(resolve, 2000));

    // THEN it is acted on and answered
    expect(server.bodies.map((b) => b.Status)).toEqual(['SUCCESS', 'SUCCESS']);
    expect(output.lines().filter((l) => l.outcome === 'refused-event')).toEqual([]);
  });

  test('the stack id is its own ARN: ListStackResources and GetTemplate name exactly it', async () => {
    const event = createEvent(server.url, honest());
    stack({ [LOGICAL_ID]: { status: 'CREATE_COMPLETE' } }, { [LOGICAL_ID]: honest() });
    await handler({ ...event, LogicalResourceId: 'Missing' }, context());
    expect(cloudformation.commandCalls(ListStackResourcesCommand)[0].args[0].input).toEqual({ StackName: STACK_ID });
  });
});
