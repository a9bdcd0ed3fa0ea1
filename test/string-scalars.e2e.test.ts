// Every scalar property arrives as a string (CloudFormation's way; the harness
// stringifies them: MaxConcurrency, Rates, AdoptExistingUsers, RemovalPolicy,
// PasswordRevision), and events are delivered again with the same request id, at once and
// late. Nothing may be applied twice: each user made once, a password set once per
// revision, an unchanged user never written, one answer per request. A hand-made user keeps
// its `sub`; an adopted one is released, never deleted; no password in any output.
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
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { PasswordMode, SeedPassword, UserSeeder } from '../lib';
import { InvokeResult, Rehearsal, SeedResource, synthesize } from '../rehearsal/harness';

jest.setTimeout(150_000);

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:adv-scalars-AbCdEf';
const PASSWORD = 'Canary-AdvScalars-Perm-4!kQ';
const HAND_PASSWORD = 'Canary-Hand-Made-9!zZ';
const WRITES = [
  'AdminCreateUser',
  'AdminSetUserPassword',
  'AdminResetUserPassword',
  'AdminUpdateUserAttributes',
  'AdminAddUserToGroup',
  'AdminRemoveUserFromGroup',
  'AdminDeleteUser',
  'AdminEnableUser',
];

let r: Rehearsal;
const outdirs: string[] = [];
afterAll(() => outdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
afterEach(async () => r?.stop());

async function deploy(poolId: string, options: { maxConcurrency: number; revision: string }): Promise<SeedResource> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-adv-scalars-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  const stack = new Stack(app, 'AdvScalars');
  const password = SeedPassword.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Perm', SECRET_ARN));
  new UserSeeder(stack, 'Seeder', {
    userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', poolId),
    adoptExistingUsers: true,
    removalPolicy: RemovalPolicy.RETAIN,
    maxConcurrency: options.maxConcurrency,
    rateLimits: { userCreation: 7.5, accountRecovery: 5, userWrites: 4, userReads: 20 },
    users: [
      {
        username: 'alice',
        mode: PasswordMode.PERMANENT,
        password,
        passwordRevision: options.revision,
        attributes: { given_name: 'Alice', email_verified: 'false' },
      },
      { username: 'bob', mode: PasswordMode.TEMPORARY, password },
      { username: 'adoptee', mode: PasswordMode.PERMANENT, password },
    ],
  });
  const [resource] = await r.deploy(synthesize(app));
  return resource;
}

const writes = () => Object.fromEntries(WRITES.map((w) => [w, r.proxy.forwarded[w] ?? 0]));
const delta = (before: Record<string, number>) =>
  Object.fromEntries(
    Object.entries(writes())
      .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
      .filter(([, v]) => v !== 0),
  );
const answersTo = (result: InvokeResult) => r.responses.bodies.filter((b) => b.RequestId === result.event.RequestId);

async function subs(poolId: string): Promise<Record<string, string | undefined>> {
  const out = await r.cognito.send(new ListUsersCommand({ UserPoolId: poolId }));
  const names = (out.Users ?? []).map((u) => u.Username!).sort();
  const result: Record<string, string | undefined> = {};
  for (const name of names) {
    const user = await r.cognito.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: name }));
    result[name] = user.UserAttributes?.find((a) => a.Name === 'sub')?.Value;
  }
  return result;
}

test('string scalars, and every request delivered twice (at once and late): applied once each, one answer each', async () => {
  // GIVEN a pool with a hand-made user and a user to adopt
  r = await Rehearsal.start({ backend: 'fake', secrets: { [SECRET_ARN]: PASSWORD } });
  const poolId = (await r.cognito.send(new CreateUserPoolCommand({ PoolName: 'adv-scalars' }))).UserPool!.Id!;
  for (const username of ['hand-made', 'adoptee']) {
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
  }
  const handMade = await subs(poolId);
  const v1 = await deploy(poolId, { maxConcurrency: 3, revision: '1' });

  // WHEN the Create reaches the function twice at once, and once more late
  let before = writes();
  const [c1, c2] = await Promise.all([
    r.invoke({ requestType: 'Create', resource: v1, requestId: 'adv-create' }),
    r.invoke({ requestType: 'Create', resource: v1, requestId: 'adv-create' }),
  ]);
  const c3 = await r.invoke({ requestType: 'Create', resource: v1, requestId: 'adv-create' });
  const createWrites = delta(before);

  // THEN one SUCCESS, the typed values were read from their strings, each user made once
  expect(c1.event.ResourceProperties).toMatchObject({ MaxConcurrency: '3', AdoptExistingUsers: 'true' });
  expect(answersTo(c1)).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
  expect(answersTo(c3)).toHaveLength(1);
  expect(createWrites.AdminCreateUser).toBe(2);
  expect(createWrites.AdminDeleteUser).toBeUndefined();
  const id = answersTo(c1)[0].PhysicalResourceId;
  const seeded = await subs(poolId);
  expect(Object.keys(seeded)).toEqual(['adoptee', 'alice', 'bob', 'hand-made']);
  expect(seeded.adoptee).toBe(handMade.adoptee);
  expect(seeded['hand-made']).toBe(handMade['hand-made']);

  // WHEN an Update changes only MaxConcurrency (a string '5' now), delivered twice at once
  const v2 = await deploy(poolId, { maxConcurrency: 5, revision: '1' });
  before = writes();
  const [u1] = await Promise.all([
    r.invoke({
      requestType: 'Update',
      resource: v2,
      oldProperties: v1.properties,
      physicalResourceId: id,
      requestId: 'adv-u1',
    }),
    r.invoke({
      requestType: 'Update',
      resource: v2,
      oldProperties: v1.properties,
      physicalResourceId: id,
      requestId: 'adv-u1',
    }),
  ]);
  // THEN no user is written, one answer
  expect(answersTo(u1)).toEqual([expect.objectContaining({ Status: 'SUCCESS', PhysicalResourceId: id })]);
  expect(delta(before)).toEqual({});

  // WHEN an Update raises alice's passwordRevision ('1' to '2'), delivered twice at once and once late
  const v3 = await deploy(poolId, { maxConcurrency: 5, revision: '2' });
  before = writes();
  const [u2] = await Promise.all([
    r.invoke({
      requestType: 'Update',
      resource: v3,
      oldProperties: v2.properties,
      physicalResourceId: id,
      requestId: 'adv-u2',
    }),
    r.invoke({
      requestType: 'Update',
      resource: v3,
      oldProperties: v2.properties,
      physicalResourceId: id,
      requestId: 'adv-u2',
    }),
  ]);
  const u2late = await r.invoke({
    requestType: 'Update',
    resource: v3,
    oldProperties: v2.properties,
    physicalResourceId: id,
    requestId: 'adv-u2',
  });
  // THEN alice's password is set once, and nothing else written
  expect(answersTo(u2)).toEqual([expect.objectContaining({ Status: 'SUCCESS', PhysicalResourceId: id })]);
  expect(answersTo(u2late)).toHaveLength(1);
  expect(delta(before)).toEqual({ AdminSetUserPassword: 1 });

  // WHEN a late delivery of the first Update (an older request) arrives after the newer one
  before = writes();
  const u1late = await r.invoke({
    requestType: 'Update',
    resource: v2,
    oldProperties: v1.properties,
    physicalResourceId: id,
    requestId: 'adv-u1',
  });
  // THEN it changes nothing and adds no answer
  expect(answersTo(u1late)).toHaveLength(1);
  expect(delta(before)).toEqual({});

  // WHEN the stack is deleted (RemovalPolicy 'Retain', a string), the Delete delivered twice at once
  before = writes();
  const [d1] = await Promise.all([
    r.invoke({ requestType: 'Delete', resource: v3, physicalResourceId: id, requestId: 'adv-delete' }),
    r.invoke({ requestType: 'Delete', resource: v3, physicalResourceId: id, requestId: 'adv-delete' }),
  ]);
  // THEN every user stays, with its sub; the ledger lets go of them; one answer
  expect(answersTo(d1)).toEqual([expect.objectContaining({ Status: 'SUCCESS', PhysicalResourceId: id })]);
  expect(delta(before)).toEqual({});
  expect(await subs(poolId)).toEqual(seeded);
  expect(await r.ledgerUsers()).toEqual([]);
  // and nothing printed or answered holds a password
  const everything = [c1, c2, c3, u1, u2, u2late, u1late, d1].flatMap((x) => [x.output, ...x.rawResponses]).join('\n');
  for (const canary of [PASSWORD, HAND_PASSWORD]) expect(everything.includes(canary)).toBe(false);
});
