// End to end: a seeding function that fails every attempt at CloudFormation's events (each
// attempt times out), played on the synthesized asset as Lambda plays an asynchronous
// invocation: the event delivered again twice, then the record of the last attempt handed
// to the function's failure destination, the synthesized answerer (`index.onFailure`). The
// stack hears from it at once instead of waiting out the hour; a hand-made user in the pool
// keeps its `sub` through every request, and nothing secret reaches an output or an answer.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  AdminCreateUserCommand,
  AdminGetUserCommand,
  AdminSetUserPasswordCommand,
  CreateUserPoolCommand,
  ListUsersCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { App, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { PasswordMode, SeedPassword, UserSeeder } from '../lib';
import { InvokeResult, Rehearsal, SeedResource, synthesize } from '../rehearsal/harness';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:answerer-AbCdEf';
const PASSWORD = 'Canary-Answerer-Perm-4!kQ';
const HAND_PASSWORD = 'Hand-Made-Pass-9!';
/** An attempt that times out before its first call lands: every delivery of the event fails. */
const TIMES_OUT = 1;

let r: Rehearsal;
let poolId: string;
const outdirs: string[] = [];

beforeAll(async () => {
  r = await Rehearsal.start({ backend: 'fake', secrets: { [SECRET_ARN]: PASSWORD } });
  const pool = await r.cognito.send(new CreateUserPoolCommand({ PoolName: 'answerer' }));
  poolId = pool.UserPool!.Id!;
});

afterAll(async () => {
  await r?.stop();
  outdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
});

/** The stack's next template, seeding `usernames` into the pool made outside it. */
async function deploy(usernames: string[]): Promise<SeedResource> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-answerer-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  const stack = new Stack(app, 'Answerer');
  const password = SeedPassword.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Perm', SECRET_ARN));
  new UserSeeder(stack, 'Seeder', {
    userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', poolId),
    users: usernames.map((username) => ({ username, mode: PasswordMode.PERMANENT, password })),
  });
  const [resource] = await r.deploy(synthesize(app));
  return resource;
}

/** A user someone made by hand, outside any stack: its `sub`. */
async function handMade(username: string): Promise<string | undefined> {
  await r.cognito.send(
    new AdminCreateUserCommand({ UserPoolId: poolId, Username: username, MessageAction: 'SUPPRESS' }),
  );
  await r.cognito.send(
    new AdminSetUserPasswordCommand({
      UserPoolId: poolId,
      Username: username,
      Password: HAND_PASSWORD,
      Permanent: true,
    }),
  );
  return subOf(username);
}

async function subOf(username: string): Promise<string | undefined> {
  try {
    const user = await r.cognito.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: username }));
    return user.UserAttributes?.find((a) => a.Name === 'sub')?.Value;
  } catch (error) {
    if ((error as Error).name === 'UserNotFoundException') return undefined;
    throw error;
  }
}

async function usernames(): Promise<string[]> {
  const out = await r.cognito.send(new ListUsersCommand({ UserPoolId: poolId }));
  return (out.Users ?? []).map((u) => u.Username!).sort();
}

/** The one answer CloudFormation got for the request, and no canary anywhere. */
function onlyAnswer(result: InvokeResult) {
  const answers = r.responses.bodies.filter((b) => b.RequestId === result.event.RequestId);
  expect(answers).toHaveLength(1);
  const everything = result.output + result.rawResponses.join('\n');
  for (const canary of [PASSWORD, HAND_PASSWORD, r.responses.url, 'RESPONSE-URL-CANARY', 'SIG-CANARY']) {
    expect({ canary, found: everything.includes(canary) }).toEqual({ canary, found: false });
  }
  return answers[0];
}

const WHERE_TO_LOOK =
  /the seeding function failed all 3 attempts to take request \S+ on \S+ \(RetriesExhausted, Sandbox\.Timedout\); see its log group \/rehearsal\/\S*LogGroup\S* for Lambda request [0-9a-f-]{36}/;

test('a Create timing out on every attempt is answered FAILED by the answerer, its rollback Delete SUCCESS; the hand-made user keeps its sub', async () => {
  // GIVEN a user made by hand, and a seeder whose function times out on every attempt
  const sub = await handMade('hand-made-create');
  expect(sub).toEqual(expect.any(String));
  const resource = await deploy(['seeded-a', 'seeded-b']);

  // WHEN CloudFormation sends the Create, then (having heard FAILED) the rollback's Delete
  const created = await r.invoke({ requestType: 'Create', resource, timeoutMs: TIMES_OUT });
  const physicalId = `${poolId}/${resource.logicalId}`;
  const deleted = await r.invoke({
    requestType: 'Delete',
    resource,
    physicalResourceId: physicalId,
    timeoutMs: TIMES_OUT,
  });

  // THEN each event was delivered three times, then answered once by the answerer
  expect([created.deliveries, deleted.deliveries]).toEqual([3, 3]);
  expect(created.output).toMatch(/Task timed out after 0\.00 seconds/);
  const createAnswer = onlyAnswer(created);
  expect(createAnswer).toMatchObject({ Status: 'FAILED', PhysicalResourceId: physicalId });
  expect(createAnswer.Reason).toMatch(new RegExp(`^Create failed: ${WHERE_TO_LOOK.source}, then deploy again$`));
  expect(createAnswer.Reason).toContain(`request ${String(created.event.RequestId)} on ${resource.logicalId}`);
  const deleteAnswer = onlyAnswer(deleted);
  expect(deleteAnswer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: physicalId });
  expect(deleteAnswer.Reason).toMatch(new RegExp(`^Delete changed no user: ${WHERE_TO_LOOK.source}\\. The users`));
  // and nothing was made or removed: the hand-made user is the same user
  expect(await usernames()).toEqual(['hand-made-create']);
  expect(await subOf('hand-made-create')).toBe(sub);
});

test('an Update timing out on every attempt is answered FAILED, its rollback Update SUCCESS; every user keeps its sub', async () => {
  // GIVEN a seeder the function created while it worked, and a user made by hand
  const hand = await handMade('hand-made-update');
  expect(hand).toEqual(expect.any(String));
  const first = await deploy(['kept-a']);
  const created = await r.invoke({ requestType: 'Create', resource: first });
  expect(created.response).toMatchObject({ Status: 'SUCCESS' });
  const physicalId = created.response!.PhysicalResourceId;
  const kept = await subOf('kept-a');
  expect(kept).toEqual(expect.any(String));

  // WHEN an Update adds a user, every attempt times out, and CloudFormation rolls back
  const next = await deploy(['kept-a', 'added-b']);
  const updated = await r.invoke({
    requestType: 'Update',
    resource: next,
    oldProperties: first.properties,
    physicalResourceId: physicalId,
    timeoutMs: TIMES_OUT,
  });
  const rolledBack = await r.invoke({
    requestType: 'Update',
    resource: first,
    oldProperties: next.properties,
    physicalResourceId: physicalId,
    timeoutMs: TIMES_OUT,
  });

  // THEN the forward Update failed and the rollback finished, both answered by the answerer
  expect([updated.deliveries, rolledBack.deliveries]).toEqual([3, 3]);
  expect(onlyAnswer(updated)).toMatchObject({
    Status: 'FAILED',
    PhysicalResourceId: physicalId,
    Reason: expect.stringMatching(new RegExp(`^Update failed: ${WHERE_TO_LOOK.source}`)),
  });
  expect(onlyAnswer(rolledBack)).toMatchObject({
    Status: 'SUCCESS',
    PhysicalResourceId: physicalId,
    Reason: expect.stringMatching(new RegExp(`^Update changed no user: ${WHERE_TO_LOOK.source}`)),
  });
  expect(r.cloudFormation.calls.DescribeStacks).toBeGreaterThan(0);
  // and no user changed: the seeded one and the hand-made one are the same users
  expect(await subOf('kept-a')).toBe(kept);
  expect(await subOf('hand-made-update')).toBe(hand);
  expect(await subOf('added-b')).toBeUndefined();
});

test('an attempt that crashes after starting the execution: the execution answers, the answerer stays silent; one answer each', async () => {
  // GIVEN a user made by hand, and a function killed on every delivery once the request's
  // execution exists (the first delivery just after StartExecution, the retries at once)
  const sub = await handMade('hand-made-crash');
  const resource = await deploy(['crash-a', 'crash-b']);

  // WHEN CloudFormation sends the Create, then deletes the stack
  const created = await r.invoke({ requestType: 'Create', resource, crashAfterStart: true });
  const deleted = await r.invoke({
    requestType: 'Delete',
    resource,
    physicalResourceId: created.response!.PhysicalResourceId,
    crashAfterStart: true,
  });

  // THEN every delivery failed, and the answerer left each request to its execution
  expect([created.deliveries, deleted.deliveries]).toEqual([3, 3]);
  expect(created.output).toMatch(/"outcome":"left-to-the-execution"/);
  expect(deleted.output).toMatch(/"outcome":"left-to-the-execution"/);
  expect(created.output).not.toMatch(/answered-for-the-seeding-function/);
  // so CloudFormation heard once, from the execution: the Create did its work
  expect(onlyAnswer(created)).toMatchObject({
    Status: 'SUCCESS',
    PhysicalResourceId: `${poolId}/${resource.logicalId}`,
  });
  expect(onlyAnswer(deleted)).toMatchObject({ Status: 'SUCCESS' });
  // and the Delete removed what the Create made, and nothing else
  expect((await usernames()).filter((u) => u.startsWith('crash-') || u === 'hand-made-crash')).toEqual([
    'hand-made-crash',
  ]);
  expect(await subOf('hand-made-crash')).toBe(sub);
});
