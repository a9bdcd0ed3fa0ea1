// Requests that overlap on one seed resource, in ways the existing suites
// do not play. A repair asked while a Create's slice is stopped mid-way; the stack Delete
// arriving while a repair's AdminCreateUser is still on its way to Cognito; a large
// population (a users file in S3) whose Update is killed in every slice and then rolled
// back to the old file. DESIGN.md: a repair never runs beside a deploy; nothing is created
// after the Delete that answered SUCCESS; a rollback Update reconciles to the old spec and
// never touches what the failed Update did not create. A hand-made user is in the pool
// throughout and must keep its `sub`; every request gets exactly one answer; no password
// canary appears in what the function printed or answered.
import type { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  CreateUserPoolCommand,
  ListUsersCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { App, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { PasswordMode, SeedPassword, UserSeeder } from '../lib';
import { InvokeResult, Rehearsal, SeedResource, synthesize } from '../rehearsal/harness';
import { expectNoCanaryIn, expectOneAnswer, physicalIdOf } from './support/sequence-checks';

const PERM_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:adv2-overlap-AbCdEf';
const CANARY = 'Canary-Adv2-Overlap-8!zQ';

jest.setTimeout(170_000);

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
    usernames: string[],
    options?: { mode?: PasswordMode; rate?: number; writes?: number },
  ) => Promise<SeedResource>;
}

async function world(options: { retryScale?: number } = {}): Promise<World> {
  rehearsal = await Rehearsal.start({
    backend: 'fake',
    secrets: { [PERM_ARN]: CANARY },
    retryScale: options.retryScale,
  });
  const r = rehearsal;
  const pool = await r.cognito.send(new CreateUserPoolCommand({ PoolName: 'adv2-overlap' }));
  const poolId = pool.UserPool!.Id!;
  const hand = await r.cognito.send(
    new AdminCreateUserCommand({ UserPoolId: poolId, Username: 'hand-made', MessageAction: 'SUPPRESS' }),
  );
  const handSub = hand.User!.Attributes!.find((a) => a.Name === 'sub')!.Value!;
  const seeder: World['seeder'] = async (usernames, seederOptions = {}) => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-adv2-overlap-'));
    outdirs.push(outdir);
    const app = new App({ outdir });
    const stack = new Stack(app, 'Adv2Overlap');
    const password = SeedPassword.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Perm', PERM_ARN));
    const rate = seederOptions.rate ?? 10;
    new UserSeeder(stack, 'Seeder', {
      userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', poolId),
      users: usernames.map((username) => ({ username, mode: seederOptions.mode ?? PasswordMode.TEMPORARY, password })),
      rateLimits: {
        userCreation: rate,
        accountRecovery: rate,
        userWrites: seederOptions.writes ?? rate,
        userReads: 120,
      },
      maxConcurrency: 8,
    });
    return (await r.deploy(synthesize(app)))[0];
  };
  return { r, poolId, handSub, seeder };
}

const names = (prefix: string, count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => `${prefix}${String(from + i).padStart(4, '0')}`);

async function poolUsers(r: Rehearsal, poolId: string): Promise<Record<string, string>> {
  const subs: Record<string, string> = {};
  let token: string | undefined;
  do {
    const page = await r.cognito.send(new ListUsersCommand({ UserPoolId: poolId, PaginationToken: token, Limit: 60 }));
    for (const u of page.Users ?? []) subs[u.Username!] = u.Attributes?.find((a) => a.Name === 'sub')?.Value ?? '';
    token = page.PaginationToken;
  } while (token);
  return subs;
}

async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const expectNoCanary = (w: World, ...results: InvokeResult[]) => expectNoCanaryIn(w, CANARY, ...results);

type RepairAnswer = { status: string; repairId?: string; reason?: string; report?: { users: unknown[]; left: number } };

test("a repair asked while the Create's slice is stopped mid-way is refused; the Create then finishes with one SUCCESS, and a repair after it finds nothing to do", async () => {
  // GIVEN a Create of 30 users at 10 a second, its first slice stopped (SIGSTOP) a second in
  const w = await world();
  const usernames = names('c', 30);
  const resource = await w.seeder(usernames, { mode: PasswordMode.PERMANENT });
  let stopped: ChildProcess | undefined;
  const create = w.r.invoke({
    requestType: 'Create',
    resource,
    onSlice: (slice, child) => {
      if (slice !== 1) return;
      setTimeout(() => {
        child.kill('SIGSTOP');
        stopped = child;
      }, 1000);
    },
  });
  await until(() => stopped !== undefined, 'the Create slice to be stopped');
  const madeBefore = Object.keys(await poolUsers(w.r, w.poolId)).length - 1;

  // WHEN a test runner asks for a repair meanwhile (all users, and the users made so far)
  const fn = String(resource.properties.ServiceToken);
  const asked = (await w.r.invokeFunction(fn, {
    kind: 'repair',
    seeder: resource.logicalId,
    waitSeconds: 0,
  })) as RepairAnswer;
  const named = (await w.r.invokeFunction(fn, {
    kind: 'repair',
    seeder: resource.logicalId,
    usernames: ['c0000'],
    waitSeconds: 0,
  })) as RepairAnswer;
  const madeWhileStopped = Object.keys(await poolUsers(w.r, w.poolId)).length - 1;
  stopped!.kill('SIGCONT');
  const created = await create;
  await w.r.engine.settle();

  // THEN both repairs were refused, writing nothing; the Create answered SUCCESS once with every user
  expect(asked.status).toBe('REFUSED');
  expect(named.status).toBe('REFUSED');
  expect(madeWhileStopped).toBe(madeBefore);
  expect(created.response?.Status).toBe('SUCCESS');
  expectOneAnswer(w, created);
  const pool = await poolUsers(w.r, w.poolId);
  expect(Object.keys(pool).sort()).toEqual(['hand-made', ...usernames].sort());
  expect(pool['hand-made']).toBe(w.handSub);
  const ledger = await w.r.ledgerUsers();
  expect(ledger.every((u) => u.state === 'present' && u.sub === pool[String(u.username)])).toBe(true);
  // ...and a repair now finds every user as declared
  const after = (await w.r.invokeFunction(fn, { kind: 'repair', seeder: resource.logicalId })) as RepairAnswer;
  expect(after.status).toBe('SUCCEEDED');
  expect(after.report?.users).toEqual([]);
  expect(await poolUsers(w.r, w.poolId)).toEqual(pool);
  expectNoCanary(w, created);
});

test("the stack Delete arriving while a repair's AdminCreateUser is on its way to Cognito: SUCCESS once, and no seeded user is left, then or later", async () => {
  // GIVEN ten seeded users, three of them deleted by hand
  const w = await world();
  const usernames = names('p', 10);
  const resource = await w.seeder(usernames, { mode: PasswordMode.PERMANENT, rate: 50 });
  const created = await w.r.invoke({ requestType: 'Create', resource });
  expect(created.response?.Status).toBe('SUCCESS');
  for (const Username of ['p0001', 'p0004', 'p0007']) {
    await w.r.cognito.send(new AdminDeleteUserCommand({ UserPoolId: w.poolId, Username }));
  }

  // WHEN a repair makes them again, and its create of p0004 is held on its way...
  let reached!: () => void;
  const atCreate = new Promise<void>((resolve) => (reached = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  w.r.proxy.before('AdminCreateUser', 'p0004', async () => {
    reached();
    await released;
  });
  const fn = String(resource.properties.ServiceToken);
  const asked = (await w.r.invokeFunction(fn, {
    kind: 'repair',
    seeder: resource.logicalId,
    waitSeconds: 0,
  })) as RepairAnswer;
  expect(asked.status).toBe('RUNNING');
  await atCreate;
  // ...the stack's Delete arrives; the held create lands while the Delete waits for the
  // repair's slice
  const removal = w.r.invoke({ requestType: 'Delete', resource, physicalResourceId: physicalIdOf(w, resource) });
  await new Promise((resolve) => setTimeout(resolve, 2500));
  release();
  const deleted = await removal;
  await w.r.engine.settle();
  const right = await poolUsers(w.r, w.poolId);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  await w.r.engine.settle();

  // THEN the Delete answered SUCCESS once; only the hand-made user is left, then and later;
  // the ledger holds nobody; the repair says it was stopped
  expect(deleted.response?.Status).toBe('SUCCESS');
  expectOneAnswer(w, created, deleted);
  expect(right).toEqual({ 'hand-made': w.handSub });
  expect(await poolUsers(w.r, w.poolId)).toEqual({ 'hand-made': w.handSub });
  expect(await w.r.ledgerUsers()).toEqual([]);
  const status = (await w.r.invokeFunction(fn, {
    kind: 'repair-status',
    seeder: resource.logicalId,
    repairId: asked.repairId,
  })) as RepairAnswer;
  expect(status.status).toBe('FAILED');
  expectNoCanary(w, created, deleted);
});

test('a users-file Update (1,300 users, 300 new) killed in every slice, then rolled back to the old file: exactly the old population with its subs; the stack Delete then leaves only the hand-made user', async () => {
  // GIVEN 1,000 users seeded from a users file
  const w = await world({ retryScale: 0.01 });
  const old = names('u', 1000);
  const v1 = await w.seeder(old, { rate: 200, writes: 500 });
  expect(v1.properties.UsersFile).toBeDefined();
  const created = await w.r.invoke({ requestType: 'Create', resource: v1 });
  expect(created.response?.Status).toBe('SUCCESS');
  const afterCreate = await poolUsers(w.r, w.poolId);
  expect(Object.keys(afterCreate)).toHaveLength(1001);

  // WHEN an Update to a new file with 300 more users is killed in every slice, once that
  // slice has created 40 users
  const v2 = await w.seeder([...old, ...names('u', 300, 1000)], { rate: 200, writes: 500 });
  expect(v2.properties.UsersFile).toBeDefined();
  expect(v2.properties.UsersFile.Key).not.toBe(v1.properties.UsersFile.Key);
  const forward = await w.r.invoke({
    requestType: 'Update',
    resource: v2,
    oldProperties: v1.properties,
    physicalResourceId: physicalIdOf(w, v1),
    onSlice: (_slice, child) => {
      const from = w.r.proxy.forwarded.AdminCreateUser ?? 0;
      const timer = setInterval(() => {
        if ((w.r.proxy.forwarded.AdminCreateUser ?? 0) - from < 40) return;
        clearInterval(timer);
        child.kill('SIGKILL');
      }, 20);
      child.once('exit', () => clearInterval(timer));
    },
  });
  expect(forward.response?.Status).toBe('FAILED');
  const between = Object.keys(await poolUsers(w.r, w.poolId)).length;
  expect(between).toBeGreaterThan(1001);
  expect(between).toBeLessThan(1301);
  // ...and CloudFormation rolls back to the old file
  const rollback = await w.r.invoke({
    requestType: 'Update',
    resource: v1,
    oldProperties: v2.properties,
    physicalResourceId: physicalIdOf(w, v1),
  });

  // THEN exactly the old population, every user with the sub it had
  expect(rollback.response?.Status).toBe('SUCCESS');
  expect(await poolUsers(w.r, w.poolId)).toEqual(afterCreate);
  expect(afterCreate['hand-made']).toBe(w.handSub);
  expect((await w.r.ledgerUsers()).length).toBe(1000);

  // ...and the stack Delete, in slices of about 3 s, leaves only the hand-made user
  const deleted = await w.r.invoke({
    requestType: 'Delete',
    resource: v1,
    physicalResourceId: physicalIdOf(w, v1),
    timeoutMs: 5000,
  });
  expect(deleted.response?.Status).toBe('SUCCESS');
  expect(await poolUsers(w.r, w.poolId)).toEqual({ 'hand-made': w.handSub });
  expect(await w.r.ledgerUsers()).toEqual([]);
  expectOneAnswer(w, created, forward, rollback, deleted);
  expectNoCanary(w, created, forward, rollback, deleted);
});
