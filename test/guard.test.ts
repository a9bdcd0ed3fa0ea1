// The timeout guard's answer is always delivered: the handler does not return while any
// answer is still on its way (Lambda freezes the process once it returns), and a
// concurrent twin of a request neither acts nor answers.
import { AdminCreateUserCommand, AdminGetUserCommand } from '@aws-sdk/client-cognito-identity-provider';
import { handler } from '../lambda';
import { context, createEvent, POOL_ID, props, withoutArn } from './support/cfn';
import { inProcessHandler } from './support/in-process';
import { awsError, cognito, strictMocks } from './support/mocks';

const temp = (Username: string) => ({
  Username,
  Mode: 'TEMPORARY',
  Password: { Source: 'plaintext', Value: 'Xy-12345678!' },
});

const { server, ledger, output } = inProcessHandler(() => {
  strictMocks();
  cognito.on(AdminGetUserCommand).rejects(awsError('UserNotFoundException', 'User does not exist.'));
  cognito.on(AdminCreateUserCommand).callsFake(async (input: { Username: string }) => ({
    User: { Username: input.Username, Attributes: [{ Name: 'sub', Value: `sub-${input.Username}` }] },
  }));
});

test("the guard's answer has arrived when the handler returns, even when the stopped work returns first", async () => {
  // GIVEN three users created, then a throttling storm, then a compensation whose calls
  // are slow: the guard answers while the work is still busy, and the work returns right after
  const users = Array.from({ length: 20 }, (_, i) => temp(`u${i}`));
  let phase = 'preflight';
  cognito.on(AdminCreateUserCommand).callsFake(async (input: { Username: string }) => {
    if (['u0', 'u1', 'u2'].includes(input.Username)) {
      return { User: { Username: input.Username, Attributes: [{ Name: 'sub', Value: `sub-${input.Username}` }] } };
    }
    phase = 'writes';
    throw awsError('TooManyRequestsException', 'Too many requests');
  });
  cognito.on(AdminGetUserCommand).callsFake(async () => {
    if (phase === 'writes') await new Promise((resolve) => setTimeout(resolve, 400));
    throw awsError('UserNotFoundException', 'User does not exist.');
  });
  server.delayMs = 700;

  // WHEN the function has 1.5 s, and no way to continue elsewhere (no ARN of its own in the
  // context: it knows itself by name only), so this invocation must answer
  const alone = withoutArn(context(1500));
  process.env.AWS_LAMBDA_FUNCTION_NAME = 'seed';
  try {
    await handler(createEvent(server.url, props(users)), alone);
  } finally {
    delete process.env.AWS_LAMBDA_FUNCTION_NAME;
  }

  // THEN exactly one answer, the guard's, was taken before the handler returned
  expect(server.bodies).toHaveLength(1);
  expect(server.last).toMatchObject({ Status: 'FAILED', PhysicalResourceId: `${POOL_ID}/UsersSeeder7F21A71B` });
  expect(server.last.Reason).toMatch(/did not finish before the function's timeout/);
  expect(output.lines().filter((l) => l.outcome === 'timeout')).toHaveLength(1);
});

test('duplicateDelivery together: two deliveries of one Create at once make one set of writes and one answer', async () => {
  // GIVEN
  const users = Array.from({ length: 5 }, (_, i) => temp(`t${i}`));
  const event = createEvent(server.url, props(users));

  // WHEN CloudFormation's event arrives twice at the same moment
  await Promise.all([handler(event, context()), handler({ ...event }, context())]);

  // THEN one delivery acted and answered, the other stayed silent
  expect(server.bodies).toHaveLength(1);
  expect(server.last.Status).toBe('SUCCESS');
  expect(cognito.commandCalls(AdminCreateUserCommand)).toHaveLength(5);
  expect(output.lines().filter((l) => l.outcome === 'duplicate-delivery')).toHaveLength(1);
  expect((await ledger.requests()).map((r) => [r.status, r.answered])).toEqual([['SUCCESS', true]]);
});
