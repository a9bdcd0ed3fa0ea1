import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserAttributesCommand,
  AdminDeleteUserCommand,
  AdminGetUserCommand,
  AdminListGroupsForUserCommand,
  AdminRemoveUserFromGroupCommand,
  AdminResetUserPasswordCommand,
  AdminSetUserPasswordCommand,
  AdminUpdateUserAttributesCommand,
  DescribeUserPoolCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import * as crypto from 'crypto';
import { mockClient } from 'aws-sdk-client-mock';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import 'aws-sdk-client-mock-jest';
import { handler } from '../lambda';
import { passwordPolicyViolations } from '../lambda/plan';
import {
  captureOutput,
  context,
  createEvent,
  deleteEvent,
  POOL_ID,
  props,
  ResponseServer,
  updateEvent,
} from './support/cfn';
import { awsError, cognito, describePool, POLICY, secrets, ssm, strictMocks } from './support/mocks';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:alice-AbCdEf';
const JSON_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:json-AbCdEf';
const PARAM = '/seed/bob';
const ALICE_PW = 'Alice-Passw0rd!';
const BOB_PW = 'Bob-Temp-Passw0rd!';
const JSON_PW = 'Json-Field-Passw0rd!';

const alice = {
  Username: 'alice',
  Mode: 'PERMANENT',
  Password: { Source: 'secretsmanager', SecretArn: SECRET_ARN },
  Attributes: { email: 'alice@example.com', email_verified: 'true' },
  Groups: ['admins'],
};
const bob = { Username: 'bob', Mode: 'TEMPORARY', Password: { Source: 'ssm', ParameterName: PARAM } };
const dave = {
  Username: 'dave',
  Mode: 'RESET_REQUIRED',
  Attributes: { email: 'dave@example.com', email_verified: 'true' },
};
const PHYSICAL_ID = `${POOL_ID}/UsersSeeder7F21A71B`;

const server = new ResponseServer();
let output: ReturnType<typeof captureOutput>;

beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => {
  server.reset();
  strictMocks();
  secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: ALICE_PW });
  secrets
    .on(GetSecretValueCommand, { SecretId: JSON_SECRET_ARN })
    .resolves({ SecretString: JSON.stringify({ username: 'x', password: JSON_PW }) });
  ssm.on(GetParameterCommand, { Name: PARAM, WithDecryption: true }).resolves({ Parameter: { Value: BOB_PW } });
  output = captureOutput();
});
afterEach(() => output.restore());

function allowWrites(): void {
  cognito.on(AdminCreateUserCommand).resolves({});
  cognito.on(AdminSetUserPasswordCommand).resolves({});
  cognito.on(AdminResetUserPasswordCommand).resolves({});
  cognito.on(AdminAddUserToGroupCommand).resolves({});
  cognito.on(AdminRemoveUserFromGroupCommand).resolves({});
  cognito.on(AdminUpdateUserAttributesCommand).resolves({});
  cognito.on(AdminDeleteUserAttributesCommand).resolves({});
  cognito.on(AdminDeleteUserCommand).resolves({});
}

describe('Create', () => {
  test('PERMANENT: AdminCreateUser without a password, then AdminSetUserPassword permanent, then groups', async () => {
    // GIVEN
    cognito
      .on(AdminCreateUserCommand, {
        UserPoolId: POOL_ID,
        Username: 'alice',
        MessageAction: 'SUPPRESS',
        UserAttributes: [
          { Name: 'email', Value: 'alice@example.com' },
          { Name: 'email_verified', Value: 'true' },
        ],
      })
      .resolves({});
    cognito
      .on(AdminSetUserPasswordCommand, { UserPoolId: POOL_ID, Username: 'alice', Password: ALICE_PW, Permanent: true })
      .resolves({});
    cognito
      .on(AdminAddUserToGroupCommand, { UserPoolId: POOL_ID, Username: 'alice', GroupName: 'admins' })
      .resolves({});

    // WHEN
    await handler(createEvent(server.url, props([alice])), context());

    // THEN
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(server.last.Data).toEqual({ UserPoolId: POOL_ID, UserCount: '1' });
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 1);
    expect(cognito.commandCalls(AdminCreateUserCommand)[0].args[0].input.TemporaryPassword).toBeUndefined();
    expect(cognito).toHaveReceivedCommandTimes(AdminSetUserPasswordCommand, 1);
    expect(cognito).toHaveReceivedCommandTimes(AdminAddUserToGroupCommand, 1);
  });

  test('TEMPORARY: one AdminCreateUser call carrying the SSM password as TemporaryPassword', async () => {
    cognito
      .on(AdminCreateUserCommand, {
        UserPoolId: POOL_ID,
        Username: 'bob',
        TemporaryPassword: BOB_PW,
        MessageAction: 'SUPPRESS',
      })
      .resolves({});

    await handler(createEvent(server.url, props([bob])), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, { Name: PARAM, WithDecryption: true });
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 1);
    expect(cognito).toHaveReceivedCommandTimes(AdminSetUserPasswordCommand, 0);
  });

  test('RESET_REQUIRED: create, a throwaway permanent password that meets the policy, then reset', async () => {
    cognito.on(AdminCreateUserCommand, { Username: 'dave' }).resolves({});
    cognito.on(AdminSetUserPasswordCommand, { Username: 'dave', Permanent: true }).resolves({});
    cognito.on(AdminResetUserPasswordCommand, { UserPoolId: POOL_ID, Username: 'dave' }).resolves({});

    await handler(createEvent(server.url, props([dave])), context());

    expect(server.last.Status).toBe('SUCCESS');
    const throwaway = cognito.commandCalls(AdminSetUserPasswordCommand)[0].args[0].input.Password as string;
    expect(
      passwordPolicyViolations(throwaway, {
        minimumLength: POLICY.MinimumLength,
        requireUppercase: true,
        requireLowercase: true,
        requireNumbers: true,
        requireSymbols: true,
      }),
    ).toEqual([]);
    expect(output.text()).not.toContain(throwaway);
    expect(cognito).toHaveReceivedCommandTimes(AdminResetUserPasswordCommand, 1);
  });

  test('reads one JSON field of a secret', async () => {
    cognito.on(AdminCreateUserCommand).resolves({});
    cognito.on(AdminSetUserPasswordCommand, { Username: 'json', Password: JSON_PW, Permanent: true }).resolves({});
    const user = {
      Username: 'json',
      Mode: 'PERMANENT',
      Password: { Source: 'secretsmanager', SecretArn: JSON_SECRET_ARN, JsonField: 'password' },
    };

    await handler(createEvent(server.url, props([user])), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(cognito).toHaveReceivedCommandTimes(AdminSetUserPasswordCommand, 1);
  });

  test('a secret shared by many users is read once', async () => {
    allowWrites();
    const users = Array.from({ length: 25 }, (_, i) => ({ ...alice, Username: `load-${i}`, Groups: undefined }));

    await handler(createEvent(server.url, props(users)), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 25);
    expect(server.last.Data?.UserCount).toBe('25');
  });

  test('never has more users in flight than MaxConcurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    cognito.on(AdminCreateUserCommand).callsFake(async () => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return {};
    });
    const users = Array.from({ length: 20 }, (_, i) => ({ ...bob, Username: `t-${i}` }));

    await handler(createEvent(server.url, props(users, { MaxConcurrency: '3' })), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(peak).toBe(3);
  });
});

describe('Create pre-flight: a bad input fails before anything is written', () => {
  test('fails when a password breaks the live pool policy, naming the user and the rule', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: 'short' });
    allowWrites();

    await handler(createEvent(server.url, props([bob, alice])), context());

    expect(server.last.Status).toBe('FAILED');
    expect(server.last.Reason).toMatch(/user 'alice'.*password policy.*at least 10 characters/);
    expect(server.last.PhysicalResourceId).toMatch(/^failed-create\//);
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 0);
  });

  test('fails when a group does not exist', async () => {
    allowWrites();
    const user = { ...alice, Groups: ['ghosts'] };

    await handler(createEvent(server.url, props([user])), context());

    expect(server.last.Status).toBe('FAILED');
    expect(server.last.Reason).toMatch(/user 'alice'.*group 'ghosts' does not exist/);
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 0);
  });

  test('fails when a secret cannot be read', async () => {
    secrets
      .on(GetSecretValueCommand, { SecretId: SECRET_ARN })
      .rejects(awsError('AccessDeniedException', 'not allowed'));
    allowWrites();

    await handler(createEvent(server.url, props([alice])), context());

    expect(server.last.Reason).toMatch(/user 'alice'.*secret .*alice-AbCdEf could not be read \(AccessDeniedException/);
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 0);
  });

  test('fails when an attribute is not in the pool schema', async () => {
    allowWrites();
    const user = { ...bob, Attributes: { 'custom:missing': 'x' } };

    await handler(createEvent(server.url, props([user])), context());

    expect(server.last.Reason).toMatch(/user 'bob'.*custom:missing.*not in the pool's schema/);
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 0);
  });

  test('fails when the pool does not exist', async () => {
    cognito.on(DescribeUserPoolCommand).rejects(awsError('ResourceNotFoundException', 'User pool does not exist.'));
    allowWrites();

    await handler(createEvent(server.url, props([bob])), context());

    expect(server.last.Reason).toMatch(/user pool us-east-1_POOL1 does not exist/);
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 0);
  });

  test('fails on properties it cannot read, with nothing written', async () => {
    await handler(createEvent(server.url, props([{ Username: 'x', Mode: 'SOMETIMES' }])), context());

    expect(server.last.Status).toBe('FAILED');
    expect(server.last.Reason).toMatch(/mode 'SOMETIMES' is not one of PERMANENT, TEMPORARY, RESET_REQUIRED/);
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 0);
  });
});

describe('Create is all or nothing', () => {
  const users = ['u1', 'u2', 'u3', 'u4', 'u5'].map((Username) => ({ ...bob, Username }));

  test('a failure in the middle of a batch deletes exactly the users this request created', async () => {
    // GIVEN: u3 fails; the others succeed
    cognito.on(AdminCreateUserCommand).resolves({});
    cognito.on(AdminCreateUserCommand, { Username: 'u3' }).rejects(awsError('InternalErrorException', 'boom'));
    cognito.on(AdminDeleteUserCommand).resolves({});

    // WHEN
    await handler(createEvent(server.url, props(users, { MaxConcurrency: '1' })), context());

    // THEN
    expect(server.last.Status).toBe('FAILED');
    expect(server.last.Reason).toMatch(/user 'u3': create failed \(InternalErrorException: boom\).*Removed the 2 user/);
    const deleted = cognito.commandCalls(AdminDeleteUserCommand).map((c) => c.args[0].input.Username);
    expect(deleted.sort()).toEqual(['u1', 'u2']);
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 3);

    // AND the rollback's Delete with the returned physical id is a no-op
    cognito.resetHistory();
    const failedId = server.last.PhysicalResourceId;
    await handler(deleteEvent(server.url, failedId, props(users)), context());
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: failedId });
    expect(cognito.calls()).toHaveLength(0);
  });

  test('fails when a user already exists, and never deletes that user', async () => {
    cognito.on(AdminCreateUserCommand).resolves({});
    cognito
      .on(AdminCreateUserCommand, { Username: 'u2' })
      .rejects(awsError('UsernameExistsException', 'User account already exists'));
    cognito.on(AdminGetUserCommand, { Username: 'u2' }).resolves({
      Username: 'u2',
      UserAttributes: [],
      UserCreateDate: new Date('2020-01-01T00:00:00Z'),
    });
    cognito.on(AdminListGroupsForUserCommand).resolves({ Groups: [] });
    cognito.on(AdminDeleteUserCommand).resolves({});

    await handler(createEvent(server.url, props(users.slice(0, 3), { MaxConcurrency: '1' })), context());

    expect(server.last.Status).toBe('FAILED');
    expect(server.last.Reason).toMatch(/user 'u2': already exists in pool .* adoptExistingUsers: true/);
    const deleted = cognito.commandCalls(AdminDeleteUserCommand).map((c) => c.args[0].input.Username);
    expect(deleted).toEqual(['u1']);
  });

  test('adopts an existing user when told to: attributes, password and groups set, never deleted on failure', async () => {
    cognito.on(AdminCreateUserCommand, { Username: 'alice' }).rejects(awsError('UsernameExistsException'));
    cognito.on(AdminUpdateUserAttributesCommand, { Username: 'alice' }).resolves({});
    cognito.on(AdminSetUserPasswordCommand, { Username: 'alice', Password: ALICE_PW, Permanent: true }).resolves({});
    cognito.on(AdminAddUserToGroupCommand, { Username: 'alice', GroupName: 'admins' }).resolves({});

    await handler(createEvent(server.url, props([alice], { AdoptExistingUsers: 'true' })), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(cognito).toHaveReceivedCommandTimes(AdminSetUserPasswordCommand, 1);
    expect(output.lines()).toContainEqual(expect.objectContaining({ user: 'alice', outcome: 'adopted' }));
  });
});

describe('repeat delivery', () => {
  test('a second Create finds its own users and answers SUCCESS with the same id, deleting nothing', async () => {
    allowWrites();
    const event = createEvent(server.url, props([alice, bob]));
    await handler(event, context());
    const first = server.last;

    // The users now exist, made moments ago, exactly as specified.
    cognito.on(AdminCreateUserCommand).rejects(awsError('UsernameExistsException'));
    cognito.on(AdminGetUserCommand, { Username: 'alice' }).resolves({
      UserAttributes: [
        { Name: 'sub', Value: 'x' },
        { Name: 'email', Value: 'alice@example.com' },
        { Name: 'email_verified', Value: 'true' },
      ],
      UserStatus: 'CONFIRMED',
      UserCreateDate: new Date(),
    });
    cognito
      .on(AdminGetUserCommand, { Username: 'bob' })
      .resolves({ UserAttributes: [], UserStatus: 'FORCE_CHANGE_PASSWORD', UserCreateDate: new Date() });
    cognito.on(AdminListGroupsForUserCommand, { Username: 'alice' }).resolves({ Groups: [{ GroupName: 'admins' }] });
    cognito.on(AdminListGroupsForUserCommand, { Username: 'bob' }).resolves({ Groups: [] });
    cognito.resetHistory();

    await handler(event, context());

    expect(server.bodies).toHaveLength(2);
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: first.PhysicalResourceId });
    expect(cognito).toHaveReceivedCommandTimes(AdminDeleteUserCommand, 0);
    expect(cognito).toHaveReceivedCommandTimes(AdminSetUserPasswordCommand, 0);
  });

  test('a second Delete finds the users gone and answers SUCCESS', async () => {
    cognito.on(AdminDeleteUserCommand).rejects(awsError('UserNotFoundException', 'User does not exist.'));
    const event = deleteEvent(server.url, PHYSICAL_ID, props([alice, bob]));

    await handler(event, context());
    await handler(event, context());

    expect(server.bodies.map((b) => b.Status)).toEqual(['SUCCESS', 'SUCCESS']);
  });
});

describe('Update', () => {
  test('diffs user by user: added, removed, attributes, groups, passwordRevision, and no call for an unchanged user', async () => {
    // GIVEN
    allowWrites();
    const carol = { ...bob, Username: 'carol' };
    const erin = {
      ...bob,
      Username: 'erin',
      Attributes: { given_name: 'Erin', email: 'erin@example.com' },
      Groups: ['admins'],
    };
    const oldProps = props([alice, carol, erin, { ...bob, Username: 'gone' }]);
    const newProps = props([
      { ...alice, PasswordRevision: '2' },
      carol,
      { ...erin, Attributes: { given_name: 'Erin B' }, Groups: ['testers'] },
      { ...bob, Username: 'new' },
    ]);

    // WHEN
    await handler(updateEvent(server.url, PHYSICAL_ID, oldProps, newProps), context());

    // THEN
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    const usersCalled = cognito.calls().map((c) => (c.args[0].input as { Username?: string }).Username);
    expect(usersCalled).not.toContain('carol');
    expect(cognito).toHaveReceivedCommandWith(AdminCreateUserCommand, { Username: 'new', TemporaryPassword: BOB_PW });
    expect(cognito).toHaveReceivedCommandWith(AdminDeleteUserCommand, { Username: 'gone' });
    expect(cognito).toHaveReceivedCommandWith(AdminSetUserPasswordCommand, { Username: 'alice', Permanent: true });
    expect(cognito).toHaveReceivedCommandWith(AdminUpdateUserAttributesCommand, {
      Username: 'erin',
      UserAttributes: [{ Name: 'given_name', Value: 'Erin B' }],
    });
    expect(cognito).toHaveReceivedCommandWith(AdminDeleteUserAttributesCommand, {
      Username: 'erin',
      UserAttributeNames: ['email'],
    });
    expect(cognito).toHaveReceivedCommandWith(AdminAddUserToGroupCommand, { Username: 'erin', GroupName: 'testers' });
    expect(cognito).toHaveReceivedCommandWith(AdminRemoveUserFromGroupCommand, {
      Username: 'erin',
      GroupName: 'admins',
    });
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 1);
    expect(cognito).toHaveReceivedCommandTimes(AdminDeleteUserCommand, 1);
  });

  test('unchanged properties make no Cognito call at all', async () => {
    await handler(updateEvent(server.url, PHYSICAL_ID, props([alice, bob]), props([alice, bob])), context());

    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(cognito.calls()).toHaveLength(0);
  });

  test('a changed password source or mode re-applies the password', async () => {
    cognito.on(AdminSetUserPasswordCommand, { Username: 'bob', Password: BOB_PW, Permanent: true }).resolves({});

    await handler(
      updateEvent(server.url, PHYSICAL_ID, props([bob]), props([{ ...bob, Mode: 'PERMANENT' }])),
      context(),
    );

    expect(server.last.Status).toBe('SUCCESS');
    expect(cognito).toHaveReceivedCommandTimes(AdminSetUserPasswordCommand, 1);
  });

  test('a removed user is kept when the removal policy is retain', async () => {
    await handler(
      updateEvent(
        server.url,
        PHYSICAL_ID,
        props([alice, bob], { RemovalPolicy: 'retain' }),
        props([bob], { RemovalPolicy: 'retain' }),
      ),
      context(),
    );

    expect(server.last.Status).toBe('SUCCESS');
    expect(cognito).toHaveReceivedCommandTimes(AdminDeleteUserCommand, 0);
  });

  test('a new pool gets a new physical id and every user is created there, the old pool untouched', async () => {
    const NEW_POOL = 'us-east-1_POOL2';
    describePool(NEW_POOL);
    cognito.on(AdminCreateUserCommand, { UserPoolId: NEW_POOL }).resolves({});
    cognito.on(AdminSetUserPasswordCommand, { UserPoolId: NEW_POOL }).resolves({});
    cognito.on(AdminAddUserToGroupCommand, { UserPoolId: NEW_POOL }).resolves({});

    await handler(
      updateEvent(server.url, PHYSICAL_ID, props([alice, bob]), props([alice, bob], { UserPoolId: NEW_POOL })),
      context(),
    );

    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `${NEW_POOL}/UsersSeeder7F21A71B` });
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 2);
    const pools = new Set(cognito.calls().map((c) => (c.args[0].input as { UserPoolId?: string }).UserPoolId));
    expect(pools).toEqual(new Set([NEW_POOL]));
  });

  test('a failed update answers FAILED with the old physical id and removes the users it created', async () => {
    allowWrites();
    cognito.on(AdminUpdateUserAttributesCommand).rejects(awsError('InvalidParameterException', 'bad attribute'));
    const oldProps = props([alice]);
    const newProps = props([{ ...alice, Attributes: { ...alice.Attributes, given_name: 'A' } }, bob]);

    await handler(updateEvent(server.url, PHYSICAL_ID, oldProps, newProps), context());

    expect(server.last).toMatchObject({ Status: 'FAILED', PhysicalResourceId: PHYSICAL_ID });
    expect(server.last.Reason).toMatch(/user 'alice': modify failed/);
    // bob may or may not have been created before the failure; if he was, he was removed again.
    const created = cognito.commandCalls(AdminCreateUserCommand).map((c) => c.args[0].input.Username);
    const deleted = cognito.commandCalls(AdminDeleteUserCommand).map((c) => c.args[0].input.Username);
    expect(deleted).toEqual(created);
  });

  test('the rollback update re-adds a removed user that still exists, as it was, without failing', async () => {
    // A forward update removing bob failed before deleting him; the rollback adds him back.
    cognito.on(AdminCreateUserCommand, { Username: 'bob' }).rejects(awsError('UsernameExistsException'));
    cognito
      .on(AdminGetUserCommand, { Username: 'bob' })
      .resolves({ UserAttributes: [], UserCreateDate: new Date('2020-01-01') });
    cognito.on(AdminListGroupsForUserCommand).resolves({ Groups: [] });

    await handler(updateEvent(server.url, PHYSICAL_ID, props([alice]), props([alice, bob])), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(cognito).toHaveReceivedCommandTimes(AdminSetUserPasswordCommand, 0);
    expect(cognito).toHaveReceivedCommandTimes(AdminDeleteUserCommand, 0);
  });
});

describe('Delete', () => {
  test('deletes every listed user; users already gone count as done', async () => {
    cognito.on(AdminDeleteUserCommand, { UserPoolId: POOL_ID, Username: 'alice' }).resolves({});
    cognito
      .on(AdminDeleteUserCommand, { UserPoolId: POOL_ID, Username: 'bob' })
      .rejects(awsError('UserNotFoundException'));

    await handler(deleteEvent(server.url, PHYSICAL_ID, props([alice, bob])), context());

    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(cognito).toHaveReceivedCommandTimes(AdminDeleteUserCommand, 2);
  });

  test('a pool that is gone counts as done', async () => {
    cognito.on(AdminDeleteUserCommand).rejects(awsError('ResourceNotFoundException', 'User pool does not exist.'));

    await handler(deleteEvent(server.url, PHYSICAL_ID, props([alice, bob])), context());

    expect(server.last.Status).toBe('SUCCESS');
  });

  test('keeps every user when the removal policy is retain', async () => {
    await handler(deleteEvent(server.url, PHYSICAL_ID, props([alice, bob], { RemovalPolicy: 'retain' })), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(cognito.calls()).toHaveLength(0);
  });

  test('answers SUCCESS on properties it cannot read, so the stack can still be deleted', async () => {
    await handler(deleteEvent(server.url, PHYSICAL_ID, { Users: 'nonsense' }), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(cognito.calls()).toHaveLength(0);
  });

  test('fails on a real error, such as missing permissions', async () => {
    cognito.on(AdminDeleteUserCommand).rejects(awsError('AccessDeniedException', 'not authorized'));

    await handler(deleteEvent(server.url, PHYSICAL_ID, props([alice])), context());

    expect(server.last.Status).toBe('FAILED');
    expect(server.last.Reason).toMatch(/user 'alice': delete failed \(AccessDeniedException/);
  });
});

describe('pace and resilience', () => {
  test('throttling is retried with backoff, never surfaced while time remains', async () => {
    cognito
      .on(AdminCreateUserCommand)
      .rejectsOnce(awsError('TooManyRequestsException', 'Too many requests'))
      .rejectsOnce(awsError('TooManyRequestsException', 'Too many requests'))
      .resolves({});

    await handler(createEvent(server.url, props([bob])), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 3);
  });

  test('the timeout guard answers FAILED before the function times out, even if a call hangs', async () => {
    cognito.on(AdminCreateUserCommand).callsFake(() => new Promise(() => undefined));
    const started = Date.now();

    await handler(createEvent(server.url, props([bob])), context(2000));

    const elapsed = Date.now() - started;
    expect(server.last.Status).toBe('FAILED');
    expect(server.last.Reason).toMatch(/did not finish before the function's timeout/);
    expect(elapsed).toBeLessThan(2000);
    expect(server.bodies).toHaveLength(1);
  });

  test('a response PUT that fails once is retried', async () => {
    cognito.on(AdminCreateUserCommand).resolves({});
    server.failFirst = 1;

    await handler(createEvent(server.url, props([bob])), context());

    expect(server.bodies).toHaveLength(1);
    expect(server.last.Status).toBe('SUCCESS');
  });

  test('logs one JSON line per user action and a summary line', async () => {
    allowWrites();

    await handler(createEvent(server.url, props([alice, bob])), context());

    const lines = output.lines();
    expect(lines).toContainEqual(
      expect.objectContaining({ user: 'alice', action: 'create', outcome: 'created', ms: expect.any(Number) }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ user: 'bob', action: 'create', outcome: 'created' }));
    expect(lines).toContainEqual(
      expect.objectContaining({ requestType: 'Create', outcome: 'SUCCESS', users: 2, created: 2 }),
    );
  });
});

describe('users file (large populations)', () => {
  const s3 = mockClient(S3Client);
  // The handler reads the body with transformToString, as the SDK's stream mixin offers.
  const object = (text: string) => ({ Body: { transformToString: async () => text } }) as never;
  const fileProps = (key: string, text: string, tokens: string[]) =>
    props([], {
      Users: undefined,
      UsersFile: {
        Bucket: 'assets',
        Key: key,
        ObjectArn: `arn:aws:s3:::assets/${key}`,
        Sha256: crypto.createHash('sha256').update(text).digest('hex'),
      },
      Tokens: tokens,
    });
  const v1 = JSON.stringify([
    { Username: 'f1', Mode: 'TEMPORARY', Password: { Source: 'ssm', ParameterName: PARAM } },
    {
      Username: 'f2',
      Mode: 'PERMANENT',
      Password: { Source: 'secretsmanager', SecretArn: { $token: 0 } },
      Groups: [{ $token: 1 }],
    },
  ]);

  beforeEach(() => s3.reset());

  test('reads the users from S3, puts the resolved tokens back, and returns the object ARN', async () => {
    s3.on(GetObjectCommand, { Bucket: 'assets', Key: 'v1.json' }).resolves(object(v1));
    allowWrites();

    await handler(createEvent(server.url, fileProps('v1.json', v1, [SECRET_ARN, 'admins'])), context());

    expect(server.last).toMatchObject({
      Status: 'SUCCESS',
      Data: { UserCount: '2', UsersObjectArn: 'arn:aws:s3:::assets/v1.json' },
    });
    expect(cognito).toHaveReceivedCommandWith(AdminSetUserPasswordCommand, { Username: 'f2', Password: ALICE_PW });
    expect(cognito).toHaveReceivedCommandWith(AdminAddUserToGroupCommand, { Username: 'f2', GroupName: 'admins' });
  });

  test('an update reads the old file and the new one and diffs them', async () => {
    const v2 = JSON.stringify([
      JSON.parse(v1)[0],
      { Username: 'f3', Mode: 'TEMPORARY', Password: { Source: 'ssm', ParameterName: PARAM } },
    ]);
    s3.on(GetObjectCommand, { Key: 'v1.json' })
      .resolves(object(v1))
      .on(GetObjectCommand, { Key: 'v2.json' })
      .resolves(object(v2));
    allowWrites();

    await handler(
      updateEvent(
        server.url,
        PHYSICAL_ID,
        fileProps('v1.json', v1, [SECRET_ARN, 'admins']),
        fileProps('v2.json', v2, []),
      ),
      context(),
    );

    expect(server.last.Status).toBe('SUCCESS');
    expect(cognito).toHaveReceivedCommandWith(AdminCreateUserCommand, { Username: 'f3' });
    expect(cognito).toHaveReceivedCommandWith(AdminDeleteUserCommand, { Username: 'f2' });
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 1);
  });

  test('fails when the file does not match its hash, with nothing written', async () => {
    s3.on(GetObjectCommand).resolves(object(v1.replace('f1', 'zz')));
    allowWrites();

    await handler(createEvent(server.url, fileProps('v1.json', v1, [SECRET_ARN, 'admins'])), context());

    expect(server.last.Status).toBe('FAILED');
    expect(server.last.Reason).toMatch(/users file s3:\/\/assets\/v1.json does not match its SHA-256/);
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 0);
  });
});

describe('pace at the floor', () => {
  test('calls per user: TEMPORARY one, PERMANENT two, plus one per group', async () => {
    allowWrites();
    const users = [
      { ...bob, Username: 't1' },
      { ...alice, Username: 'p1', Attributes: undefined, Groups: undefined },
      { ...alice, Username: 'p2', Attributes: undefined, Groups: ['admins', 'testers'] },
    ];

    await handler(createEvent(server.url, props(users)), context());

    const writes = cognito
      .calls()
      .filter((c) => !['DescribeUserPoolCommand', 'GetGroupCommand'].includes(c.args[0].constructor.name));
    const perUser = (u: string) =>
      writes.filter((c) => (c.args[0].input as { Username?: string }).Username === u).length;
    expect([perUser('t1'), perUser('p1'), perUser('p2')]).toEqual([1, 2, 4]);
  });

  test('fails early, before any write, when the users cannot be seeded in the time left', async () => {
    allowWrites();
    const users = Array.from({ length: 30 }, (_, i) => ({ ...bob, Username: `u${i}` }));

    await handler(
      createEvent(server.url, props(users, { Rates: { Create: '1', Recovery: '1', Write: '1', Read: '100' } })),
      context(20_000),
    );

    expect(server.last.Status).toBe('FAILED');
    expect(server.last.Reason).toMatch(
      /the users need about 30 s at the configured rates \(30 AdminCreateUser at 1\/s.*and the function has 1[0-9] s left; nothing was written/,
    );
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 0);
  });
});
