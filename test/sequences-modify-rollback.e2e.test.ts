// An Update that changes users the seeder already holds (attributes,
// groups, a mode change to RESET_REQUIRED) is cut off mid-way, between its Cognito writes
// and the ledger write that records them, and CloudFormation then rolls it back. The
// rollback Update must bring every user back to the old template's spec: DESIGN.md, "rollback
// Update is just another reconcile, to the old spec". A hand-made user is in the pool
// throughout and must keep its `sub`; every request gets exactly one answer; no password
// canary appears in anything the function printed or answered.
import type { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  AdminCreateUserCommand,
  AdminGetUserCommand,
  AdminListGroupsForUserCommand,
  CreateGroupCommand,
  CreateUserPoolCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { App, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { PasswordMode, SeedPassword, SeedUser, UserSeeder } from '../lib';
import { InvokeResult, Rehearsal, SeedResource, synthesize } from '../rehearsal/harness';
import { expectNoCanaryIn, expectOneAnswer, physicalIdOf } from './support/sequence-checks';

const PERM_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:modify-perm-AbCdEf';
const CANARY = 'Canary-Modify-Rb-6!tR';

jest.setTimeout(150_000);

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
    options?: { adoptExistingUsers?: boolean },
  ) => Promise<SeedResource>;
}

async function world(): Promise<World> {
  rehearsal = await Rehearsal.start({ backend: 'fake', secrets: { [PERM_ARN]: CANARY }, retryScale: 0.01 });
  const r = rehearsal;
  const pool = await r.cognito.send(new CreateUserPoolCommand({ PoolName: 'adv2-modify' }));
  const poolId = pool.UserPool!.Id!;
  for (const GroupName of ['admins', 'testers']) {
    await r.cognito.send(new CreateGroupCommand({ UserPoolId: poolId, GroupName }));
  }
  const hand = await r.cognito.send(
    new AdminCreateUserCommand({ UserPoolId: poolId, Username: 'hand-made', MessageAction: 'SUPPRESS' }),
  );
  const handSub = hand.User!.Attributes!.find((a) => a.Name === 'sub')!.Value!;
  const seeder: World['seeder'] = async (users, options = {}) => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-adv2-modify-'));
    outdirs.push(outdir);
    const app = new App({ outdir });
    const stack = new Stack(app, 'Adv2Modify');
    const password = SeedPassword.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Perm', PERM_ARN));
    new UserSeeder(stack, 'Seeder', {
      userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', poolId),
      users: users(password),
      ...options,
    });
    return (await r.deploy(synthesize(app)))[0];
  };
  return { r, poolId, handSub, seeder };
}

interface Live {
  status?: string;
  attributes: Record<string, string>;
  groups: string[];
}

async function live(r: Rehearsal, poolId: string, username: string): Promise<Live | undefined> {
  try {
    const out = await r.cognito.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: username }));
    const groups = await r.cognito.send(new AdminListGroupsForUserCommand({ UserPoolId: poolId, Username: username }));
    return {
      status: out.UserStatus,
      attributes: Object.fromEntries((out.UserAttributes ?? []).map((a) => [a.Name!, a.Value!])),
      groups: (groups.Groups ?? []).map((g) => g.GroupName!).sort(),
    };
  } catch (error) {
    if ((error as { name?: string }).name === 'UserNotFoundException') return undefined;
    throw error;
  }
}

const expectNoCanary = (w: World, ...results: InvokeResult[]) => expectNoCanaryIn(w, CANARY, ...results);

/**
 * Kills every `Work` slice of one request just before `target` for `username` reaches
 * Cognito (its earlier calls for the user have landed, the ledger write after them has not);
 * the killed call itself never reaches Cognito.
 */
function killAt(w: World, target: string, username: string): (slice: number, child: ChildProcess) => void {
  return (_slice, child) => {
    w.r.proxy.before(target, username, async () => {
      child.kill('SIGKILL');
      await new Promise(() => undefined);
    });
  };
}

const v1Users = (password: SeedPassword): SeedUser[] => [
  {
    username: 'alice',
    mode: PasswordMode.PERMANENT,
    password,
    attributes: { given_name: 'Old' },
    groups: ['admins'],
  },
  { username: 'bob', mode: PasswordMode.PERMANENT, password },
];
const v2Users = (password: SeedPassword): SeedUser[] => [
  {
    username: 'alice',
    mode: PasswordMode.PERMANENT,
    password,
    attributes: { given_name: 'New', family_name: 'Added' },
    groups: ['testers'],
  },
  { username: 'bob', mode: PasswordMode.PERMANENT, password },
];

test("an Update changing alice's attributes and groups, every slice killed between her Cognito writes and the ledger's, then the rollback Update: alice is back at the old spec", async () => {
  // GIVEN alice (given_name Old, in admins) and bob seeded
  const w = await world();
  const v1 = await w.seeder(v1Users);
  const created = await w.r.invoke({ requestType: 'Create', resource: v1 });
  expect(created.response?.Status).toBe('SUCCESS');
  const aliceSub = (await live(w.r, w.poolId, 'alice'))!.attributes.sub;
  const before = await live(w.r, w.poolId, 'alice');

  // WHEN an Update to given_name New, a new family_name and testers instead of admins is
  // killed in every slice just before alice's group change reaches Cognito (her attributes
  // have landed), so the engine gives up and answers FAILED...
  const v2 = await w.seeder(v2Users);
  const forward = await w.r.invoke({
    requestType: 'Update',
    resource: v2,
    oldProperties: v1.properties,
    physicalResourceId: physicalIdOf(w, v1),
    onSlice: killAt(w, 'AdminAddUserToGroup', 'alice'),
  });
  expect(forward.response?.Status).toBe('FAILED');
  const between = await live(w.r, w.poolId, 'alice');
  // (the partial write is really there: given_name New already)
  expect(between?.attributes.given_name).toBe('New');

  // ...and CloudFormation rolls back to v1
  const rollback = await w.r.invoke({
    requestType: 'Update',
    resource: v1,
    oldProperties: v2.properties,
    physicalResourceId: physicalIdOf(w, v1),
  });

  // THEN the rollback succeeded and alice is exactly as v1 seeded her, with her sub
  expect(rollback.response?.Status).toBe('SUCCESS');
  expectOneAnswer(w, created, forward, rollback);
  expectNoCanary(w, created, forward, rollback);
  expect((await live(w.r, w.poolId, 'hand-made'))?.attributes.sub).toBe(w.handSub);
  const after = await live(w.r, w.poolId, 'alice');
  expect(after?.attributes.sub).toBe(aliceSub);
  expect({ given_name: after?.attributes.given_name, family_name: after?.attributes.family_name }).toEqual({
    given_name: 'Old',
    family_name: undefined,
  });
  expect(after?.groups).toEqual(before?.groups);
});

test("a rollback Update that supersedes its forward Update while alice's group change is in flight: alice is back at the old spec", async () => {
  // GIVEN alice and bob seeded
  const w = await world();
  const v1 = await w.seeder(v1Users);
  const created = await w.r.invoke({ requestType: 'Create', resource: v1 });
  expect(created.response?.Status).toBe('SUCCESS');
  const before = await live(w.r, w.poolId, 'alice');

  // WHEN the forward Update's add of alice to testers is held on its way to Cognito...
  let reached!: () => void;
  const atGroupAdd = new Promise<void>((resolve) => (reached = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  w.r.proxy.before('AdminAddUserToGroup', 'alice', async () => {
    reached();
    await released;
  });
  const v2 = await w.seeder(v2Users);
  const forward = w.r.invoke({
    requestType: 'Update',
    resource: v2,
    oldProperties: v1.properties,
    physicalResourceId: physicalIdOf(w, v1),
    requestId: 'forward',
  });
  await atGroupAdd;
  // ...CloudFormation gives up on it and rolls back (the rollback supersedes it), and the
  // held call lands once the rollback is waiting for the forward slice
  const rollback = w.r.invoke({
    requestType: 'Update',
    resource: v1,
    oldProperties: v2.properties,
    physicalResourceId: physicalIdOf(w, v1),
    requestId: 'rollback',
  });
  await new Promise((resolve) => setTimeout(resolve, 2500));
  release();
  const [forwardResult, rollbackResult] = await Promise.all([forward, rollback]);
  await w.r.engine.settle();

  // THEN the rollback succeeded, answered once, and alice is exactly as v1 seeded her
  expect(rollbackResult.response?.Status).toBe('SUCCESS');
  expect(w.r.responses.bodies.filter((b) => b.RequestId === 'rollback')).toHaveLength(1);
  expect(w.r.responses.bodies.filter((b) => b.RequestId === 'forward').length).toBeLessThanOrEqual(1);
  expectNoCanary(w, created, forwardResult, rollbackResult);
  expect((await live(w.r, w.poolId, 'hand-made'))?.attributes.sub).toBe(w.handSub);
  const after = await live(w.r, w.poolId, 'alice');
  expect(after?.attributes.sub).toBe(before?.attributes.sub);
  expect({ given_name: after?.attributes.given_name, family_name: after?.attributes.family_name }).toEqual({
    given_name: 'Old',
    family_name: undefined,
  });
  expect(after?.groups).toEqual(before?.groups);
});

test('RESET_REQUIRED across Update and rollback: a mode change to RESET_REQUIRED killed between the throwaway password and the reset, rolled back, leaves carol TEMPORARY again', async () => {
  // GIVEN carol seeded TEMPORARY (verified email), and dave PERMANENT
  const w = await world();
  const carol =
    (mode: PasswordMode) =>
    (password: SeedPassword): SeedUser => ({
      username: 'carol',
      mode,
      password: mode === PasswordMode.RESET_REQUIRED ? undefined : password,
      attributes: { email: 'carol@example.com', email_verified: 'true' },
    });
  const dave = (password: SeedPassword): SeedUser => ({ username: 'dave', mode: PasswordMode.PERMANENT, password });
  const v1 = await w.seeder((p) => [carol(PasswordMode.TEMPORARY)(p), dave(p)]);
  const created = await w.r.invoke({ requestType: 'Create', resource: v1 });
  expect(created.response?.Status).toBe('SUCCESS');
  const carolSub = (await live(w.r, w.poolId, 'carol'))!.attributes.sub;
  expect((await live(w.r, w.poolId, 'carol'))?.status).toBe('FORCE_CHANGE_PASSWORD');

  // WHEN an Update makes carol RESET_REQUIRED, and every slice dies just before her
  // AdminResetUserPassword (the throwaway permanent password has landed)...
  const v2 = await w.seeder((p) => [carol(PasswordMode.RESET_REQUIRED)(p), dave(p)]);
  const forward = await w.r.invoke({
    requestType: 'Update',
    resource: v2,
    oldProperties: v1.properties,
    physicalResourceId: physicalIdOf(w, v1),
    onSlice: killAt(w, 'AdminResetUserPassword', 'carol'),
  });
  expect(forward.response?.Status).toBe('FAILED');
  expect((await live(w.r, w.poolId, 'carol'))?.status).toBe('CONFIRMED');

  // ...and CloudFormation rolls back to v1
  const rollback = await w.r.invoke({
    requestType: 'Update',
    resource: v1,
    oldProperties: v2.properties,
    physicalResourceId: physicalIdOf(w, v1),
  });

  // THEN carol is TEMPORARY again (FORCE_CHANGE_PASSWORD with the seeded password), not
  // CONFIRMED with a throwaway password nobody knows
  expect(rollback.response?.Status).toBe('SUCCESS');
  expectOneAnswer(w, created, forward, rollback);
  expectNoCanary(w, created, forward, rollback);
  expect((await live(w.r, w.poolId, 'hand-made'))?.attributes.sub).toBe(w.handSub);
  const after = await live(w.r, w.poolId, 'carol');
  expect(after?.attributes.sub).toBe(carolSub);
  expect(after?.status).toBe('FORCE_CHANGE_PASSWORD');
});

test('RESET_REQUIRED users added by an Update killed mid-way, then rolled back: they are deleted, the v1 users keep their subs', async () => {
  // GIVEN dave seeded
  const w = await world();
  const dave = (password: SeedPassword): SeedUser => ({ username: 'dave', mode: PasswordMode.PERMANENT, password });
  const reset = (username: string): SeedUser => ({
    username,
    mode: PasswordMode.RESET_REQUIRED,
    attributes: { email: `${username}@example.com`, email_verified: 'true' },
  });
  const v1 = await w.seeder((p) => [dave(p)]);
  const created = await w.r.invoke({ requestType: 'Create', resource: v1 });
  expect(created.response?.Status).toBe('SUCCESS');
  const daveSub = (await live(w.r, w.poolId, 'dave'))!.attributes.sub;

  // WHEN an Update adds erin and fred (RESET_REQUIRED), and every slice dies just before
  // erin's AdminResetUserPassword...
  const v2 = await w.seeder((p) => [dave(p), reset('erin'), reset('fred')]);
  const forward = await w.r.invoke({
    requestType: 'Update',
    resource: v2,
    oldProperties: v1.properties,
    physicalResourceId: physicalIdOf(w, v1),
    onSlice: killAt(w, 'AdminResetUserPassword', 'erin'),
  });
  expect(forward.response?.Status).toBe('FAILED');
  // ...then the rollback to v1
  const rollback = await w.r.invoke({
    requestType: 'Update',
    resource: v1,
    oldProperties: v2.properties,
    physicalResourceId: physicalIdOf(w, v1),
  });

  // THEN erin and fred are gone, dave and the hand-made user keep their subs
  expect(rollback.response?.Status).toBe('SUCCESS');
  expectOneAnswer(w, created, forward, rollback);
  expectNoCanary(w, created, forward, rollback);
  expect(await live(w.r, w.poolId, 'erin')).toBeUndefined();
  expect(await live(w.r, w.poolId, 'fred')).toBeUndefined();
  expect((await live(w.r, w.poolId, 'dave'))?.attributes.sub).toBe(daveSub);
  expect((await live(w.r, w.poolId, 'hand-made'))?.attributes.sub).toBe(w.handSub);
  expect((await w.r.ledgerUsers()).map((u) => u.username)).toEqual(['dave']);
});

test('an adoption cut off mid-way, then the rollback and the deploy again: released as it is, then adopted in full; it survives the Delete with its sub', async () => {
  // GIVEN alice and bob seeded, and a user someone made, to be adopted
  const w = await world();
  const made = await w.r.cognito.send(
    new AdminCreateUserCommand({ UserPoolId: w.poolId, Username: 'adoptee', MessageAction: 'SUPPRESS' }),
  );
  const adopteeSub = made.User!.Attributes!.find((a) => a.Name === 'sub')!.Value!;
  const v1 = await w.seeder(v1Users);
  const created = await w.r.invoke({ requestType: 'Create', resource: v1 });
  expect(created.response?.Status).toBe('SUCCESS');
  const withAdoptee = (password: SeedPassword): SeedUser[] => [
    ...v1Users(password),
    {
      username: 'adoptee',
      mode: PasswordMode.PERMANENT,
      password,
      attributes: { given_name: 'Seeded' },
      groups: ['testers'],
    },
  ];
  const v3 = await w.seeder(withAdoptee, { adoptExistingUsers: true });
  const heldAdoptee = async () => (await w.r.ledgerUsers()).filter((u) => u.username === 'adoptee');

  // WHEN an Update adopting it is killed in every slice just before its group add (its
  // attributes and password have landed), and CloudFormation rolls back to v1
  const forward = await w.r.invoke({
    requestType: 'Update',
    resource: v3,
    oldProperties: v1.properties,
    physicalResourceId: physicalIdOf(w, v1),
    onSlice: killAt(w, 'AdminAddUserToGroup', 'adoptee'),
  });
  expect(forward.response?.Status).toBe('FAILED');
  expect((await live(w.r, w.poolId, 'adoptee'))?.attributes.given_name).toBe('Seeded');
  const rollback = await w.r.invoke({
    requestType: 'Update',
    resource: v1,
    oldProperties: v3.properties,
    physicalResourceId: physicalIdOf(w, v1),
  });

  // THEN the rollback released it as it is: still there with its sub, no longer held
  expect(rollback.response?.Status).toBe('SUCCESS');
  expect((await live(w.r, w.poolId, 'adoptee'))?.attributes.sub).toBe(adopteeSub);
  expect(await heldAdoptee()).toEqual([]);

  // WHEN the same template is deployed again
  const again = await w.r.invoke({
    requestType: 'Update',
    resource: v3,
    oldProperties: v1.properties,
    physicalResourceId: physicalIdOf(w, v1),
  });

  // THEN the adoption is whole (the group the cut-off request never added), with the same sub
  expect(again.response?.Status).toBe('SUCCESS');
  const adopted = await live(w.r, w.poolId, 'adoptee');
  expect({ sub: adopted?.attributes.sub, given_name: adopted?.attributes.given_name, groups: adopted?.groups }).toEqual(
    { sub: adopteeSub, given_name: 'Seeded', groups: ['testers'] },
  );
  expect(await heldAdoptee()).toEqual([expect.objectContaining({ origin: 'adopted' })]);

  // WHEN the stack is deleted THEN the seeded users go, the adopted and the hand-made stay
  const deleted = await w.r.invoke({ requestType: 'Delete', resource: v3, physicalResourceId: physicalIdOf(w, v1) });
  expect(deleted.response?.Status).toBe('SUCCESS');
  expect(await live(w.r, w.poolId, 'alice')).toBeUndefined();
  expect((await live(w.r, w.poolId, 'adoptee'))?.attributes.sub).toBe(adopteeSub);
  expect((await live(w.r, w.poolId, 'hand-made'))?.attributes.sub).toBe(w.handSub);
  expectOneAnswer(w, created, forward, rollback, again, deleted);
  expectNoCanary(w, created, forward, rollback, again, deleted);
});
