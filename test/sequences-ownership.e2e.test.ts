// Ownership through sequences the existing suites do not play. A user the
// spec drops while the same username was meanwhile deleted and made again by hand (case-
// sensitive and case-insensitive pools), an adopted user through the Update that drops it,
// its rollback and the stack Delete, a late duplicate of the Create after the stack Delete,
// and 'Alice' against 'alice' in a case-insensitive pool. DESIGN.md: the ledger is the only
// thing that can authorise a delete; a user re-made by hand is not ours and is reported,
// never changed or deleted; adopted users are released, never deleted; nothing is created
// after the Delete that answered SUCCESS. A hand-made user is in the pool throughout and must
// keep its `sub`; every request gets exactly one answer; no password canary appears.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminGetUserCommand,
  CreateUserPoolCommand,
  ListUsersCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { App, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { PasswordMode, SeedPassword, SeedUser, UserSeeder } from '../lib';
import { InvokeResult, Rehearsal, SeedResource, synthesize } from '../rehearsal/harness';
import { expectNoCanaryIn, expectOneAnswer, physicalIdOf } from './support/sequence-checks';

const PERM_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:adv2-own-AbCdEf';
const CANARY = 'Canary-Adv2-Owner-3!hJ';

jest.setTimeout(120_000);

const outdirs: string[] = [];
let rehearsal: Rehearsal | undefined;
afterEach(async () => {
  await rehearsal?.stop();
  rehearsal = undefined;
});
afterAll(() => outdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

interface World {
  readonly r: Rehearsal;
  readonly poolId: string;
  readonly handSub: string;
  readonly seeder: (
    users: (password: SeedPassword) => SeedUser[],
    options?: { adopt?: boolean },
  ) => Promise<SeedResource>;
}

async function world(options: { caseSensitive?: boolean } = {}): Promise<World> {
  rehearsal = await Rehearsal.start({ backend: 'fake', secrets: { [PERM_ARN]: CANARY } });
  const r = rehearsal;
  const pool = await r.cognito.send(
    new CreateUserPoolCommand({
      PoolName: 'adv2-ownership',
      ...(options.caseSensitive === undefined
        ? {}
        : { UsernameConfiguration: { CaseSensitive: options.caseSensitive } }),
    }),
  );
  const poolId = pool.UserPool!.Id!;
  const handSub = await makeByHand(r, poolId, 'hand-made');
  const seeder: World['seeder'] = async (users, seederOptions = {}) => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-adv2-own-'));
    outdirs.push(outdir);
    const app = new App({ outdir });
    const stack = new Stack(app, 'Adv2Ownership');
    const password = SeedPassword.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Perm', PERM_ARN));
    new UserSeeder(stack, 'Seeder', {
      userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', poolId),
      users: users(password),
      adoptExistingUsers: seederOptions.adopt,
    });
    return (await r.deploy(synthesize(app)))[0];
  };
  return { r, poolId, handSub, seeder };
}

async function makeByHand(
  r: Rehearsal,
  poolId: string,
  name: string,
  attributes: Record<string, string> = {},
): Promise<string> {
  const out = await r.cognito.send(
    new AdminCreateUserCommand({
      UserPoolId: poolId,
      Username: name,
      MessageAction: 'SUPPRESS',
      UserAttributes: Object.entries(attributes).map(([Name, Value]) => ({ Name, Value })),
    }),
  );
  return out.User!.Attributes!.find((a) => a.Name === 'sub')!.Value!;
}

async function poolUsers(r: Rehearsal, poolId: string): Promise<Record<string, string>> {
  const subs: Record<string, string> = {};
  let token: string | undefined;
  do {
    const page = await r.cognito.send(new ListUsersCommand({ UserPoolId: poolId, PaginationToken: token }));
    for (const u of page.Users ?? []) subs[u.Username!] = u.Attributes?.find((a) => a.Name === 'sub')?.Value ?? '';
    token = page.PaginationToken;
  } while (token);
  return subs;
}

async function attributesOf(r: Rehearsal, poolId: string, name: string): Promise<Record<string, string>> {
  const out = await r.cognito.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: name }));
  return Object.fromEntries((out.UserAttributes ?? []).map((a) => [a.Name!, a.Value!]));
}

const perm =
  (username: string, extra: Partial<SeedUser> = {}) =>
  (password: SeedPassword): SeedUser => ({
    username,
    mode: PasswordMode.PERMANENT,
    password,
    ...extra,
  });

const expectNoCanary = (w: World, ...results: InvokeResult[]) => expectNoCanaryIn(w, CANARY, ...results);

test.each([
  ['a case-sensitive pool', true, 'alice', 'alice'],
  ["a case-insensitive pool, re-made by hand as 'ALICE'", false, 'Alice', 'ALICE'],
])(
  'in %s: a user the Update drops, meanwhile deleted and made again by hand, is kept and reported; its rollback and the Delete keep it too',
  async (_, caseSensitive, seededName, handName) => {
    // GIVEN the seeded user and bob
    const w = await world({ caseSensitive });
    const v1 = await w.seeder((p) => [perm(seededName, { attributes: { given_name: 'Seeded' } })(p), perm('bob')(p)]);
    const created = await w.r.invoke({ requestType: 'Create', resource: v1 });
    expect(created.response?.Status).toBe('SUCCESS');
    // ...deleted and made again by hand (another sub)
    await w.r.cognito.send(new AdminDeleteUserCommand({ UserPoolId: w.poolId, Username: seededName }));
    const personSub = await makeByHand(w.r, w.poolId, handName, { given_name: 'Person' });

    // WHEN an Update drops the user from the spec; CloudFormation then rolls it back (another
    // resource failed); then deletes the stack
    const v2 = await w.seeder((p) => [perm('bob')(p)]);
    const forward = await w.r.invoke({
      requestType: 'Update',
      resource: v2,
      oldProperties: v1.properties,
      physicalResourceId: physicalIdOf(w, v1),
    });
    const rollback = await w.r.invoke({
      requestType: 'Update',
      resource: v1,
      oldProperties: v2.properties,
      physicalResourceId: physicalIdOf(w, v1),
    });
    const deleted = await w.r.invoke({
      requestType: 'Delete',
      resource: v1,
      physicalResourceId: physicalIdOf(w, v1),
    });

    // THEN the person's user is there, unchanged, with its sub, after each; bob is gone
    // after the Delete; the hand-made user keeps its sub
    expect(forward.response?.Status).toBe('SUCCESS');
    expect(forward.output).toContain(`"user":"${seededName}","action":"delete","outcome":"kept-not-ours"`);
    // (a rollback leaves what it cannot prove its own as it is, and succeeds)
    expect(rollback.response?.Status).toBe('SUCCESS');
    expect(deleted.response?.Status).toBe('SUCCESS');
    expectOneAnswer(w, created, forward, rollback, deleted);
    expectNoCanary(w, created, forward, rollback, deleted);
    const users = await poolUsers(w.r, w.poolId);
    expect(Object.values(users).sort()).toEqual([personSub, w.handSub].sort());
    expect((await attributesOf(w.r, w.poolId, handName)).given_name).toBe('Person');
    expect(await w.r.ledgerUsers()).toEqual([]);
  },
);

test('an adopted user through the Update that drops it, a rollback that lists it again, and the stack Delete: it survives with its sub', async () => {
  // GIVEN a hand-made 'legacy' user adopted by the Create beside a created 'fresh'
  const w = await world();
  const legacySub = await makeByHand(w.r, w.poolId, 'legacy');
  const v1 = await w.seeder((p) => [perm('legacy', { attributes: { given_name: 'Adopted' } })(p), perm('fresh')(p)], {
    adopt: true,
  });
  const created = await w.r.invoke({ requestType: 'Create', resource: v1 });
  expect(created.response?.Status).toBe('SUCCESS');
  expect((await w.r.ledgerUsers()).find((u) => u.username === 'legacy')?.origin).toBe('adopted');

  // WHEN an Update drops legacy, CloudFormation rolls it back, and then deletes the stack
  const v2 = await w.seeder((p) => [perm('fresh')(p)], { adopt: true });
  const forward = await w.r.invoke({
    requestType: 'Update',
    resource: v2,
    oldProperties: v1.properties,
    physicalResourceId: physicalIdOf(w, v1),
  });
  expect(forward.response?.Status).toBe('SUCCESS');
  expect((await poolUsers(w.r, w.poolId)).legacy).toBe(legacySub);
  const rollback = await w.r.invoke({
    requestType: 'Update',
    resource: v1,
    oldProperties: v2.properties,
    physicalResourceId: physicalIdOf(w, v1),
  });
  expect(rollback.response?.Status).toBe('SUCCESS');
  // The rollback took legacy back as adopted, never as created
  const held = (await w.r.ledgerUsers()).find((u) => u.username === 'legacy');
  expect(held?.origin).toBe('adopted');
  const deleted = await w.r.invoke({ requestType: 'Delete', resource: v1, physicalResourceId: physicalIdOf(w, v1) });

  // THEN legacy and the hand-made user survive with their subs, fresh is gone
  expect(deleted.response?.Status).toBe('SUCCESS');
  expectOneAnswer(w, created, forward, rollback, deleted);
  expectNoCanary(w, created, forward, rollback, deleted);
  expect(await poolUsers(w.r, w.poolId)).toEqual({ legacy: legacySub, 'hand-made': w.handSub });
  expect(await w.r.ledgerUsers()).toEqual([]);
});

test('a late duplicate of the Create, delivered after the stack Delete answered SUCCESS, creates nothing and answers nothing', async () => {
  // GIVEN a stack created and deleted
  const w = await world();
  const v1 = await w.seeder((p) => [perm('alice')(p), perm('bob')(p)]);
  const created = await w.r.invoke({ requestType: 'Create', resource: v1, requestId: 'the-create' });
  expect(created.response?.Status).toBe('SUCCESS');
  const deleted = await w.r.invoke({ requestType: 'Delete', resource: v1, physicalResourceId: physicalIdOf(w, v1) });
  expect(deleted.response?.Status).toBe('SUCCESS');
  const writesBefore = { ...w.r.proxy.forwarded };

  // WHEN Lambda delivers the Create again, late: once as CloudFormation shows the stack now
  // (deleted), once as the harness would show a Create (in progress)
  const lateDeleted = await w.r.invoke({
    requestType: 'Create',
    resource: v1,
    requestId: 'the-create',
    cloudFormation: { resourceStatus: 'DELETE_COMPLETE', stackStatus: 'DELETE_COMPLETE' },
  });
  const lateInProgress = await w.r.invoke({ requestType: 'Create', resource: v1, requestId: 'the-create' });
  await w.r.engine.settle();

  // THEN nothing was created or written, and the Create still has its one answer
  expect(lateDeleted.rawResponses).toEqual([]);
  expect(lateInProgress.rawResponses).toEqual([]);
  expect(w.r.proxy.forwarded.AdminCreateUser).toBe(writesBefore.AdminCreateUser);
  expect(w.r.proxy.forwarded.AdminSetUserPassword).toBe(writesBefore.AdminSetUserPassword);
  expect(await poolUsers(w.r, w.poolId)).toEqual({ 'hand-made': w.handSub });
  expect(await w.r.ledgerUsers()).toEqual([]);
  expectOneAnswer(w, created, deleted);
  expectNoCanary(w, created, deleted, lateDeleted, lateInProgress);
});

test("a case-insensitive pool: 'Alice' renamed to 'alice' with a new attribute in one Update, then its rollback and the Delete: one user, one sub throughout", async () => {
  // GIVEN 'Alice' seeded in a case-insensitive pool
  const w = await world({ caseSensitive: false });
  const v1 = await w.seeder((p) => [perm('Alice', { attributes: { given_name: 'Upper' } })(p)]);
  const created = await w.r.invoke({ requestType: 'Create', resource: v1 });
  expect(created.response?.Status).toBe('SUCCESS');
  const aliceSub = (await attributesOf(w.r, w.poolId, 'alice')).sub;

  // WHEN an Update spells her 'alice' and changes her given_name, and is rolled back
  const v2 = await w.seeder((p) => [perm('alice', { attributes: { given_name: 'Lower' } })(p)]);
  const forward = await w.r.invoke({
    requestType: 'Update',
    resource: v2,
    oldProperties: v1.properties,
    physicalResourceId: physicalIdOf(w, v1),
  });
  expect(forward.response?.Status).toBe('SUCCESS');
  expect((await attributesOf(w.r, w.poolId, 'ALICE')).given_name).toBe('Lower');
  const rollback = await w.r.invoke({
    requestType: 'Update',
    resource: v1,
    oldProperties: v2.properties,
    physicalResourceId: physicalIdOf(w, v1),
  });
  expect(rollback.response?.Status).toBe('SUCCESS');
  const afterRollback = await poolUsers(w.r, w.poolId);
  expect(Object.values(afterRollback).sort()).toEqual([aliceSub, w.handSub].sort());
  expect((await attributesOf(w.r, w.poolId, 'alice')).given_name).toBe('Upper');
  expect(await w.r.ledgerUsers()).toHaveLength(1);

  // ...and then the stack is deleted
  const deleted = await w.r.invoke({ requestType: 'Delete', resource: v1, physicalResourceId: physicalIdOf(w, v1) });

  // THEN only the hand-made user is left, with its sub
  expect(deleted.response?.Status).toBe('SUCCESS');
  expectOneAnswer(w, created, forward, rollback, deleted);
  expectNoCanary(w, created, forward, rollback, deleted);
  expect(await poolUsers(w.r, w.poolId)).toEqual({ 'hand-made': w.handSub });
  expect(await w.r.ledgerUsers()).toEqual([]);
});
