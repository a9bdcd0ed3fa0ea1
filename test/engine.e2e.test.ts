// The engine against the sequences that break a home-made one: a Delete (or a rollback
// Update) that arrives while the request it cancels is still working across slices, a
// slice killed mid-way, a rollback Delete right after a killed Create at real timings,
// duplicate deliveries, an answer whose PUT fails. The synthesized asset runs in its own
// processes on the synthesized state machine's definition; a hand-made user in the pool
// must keep its `sub` through every one.
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
import { PasswordMode, SeedPassword, UserSeeder } from '../lib';
import { executionName } from '../lambda/engine';
import { Rehearsal, SeedResource, synthesize } from '../rehearsal/harness';

const outdirs: string[] = [];
let rehearsal: Rehearsal | undefined;

afterEach(async () => {
  await rehearsal?.stop();
  rehearsal = undefined;
});
afterAll(() => outdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

interface Setup {
  readonly r: Rehearsal;
  readonly poolId: string;
  /** The hand-made user's `sub`. */
  readonly handSub: string;
  /** The stack's seed resource for a list of usernames (the same logical id each time). */
  readonly resourceFor: (usernames: string[]) => Promise<SeedResource>;
}

/** A pool made by hand, with a hand-made user, and one seeder of TEMPORARY users at `rate` creations a second. */
async function setUp(rate: number, options: { retryScale?: number; latencyMs?: number } = {}): Promise<Setup> {
  rehearsal = await Rehearsal.start({ backend: 'fake', retryScale: options.retryScale, latencyMs: options.latencyMs });
  const r = rehearsal;
  const pool = await r.cognito.send(new CreateUserPoolCommand({ PoolName: 'engine' }));
  const poolId = pool.UserPool!.Id!;
  const hand = await r.cognito.send(
    new AdminCreateUserCommand({ UserPoolId: poolId, Username: 'hand-made', MessageAction: 'SUPPRESS' }),
  );
  const handSub = hand.User!.Attributes!.find((a) => a.Name === 'sub')!.Value!;
  const resourceFor = async (usernames: string[]) => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-engine-'));
    outdirs.push(outdir);
    const app = new App({ outdir });
    const stack = new Stack(app, 'Engine');
    const password = SeedPassword.unsafePlainText('Local-Only-Passw0rd!');
    new UserSeeder(stack, 'Seeder', {
      userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', poolId),
      users: usernames.map((username) => ({ username, mode: PasswordMode.TEMPORARY, password })),
      rateLimits: { userCreation: rate, userWrites: rate },
      maxConcurrency: 4,
    });
    return (await r.deploy(synthesize(app)))[0];
  };
  return { r, poolId, handSub, resourceFor };
}

const names = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);

/** Every user in the pool and its `sub`. */
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

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const heldUsers = async (r: Rehearsal) => (await r.ledgerUsers()).length;
const answersTo = (r: Rehearsal, requestId: string) => r.responses.bodies.filter((b) => b.RequestId === requestId);
const physicalIdOf = (s: Setup, resource: SeedResource) => `${s.poolId}/${resource.logicalId}`;

describe('cancelledCreate: a Delete while the Create still works across slices', () => {
  test.each([
    ['with natural timing', 0],
    ['with the older slice held back (every Cognito call answered 0.6 s late)', 600],
  ])(
    '%s: the Delete answers SUCCESS and no seeded user exists afterwards, also after the Create has ended',
    async (_, latencyMs) => {
      // GIVEN a Create of 60 users at 10 a second, in slices of 3.6 s, a quarter of the way through
      const s = await setUp(10, { latencyMs });
      const resource = await s.resourceFor(names('c', 60));
      const create = s.r.invoke({ requestType: 'Create', resource, requestId: 'create', timeoutMs: 6000 });
      await until(async () => (await heldUsers(s.r)) >= 15, 'the Create to be a quarter of the way');

      // WHEN CloudFormation gives up on it and deletes the resource
      const deleted = await s.r.invoke({
        requestType: 'Delete',
        resource,
        physicalResourceId: physicalIdOf(s, resource),
        requestId: 'delete',
      });
      const afterDelete = await poolUsers(s.r, s.poolId);
      const created = await create;
      await s.r.engine.settle();

      // THEN the Delete answered SUCCESS once; only the hand-made user is left, now and after
      // every slice of the Create has ended, and the ledger holds nothing
      expect(deleted.rawResponses).toHaveLength(1);
      expect(deleted.response?.Status).toBe('SUCCESS');
      expect(afterDelete).toEqual({ 'hand-made': s.handSub });
      expect(await poolUsers(s.r, s.poolId)).toEqual({ 'hand-made': s.handSub });
      expect(await s.r.ledgerUsers()).toEqual([]);
      // The Create was superseded: its slice saw the fence and let go, or the Delete stopped
      // its execution between two slices; either way it never answered SUCCESS
      expect(
        created.output.includes('"outcome":"superseded"') ||
          deleted.output.includes('"outcome":"stopped-older-execution"'),
      ).toBe(true);
      expect(created.rawResponses.map((b) => JSON.parse(b).Status)).not.toContain('SUCCESS');
    },
    120_000,
  );
});

test('rollbackUpdate during its forward Update: the pool ends at the old list, and no user of the old list is deleted', async () => {
  // GIVEN five users seeded, then a forward Update that drops four and adds 40, part way
  const s = await setUp(10);
  const old = names('o', 5);
  const before = await s.resourceFor(old);
  const createdOld = await s.r.invoke({ requestType: 'Create', resource: before, requestId: 'create' });
  expect(createdOld.response?.Status).toBe('SUCCESS');
  const oldSubs = await poolUsers(s.r, s.poolId);
  const after = await s.resourceFor(['o00', ...names('n', 40)]);
  const physicalResourceId = physicalIdOf(s, before);
  const forward = s.r.invoke({
    requestType: 'Update',
    resource: after,
    oldProperties: before.properties,
    physicalResourceId,
    requestId: 'forward',
    timeoutMs: 4000,
  });
  await until(async () => (await heldUsers(s.r)) >= 15, 'the forward Update to be part way');

  // WHEN CloudFormation cancels it and rolls back to the old list
  const rollback = await s.r.invoke({
    requestType: 'Update',
    resource: before,
    oldProperties: after.properties,
    physicalResourceId,
    requestId: 'rollback',
  });
  await forward;
  await s.r.engine.settle();

  // THEN exactly the old list and the hand-made user, every one with the sub it had
  expect(rollback.response?.Status).toBe('SUCCESS');
  expect(await poolUsers(s.r, s.poolId)).toEqual(oldSubs);
  expect(oldSubs['hand-made']).toBe(s.handSub);
  expect((await s.r.ledgerUsers()).map((u) => u.username).sort()).toEqual(old);
}, 120_000);

test('a slice killed (SIGKILL) in the middle of a Create is run again by the engine; the Create answers SUCCESS with every user', async () => {
  // GIVEN 40 users at 10 a second
  const s = await setUp(10);
  const usernames = names('k', 40);
  const resource = await s.resourceFor(usernames);

  // WHEN the first slice is killed 1.5 s in
  const created = await s.r.invoke({
    requestType: 'Create',
    resource,
    onSlice: (slice, child) => {
      if (slice === 1) setTimeout(() => child.kill('SIGKILL'), 1500);
    },
  });

  // THEN the engine ran another slice, and the request ended as if nothing happened
  expect(created.invocations).toBeGreaterThanOrEqual(2);
  expect(created.rawResponses).toHaveLength(1);
  expect(created.response?.Status).toBe('SUCCESS');
  const pool = await poolUsers(s.r, s.poolId);
  expect(Object.keys(pool).sort()).toEqual(['hand-made', ...usernames].sort());
  expect(pool['hand-made']).toBe(s.handSub);
  const ledger = await s.r.ledgerUsers();
  expect(ledger).toHaveLength(40);
  expect(ledger.every((u) => u.state === 'present' && u.sub === pool[String(u.username)])).toBe(true);
}, 120_000);

test('a Create killed, then its rollback Delete at once, at real timings (15-minute function): SUCCESS within a minute', async () => {
  // GIVEN 40 users, and the function's own 15-minute timeout
  const s = await setUp(10);
  const resource = await s.resourceFor(names('r', 40));
  expect(resource.timeoutMs).toBe(900_000);
  let killed!: () => void;
  const wasKilled = new Promise<void>((resolve) => (killed = resolve));

  // WHEN the Create's slice is killed 2.5 s in, and CloudFormation rolls back at once
  const create = s.r.invoke({
    requestType: 'Create',
    resource,
    requestId: 'killed-create',
    onSlice: (slice, child) => {
      if (slice !== 1) return;
      setTimeout(() => {
        child.kill('SIGKILL');
        killed();
      }, 2500);
    },
  });
  await wasKilled;
  const started = Date.now();
  const rollback = await s.r.invoke({
    requestType: 'Delete',
    resource,
    physicalResourceId: physicalIdOf(s, resource),
    requestId: 'rollback-delete',
  });
  const took = Date.now() - started;
  await create;
  await s.r.engine.settle();

  // THEN SUCCESS well within a minute, and nothing of the Create is left
  expect(rollback.response?.Status).toBe('SUCCESS');
  expect(took).toBeLessThan(60_000);
  expect(await poolUsers(s.r, s.poolId)).toEqual({ 'hand-made': s.handSub });
  expect(await s.r.ledgerUsers()).toEqual([]);
  expect(answersTo(s.r, 'killed-create').map((b) => b.Status)).not.toContain('SUCCESS');
}, 120_000);

test('duplicateDelivery together and late: one execution, one answer', async () => {
  // GIVEN
  const s = await setUp(50);
  const usernames = names('d', 10);
  const resource = await s.resourceFor(usernames);

  // WHEN CloudFormation's event arrives twice at once, and again after it was answered
  const together = await Promise.all([
    s.r.invoke({ requestType: 'Create', resource, requestId: 'twice' }),
    s.r.invoke({ requestType: 'Create', resource, requestId: 'twice' }),
  ]);
  const late = await s.r.invoke({ requestType: 'Create', resource, requestId: 'twice' });

  // THEN one execution, one SUCCESS answer, every user made once
  const executions = [...s.r.engine.executions.values()].filter(
    (e) => e.name === executionName(resource.logicalId, 'twice'),
  );
  expect(executions).toHaveLength(1);
  expect(answersTo(s.r, 'twice').map((b) => b.Status)).toEqual(['SUCCESS']);
  expect(late.rawResponses).toEqual([]);
  expect(s.r.proxy.forwarded.AdminCreateUser).toBe(10);
  // (every delivery of one request shares its output: the last holds them all)
  expect(together).toHaveLength(2);
  expect(late.output.match(/"outcome":"duplicate-delivery"/g)).toHaveLength(2);
  expect((await poolUsers(s.r, s.poolId))['hand-made']).toBe(s.handSub);
}, 120_000);

test('an Answer whose PUT fails is run again by the engine until CloudFormation has it', async () => {
  // GIVEN a ResponseURL whose first eight PUTs fail (an Answer tries six times before it
  // gives up and the engine runs it again)
  const s = await setUp(50, { retryScale: 0.01 });
  const resource = await s.resourceFor(names('a', 3));
  s.r.responses.failFirst = 8;

  // WHEN
  const created = await s.r.invoke({ requestType: 'Create', resource });

  // THEN one answer arrived, SUCCESS, from the second run of the Answer task
  expect(created.rawResponses).toHaveLength(1);
  expect(created.response?.Status).toBe('SUCCESS');
  const execution = s.r.engine.execution(executionName(resource.logicalId, String(created.event.RequestId)));
  expect(execution?.tasks.Answer).toBe(2);
  expect(created.output).toContain('"response":"SUCCESS","delivered":false');
}, 120_000);

test('forged events through the real asset: a replayed Create and a Create with changed properties are refused, nothing written or sent', async () => {
  // GIVEN a seeded resource
  const s = await setUp(50);
  const resource = await s.resourceFor(names('f', 2));
  const created = await s.r.invoke({ requestType: 'Create', resource, requestId: 'real' });
  expect(created.response?.Status).toBe('SUCCESS');
  const before = await poolUsers(s.r, s.poolId);
  const ledgerBefore = await s.r.ledgerItems();
  const writes = () => ({ ...s.r.proxy.forwarded });
  const writesBefore = writes();

  // WHEN someone allowed to invoke the function replays the Create (the stack is not creating it)...
  const replayed = await s.r.invoke({
    requestType: 'Create',
    resource,
    requestId: 'replayed',
    cloudFormation: { resourceStatus: 'CREATE_COMPLETE', stackStatus: 'CREATE_COMPLETE' },
  });
  // ...or sends one with its own users and adoptExistingUsers while the stack updates it
  const forgedProperties = {
    ...resource.properties,
    AdoptExistingUsers: 'true',
    Users: [
      { Username: 'hand-made', Mode: 'PERMANENT', Password: { Source: 'plaintext', Value: 'Attacker-Chosen-1!' } },
    ],
  };
  const forged = await s.r.invoke({
    requestType: 'Update',
    resource: { ...resource, properties: forgedProperties },
    physicalResourceId: `${s.poolId}/${resource.logicalId}`,
    requestId: 'forged',
    cloudFormation: { resourceStatus: 'UPDATE_IN_PROGRESS', stackStatus: 'UPDATE_IN_PROGRESS' },
  });

  // THEN both refused, by rule, with nothing written, started or answered
  expect(replayed.output).toMatch(
    /"outcome":"refused-event","rule":"the stack is not running a Create on Seeder\w+ \(its status is CREATE_COMPLETE\)"/,
  );
  expect(forged.output).toMatch(
    /"outcome":"refused-event","rule":"the properties are not the ones the stack gives Seeder\w+: Properties\.AdoptExistingUsers differs from the template"/,
  );
  expect(forged.output).not.toContain('Attacker-Chosen');
  expect([...replayed.rawResponses, ...forged.rawResponses]).toEqual([]);
  expect(s.r.engine.executions.size).toBe(1);
  expect(writes()).toEqual(writesBefore);
  expect(await s.r.ledgerItems()).toEqual(ledgerBefore);
  expect(await poolUsers(s.r, s.poolId)).toEqual(before);
}, 120_000);

test('a repair overtaken by the stack Delete: the Delete answers SUCCESS, the repair stops, and nothing is made again afterwards', async () => {
  // GIVEN 40 seeded users at 10 a second, all deleted by hand after the Create
  const s = await setUp(10);
  const usernames = names('p', 40);
  const resource = await s.resourceFor(usernames);
  const created = await s.r.invoke({ requestType: 'Create', resource });
  expect(created.response?.Status).toBe('SUCCESS');
  for (const Username of usernames) {
    await s.r.cognito.send(new AdminDeleteUserCommand({ UserPoolId: s.poolId, Username }));
  }

  // WHEN a repair starts making them again, and the stack's Delete arrives mid-way
  const fn = String(resource.properties.ServiceToken);
  const asked = (await s.r.invokeFunction(fn, { kind: 'repair', seeder: resource.logicalId, waitSeconds: 0 })) as {
    status: string;
    repairId: string;
  };
  expect(asked.status).toBe('RUNNING');
  // Mid-way: some users made again, not all.
  let remade = 0;
  for (let i = 0; i < 100 && remade < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    remade = Object.keys(await poolUsers(s.r, s.poolId)).length - 1;
  }
  expect(remade).toBeGreaterThanOrEqual(3);
  expect(remade).toBeLessThan(40);
  const removed = await s.r.invoke({
    requestType: 'Delete',
    resource,
    physicalResourceId: created.response?.PhysicalResourceId,
  });
  await s.r.engine.settle();
  await new Promise((resolve) => setTimeout(resolve, 2000));

  // THEN the Delete succeeded, the pool holds only the hand-made user (with its sub) and
  // keeps holding only it, the ledger nothing, and the repair says it was stopped
  expect(removed.response?.Status).toBe('SUCCESS');
  expect(await poolUsers(s.r, s.poolId)).toEqual({ 'hand-made': s.handSub });
  expect(await s.r.ledgerUsers()).toEqual([]);
  const status = (await s.r.invokeFunction(fn, {
    kind: 'repair-status',
    seeder: resource.logicalId,
    repairId: asked.repairId,
  })) as { status: string; reason?: string };
  expect(status.status).toBe('FAILED');
  expect(status.reason).toMatch(/stopped the repair|superseded|newer request/);
}, 120_000);

test('a Create whose every slice is killed answers FAILED; the stack Delete whose first slice is spent finishing its compensation goes on in the next slices and answers SUCCESS', async () => {
  // GIVEN 100 users at 10 a second, and a Create whose slices all die 1.5 s in
  const s = await setUp(10, { retryScale: 0.01 });
  const resource = await s.resourceFor(names('c', 100));
  const created = await s.r.invoke({
    requestType: 'Create',
    resource,
    onSlice: (_slice, child) => void setTimeout(() => child.kill('SIGKILL'), 1500),
  });
  expect(created.response?.Status).toBe('FAILED');
  expect(created.response?.Reason).toMatch(/Lambda\.Unknown/);
  const left = Object.keys(await poolUsers(s.r, s.poolId)).length - 1;
  expect(left).toBeGreaterThan(4);

  // WHEN the rollback Delete runs in slices of about 3 s (the removal takes longer)
  const removed = await s.r.invoke({
    requestType: 'Delete',
    resource,
    physicalResourceId: created.response?.PhysicalResourceId,
    timeoutMs: 4000,
  });

  // THEN SUCCESS across several slices, and only the hand-made user is left, with its sub
  expect(removed.response?.Status).toBe('SUCCESS');
  expect(removed.invocations).toBeGreaterThan(1);
  expect(await poolUsers(s.r, s.poolId)).toEqual({ 'hand-made': s.handSub });
  expect(await s.r.ledgerUsers()).toEqual([]);
}, 180_000);
