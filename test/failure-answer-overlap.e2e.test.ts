// The failure answerer (index.onFailure) and crashAfterStart. A Create whose
// every delivery is killed just after StartExecution, its work still running (its slice held
// back mid-way), and then the rollback Delete that overlaps it, its deliveries killed the same
// way; then Lambda's destination delivering the Create's failure record once more, late (a
// destination is invoked at least once). CloudFormation must get exactly one answer for the
// Delete and never two for the Create, and the Delete must remove exactly what the ledger
// holds: the users the Create made, never the hand-made user, and nothing made after it.
import type { ChildProcess } from 'child_process';
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  AdminCreateUserCommand,
  AdminGetUserCommand,
  CreateUserPoolCommand,
  ListUsersCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { App, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { PasswordMode, SeedPassword, UserSeeder } from '../lib';
import { InvokeResult, Rehearsal, SeedResource, synthesize } from '../rehearsal/harness';

jest.setTimeout(150_000);

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:adv-answerer-AbCdEf';
const PASSWORD = 'Canary-AdvAnswerer-Perm-4!kQ';
const USERS = Array.from({ length: 40 }, (_, i) => `seeded-${String(i).padStart(2, '0')}`);

let r: Rehearsal;
let poolId: string;
let handMadeSub: string;
const outdirs: string[] = [];

beforeAll(async () => {
  // Every Cognito call held 150 ms: the Create's slice is still writing when it is held back.
  r = await Rehearsal.start({ backend: 'fake', secrets: { [SECRET_ARN]: PASSWORD }, latencyMs: 150 });
  poolId = (await r.cognito.send(new CreateUserPoolCommand({ PoolName: 'adv-answerer' }))).UserPool!.Id!;
  const made = await r.cognito.send(
    new AdminCreateUserCommand({ UserPoolId: poolId, Username: 'hand-made', MessageAction: 'SUPPRESS' }),
  );
  handMadeSub = made.User!.Attributes!.find((a) => a.Name === 'sub')!.Value!;
});

afterAll(async () => {
  await r?.stop();
  outdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
});

async function deploy(): Promise<SeedResource> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-adv-answerer-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  const stack = new Stack(app, 'AdvAnswerer');
  const password = SeedPassword.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Perm', SECRET_ARN));
  new UserSeeder(stack, 'Seeder', {
    userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', poolId),
    users: USERS.map((username) => ({ username, mode: PasswordMode.PERMANENT, password })),
    maxConcurrency: 4,
  });
  const [resource] = await r.deploy(synthesize(app));
  return resource;
}

async function usernames(): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const out = await r.cognito.send(new ListUsersCommand({ UserPoolId: poolId, PaginationToken: token }));
    names.push(...(out.Users ?? []).map((u) => u.Username!));
    token = out.PaginationToken;
  } while (token);
  return names.sort();
}

async function subOf(username: string): Promise<string | undefined> {
  try {
    const out = await r.cognito.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: username }));
    return out.UserAttributes?.find((a) => a.Name === 'sub')?.Value;
  } catch (error) {
    if ((error as Error).name === 'UserNotFoundException') return undefined;
    throw error;
  }
}

const answersTo = (requestId: unknown) => r.responses.bodies.filter((b) => b.RequestId === requestId);

/** The failure destination's invocation, as Lambda makes it after the last attempt (the rehearsal's own function, reached privately). */
async function deliverFailureRecord(result: InvokeResult): Promise<string> {
  const harness = r as unknown as {
    asyncInvoke: Map<string, { onFailure?: unknown }>;
    runHandler(fn: unknown, event: Record<string, unknown>, settings: object): Promise<{ output: string }>;
  };
  const fnArn = String(result.event.ServiceToken);
  const answerer = harness.asyncInvoke.get(fnArn)?.onFailure;
  expect(answerer).toBeDefined();
  const requestId = randomUUID();
  const run = await harness.runHandler(
    answerer,
    {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId,
        functionArn: `${fnArn}:$LATEST`,
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
      },
      requestPayload: result.event,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: {
        errorType: 'Runtime.ExitError',
        errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: signal: killed`,
      },
    },
    {},
  );
  return run.output;
}

function expectNoSecret(...texts: string[]): void {
  const everything = texts.join('\n') + JSON.stringify(r.responses.bodies);
  for (const canary of [PASSWORD, r.responses.url]) {
    expect({ canary: canary.slice(0, 8), found: everything.includes(canary) }).toEqual({
      canary: canary.slice(0, 8),
      found: false,
    });
  }
}

test('a Create killed after StartExecution and still writing, overlapped by its rollback Delete killed the same way: one answer for the Delete, at most one for the Create, only what the ledger holds removed', async () => {
  // GIVEN a seeder of 40 users, its function killed on every delivery once the execution exists
  const resource = await deploy();
  let createSlice: ChildProcess | undefined;
  const create = r.invoke({
    requestType: 'Create',
    resource,
    crashAfterStart: true,
    onSlice: (slice, child) => {
      if (slice === 1) createSlice = child;
    },
  });
  // WHEN the Create's first slice has made a few users, it is held back (a slow slice)
  let held: Record<string, string | number | boolean>[] = [];
  for (let i = 0; i < 600; i++) {
    held = (await r.ledgerUsers()).filter((u) => u.state === 'present');
    if (createSlice && held.length >= 3) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  createSlice!.kill('SIGSTOP');
  expect(held.length).toBeGreaterThanOrEqual(3);
  // and the Create's deliveries and its failure destination have had their turn
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const madeByCreate = (await usernames()).filter((u) => u !== 'hand-made');
  expect(madeByCreate.length).toBeGreaterThan(0);
  expect(madeByCreate.length).toBeLessThan(USERS.length);

  // and CloudFormation, having given up on the Create, sends the rollback Delete, whose
  // deliveries are killed the same way; the held Create slice goes on a moment later
  const resume = setTimeout(() => createSlice!.kill('SIGCONT'), 3_000);
  const deleted = await r.invoke({
    requestType: 'Delete',
    resource,
    physicalResourceId: `${poolId}/${resource.logicalId}`,
    crashAfterStart: true,
  });
  clearTimeout(resume);
  createSlice!.kill('SIGCONT');
  const created = await create;
  await r.engine.settle();
  const settledUsers = await usernames();

  // THEN every delivery of each failed, and the answerer left both requests to their executions
  expect([created.deliveries, deleted.deliveries]).toEqual([3, 3]);
  expect(created.output).toMatch(/"outcome":"left-to-the-execution"/);
  expect(deleted.output).toMatch(/"outcome":"left-to-the-execution"/);
  expect(created.output + deleted.output).not.toMatch(/answered-for-the-seeding-function/);
  // and the Delete was answered once, SUCCESS; the Create at most once, and never SUCCESS
  expect(answersTo(deleted.event.RequestId)).toEqual([
    expect.objectContaining({ Status: 'SUCCESS', PhysicalResourceId: `${poolId}/${resource.logicalId}` }),
  ]);
  const createAnswers = answersTo(created.event.RequestId);
  expect(createAnswers.length).toBeLessThanOrEqual(1);
  expect(createAnswers.filter((a) => a.Status === 'SUCCESS')).toEqual([]);
  // and the Delete removed what the ledger held, and nothing was made after it
  expect(settledUsers).toEqual(['hand-made']);
  expect(await r.ledgerUsers()).toEqual([]);
  expect(await subOf('hand-made')).toBe(handMadeSub);

  // WHEN Lambda's destination delivers the Create's failure record once more, late
  const lateOutput = await deliverFailureRecord(created);

  // THEN CloudFormation still has at most one answer for the Create, the Delete's is the same
  // (one comparison, so that a failure shows both)
  expect({
    createAnswers: answersTo(created.event.RequestId).map((a) => a.Status),
    deleteAnswers: answersTo(deleted.event.RequestId).map((a) => a.Status),
    lateOutcome: /"outcome":"([\w-]+)"/.exec(lateOutput)?.[1],
  }).toEqual({
    createAnswers: createAnswers.map((a) => a.Status),
    deleteAnswers: ['SUCCESS'],
    lateOutcome: expect.any(String),
  });
  expect(await usernames()).toEqual(['hand-made']);
  expect(await subOf('hand-made')).toBe(handMadeSub);
  expectNoSecret(created.output, deleted.output, lateOutput, ...created.rawResponses, ...deleted.rawResponses);
});
