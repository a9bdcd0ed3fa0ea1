// A request across slices of the engine, in-process: it goes on until CloudFormation's
// deadline and answers once, and a concurrent twin delivery starts nothing more.
import {
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminGetUserCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { SERVICE_TIMEOUT_ENV } from '../lib/private/contract';
import { context, createEvent, POOL_ID, props } from './support/cfn';
import { inProcessHandler } from './support/in-process';
import { awsError, cognito, strictMocks } from './support/mocks';

const temp = (Username: string) => ({
  Username,
  Mode: 'TEMPORARY',
  Password: { Source: 'plaintext', Value: 'Xy-12345678!' },
});

const { server, ledger, output, deliver, engine } = inProcessHandler(() => {
  strictMocks();
  cognito.on(AdminGetUserCommand).rejects(awsError('UserNotFoundException', 'User does not exist.'));
  cognito.on(AdminCreateUserCommand).callsFake(async (input: { Username: string }) => ({
    User: { Username: input.Username, Attributes: [{ Name: 'sub', Value: `sub-${input.Username}` }] },
  }));
});

test("a throttling storm that outlasts CloudFormation's time: the slices go on until its deadline, then one FAILED answer", async () => {
  // GIVEN three users created, then every creation throttled, slices of 1.5 s and
  // CloudFormation waiting 5 s
  const users = Array.from({ length: 20 }, (_, i) => temp(`u${i}`));
  const created = new Set<string>();
  cognito.on(AdminCreateUserCommand).callsFake(async (input: { Username: string }) => {
    if (['u0', 'u1', 'u2'].includes(input.Username)) {
      created.add(input.Username);
      return { User: { Username: input.Username, Attributes: [{ Name: 'sub', Value: `sub-${input.Username}` }] } };
    }
    throw awsError('TooManyRequestsException', 'Too many requests');
  });
  cognito.on(AdminGetUserCommand).callsFake(async (input: { Username: string }) => {
    if (!created.has(input.Username)) throw awsError('UserNotFoundException', 'User does not exist.');
    return { Username: input.Username, UserAttributes: [{ Name: 'sub', Value: `sub-${input.Username}` }] };
  });
  cognito.on(AdminDeleteUserCommand).resolves({});
  process.env[SERVICE_TIMEOUT_ENV] = '5';
  const started = Date.now();
  try {
    // WHEN
    await deliver(createEvent(server.url, props(users, { MaxConcurrency: '2' })), context(1500));
  } finally {
    delete process.env[SERVICE_TIMEOUT_ENV];
  }

  // THEN several slices, exactly one answer, FAILED before CloudFormation's time is up,
  // with the three users it created deleted again
  expect(engine.slices).toBeGreaterThanOrEqual(2);
  expect(Date.now() - started).toBeLessThan(5000);
  expect(server.bodies).toHaveLength(1);
  expect(server.last).toMatchObject({ Status: 'FAILED', PhysicalResourceId: `${POOL_ID}/UsersSeeder7F21A71B` });
  expect(server.last.Reason).toMatch(
    /ran out of CloudFormation's time with 17 user\(s\) still to do, \d+ s after the request arrived: .*Undid what this request did: deleted the 3 user\(s\) it had created/,
  );
  expect(cognito.commandCalls(AdminDeleteUserCommand)).toHaveLength(3);
  expect(await ledger.users()).toEqual([]);
});

test('duplicateDelivery together: two deliveries of one Create at once make one set of writes and one answer', async () => {
  // GIVEN
  const users = Array.from({ length: 5 }, (_, i) => temp(`t${i}`));
  const event = createEvent(server.url, props(users));

  // WHEN CloudFormation's event arrives twice at the same moment
  await Promise.all([deliver(event, context()), deliver({ ...event }, context())]);

  // THEN one delivery acted and answered, the other stayed silent
  expect(server.bodies).toHaveLength(1);
  expect(server.last.Status).toBe('SUCCESS');
  expect(cognito.commandCalls(AdminCreateUserCommand)).toHaveLength(5);
  expect(output.lines().filter((l) => l.outcome === 'duplicate-delivery')).toHaveLength(1);
  expect((await ledger.requests()).map((r) => [r.status, r.answered])).toEqual([['SUCCESS', true]]);
});
