import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserAttributesCommand,
  AdminDeleteUserCommand,
  AdminGetUserCommand,
  AdminRemoveUserFromGroupCommand,
  AdminResetUserPasswordCommand,
  AdminSetUserPasswordCommand,
  AdminUpdateUserAttributesCommand,
  DescribeUserPoolCommand,
  GetGroupCommand,
  ListUsersCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import * as crypto from 'crypto';
import { mockClient } from 'aws-sdk-client-mock';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import 'aws-sdk-client-mock-jest';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { passwordPolicyViolations } from '../lambda/plan';
import {
  CfnResponseBody,
  context,
  createEvent,
  deleteEvent,
  fromResource,
  LOGICAL_ID,
  physicalIdOf,
  POOL_ID,
  props,
  updateEvent,
} from './support/cfn';
import { inProcessHandler } from './support/in-process';
import { SERVICE_TIMEOUT_ENV } from '../lib/private/contract';
import type { LedgerUser } from './support/ledger';
import {
  absent,
  absentThenCreated,
  awsError,
  cognito,
  createdUser,
  createsAnyUser,
  describePool,
  listsUsers,
  POLICY,
  PoolUsernames,
  present,
  secrets,
  ssm,
  strictMocks,
  subOf,
} from './support/mocks';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:alice-AbCdEf';
const JSON_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:json-AbCdEf';
const PARAM = '/seed/bob';
const ALICE_PW = 'Alice-Passw0rd!';
const BOB_PW = 'Bob-Temp-Passw0rd!';
const JSON_PW = 'Json-Field-Passw0rd!';
const NEW_POOL = 'us-east-1_POOL2';
const OTHER_SEEDER = 'OtherSeederA1B2C3D4';

interface User {
  readonly Username: string;
  readonly [property: string]: unknown;
}

const alice: User = {
  Username: 'alice',
  Mode: 'PERMANENT',
  Password: { Source: 'secretsmanager', SecretArn: SECRET_ARN },
  Attributes: { email: 'alice@example.com', email_verified: 'true' },
  Groups: ['admins'],
};
const bob: User = { Username: 'bob', Mode: 'TEMPORARY', Password: { Source: 'ssm', ParameterName: PARAM } };
const dave: User = {
  Username: 'dave',
  Mode: 'RESET_REQUIRED',
  Attributes: { email: 'dave@example.com', email_verified: 'true' },
};
const PHYSICAL_ID = physicalIdOf(POOL_ID);

const { server, ledger, output, deliver, engine } = inProcessHandler(() => resetMocks());
afterEach(async () => {
  // Canaries: no password and no part of the ResponseURL is printed, answered or recorded.
  const printed = output.text();
  const answered = server.raw.join('\n');
  const recorded = JSON.stringify(await ledger.items());
  for (const canary of [ALICE_PW, BOB_PW, JSON_PW, 'RESPONSE-URL-CANARY', 'SIG-CANARY']) {
    expect({ canary, printed: printed.includes(canary), answered: answered.includes(canary) }).toEqual({
      canary,
      printed: false,
      answered: false,
    });
    expect({ canary, recorded: recorded.includes(canary) }).toEqual({ canary, recorded: false });
  }
});

/** Strict mocks again, and the password sources, each at a version. */
function resetMocks(usernames: PoolUsernames = {}): void {
  strictMocks();
  describePool(POOL_ID, ['admins', 'testers'], usernames);
  secrets
    .on(GetSecretValueCommand, { SecretId: SECRET_ARN })
    .resolves({ SecretString: ALICE_PW, VersionId: 'alice-v1' });
  secrets
    .on(GetSecretValueCommand, { SecretId: JSON_SECRET_ARN })
    .resolves({ SecretString: JSON.stringify({ username: 'x', password: JSON_PW }), VersionId: 'json-v1' });
  ssm
    .on(GetParameterCommand, { Name: PARAM, WithDecryption: true })
    .resolves({ Parameter: { Type: 'SecureString', Value: BOB_PW, Version: 1 } });
}

/** Every write succeeds; AdminCreateUser answers with the new user's `sub`. */
function allowWrites(poolId: string = POOL_ID): void {
  createsAnyUser(poolId);
  cognito.on(AdminSetUserPasswordCommand).resolves({});
  cognito.on(AdminResetUserPasswordCommand).resolves({});
  cognito.on(AdminAddUserToGroupCommand).resolves({});
  cognito.on(AdminRemoveUserFromGroupCommand).resolves({});
  cognito.on(AdminUpdateUserAttributesCommand).resolves({});
  cognito.on(AdminDeleteUserAttributesCommand).resolves({});
  cognito.on(AdminDeleteUserCommand).resolves({});
}

const usernamesOf = (users: readonly User[]) => users.map((u) => u.Username);

interface SeedOptions {
  readonly overrides?: Record<string, unknown>;
  readonly logicalId?: string;
  readonly usernames?: PoolUsernames;
  /** Users already in the pool before the Create (to adopt). */
  readonly existing?: string[];
}

/**
 * A successful Create through the handler, so the ledger holds `users`; then fresh strict
 * mocks in which the pool has every one of them, with the `sub` the ledger recorded.
 */
async function seed(users: readonly User[], options: SeedOptions = {}): Promise<CfnResponseBody> {
  const poolId = String(options.overrides?.UserPoolId ?? POOL_ID);
  resetMocks(options.usernames);
  if (poolId !== POOL_ID) describePool(poolId, ['admins', 'testers'], options.usernames);
  absent(usernamesOf(users), poolId);
  present(options.existing ?? [], { poolId });
  allowWrites(poolId);
  let event = createEvent(server.url, props([...users], options.overrides));
  if (options.logicalId) event = fromResource(event, options.logicalId);
  await deliver(event, context());
  const answer = server.last;
  expect({ seeded: answer.Status, reason: answer.Reason }).toEqual({ seeded: 'SUCCESS', reason: undefined });
  server.reset();
  resetMocks(options.usernames);
  if (poolId !== POOL_ID) describePool(poolId, ['admins', 'testers'], options.usernames);
  present(usernamesOf(users), { poolId, createdAt: new Date() });
  return answer;
}

/** Cognito calls in order, as `Command Username` (or `Command` when it names no user). */
function callLog(): string[] {
  return cognito.calls().map((c) => {
    const command = c.args[0] as unknown as { constructor: { name: string }; input: { Username?: string } };
    const name = command.constructor.name.replace(/Command$/, '');
    return command.input.Username ? `${name} ${command.input.Username}` : name;
  });
}

/** The calls that change a user (no reads). */
function writeLog(): string[] {
  return callLog().filter((c) => !/^(DescribeUserPool|GetGroup|AdminGetUser|ListUsers)\b/.test(c));
}

const held = (u: LedgerUser) => ({
  username: u.username,
  owner: u.owner,
  origin: u.origin,
  state: u.state,
  sub: u.sub,
});

describe('Create', () => {
  test('PERMANENT: AdminCreateUser without a password, then AdminSetUserPassword permanent, then groups', async () => {
    // GIVEN
    absent(['alice']);
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
      .resolves(createdUser('alice'));
    cognito
      .on(AdminSetUserPasswordCommand, { UserPoolId: POOL_ID, Username: 'alice', Password: ALICE_PW, Permanent: true })
      .resolves({});
    cognito
      .on(AdminAddUserToGroupCommand, { UserPoolId: POOL_ID, Username: 'alice', GroupName: 'admins' })
      .resolves({});

    // WHEN
    const event = createEvent(server.url, props([alice]));
    await deliver(event, context());

    // THEN
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(server.last.Data).toEqual({ UserPoolId: POOL_ID, UserCount: '1' });
    expect(callLog()).toEqual([
      'DescribeUserPool',
      'AdminGetUser alice',
      'GetGroup',
      'AdminCreateUser alice',
      'AdminSetUserPassword alice',
      'AdminAddUserToGroup alice',
    ]);
    expect(cognito.commandCalls(AdminCreateUserCommand)[0].args[0].input.TemporaryPassword).toBeUndefined();
    // AND the ledger holds her as created, with her sub and the secret version used
    const users = await ledger.users();
    expect(users.map(held)).toEqual([
      { username: 'alice', owner: LOGICAL_ID, origin: 'created', state: 'present', sub: subOf('alice') },
    ]);
    expect(users[0].requestId).toBe(event.RequestId);
    expect(users[0].applied).toEqual({
      mode: 'PERMANENT',
      attributes: { email: 'alice@example.com', email_verified: 'true' },
      groups: ['admins'],
      source: `secretsmanager:${SECRET_ARN}#`,
      sourceVersion: 'alice-v1',
    });
  });

  test('TEMPORARY: one AdminCreateUser call carrying the SSM password as TemporaryPassword', async () => {
    absent(['bob']);
    cognito
      .on(AdminCreateUserCommand, {
        UserPoolId: POOL_ID,
        Username: 'bob',
        TemporaryPassword: BOB_PW,
        MessageAction: 'SUPPRESS',
      })
      .resolves(createdUser('bob'));

    await deliver(createEvent(server.url, props([bob])), context());

    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, { Name: PARAM, WithDecryption: true });
    expect(writeLog()).toEqual(['AdminCreateUser bob']);
    const [record] = await ledger.users();
    expect(held(record)).toEqual({
      username: 'bob',
      owner: LOGICAL_ID,
      origin: 'created',
      state: 'present',
      sub: subOf('bob'),
    });
    expect(record.applied).toMatchObject({ mode: 'TEMPORARY', source: `ssm:${PARAM}`, sourceVersion: '1' });
  });

  test('records the sub with AdminGetUser when AdminCreateUser does not return it', async () => {
    cognito
      .on(AdminGetUserCommand, { UserPoolId: POOL_ID, Username: 'bob' })
      .rejectsOnce(awsError('UserNotFoundException'))
      .resolves({ Username: 'bob', UserAttributes: [{ Name: 'sub', Value: 'sub-read-back' }] });
    cognito
      .on(AdminCreateUserCommand, { UserPoolId: POOL_ID, Username: 'bob' })
      .resolves({ User: { Username: 'bob' } });

    await deliver(createEvent(server.url, props([bob])), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(callLog()).toEqual(['DescribeUserPool', 'AdminGetUser bob', 'AdminCreateUser bob', 'AdminGetUser bob']);
    expect((await ledger.users()).map(held)).toEqual([
      { username: 'bob', owner: LOGICAL_ID, origin: 'created', state: 'present', sub: 'sub-read-back' },
    ]);
  });

  test('RESET_REQUIRED: create, a throwaway permanent password that meets the policy, then reset', async () => {
    absent(['dave']);
    cognito.on(AdminCreateUserCommand, { UserPoolId: POOL_ID, Username: 'dave' }).resolves(createdUser('dave'));
    cognito.on(AdminSetUserPasswordCommand, { UserPoolId: POOL_ID, Username: 'dave', Permanent: true }).resolves({});
    cognito.on(AdminResetUserPasswordCommand, { UserPoolId: POOL_ID, Username: 'dave' }).resolves({});

    await deliver(createEvent(server.url, props([dave])), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(writeLog()).toEqual(['AdminCreateUser dave', 'AdminSetUserPassword dave', 'AdminResetUserPassword dave']);
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
    expect(server.raw.join('')).not.toContain(throwaway);
    expect(JSON.stringify(await ledger.items())).not.toContain(throwaway);
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 0);
  });

  test('reads one JSON field of a secret', async () => {
    absent(['json']);
    createsAnyUser();
    cognito
      .on(AdminSetUserPasswordCommand, { UserPoolId: POOL_ID, Username: 'json', Password: JSON_PW, Permanent: true })
      .resolves({});
    const user = {
      Username: 'json',
      Mode: 'PERMANENT',
      Password: { Source: 'secretsmanager', SecretArn: JSON_SECRET_ARN, JsonField: 'password' },
    };

    await deliver(createEvent(server.url, props([user])), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(cognito).toHaveReceivedCommandTimes(AdminSetUserPasswordCommand, 1);
    expect((await ledger.users())[0].applied).toMatchObject({
      source: `secretsmanager:${JSON_SECRET_ARN}#password`,
      sourceVersion: 'json-v1',
    });
  });

  test('a secret shared by many users is read once', async () => {
    const users = Array.from({ length: 25 }, (_, i) => ({ ...alice, Username: `load-${i}`, Groups: undefined }));
    absent(usernamesOf(users));
    allowWrites();

    await deliver(createEvent(server.url, props(users)), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(server.last.Data?.UserCount).toBe('25');
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(cognito).toHaveReceivedCommandTimes(AdminGetUserCommand, 25);
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 25);
    expect(await ledger.users()).toHaveLength(25);
  });

  test('never has more users in flight than MaxConcurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    cognito.on(AdminCreateUserCommand).callsFake(async (input: { Username: string }) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return createdUser(input.Username);
    });
    const users = Array.from({ length: 20 }, (_, i) => ({ ...bob, Username: `t-${i}` }));
    absent(usernamesOf(users));

    await deliver(createEvent(server.url, props(users, { MaxConcurrency: '3' })), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(peak).toBe(3);
  });
});

describe('Create pre-flight: a bad input fails before anything is written', () => {
  /** Nothing written: no Cognito write, no user in the ledger. */
  async function expectNothingWritten(): Promise<void> {
    expect(writeLog()).toEqual([]);
    expect(await ledger.users()).toEqual([]);
  }

  test('fails when a password breaks the live pool policy, naming the user and the rule', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: 'short' });
    absent(['alice', 'bob']);
    allowWrites();

    await deliver(createEvent(server.url, props([bob, alice])), context());

    expect(server.last).toMatchObject({ Status: 'FAILED', PhysicalResourceId: PHYSICAL_ID });
    expect(server.last.Reason).toMatch(/user 'alice'.*password policy.*at least 10 characters/);
    await expectNothingWritten();
  });

  test('fails when a group does not exist', async () => {
    absent(['alice']);
    allowWrites();

    await deliver(createEvent(server.url, props([{ ...alice, Groups: ['ghosts'] }])), context());

    expect(server.last.Status).toBe('FAILED');
    expect(server.last.Reason).toMatch(/user 'alice'.*group 'ghosts' does not exist/);
    await expectNothingWritten();
  });

  test('fails when a secret cannot be read', async () => {
    secrets
      .on(GetSecretValueCommand, { SecretId: SECRET_ARN })
      .rejects(awsError('AccessDeniedException', 'not allowed'));
    absent(['alice']);
    allowWrites();

    await deliver(createEvent(server.url, props([alice])), context());

    expect(server.last.Status).toBe('FAILED');
    expect(server.last.Reason).toMatch(/user 'alice'.*secret .*alice-AbCdEf could not be read \(AccessDeniedException/);
    await expectNothingWritten();
  });

  test('fails when an attribute is not in the pool schema', async () => {
    absent(['bob']);
    allowWrites();

    await deliver(createEvent(server.url, props([{ ...bob, Attributes: { 'custom:missing': 'x' } }])), context());

    expect(server.last.Status).toBe('FAILED');
    expect(server.last.Reason).toMatch(/user 'bob'.*custom:missing.*not in the pool's schema/);
    await expectNothingWritten();
  });

  test('fails when the pool does not exist', async () => {
    cognito.on(DescribeUserPoolCommand).rejects(awsError('ResourceNotFoundException', 'User pool does not exist.'));
    allowWrites();

    await deliver(createEvent(server.url, props([bob])), context());

    expect(server.last).toMatchObject({ Status: 'FAILED', PhysicalResourceId: PHYSICAL_ID });
    expect(server.last.Reason).toMatch(/user pool us-east-1_POOL1 does not exist/);
    await expectNothingWritten();
  });

  test('fails when a group cannot be checked, before any write', async () => {
    absent(['alice']);
    cognito
      .on(GetGroupCommand, { UserPoolId: POOL_ID, GroupName: 'admins' })
      .rejects(awsError('AccessDeniedException', 'not authorized to perform cognito-idp:GetGroup'));
    allowWrites();

    await deliver(createEvent(server.url, props([alice])), context());

    expect(server.last).toMatchObject({ Status: 'FAILED', PhysicalResourceId: PHYSICAL_ID });
    expect(server.last.Reason).toMatch(/AccessDeniedException/);
    await expectNothingWritten();
  });

  test('fails when a user cannot be looked up, naming the cause, before any write', async () => {
    absent(['bob']);
    cognito
      .on(AdminGetUserCommand, { UserPoolId: POOL_ID, Username: 'bob' })
      .rejects(awsError('AccessDeniedException', 'not authorized to perform cognito-idp:AdminGetUser'));
    allowWrites();

    await deliver(createEvent(server.url, props([bob])), context());

    expect(server.last).toMatchObject({ Status: 'FAILED', PhysicalResourceId: PHYSICAL_ID });
    expect(server.last.Reason).toMatch(/AccessDeniedException: not authorized to perform cognito-idp:AdminGetUser/);
    await expectNothingWritten();
  });

  test('fails when a listed user exists in the pool and the ledger does not hold it, naming it', async () => {
    const users = ['u1', 'u2', 'u3'].map((Username) => ({ ...bob, Username }));
    absent(['u1', 'u3']);
    present(['u2']);
    allowWrites();

    await deliver(createEvent(server.url, props(users)), context());

    expect(server.last).toMatchObject({ Status: 'FAILED', PhysicalResourceId: PHYSICAL_ID });
    expect(server.last.Reason).toMatch(
      /user 'u2' already exists in the pool and was not created by this seeder.*adoptExistingUsers: true/,
    );
    expect(server.last.Reason).not.toMatch(/'u1'|'u3'/);
    expect(cognito).toHaveReceivedCommandTimes(AdminGetUserCommand, 3);
    await expectNothingWritten();
  });

  test('fails when another seed resource of the stack holds a listed user', async () => {
    await seed([alice], { logicalId: OTHER_SEEDER });
    absent(['bob']);
    allowWrites();

    await deliver(createEvent(server.url, props([alice, bob])), context());

    expect(server.last.Status).toBe('FAILED');
    expect(server.last.Reason).toMatch(new RegExp(`user 'alice' is held by seed resource ${OTHER_SEEDER}`));
    expect(writeLog()).toEqual([]);
    expect((await ledger.users()).map(held)).toEqual([
      { username: 'alice', owner: OTHER_SEEDER, origin: 'created', state: 'present', sub: subOf('alice') },
    ]);
  });

  test('fails on properties it cannot read, with nothing written, and its rollback Delete removes nothing', async () => {
    await deliver(createEvent(server.url, props([{ Username: 'x', Mode: 'SOMETIMES' }])), context());

    expect(server.last.Status).toBe('FAILED');
    expect(server.last.Reason).toMatch(/mode 'SOMETIMES' is not one of PERMANENT, TEMPORARY, RESET_REQUIRED/);
    expect(cognito.calls()).toHaveLength(0);
    expect(await ledger.users()).toEqual([]);

    // AND the Delete of the id it answered touches no user
    const failedId = server.last.PhysicalResourceId;
    await deliver(deleteEvent(server.url, failedId, props([{ Username: 'x', Mode: 'SOMETIMES' }])), context());
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: failedId });
    expect(cognito.calls()).toHaveLength(0);
  });
});

describe('pre-flight lookups', () => {
  const many = Array.from({ length: 120 }, (_, i) => ({ ...bob, Username: `u${i}` }));

  test('many new users in a small pool: ListUsers pages instead of one AdminGetUser each', async () => {
    resetMocks({ estimatedUsers: 2 });
    listsUsers([[{ Username: 'hand-made' }], [{ Username: 'another' }]]);
    allowWrites();

    await deliver(createEvent(server.url, props(many)), context());

    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(cognito).toHaveReceivedCommandTimes(ListUsersCommand, 2);
    expect(cognito).toHaveReceivedCommandWith(ListUsersCommand, { UserPoolId: POOL_ID, PaginationToken: 'page-1' });
    expect(cognito).toHaveReceivedCommandTimes(AdminGetUserCommand, 0);
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 120);
    expect(await ledger.users()).toHaveLength(120);
  });

  test('fails when a listed user is on any ListUsers page, with nothing written', async () => {
    resetMocks({ estimatedUsers: 2 });
    listsUsers([[{ Username: 'hand-made' }], [{ Username: 'u7' }]]);
    allowWrites();

    await deliver(createEvent(server.url, props(many)), context());

    expect(server.last).toMatchObject({ Status: 'FAILED', PhysicalResourceId: PHYSICAL_ID });
    expect(server.last.Reason).toMatch(/user 'u7' already exists in the pool and was not created by this seeder/);
    expect(writeLog()).toEqual([]);
    expect(await ledger.users()).toEqual([]);
  });

  test('an email-username pool: a listed user whose email is the seeded username is found', async () => {
    resetMocks({ estimatedUsers: 1, usernameAttributes: ['email'] });
    listsUsers([[{ Username: '0000-uuid-u7', email: 'u7@example.com' }]]);
    allowWrites();
    const users = many.map((u) => ({ ...u, Username: `${u.Username}@Example.com` }));

    await deliver(createEvent(server.url, props(users)), context());

    expect(server.last.Status).toBe('FAILED');
    expect(server.last.Reason).toMatch(/user 'u7@Example.com' already exists in the pool/);
    expect(writeLog()).toEqual([]);
  });

  test('a few new users in a large pool: one AdminGetUser each, no listing', async () => {
    resetMocks({ estimatedUsers: 100_000 });
    const few = many.slice(0, 3);
    absent(usernamesOf(few));
    allowWrites();

    await deliver(createEvent(server.url, props(few)), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(cognito).toHaveReceivedCommandTimes(AdminGetUserCommand, 3);
    expect(cognito).toHaveReceivedCommandTimes(ListUsersCommand, 0);
  });
});

describe('Create is all or nothing', () => {
  const users = ['u1', 'u2', 'u3', 'u4', 'u5'].map((Username) => ({ ...bob, Username }));

  test('a failure in the middle of a batch deletes exactly the users this request created', async () => {
    // GIVEN: u3 fails; the others succeed
    absentThenCreated(['u1', 'u2', 'u4', 'u5']);
    absent(['u3']);
    createsAnyUser();
    // Not a transient fault (those are retried): Cognito refuses this one user.
    cognito.on(AdminCreateUserCommand, { Username: 'u3' }).rejects(awsError('InvalidParameterException', 'boom'));
    cognito.on(AdminDeleteUserCommand).resolves({});

    // WHEN
    await deliver(createEvent(server.url, props(users, { MaxConcurrency: '1' })), context());

    // THEN
    expect(server.last).toMatchObject({ Status: 'FAILED', PhysicalResourceId: PHYSICAL_ID });
    expect(server.last.Reason).toMatch(
      /user 'u3': create failed \(InvalidParameterException: boom\)\. Undid what this request did: deleted the 2 user\(s\) it had created\.$/,
    );
    const deleted = cognito.commandCalls(AdminDeleteUserCommand).map((c) => c.args[0].input.Username);
    expect(deleted.sort()).toEqual(['u1', 'u2']);
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 3);
    // each delete came after a sub check of that user
    const log = callLog();
    for (const u of ['u1', 'u2']) {
      expect(log.lastIndexOf(`AdminGetUser ${u}`)).toBeLessThan(log.indexOf(`AdminDeleteUser ${u}`));
    }
    expect(await ledger.users()).toEqual([]);

    // AND the rollback's Delete with the returned physical id deletes nothing
    cognito.resetHistory();
    const failedId = server.last.PhysicalResourceId;
    await deliver(deleteEvent(server.url, failedId, props(users)), context());
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: failedId });
    expect(cognito.calls()).toHaveLength(0);
  });

  test('fails when someone else creates a user while the request runs, and never deletes that user', async () => {
    // GIVEN u2 is free at pre-flight, then made by someone else before this request creates it
    absentThenCreated(['u1']);
    cognito
      .on(AdminGetUserCommand, { UserPoolId: POOL_ID, Username: 'u2' })
      .rejectsOnce(awsError('UserNotFoundException'))
      .resolves({
        Username: 'u2',
        UserAttributes: [{ Name: 'sub', Value: 'sub-made-by-hand' }],
        UserCreateDate: new Date(Date.now() - 10 * 60_000),
      });
    absent(['u3']);
    createsAnyUser();
    cognito
      .on(AdminCreateUserCommand, { Username: 'u2' })
      .rejects(awsError('UsernameExistsException', 'User account already exists'));
    cognito.on(AdminDeleteUserCommand).resolves({});

    await deliver(createEvent(server.url, props(users.slice(0, 3), { MaxConcurrency: '1' })), context());

    expect(server.last).toMatchObject({ Status: 'FAILED', PhysicalResourceId: PHYSICAL_ID });
    expect(server.last.Reason).toMatch(/user 'u2': was made in pool us-east-1_POOL1 by someone else/);
    const deleted = cognito.commandCalls(AdminDeleteUserCommand).map((c) => c.args[0].input.Username);
    expect(deleted).toEqual(['u1']);
    expect(await ledger.users()).toEqual([]);
  });

  test('a lost AdminCreateUser response: the user made inside that attempt is recognised by its creating record', async () => {
    // GIVEN the first create went through but its answer never came (a timeout); the retry meets the user
    absentThenCreated(['bob']);
    let atCreate: LedgerUser[] = [];
    cognito
      .on(AdminCreateUserCommand, { UserPoolId: POOL_ID, Username: 'bob' })
      .callsFakeOnce(async () => {
        atCreate = await ledger.users();
        throw awsError('TimeoutError', 'Connection timed out after 20000 ms');
      })
      .rejects(awsError('UsernameExistsException', 'User account already exists'));
    cognito
      .on(AdminSetUserPasswordCommand, { UserPoolId: POOL_ID, Username: 'bob', Password: BOB_PW, Permanent: false })
      .resolves({});

    // WHEN
    await deliver(createEvent(server.url, props([bob])), context());

    // THEN
    expect(atCreate.map((u) => [u.username, u.state])).toEqual([['bob', 'creating']]);
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 2);
    expect(cognito).toHaveReceivedCommandTimes(AdminDeleteUserCommand, 0);
    expect((await ledger.users()).map(held)).toEqual([
      { username: 'bob', owner: LOGICAL_ID, origin: 'created', state: 'present', sub: subOf('bob') },
    ]);
  });

  test("raceTwoStacks: a clear UsernameExistsException on the first attempt is someone else's user, never claimed or touched", async () => {
    // GIVEN bob is free at pre-flight; another stack makes him before this create lands
    absentThenCreated(['bob']);
    cognito
      .on(AdminCreateUserCommand, { UserPoolId: POOL_ID, Username: 'bob' })
      .rejects(awsError('UsernameExistsException', 'User account already exists'));

    // WHEN
    await deliver(createEvent(server.url, props([bob])), context());

    // THEN FAILED, naming the user, the rule and the fix; no write to bob; the ledger holds nothing
    expect(server.last.Status).toBe('FAILED');
    expect(server.last.Reason).toMatch(
      /user 'bob': was made in pool us-east-1_POOL1 by someone else while this request ran \(UsernameExistsException\): it is not this seeder's and was not touched; remove it from the pool or drop it from the seeder, and deploy again/,
    );
    expect(writeLog()).toEqual(['AdminCreateUser bob']);
    expect(await ledger.users()).toEqual([]);
  });

  test('adopts an existing user when told to: attributes, password and groups set, recorded as adopted', async () => {
    present(['alice']);
    cognito
      .on(AdminUpdateUserAttributesCommand, {
        UserPoolId: POOL_ID,
        Username: 'alice',
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

    await deliver(createEvent(server.url, props([alice], { AdoptExistingUsers: 'true' })), context());

    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(writeLog()).toEqual([
      'AdminUpdateUserAttributes alice',
      'AdminSetUserPassword alice',
      'AdminAddUserToGroup alice',
    ]);
    expect(output.lines()).toContainEqual(expect.objectContaining({ user: 'alice', outcome: 'adopted' }));
    expect((await ledger.users()).map(held)).toEqual([
      { username: 'alice', owner: LOGICAL_ID, origin: 'adopted', state: 'present', sub: subOf('alice') },
    ]);
  });

  test('an adopted user is released, never deleted, when the Create fails', async () => {
    present(['alice']);
    absent(['bob']);
    allowWrites();
    cognito.on(AdminCreateUserCommand, { Username: 'bob' }).rejects(awsError('InternalErrorException', 'boom'));

    await deliver(
      createEvent(server.url, props([alice, bob], { AdoptExistingUsers: 'true', MaxConcurrency: '1' })),
      context(),
    );

    expect(server.last).toMatchObject({ Status: 'FAILED', PhysicalResourceId: PHYSICAL_ID });
    expect(server.last.Reason).toMatch(/user 'bob': create failed \(InternalErrorException: boom\)/);
    expect(cognito).toHaveReceivedCommandTimes(AdminDeleteUserCommand, 0);
    expect(await ledger.users()).toEqual([]);
  });
});

describe('duplicateDelivery', () => {
  test('a second delivery of an answered Create does nothing and answers nothing more', async () => {
    absent(['alice', 'bob']);
    allowWrites();
    const event = createEvent(server.url, props([alice, bob]));
    await deliver(event, context());
    expect(server.bodies).toHaveLength(1);
    cognito.resetHistory();
    secrets.resetHistory();
    ssm.resetHistory();

    await deliver(event, context());

    expect(server.bodies).toHaveLength(1);
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(cognito.calls()).toHaveLength(0);
    expect(secrets.calls()).toHaveLength(0);
    expect(ssm.calls()).toHaveLength(0);
    expect(await ledger.requests()).toEqual([
      {
        owner: LOGICAL_ID,
        requestId: event.RequestId,
        status: 'SUCCESS',
        physicalResourceId: PHYSICAL_ID,
        answered: true,
      },
    ]);
  });

  test('a late duplicate of the Create never undoes the Update that followed it', async () => {
    absent(['alice', 'bob']);
    allowWrites();
    const create = createEvent(server.url, props([alice, bob]));
    await deliver(create, context());
    present(['bob'], { createdAt: new Date() });
    await deliver(updateEvent(server.url, PHYSICAL_ID, props([alice, bob]), props([alice])), context());
    expect(cognito).toHaveReceivedCommandWith(AdminDeleteUserCommand, { Username: 'bob' });
    cognito.resetHistory();

    await deliver(create, context());

    expect(server.bodies.map((b) => b.Status)).toEqual(['SUCCESS', 'SUCCESS']);
    expect(cognito.calls()).toHaveLength(0);
    expect(await ledger.usernames()).toEqual(['alice']);
  });

  test('a concurrent twin delivery neither acts nor answers', async () => {
    absent(['bob']);
    cognito.on(AdminCreateUserCommand, { UserPoolId: POOL_ID, Username: 'bob' }).callsFake(async () => {
      await new Promise((r) => setTimeout(r, 200));
      return createdUser('bob');
    });
    const event = createEvent(server.url, props([bob]));

    await Promise.all([deliver(event, context()), deliver(event, context())]);

    expect(server.bodies).toHaveLength(1);
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 1);
    expect(output.lines()).toContainEqual(expect.objectContaining({ outcome: 'duplicate-delivery' }));
  });

  test('an answer whose PUT keeps failing is retried by the engine until delivered, without acting again', async () => {
    absent(['bob']);
    createsAnyUser();
    const event = createEvent(server.url, props([bob]));
    server.failFirst = 8; // every PUT of the first Answer fails, and two of the second's

    await deliver(event, context());

    expect(server.bodies).toHaveLength(1);
    expect(server.last).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: PHYSICAL_ID,
      RequestId: event.RequestId,
    });
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 1);
    expect((await ledger.requests()).map((r) => [r.status, r.answered])).toEqual([['SUCCESS', true]]);

    // AND a later delivery of the same event does nothing and answers nothing more
    cognito.resetHistory();
    await deliver(event, context());
    expect(server.bodies).toHaveLength(1);
    expect(cognito.calls()).toHaveLength(0);
  });

  test('a second delivery of an answered Delete does nothing and answers nothing more', async () => {
    await seed([alice, bob]);
    cognito.on(AdminDeleteUserCommand).resolves({});
    const event = deleteEvent(server.url, PHYSICAL_ID, props([alice, bob]));

    await deliver(event, context());
    await deliver(event, context());

    expect(server.bodies).toHaveLength(1);
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(cognito).toHaveReceivedCommandTimes(AdminDeleteUserCommand, 2);
  });
});

describe('Update reconciles the new properties against the ledger', () => {
  test('user by user: added, dropped, attributes, groups, passwordRevision, and no call for an unchanged user', async () => {
    // GIVEN
    const carol = { ...bob, Username: 'carol' };
    const erin = {
      ...bob,
      Username: 'erin',
      Attributes: { given_name: 'Erin', email: 'erin@example.com' },
      Groups: ['admins'],
    };
    await seed([alice, carol, erin, { ...bob, Username: 'gone' }]);
    absent(['new']);
    allowWrites();
    const newProps = props([
      { ...alice, PasswordRevision: '2' },
      carol,
      { ...erin, Attributes: { given_name: 'Erin B' }, Groups: ['testers'] },
      { ...bob, Username: 'new' },
    ]);

    // WHEN (OldResourceProperties play no part: the ledger says what was seeded)
    await deliver(updateEvent(server.url, PHYSICAL_ID, props([]), newProps), context());

    // THEN
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    const log = callLog();
    expect(log.filter((c) => c.endsWith(' carol'))).toEqual([]);
    // pre-flight looks up only the user the ledger does not hold; each write to a held user,
    // and the delete, checks the sub first
    expect(log.filter((c) => c.startsWith('AdminGetUser'))).toEqual([
      'AdminGetUser new',
      'AdminGetUser alice',
      'AdminGetUser erin',
      'AdminGetUser gone',
    ]);
    expect(log.indexOf('AdminGetUser alice')).toBeLessThan(log.indexOf('AdminSetUserPassword alice'));
    expect(cognito).toHaveReceivedCommandWith(AdminCreateUserCommand, { Username: 'new', TemporaryPassword: BOB_PW });
    expect(log.indexOf('AdminGetUser gone')).toBeLessThan(log.indexOf('AdminDeleteUser gone'));
    expect(cognito).toHaveReceivedCommandWith(AdminSetUserPasswordCommand, {
      Username: 'alice',
      Password: ALICE_PW,
      Permanent: true,
    });
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
    expect(writeLog().sort()).toEqual(
      [
        'AdminCreateUser new',
        'AdminDeleteUser gone',
        'AdminSetUserPassword alice',
        'AdminUpdateUserAttributes erin',
        'AdminDeleteUserAttributes erin',
        'AdminAddUserToGroup erin',
        'AdminRemoveUserFromGroup erin',
      ].sort(),
    );
    const after = await ledger.users();
    expect(after.map((u) => u.username)).toEqual(['alice', 'carol', 'erin', 'new']);
    expect(after.find((u) => u.username === 'alice')?.applied?.revision).toBe('2');
    expect(after.find((u) => u.username === 'erin')?.applied).toMatchObject({
      attributes: { given_name: 'Erin B' },
      groups: ['testers'],
    });
  });

  test('unchanged properties cost no call for any user', async () => {
    await seed([alice, bob]);

    await deliver(updateEvent(server.url, PHYSICAL_ID, props([alice, bob]), props([alice, bob])), context());

    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(callLog()).toEqual(['DescribeUserPool']);
  });

  test('a changed mode re-applies the password', async () => {
    await seed([bob]);
    cognito
      .on(AdminSetUserPasswordCommand, { UserPoolId: POOL_ID, Username: 'bob', Password: BOB_PW, Permanent: true })
      .resolves({});

    await deliver(
      updateEvent(server.url, PHYSICAL_ID, props([bob]), props([{ ...bob, Mode: 'PERMANENT' }])),
      context(),
    );

    expect(server.last.Status).toBe('SUCCESS');
    expect(writeLog()).toEqual(['AdminSetUserPassword bob']);
    expect((await ledger.users())[0].applied?.mode).toBe('PERMANENT');
  });

  test('a new version of the secret re-applies the password', async () => {
    await seed([alice]);
    secrets
      .on(GetSecretValueCommand, { SecretId: SECRET_ARN })
      .resolves({ SecretString: ALICE_PW, VersionId: 'alice-v2' });
    cognito
      .on(AdminSetUserPasswordCommand, { UserPoolId: POOL_ID, Username: 'alice', Password: ALICE_PW, Permanent: true })
      .resolves({});

    await deliver(updateEvent(server.url, PHYSICAL_ID, props([alice]), props([alice])), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(writeLog()).toEqual(['AdminSetUserPassword alice']);
    expect((await ledger.users())[0].applied?.sourceVersion).toBe('alice-v2');
  });

  test('a user the ledger holds and the spec dropped is deleted after a sub check; an adopted one is released', async () => {
    // GIVEN alice was adopted and bob created
    await seed([alice, bob], { overrides: { AdoptExistingUsers: 'true' }, existing: ['alice'] });
    expect((await ledger.users()).map((u) => [u.username, u.origin])).toEqual([
      ['alice', 'adopted'],
      ['bob', 'created'],
    ]);
    cognito.on(AdminDeleteUserCommand, { UserPoolId: POOL_ID, Username: 'bob' }).resolves({});

    // WHEN both leave the spec
    await deliver(
      updateEvent(server.url, PHYSICAL_ID, props([alice, bob]), props([], { AdoptExistingUsers: 'true' })),
      context(),
    );

    // THEN
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(callLog()).toEqual(['DescribeUserPool', 'AdminGetUser bob', 'AdminDeleteUser bob']);
    expect(await ledger.users()).toEqual([]);
  });

  test('a dropped user whose live sub is not the recorded one is kept', async () => {
    await seed([alice, bob]);
    // bob was deleted by hand and someone made another bob
    present(['bob'], { sub: () => 'sub-another-bob' });

    await deliver(updateEvent(server.url, PHYSICAL_ID, props([alice, bob]), props([alice])), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(callLog()).toEqual(['DescribeUserPool', 'AdminGetUser bob']);
    expect(output.lines()).toContainEqual(expect.objectContaining({ user: 'bob', outcome: 'kept-not-ours' }));
    expect(await ledger.usernames()).toEqual(['alice']);
  });

  test('a dropped user is kept, and released, when the removal policy is retain', async () => {
    await seed([alice, bob], { overrides: { RemovalPolicy: 'retain' } });

    await deliver(
      updateEvent(
        server.url,
        PHYSICAL_ID,
        props([alice, bob], { RemovalPolicy: 'retain' }),
        props([bob], { RemovalPolicy: 'retain' }),
      ),
      context(),
    );

    expect(server.last.Status).toBe('SUCCESS');
    expect(callLog()).toEqual(['DescribeUserPool']);
    expect(await ledger.usernames()).toEqual(['bob']);
  });

  test('a new pool answers the new physical id and creates there; the Delete of the old id only touches the old pool', async () => {
    // GIVEN alice and bob seeded in the first pool
    await seed([alice, bob]);
    describePool(NEW_POOL);
    absent(['alice', 'bob'], NEW_POOL);
    allowWrites(NEW_POOL);

    // WHEN the seeder moves to a new pool
    await deliver(
      updateEvent(server.url, PHYSICAL_ID, props([alice, bob]), props([alice, bob], { UserPoolId: NEW_POOL })),
      context(),
    );

    // THEN every call went to the new pool, and the ledger holds the users in both
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: physicalIdOf(NEW_POOL) });
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 2);
    const pools = new Set(cognito.calls().map((c) => (c.args[0].input as { UserPoolId?: string }).UserPoolId));
    expect(pools).toEqual(new Set([NEW_POOL]));
    expect(await ledger.usernames(true)).toEqual([
      `${POOL_ID}/alice`,
      `${POOL_ID}/bob`,
      `${NEW_POOL}/alice`,
      `${NEW_POOL}/bob`,
    ]);

    // AND CloudFormation's cleanup Delete of the old id removes the old pool's users only
    cognito.resetHistory();
    cognito.on(AdminDeleteUserCommand, { UserPoolId: POOL_ID }).resolves({});
    cognito.on(AdminDeleteUserCommand, { UserPoolId: NEW_POOL }).rejects(awsError('UnexpectedCall'));
    await deliver(deleteEvent(server.url, PHYSICAL_ID, props([alice, bob])), context());

    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(cognito).toHaveReceivedCommandTimes(AdminDeleteUserCommand, 2);
    const touched = new Set(cognito.calls().map((c) => (c.args[0].input as { UserPoolId?: string }).UserPoolId));
    expect(touched).toEqual(new Set([POOL_ID]));
    expect(await ledger.usernames(true)).toEqual([`${NEW_POOL}/alice`, `${NEW_POOL}/bob`]);
  });

  test('rollbackUpdate after a pool move answers the old id and costs no call; cleanupDelete of the new id empties the new pool', async () => {
    // GIVEN a seeder moved from the first pool to a new one
    await seed([alice, bob]);
    describePool(NEW_POOL);
    absent(['alice', 'bob'], NEW_POOL);
    allowWrites(NEW_POOL);
    await deliver(
      updateEvent(server.url, PHYSICAL_ID, props([alice, bob]), props([alice, bob], { UserPoolId: NEW_POOL })),
      context(),
    );
    const movedId = physicalIdOf(NEW_POOL);
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: movedId });
    cognito.resetHistory();

    // WHEN the stack rolls back to the first pool
    await deliver(
      updateEvent(server.url, movedId, props([alice, bob], { UserPoolId: NEW_POOL }), props([alice, bob])),
      context(),
    );

    // THEN the first pool's users are still held: no call but the pool's description
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(callLog()).toEqual(['DescribeUserPool']);
    expect(cognito).toHaveReceivedCommandWith(DescribeUserPoolCommand, { UserPoolId: POOL_ID });

    // AND the cleanup Delete of the new pool's id deletes the users there only
    cognito.resetHistory();
    present(['alice', 'bob'], { poolId: NEW_POOL, createdAt: new Date() });
    cognito.on(AdminDeleteUserCommand, { UserPoolId: NEW_POOL }).resolves({});
    cognito.on(AdminDeleteUserCommand, { UserPoolId: POOL_ID }).rejects(awsError('UnexpectedCall'));
    await deliver(deleteEvent(server.url, movedId, props([alice, bob], { UserPoolId: NEW_POOL })), context());

    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: movedId });
    expect(writeLog().sort()).toEqual(['AdminDeleteUser alice', 'AdminDeleteUser bob']);
    expect(cognito).toHaveReceivedCommandTimes(AdminDeleteUserCommand, 2);
    expect(cognito).not.toHaveReceivedCommandWith(AdminDeleteUserCommand, { UserPoolId: POOL_ID });
    expect(await ledger.usernames(true)).toEqual([`${POOL_ID}/alice`, `${POOL_ID}/bob`]);
  });

  test('drift: a user deleted by hand since the last deploy is created again when its spec changes', async () => {
    await seed([bob]);
    cognito
      .on(AdminUpdateUserAttributesCommand, { UserPoolId: POOL_ID, Username: 'bob' })
      .rejects(awsError('UserNotFoundException', 'User does not exist.'));
    cognito
      .on(AdminCreateUserCommand, { UserPoolId: POOL_ID, Username: 'bob', TemporaryPassword: BOB_PW })
      .resolves(createdUser('bob', POOL_ID, 'sub-bob-again'));

    await deliver(
      updateEvent(server.url, PHYSICAL_ID, props([bob]), props([{ ...bob, Attributes: { given_name: 'Bob' } }])),
      context(),
    );

    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(writeLog()).toEqual(['AdminUpdateUserAttributes bob', 'AdminCreateUser bob']);
    expect(cognito).toHaveReceivedCommandWith(AdminCreateUserCommand, {
      UserAttributes: [{ Name: 'given_name', Value: 'Bob' }],
    });
    expect((await ledger.users()).map(held)).toEqual([
      { username: 'bob', owner: LOGICAL_ID, origin: 'created', state: 'present', sub: 'sub-bob-again' },
    ]);
  });

  test('a failed update answers FAILED with the current physical id and removes only the users it created', async () => {
    await seed([alice]);
    absentThenCreated(['bob']);
    allowWrites();
    cognito.on(AdminUpdateUserAttributesCommand).rejects(awsError('InvalidParameterException', 'bad attribute'));
    const newProps = props([bob, { ...alice, Attributes: { ...(alice.Attributes as object), given_name: 'A' } }], {
      MaxConcurrency: '1',
    });

    await deliver(updateEvent(server.url, PHYSICAL_ID, props([alice]), newProps), context());

    expect(server.last).toMatchObject({ Status: 'FAILED', PhysicalResourceId: PHYSICAL_ID });
    expect(server.last.Reason).toMatch(/user 'alice': modify failed \(InvalidParameterException: bad attribute\)/);
    const created = cognito.commandCalls(AdminCreateUserCommand).map((c) => c.args[0].input.Username);
    const deleted = cognito.commandCalls(AdminDeleteUserCommand).map((c) => c.args[0].input.Username);
    expect(created).toEqual(['bob']);
    expect(deleted).toEqual(['bob']);
    const after = await ledger.users();
    expect(after.map((u) => u.username)).toEqual(['alice']);
    expect(after[0].applied?.attributes).toEqual(alice.Attributes);
  });

  test('rollbackUpdate: after a failed Update, the rollback to the old spec costs no call and deletes nothing', async () => {
    // GIVEN alice and bob seeded; an Update that drops bob and adds carol fails creating carol
    await seed([alice, bob]);
    const carol = { ...bob, Username: 'carol' };
    absent(['carol']);
    cognito.on(AdminCreateUserCommand, { Username: 'carol' }).rejects(awsError('InternalErrorException', 'boom'));
    await deliver(updateEvent(server.url, PHYSICAL_ID, props([alice, bob]), props([alice, carol])), context());
    expect(server.last).toMatchObject({ Status: 'FAILED', PhysicalResourceId: PHYSICAL_ID });
    expect(cognito).toHaveReceivedCommandTimes(AdminDeleteUserCommand, 0);
    cognito.resetHistory();

    // WHEN CloudFormation rolls back to the old spec
    await deliver(updateEvent(server.url, PHYSICAL_ID, props([alice, carol]), props([alice, bob])), context());

    // THEN
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(callLog()).toEqual(['DescribeUserPool']);
    expect(await ledger.usernames()).toEqual(['alice', 'bob']);
  });
});

describe('pools that compare usernames differently', () => {
  test('a case-insensitive pool: Carol -> carol in an Update costs no delete and no create', async () => {
    const carol = { ...bob, Username: 'Carol' };
    await seed([carol], { usernames: { caseSensitive: false } });
    expect((await ledger.users()).map((u) => [u.key, u.username])).toEqual([['carol', 'Carol']]);

    await deliver(
      updateEvent(server.url, PHYSICAL_ID, props([carol]), props([{ ...carol, Username: 'carol' }])),
      context(),
    );

    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(callLog()).toEqual(['DescribeUserPool']);
    expect((await ledger.users()).map((u) => u.key)).toEqual(['carol']);
  });

  test('fails when two listed users are one user in a case-insensitive pool', async () => {
    resetMocks({ caseSensitive: false });
    absent(['Carol', 'carol']);
    allowWrites();

    await deliver(
      createEvent(
        server.url,
        props([
          { ...bob, Username: 'Carol' },
          { ...bob, Username: 'carol' },
        ]),
      ),
      context(),
    );

    expect(server.last).toMatchObject({ Status: 'FAILED', PhysicalResourceId: PHYSICAL_ID });
    expect(server.last.Reason).toMatch(/users 'Carol' and 'carol' are one user in this pool/);
    expect(writeLog()).toEqual([]);
    expect(await ledger.users()).toEqual([]);
  });

  test('an email-username pool: the ledger records the pool username and sub, and later calls use them', async () => {
    // GIVEN a pool whose username is the email: Cognito names the user by a UUID
    resetMocks({ usernameAttributes: ['email'] });
    const erin = { ...alice, Username: 'Erin@Example.com', Attributes: undefined, Groups: undefined };
    absent(['Erin@Example.com']);
    cognito
      .on(AdminCreateUserCommand, { UserPoolId: POOL_ID, Username: 'Erin@Example.com' })
      .resolves(createdUser('0000-uuid-erin', POOL_ID, 'sub-erin'));
    cognito
      .on(AdminSetUserPasswordCommand, { UserPoolId: POOL_ID, Username: '0000-uuid-erin', Permanent: true })
      .resolves({});

    // WHEN
    await deliver(createEvent(server.url, props([erin])), context());

    // THEN
    expect(server.last.Status).toBe('SUCCESS');
    expect((await ledger.users()).map((u) => [u.key, u.username, u.cognitoUsername, u.sub])).toEqual([
      ['erin@example.com', 'Erin@Example.com', '0000-uuid-erin', 'sub-erin'],
    ]);

    // AND the Delete checks and deletes the user by its pool username
    cognito.resetHistory();
    present(['0000-uuid-erin'], { sub: () => 'sub-erin' });
    cognito.on(AdminDeleteUserCommand, { UserPoolId: POOL_ID, Username: '0000-uuid-erin' }).resolves({});
    await deliver(deleteEvent(server.url, PHYSICAL_ID, props([erin])), context());
    expect(server.last.Status).toBe('SUCCESS');
    expect(writeLog()).toEqual(['AdminDeleteUser 0000-uuid-erin']);
    expect(await ledger.users()).toEqual([]);
  });
});

describe('Delete removes what the ledger holds, and nothing else', () => {
  test('deletes every user the ledger holds after a sub check; users already gone count as done', async () => {
    await seed([alice, bob]);
    absent(['bob']);
    cognito.on(AdminDeleteUserCommand, { UserPoolId: POOL_ID, Username: 'alice' }).resolves({});

    await deliver(deleteEvent(server.url, PHYSICAL_ID, props([alice, bob])), context());

    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(writeLog()).toEqual(['AdminDeleteUser alice']);
    expect(cognito).toHaveReceivedCommandTimes(AdminGetUserCommand, 2);
    expect(await ledger.users()).toEqual([]);
  });

  test('never deletes a user the ledger does not hold', async () => {
    // GIVEN alice is held by another seed resource, bob by this one, carol by none
    await seed([alice], { logicalId: OTHER_SEEDER });
    await seed([bob]);
    cognito.on(AdminDeleteUserCommand, { UserPoolId: POOL_ID, Username: 'bob' }).resolves({});
    const carol = { ...bob, Username: 'carol' };

    await deliver(deleteEvent(server.url, PHYSICAL_ID, props([alice, bob, carol])), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(writeLog()).toEqual(['AdminDeleteUser bob']);
    expect(callLog().filter((c) => /alice|carol/.test(c))).toEqual([]);
    expect((await ledger.users()).map(held)).toEqual([
      { username: 'alice', owner: OTHER_SEEDER, origin: 'created', state: 'present', sub: subOf('alice') },
    ]);
  });

  test('with nothing in the ledger, deletes nothing and makes no Cognito call', async () => {
    await deliver(deleteEvent(server.url, PHYSICAL_ID, props([alice, bob])), context());

    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(cognito.calls()).toHaveLength(0);
  });

  test('an adopted user is released, never deleted', async () => {
    await seed([alice, bob], { overrides: { AdoptExistingUsers: 'true' }, existing: ['alice'] });
    cognito.on(AdminDeleteUserCommand, { UserPoolId: POOL_ID, Username: 'bob' }).resolves({});

    await deliver(deleteEvent(server.url, PHYSICAL_ID, props([alice, bob], { AdoptExistingUsers: 'true' })), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(writeLog()).toEqual(['AdminDeleteUser bob']);
    expect(callLog().filter((c) => c.endsWith(' alice'))).toEqual([]);
    expect(await ledger.users()).toEqual([]);
  });

  test('a pool that is gone counts as done', async () => {
    await seed([alice, bob]);
    cognito.on(DescribeUserPoolCommand).rejects(awsError('ResourceNotFoundException', 'User pool does not exist.'));

    await deliver(deleteEvent(server.url, PHYSICAL_ID, props([alice, bob])), context());

    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(writeLog()).toEqual([]);
    expect(await ledger.users()).toEqual([]);
  });

  test('keeps every user when the removal policy is retain', async () => {
    await seed([alice, bob], { overrides: { RemovalPolicy: 'retain' } });

    await deliver(deleteEvent(server.url, PHYSICAL_ID, props([alice, bob], { RemovalPolicy: 'retain' })), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(callLog().filter((c) => / /.test(c))).toEqual([]);
    expect(await ledger.users()).toEqual([]);
  });

  test('answers SUCCESS on properties it cannot read, so the stack can still be deleted', async () => {
    await seed([alice]);

    await deliver(deleteEvent(server.url, PHYSICAL_ID, { Users: 'nonsense' }), context());

    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(cognito.calls()).toHaveLength(0);
    expect(await ledger.usernames()).toEqual(['alice']);
  });

  test('fails on a real error, such as missing permissions, and the ledger still holds the user', async () => {
    await seed([alice]);
    cognito.on(AdminDeleteUserCommand).rejects(awsError('AccessDeniedException', 'not authorized'));

    await deliver(deleteEvent(server.url, PHYSICAL_ID, props([alice])), context());

    expect(server.last).toMatchObject({ Status: 'FAILED', PhysicalResourceId: PHYSICAL_ID });
    expect(server.last.Reason).toMatch(/user 'alice': delete failed \(AccessDeniedException/);
    expect(await ledger.usernames()).toEqual(['alice']);
  });

  test('a retried Delete (a new request) finds the ledger empty and answers SUCCESS', async () => {
    await seed([alice, bob]);
    cognito.on(AdminDeleteUserCommand).resolves({});
    await deliver(deleteEvent(server.url, PHYSICAL_ID, props([alice, bob])), context());
    cognito.resetHistory();

    await deliver(deleteEvent(server.url, PHYSICAL_ID, props([alice, bob])), context());

    expect(server.bodies.map((b) => b.Status)).toEqual(['SUCCESS', 'SUCCESS']);
    expect(cognito.calls()).toHaveLength(0);
  });
});

describe('pace and resilience', () => {
  test('throttling is retried with backoff, never surfaced while time remains', async () => {
    absent(['bob']);
    cognito
      .on(AdminCreateUserCommand)
      .rejectsOnce(awsError('TooManyRequestsException', 'Too many requests'))
      .rejectsOnce(awsError('TooManyRequestsException', 'Too many requests'))
      .resolves(createdUser('bob'));

    await deliver(createEvent(server.url, props([bob])), context());

    expect(server.last.Status).toBe('SUCCESS');
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 3);
    expect(await ledger.usernames()).toEqual(['bob']);
  });

  test('a call that times out at the SDK is retried, then fails naming the call, the user and where to look', async () => {
    // GIVEN AdminCreateUser times out every time
    absentThenCreated(['bob']);
    const timeout = () => Object.assign(new Error('Connection timed out after 20000 ms'), { name: 'TimeoutError' });
    cognito.on(AdminCreateUserCommand).callsFake(async () => {
      throw timeout();
    });
    cognito.on(AdminDeleteUserCommand).resolves({});

    // WHEN
    await deliver(createEvent(server.url, props([bob])), context());

    // THEN three attempts, then a failure that says what to check; the creating record is undone
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 3);
    expect(server.last.Status).toBe('FAILED');
    expect(server.last.Reason).toBe(
      "Create failed: user 'bob': create failed (AdminCreateUser got no answer from Cognito in time: the function cannot reach cognito-idp, or Cognito stalls. In a VPC, give the function's subnets a NAT gateway or a cognito-idp interface endpoint). Undid what this request did: deleted the 1 user(s) it had created.",
    );
  });

  test("a throttling storm that outlasts CloudFormation's time fails naming the cause and the fix, and undoes what it did", async () => {
    // GIVEN bob is created, then every creation of carol is throttled, and CloudFormation waits 4 s
    absentThenCreated(['bob']);
    absent(['carol']);
    const carol = { ...bob, Username: 'carol' };
    cognito.on(AdminCreateUserCommand, { Username: 'bob' }).resolves(createdUser('bob'));
    cognito
      .on(AdminCreateUserCommand, { Username: 'carol' })
      .rejects(awsError('TooManyRequestsException', 'Too many requests'));
    cognito.on(AdminDeleteUserCommand, { UserPoolId: POOL_ID, Username: 'bob' }).resolves({});
    process.env[SERVICE_TIMEOUT_ENV] = '4';
    const started = Date.now();
    try {
      // WHEN
      await deliver(createEvent(server.url, props([bob, carol], { MaxConcurrency: '1' })), context());
    } finally {
      delete process.env[SERVICE_TIMEOUT_ENV];
    }

    // THEN one FAILED answer, before CloudFormation's time is up, that names the cause and the fix
    expect(Date.now() - started).toBeLessThan(4000);
    expect(server.bodies).toHaveLength(1);
    expect(server.last).toMatchObject({ Status: 'FAILED', PhysicalResourceId: PHYSICAL_ID });
    expect(server.last.Reason).toMatch(
      /^Create failed: ran out of CloudFormation's time with 1 user\(s\) still to do, \d+ s after the request arrived: Cognito throttled \d+ of \d+ calls \(TooManyRequestsException\), so the account's quota is busier than the configured rates allow for\. Lower rateLimits to leave room for the account's other callers, raise the account's Cognito quotas, or deploy again when the account is quieter\. Undid what this request did: deleted the 1 user\(s\) it had created\.$/,
    );
    expect(cognito).toHaveReceivedCommandWith(AdminDeleteUserCommand, { Username: 'bob' });
    expect(await ledger.users()).toEqual([]);
  });

  test('a response PUT that fails once is retried', async () => {
    absent(['bob']);
    createsAnyUser();
    server.failFirst = 1;

    await deliver(createEvent(server.url, props([bob])), context());

    expect(server.bodies).toHaveLength(1);
    expect(server.last.Status).toBe('SUCCESS');
    expect((await ledger.requests()).map((r) => r.answered)).toEqual([true]);
  });

  test('logs one JSON line per user action and a summary line', async () => {
    absent(['alice', 'bob']);
    allowWrites();

    await deliver(createEvent(server.url, props([alice, bob])), context());

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

  beforeEach(() => {
    s3.reset();
    s3.onAnyCommand().rejects(awsError('NoSuchKey', 'The specified key does not exist.'));
  });

  async function createFromFile(event: CloudFormationCustomResourceEvent): Promise<void> {
    absent(['f1', 'f2']);
    allowWrites();
    await deliver(event, context());
  }

  test('reads the users from S3, puts the resolved tokens back, and returns the object ARN', async () => {
    s3.on(GetObjectCommand, { Bucket: 'assets', Key: 'v1.json' }).resolves(object(v1));

    await createFromFile(createEvent(server.url, fileProps('v1.json', v1, [SECRET_ARN, 'admins'])));

    expect(server.last).toMatchObject({
      Status: 'SUCCESS',
      Data: { UserCount: '2', UsersObjectArn: 'arn:aws:s3:::assets/v1.json' },
    });
    expect(cognito).toHaveReceivedCommandWith(AdminSetUserPasswordCommand, { Username: 'f2', Password: ALICE_PW });
    expect(cognito).toHaveReceivedCommandWith(AdminAddUserToGroupCommand, { Username: 'f2', GroupName: 'admins' });
    expect(await ledger.usernames()).toEqual(['f1', 'f2']);
  });

  test('a stack Delete needs no users file: with the object gone, it still deletes every user the ledger holds', async () => {
    // GIVEN a Create from v1, and v1 gone from the bucket since
    s3.on(GetObjectCommand, { Bucket: 'assets', Key: 'v1.json' }).resolves(object(v1));
    await createFromFile(createEvent(server.url, fileProps('v1.json', v1, [SECRET_ARN, 'admins'])));
    const physicalId = server.last.PhysicalResourceId;
    s3.reset();
    s3.onAnyCommand().rejects(awsError('NoSuchKey', 'The specified key does not exist.'));
    cognito.reset();
    strictMocks();
    present(['f1', 'f2']);
    cognito.on(AdminDeleteUserCommand).resolves({});

    // WHEN
    await deliver(deleteEvent(server.url, physicalId, fileProps('v1.json', v1, [SECRET_ARN, 'admins'])), context());

    // THEN
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: physicalId });
    expect(writeLog().sort()).toEqual(['AdminDeleteUser f1', 'AdminDeleteUser f2']);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(await ledger.users()).toEqual([]);
  });

  test('an update reads only the new file and reconciles it against the ledger', async () => {
    // GIVEN a Create from v1
    s3.on(GetObjectCommand, { Bucket: 'assets', Key: 'v1.json' }).resolves(object(v1));
    await createFromFile(createEvent(server.url, fileProps('v1.json', v1, [SECRET_ARN, 'admins'])));
    expect(server.last.Status).toBe('SUCCESS');
    // and v1 is gone from the bucket
    s3.reset();
    s3.onAnyCommand().rejects(awsError('NoSuchKey', 'The specified key does not exist.'));
    const v2 = JSON.stringify([
      JSON.parse(v1)[0],
      { Username: 'f3', Mode: 'TEMPORARY', Password: { Source: 'ssm', ParameterName: PARAM } },
    ]);
    s3.on(GetObjectCommand, { Bucket: 'assets', Key: 'v2.json' }).resolves(object(v2));
    cognito.resetHistory();
    absent(['f3']);
    present(['f2'], { createdAt: new Date() });

    // WHEN
    await deliver(
      updateEvent(
        server.url,
        PHYSICAL_ID,
        fileProps('v1.json', v1, [SECRET_ARN, 'admins']),
        fileProps('v2.json', v2, []),
      ),
      context(),
    );

    // THEN
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 1);
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: 'assets', Key: 'v2.json' });
    expect(writeLog().sort()).toEqual(['AdminCreateUser f3', 'AdminDeleteUser f2']);
    expect(await ledger.usernames()).toEqual(['f1', 'f3']);
  });

  test('fails when the file does not match its hash, with nothing written', async () => {
    s3.on(GetObjectCommand).resolves(object(v1.replace('f1', 'zz')));

    await createFromFile(createEvent(server.url, fileProps('v1.json', v1, [SECRET_ARN, 'admins'])));

    expect(server.last.Status).toBe('FAILED');
    expect(server.last.Reason).toMatch(/users file s3:\/\/assets\/v1.json does not match its SHA-256/);
    expect(writeLog()).toEqual([]);
    expect(await ledger.users()).toEqual([]);
  });
});

describe('pace at the floor', () => {
  test('calls per user: TEMPORARY one, PERMANENT two, plus one per group; one pre-flight read each', async () => {
    const users = [
      { ...bob, Username: 't1' },
      { ...alice, Username: 'p1', Attributes: undefined, Groups: undefined },
      { ...alice, Username: 'p2', Attributes: undefined, Groups: ['admins', 'testers'] },
    ];
    absent(usernamesOf(users));
    allowWrites();

    await deliver(createEvent(server.url, props(users)), context());

    expect(server.last.Status).toBe('SUCCESS');
    const writes = writeLog();
    const perUser = (u: string) => writes.filter((c) => c.endsWith(` ${u}`)).length;
    expect([perUser('t1'), perUser('p1'), perUser('p2')]).toEqual([1, 2, 4]);
    expect(cognito).toHaveReceivedCommandTimes(AdminGetUserCommand, 3);
  });

  test("fails early, before any write, when the users cannot be seeded in CloudFormation's time", async () => {
    const users = Array.from({ length: 30 }, (_, i) => ({ ...bob, Username: `u${i}` }));
    // an empty pool, however pre-flight chooses to look the users up
    absent(usernamesOf(users));
    listsUsers([[]]);
    allowWrites();
    process.env[SERVICE_TIMEOUT_ENV] = '25';
    try {
      await deliver(
        createEvent(server.url, props(users, { Rates: { Create: '1', Recovery: '1', Write: '1', Read: '100' } })),
        context(),
      );
    } finally {
      delete process.env[SERVICE_TIMEOUT_ENV];
    }

    expect(server.last).toMatchObject({ Status: 'FAILED', PhysicalResourceId: PHYSICAL_ID });
    expect(server.last.Reason).toMatch(
      /the users need about 30 s at the configured rates \(30 AdminCreateUser at 1\/s.*and the request has 2[0-9] s left of CloudFormation's hour; nothing was written/,
    );
    expect(writeLog()).toEqual([]);
    expect(await ledger.users()).toEqual([]);
  });

  test('a request too long for one slice goes on in the next slices, from the ledger, and answers once', async () => {
    // GIVEN 30 users at 6 creations a second, and slices of 3 s
    const users = Array.from({ length: 30 }, (_, i) => ({ ...bob, Username: `u${i}` }));
    absent(usernamesOf(users));
    listsUsers([[]]);
    allowWrites();
    const event = createEvent(
      server.url,
      props(users, { Rates: { Create: '6', Recovery: '6', Write: '6', Read: '100' } }),
    );

    // WHEN
    await deliver(event, context(5_000));

    // THEN several slices, each user created once, the pool listed once (pre-flight), one answer
    expect(engine.slices).toBeGreaterThanOrEqual(2);
    expect(cognito).toHaveReceivedCommandTimes(AdminCreateUserCommand, 30);
    expect(cognito).toHaveReceivedCommandTimes(ListUsersCommand, 1);
    expect(server.bodies).toHaveLength(1);
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
    expect((await ledger.users()).every((u) => u.state === 'present')).toBe(true);
    // ...and the resource free for the next request
    expect((await ledger.items()).some((i) => i.sk === 'SLICE')).toBe(false);
  });
});
