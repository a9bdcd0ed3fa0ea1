// Canary passwords and a canary ResponseURL go through every path of the handler; none
// may appear in anything it prints or answers.
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminGetUserCommand,
  AdminResetUserPasswordCommand,
  AdminSetUserPasswordCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { SERVICE_TIMEOUT_ENV } from '../lib/private/contract';
import { context, createEvent, deleteEvent, POOL_ID, props, updateEvent } from './support/cfn';
import { inProcessHandler } from './support/in-process';
import { awsError, cognito, secrets, ssm, strictMocks } from './support/mocks';

const CANARIES = {
  secret: 'Canary-Secret-9q!Xw',
  json: 'Canary-Json-7r!Yz',
  ssm: 'Canary-Ssm-5t!Uv',
  plain: 'Canary-Plain-3p!Ab',
  notJson: 'Canary-NotJson-1k!Cd',
};
const URL_CANARIES = ['RESPONSE-URL-CANARY', 'SIG-CANARY-0123'];

const users = [
  { Username: 'a', Mode: 'PERMANENT', Password: { Source: 'secretsmanager', SecretArn: 'arn:secret:a' } },
  {
    Username: 'b',
    Mode: 'TEMPORARY',
    Password: { Source: 'secretsmanager', SecretArn: 'arn:secret:json', JsonField: 'pw' },
  },
  { Username: 'c', Mode: 'PERMANENT', Password: { Source: 'ssm', ParameterName: '/p/c' } },
  { Username: 'd', Mode: 'TEMPORARY', Password: { Source: 'plaintext', Value: CANARIES.plain } },
  { Username: 'e', Mode: 'RESET_REQUIRED', Attributes: { email: 'e@example.com', email_verified: 'true' } },
];
const PHYSICAL_ID = `${POOL_ID}/UsersSeeder7F21A71B`;

const { server, output, deliver } = inProcessHandler(() => {
  strictMocks();
  // Every username is free in the pool at pre-flight.
  cognito.on(AdminGetUserCommand).rejects(awsError('UserNotFoundException', 'User does not exist.'));
  secrets.on(GetSecretValueCommand, { SecretId: 'arn:secret:a' }).resolves({ SecretString: CANARIES.secret });
  secrets
    .on(GetSecretValueCommand, { SecretId: 'arn:secret:json' })
    .resolves({ SecretString: JSON.stringify({ pw: CANARIES.json }) });
  secrets.on(GetSecretValueCommand, { SecretId: 'arn:secret:notjson' }).resolves({ SecretString: CANARIES.notJson });
  ssm.on(GetParameterCommand).resolves({ Parameter: { Type: 'SecureString', Value: CANARIES.ssm } });
  for (const cmd of [
    AdminCreateUserCommand,
    AdminSetUserPasswordCommand,
    AdminResetUserPasswordCommand,
    AdminAddUserToGroupCommand,
    AdminDeleteUserCommand,
  ]) {
    cognito.on(cmd as never).resolves({} as never);
  }
});

function expectNoLeak(): void {
  const everything = [output.text(), ...server.raw].join('\n');
  for (const canary of [...Object.values(CANARIES), ...URL_CANARIES]) {
    expect(everything).not.toContain(canary);
  }
  // Something was printed and answered, so the check above looked at real output.
  expect(output.lines().length).toBeGreaterThan(0);
  expect(server.raw.length).toBeGreaterThan(0);
}

test('a successful Create, Update and Delete print and answer no password and no ResponseURL', async () => {
  await deliver(createEvent(server.url, props(users)), context());
  await deliver(
    updateEvent(server.url, PHYSICAL_ID, props(users), props(users.map((u) => ({ ...u, PasswordRevision: '2' })))),
    context(),
  );
  await deliver(deleteEvent(server.url, PHYSICAL_ID, props(users)), context());

  expect(server.bodies.map((b) => b.Status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
  expectNoLeak();
});

test('a Cognito error that echoes the password is redacted in logs and the Reason', async () => {
  cognito
    .on(AdminSetUserPasswordCommand)
    .rejects(awsError('InvalidPasswordException', `Password ${CANARIES.secret} did not conform with policy`));

  await deliver(createEvent(server.url, props(users.slice(0, 1))), context());

  expect(server.last.Status).toBe('FAILED');
  expect(server.last.Reason).toMatch(/InvalidPasswordException: Password \*+ did not conform/);
  expectNoLeak();
});

test('a secret that is not JSON is reported without quoting it', async () => {
  const user = {
    Username: 'x',
    Mode: 'PERMANENT',
    Password: { Source: 'secretsmanager', SecretArn: 'arn:secret:notjson', JsonField: 'pw' },
  };

  await deliver(createEvent(server.url, props([user])), context());

  expect(server.last.Reason).toMatch(/user 'x': secret arn:secret:notjson is not JSON/);
  expectNoLeak();
});

test('passwords that break the policy are described by rule only', async () => {
  secrets.on(GetSecretValueCommand, { SecretId: 'arn:secret:a' }).resolves({ SecretString: 'Cnry-shrt' });

  await deliver(createEvent(server.url, props(users.slice(0, 1))), context());

  expect(server.last.Reason).toMatch(/needs at least 10 characters, a number/);
  expect(server.raw.join('')).not.toContain('Cnry-shrt');
  expectNoLeak();
});

test("running out of CloudFormation's time and a failed response PUT print no password and no ResponseURL", async () => {
  cognito.on(AdminCreateUserCommand).rejects(awsError('TooManyRequestsException', 'Too many requests'));
  server.failFirst = 1;
  process.env[SERVICE_TIMEOUT_ENV] = '3';
  try {
    await deliver(createEvent(server.url, props(users)), context(1500));
  } finally {
    delete process.env[SERVICE_TIMEOUT_ENV];
  }

  expect(server.last.Status).toBe('FAILED');
  expect(server.last.Reason).toMatch(/ran out of CloudFormation.s time/);
  expectNoLeak();
});
