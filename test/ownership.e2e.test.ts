// Proofs of ownership under races and a damaged ledger, played end to end through the real
// asset: two stacks creating one username at once, a stale `creating` record and a user made
// by hand while the stack waits, a seeded user deleted and made again by hand, an emptied
// ledger, a deleted ledger table, and a sign-in alias a hand-made user already holds. In
// each, no user someone relies on is deleted or changed, no stack is left failed, and every
// failure names the user, the rule and the fix. A hand-made user keeps its `sub` throughout.
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
import { DeleteItemCommand, DeleteTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { App, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { PasswordMode, SeedPassword, SeedUser, UserSeeder } from '../lib';
import { InvokeResult, Rehearsal, SeedResource, synthesize } from '../rehearsal/harness';

const outdirs: string[] = [];
let rehearsal: Rehearsal | undefined;

afterEach(async () => {
  await rehearsal?.stop();
  rehearsal = undefined;
});
afterAll(() => outdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const PASSWORD = 'Local-Only-Passw0rd!';

interface World {
  readonly r: Rehearsal;
  readonly poolId: string;
  /** The hand-made user and its `sub`. */
  readonly hand: { readonly name: string; readonly sub: string };
  /** The seed resource of seeder `id` in stack `stackName`, seeding `users`. */
  readonly seeder: (
    users: SeedUser[],
    options?: { id?: string; stackName?: string; adopt?: boolean; deleteAdopted?: boolean },
  ) => Promise<SeedResource>;
}

async function world(
  pool: { aliasAttributes?: ('email' | 'phone_number')[]; handAttributes?: Record<string, string> } = {},
): Promise<World> {
  rehearsal = await Rehearsal.start({ backend: 'fake' });
  const r = rehearsal;
  const out = await r.cognito.send(
    new CreateUserPoolCommand({ PoolName: 'ownership', AliasAttributes: pool.aliasAttributes }),
  );
  const poolId = out.UserPool!.Id!;
  const hand = await makeByHand(r, poolId, 'hand-made', pool.handAttributes);
  const seeder: World['seeder'] = async (users, options = {}) => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-ownership-'));
    outdirs.push(outdir);
    const app = new App({ outdir });
    const stack = new Stack(app, options.stackName ?? 'Ownership');
    new UserSeeder(stack, options.id ?? 'Seeder', {
      userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', poolId),
      users,
      adoptExistingUsers: options.adopt,
      deleteAdoptedUsers: options.deleteAdopted,
    });
    return (await r.deploy(synthesize(app)))[0];
  };
  return { r, poolId, hand: { name: 'hand-made', sub: hand }, seeder };
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

const temp = (username: string, attributes?: Record<string, string>): SeedUser => ({
  username,
  mode: PasswordMode.TEMPORARY,
  password: SeedPassword.unsafePlainText(PASSWORD),
  attributes,
});

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

const status = (result: InvokeResult) => result.response?.Status;
const physicalIdOf = (w: World, resource: SeedResource) => `${w.poolId}/${resource.logicalId}`;
const create = (w: World, resource: SeedResource, requestId?: string) =>
  w.r.invoke({ requestType: 'Create', resource, requestId });
const update = (w: World, to: SeedResource, from: SeedResource, timeoutMs?: number) =>
  w.r.invoke({
    requestType: 'Update',
    resource: to,
    oldProperties: from.properties,
    physicalResourceId: physicalIdOf(w, from),
    timeoutMs,
  });
const remove = (w: World, resource: SeedResource) =>
  w.r.invoke({ requestType: 'Delete', resource, physicalResourceId: physicalIdOf(w, resource) });

async function expectHandMadeKept(w: World): Promise<void> {
  expect((await poolUsers(w.r, w.poolId))[w.hand.name]).toBe(w.hand.sub);
}

test('raceTwoStacks: stack B finds the name free, stack A creates it, B fails naming it and never claims it; deleting B keeps A’s user', async () => {
  // GIVEN stack B's seeder lists `shared`, free when B's pre-flight looks
  const w = await world();
  const b = await w.seeder([temp('shared'), temp('b-only')], { id: 'SeederB', stackName: 'StackB' });
  let aSub = '';
  // WHEN stack A makes `shared` between B's pre-flight and B's create
  w.r.proxy.before('AdminCreateUser', 'shared', async () => {
    aSub = await makeByHand(w.r, w.poolId, 'shared');
  });
  const created = await create(w, b);
  const rolledBack = await remove(w, b);

  // THEN B failed, naming the user, the rule and the fix; its rollback Delete succeeded; A's
  // user is there with its own sub, and B holds nothing
  expect(status(created)).toBe('FAILED');
  expect(created.response?.Reason).toMatch(
    /user 'shared': was made in pool \S+ by someone else while this request ran \(UsernameExistsException\): it is not this seeder's and was not touched; remove it from the pool or drop it from the seeder, and deploy again/,
  );
  expect(status(rolledBack)).toBe('SUCCESS');
  const users = await poolUsers(w.r, w.poolId);
  expect(users.shared).toBe(aSub);
  expect(users['b-only']).toBeUndefined();
  expect(await w.r.ledgerUsers()).toEqual([]);
  await expectHandMadeKept(w);
}, 120_000);

test('staleCreating: an Update killed while its create never landed, a user made by hand meanwhile, then the rollback keeps that user', async () => {
  // GIVEN a seeded user, and calls that give up after 2 s
  const w = await world();
  w.r.extraEnvironment = { SEED_COGNITO_REQUEST_TIMEOUT_MS: '2000' };
  const v1 = await w.seeder([temp('kept')]);
  expect(status(await create(w, v1))).toBe('SUCCESS');
  const v2 = await w.seeder([temp('kept'), temp('late')]);
  // WHEN the forward Update's create of `late` never reaches Cognito and its slices are killed
  w.r.proxy.drop('AdminCreateUser', 'late');
  const forward = await w.r.invoke({
    requestType: 'Update',
    resource: v2,
    oldProperties: v1.properties,
    physicalResourceId: physicalIdOf(w, v1),
    requestId: 'forward',
    onSlice: (_slice, child) => setTimeout(() => child.kill('SIGKILL'), 1500),
  });
  expect(status(forward)).toBe('FAILED');
  const stale = (await w.r.ledgerUsers()).find((u) => u.username === 'late');
  expect(stale?.state).toBe('creating');
  // ...after the latest moment that create could have landed, a person makes `late` by hand
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(stale?.until) + 6_000 - Date.now())));
  const lateSub = await makeByHand(w.r, w.poolId, 'late');
  // ...and CloudFormation rolls back to v1
  const rollback = await update(w, v1, v2);

  // THEN the rollback succeeded and left the person's user as it is; the stale record is gone
  expect(status(rollback)).toBe('SUCCESS');
  const users = await poolUsers(w.r, w.poolId);
  expect(users.late).toBe(lateSub);
  expect((await w.r.ledgerUsers()).map((u) => u.username)).toEqual(['kept']);
  await expectHandMadeKept(w);
}, 120_000);

test('remadeByHand: a seeded user deleted and made again by hand is never changed by an Update, its rollback or the Delete', async () => {
  // GIVEN alice seeded, then deleted and made again by hand (another sub)
  const w = await world();
  const v1 = await w.seeder([temp('alice', { given_name: 'Seeded' }), temp('bob')]);
  expect(status(await create(w, v1))).toBe('SUCCESS');
  await w.r.cognito.send(new AdminDeleteUserCommand({ UserPoolId: w.poolId, Username: 'alice' }));
  const aliceSub = await makeByHand(w.r, w.poolId, 'alice', { given_name: 'Person' });

  // WHEN an Update changes alice's attributes; CloudFormation rolls it back; then deletes the stack
  const v2 = await w.seeder([temp('alice', { given_name: 'Changed' }), temp('bob')]);
  const forward = await update(w, v2, v1);
  const rollback = await update(w, v1, v2);
  const deleted = await remove(w, v1);

  // THEN the forward Update failed naming alice, the rule and the fix; the rollback and the
  // Delete succeeded; the person's alice is as the person made it; bob was deleted
  expect(status(forward)).toBe('FAILED');
  expect(forward.response?.Reason).toMatch(
    /user 'alice': was deleted and made again outside this seeder \(its sub is no longer the one the ledger recorded\), so it is someone else's user now and was left as it is: delete it from the pool to have the seeder make it again, or drop it from the seeder/,
  );
  expect(status(rollback)).toBe('SUCCESS');
  expect(status(deleted)).toBe('SUCCESS');
  const users = await poolUsers(w.r, w.poolId);
  expect(users).toEqual({ alice: aliceSub, 'hand-made': w.hand.sub });
  expect((await attributesOf(w.r, w.poolId, 'alice')).given_name).toBe('Person');
}, 120_000);

test('emptiedLedger: the forward Update fails naming the ledger and the way back; its rollback and the Delete succeed and touch nobody; the way back works', async () => {
  // GIVEN two users seeded, then the ledger emptied (restored from an old backup, say)
  const w = await world();
  const v1 = await w.seeder([temp('alice'), temp('bob')]);
  expect(status(await create(w, v1))).toBe('SUCCESS');
  const seeded = await poolUsers(w.r, w.poolId);
  const [table] = w.r.ledgerTables;
  const items = await w.r.dynamodb.send(new ScanCommand({ TableName: table }));
  for (const item of items.Items ?? []) {
    await w.r.dynamodb.send(new DeleteItemCommand({ TableName: table, Key: { pk: item.pk, sk: item.sk } }));
  }

  // WHEN an Update, its rollback, and a stack Delete arrive
  const v2 = await w.seeder([temp('alice', { given_name: 'Changed' }), temp('bob')]);
  const forward = await update(w, v2, v1);
  const rollback = await update(w, v1, v2);
  const deleted = await remove(w, v1);

  // THEN the Update failed naming the ledger table and the way back; the rollback and the
  // Delete succeeded; every user is as it was
  expect(status(forward)).toBe('FAILED');
  expect(forward.response?.Reason).toMatch(
    new RegExp(
      `the ownership ledger \\(DynamoDB table ${table}\\) holds no user of this resource, though it seeded before: the table was emptied, replaced or restored\\. Take the users back with adoptExistingUsers: true and deleteAdoptedUsers: true for one deploy`,
    ),
  );
  expect(status(rollback)).toBe('SUCCESS');
  expect(rollback.output).toContain('"outcome":"left-as-is"');
  expect(status(deleted)).toBe('SUCCESS');
  expect(await poolUsers(w.r, w.poolId)).toEqual(seeded);

  // AND the way back: one deploy that adopts them as deletable, then a Delete removes them
  const reclaim = await w.seeder([temp('alice'), temp('bob')], { adopt: true, deleteAdopted: true });
  expect(status(await create(w, reclaim, 'reclaim'))).toBe('SUCCESS');
  expect((await w.r.ledgerUsers()).map((u) => u.origin)).toEqual(['reclaimed', 'reclaimed']);
  expect(status(await remove(w, reclaim))).toBe('SUCCESS');
  expect(await poolUsers(w.r, w.poolId)).toEqual({ 'hand-made': w.hand.sub });
}, 120_000);

test('deletedLedgerTable: the stack Delete succeeds, deletes nobody, and says which table is gone and how to get it back', async () => {
  // GIVEN a user seeded, then the ledger table deleted by hand
  const w = await world();
  const v1 = await w.seeder([temp('alice')]);
  expect(status(await create(w, v1))).toBe('SUCCESS');
  const [table] = w.r.ledgerTables;
  await w.r.dynamodb.send(new DeleteTableCommand({ TableName: table }));

  // WHEN CloudFormation deletes the stack
  const deleted = await remove(w, v1);

  // THEN SUCCESS (the stack is not stuck), nobody deleted, the table and the way back named
  expect(status(deleted)).toBe('SUCCESS');
  expect(deleted.response?.Reason).toMatch(
    new RegExp(
      `^Delete changed no user: the ownership ledger table ${table} does not exist \\(ResourceNotFoundException; deleted by hand\\?\\), so nothing can be proven this seeder's\\. To get it back, restore the table under the same name from its backup`,
    ),
  );
  expect(Object.keys(await poolUsers(w.r, w.poolId)).sort()).toEqual(['alice', 'hand-made']);
  await expectHandMadeKept(w);
}, 120_000);

test('aliasHeldByHand: in a pool with email sign-in, a seeded user whose verified email a hand-made user holds fails in pre-flight, before any write', async () => {
  // GIVEN a pool where a verified email signs in, and a hand-made user holding one
  const w = await world({
    aliasAttributes: ['email'],
    handAttributes: { email: 'taken@example.com', email_verified: 'true' },
  });
  const v1 = await w.seeder([
    temp('first', { email: 'first@example.com', email_verified: 'true' }),
    temp('second', { email: 'taken@example.com', email_verified: 'true' }),
    temp('third', { email: 'same@example.com', email_verified: 'true' }),
    temp('fourth', { email: 'SAME@example.com', email_verified: 'true' }),
  ]);
  const writesBefore = { ...w.r.proxy.forwarded };

  // WHEN
  const created = await create(w, v1);

  // THEN FAILED before any write, naming each user, the rule and the fix
  expect(status(created)).toBe('FAILED');
  expect(created.response?.Reason).toMatch(/nothing was written/);
  expect(created.response?.Reason).toMatch(
    /users 'third' and 'fourth' have the same verified email, and in this pool a verified email signs in one user only: give each its own, or set email_verified to 'false' on one/,
  );
  expect(created.response?.Reason).toMatch(
    /user 'second': its email taken@example\.com is already the verified sign-in email of another user of pool \S+ \(Cognito would refuse it: AliasExistsException\): give it another email, set email_verified to 'false', or remove the other user's/,
  );
  expect(w.r.proxy.forwarded.AdminCreateUser ?? 0).toBe(writesBefore.AdminCreateUser ?? 0);
  expect(await poolUsers(w.r, w.poolId)).toEqual({ 'hand-made': w.hand.sub });
}, 120_000);
