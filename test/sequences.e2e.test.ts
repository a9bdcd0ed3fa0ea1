// Adversarial end to end: the event sequences CloudFormation really sends (rollbacks,
// cleanups, timeouts, concurrent and late deliveries, shared, case-insensitive and
// email-username pools), played against the synthesized handler asset in its own process,
// with hand-made users in every pool. Every hand-made user must survive every sequence with
// its original `sub`, and the seeded users must end as the template CloudFormation settles
// on says. The in-memory Cognito (rehearsal/fake-cognito.ts) is the backend throughout: it
// shows what cognito-local cannot (case-insensitive and alias pools, email_verified reset)
// and keeps the suite fast.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminGetUserCommand,
  AdminListGroupsForUserCommand,
  AdminSetUserPasswordCommand,
  AdminUpdateUserAttributesCommand,
  CreateGroupCommand,
  CreateUserPoolCommand,
  ListUsersCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { App, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { PasswordMode, SeedPassword, SeedUser, UserSeeder } from '../lib';
import type { FakeCognito } from '../rehearsal/fake-cognito';
import { InvokeResult, Rehearsal, SeedResource, synthesize } from '../rehearsal/harness';
import type { CfnResponseBody } from '../rehearsal/response-server';

const PERM_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:seq-perm-AbCdEf';
const TEMP_PARAM = '/seq/temporary-password';
const PASSWORDS = { perm: 'Canary-Seq-Perm-4!kQ', temp: 'Canary-Seq-Temp-7!wZ' };
const HAND_PASSWORD = 'Hand-Made-Pass-9!';
/** Every Cognito call that changes a user. */
const WRITES = [
  'AdminCreateUser',
  'AdminSetUserPassword',
  'AdminResetUserPassword',
  'AdminUpdateUserAttributes',
  'AdminDeleteUserAttributes',
  'AdminAddUserToGroup',
  'AdminRemoveUserFromGroup',
  'AdminDeleteUser',
  'AdminDisableUser',
  'AdminEnableUser',
];

const outdirs: string[] = [];
let rehearsal: Rehearsal | undefined;

afterEach(async () => {
  const r = rehearsal;
  rehearsal = undefined;
  if (!r) return;
  await r.stop();
  // Whatever a test played, no request got two different answers.
  const answers = new Map<string, Set<string>>();
  for (const b of r.responses.bodies) {
    answers.set(b.RequestId, (answers.get(b.RequestId) ?? new Set()).add(`${b.Status} ${b.PhysicalResourceId}`));
  }
  for (const [requestId, distinct] of answers) {
    expect({ requestId, differentAnswers: distinct.size }).toEqual({ requestId, differentAnswers: 1 });
  }
});
afterAll(() => outdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function start(): Promise<Rehearsal> {
  rehearsal = await Rehearsal.start({
    backend: 'fake',
    secrets: { [PERM_ARN]: PASSWORDS.perm },
    parameters: { [TEMP_PARAM]: PASSWORDS.temp },
  });
  return rehearsal;
}

// ---------------------------------------------------------------------------------------
// Pools, seeders and templates
// ---------------------------------------------------------------------------------------

interface PoolOptions {
  /** `false`: usernames compare without case (the console's default). */
  readonly caseSensitive?: boolean;
  /** `['email']`: the username is an email alias and the real username is the `sub`. */
  readonly usernameAttributes?: string[];
}

/** A pool made outside the stack (the seeders import it), with groups `admins` and `testers`. */
async function createPool(r: Rehearsal, name: string, options: PoolOptions = {}): Promise<string> {
  const out = await r.cognito.send(
    new CreateUserPoolCommand({
      PoolName: name,
      Policies: {
        PasswordPolicy: {
          MinimumLength: 10,
          RequireUppercase: true,
          RequireLowercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        },
      },
      ...(options.caseSensitive === undefined
        ? {}
        : { UsernameConfiguration: { CaseSensitive: options.caseSensitive } }),
      ...(options.usernameAttributes ? { UsernameAttributes: options.usernameAttributes as 'email'[] } : {}),
    }),
  );
  const poolId = out.UserPool!.Id!;
  for (const group of ['admins', 'testers']) {
    await r.cognito.send(new CreateGroupCommand({ UserPoolId: poolId, GroupName: group }));
  }
  return poolId;
}

type Sources = { perm: SeedPassword; temp: SeedPassword };
type Maker = (s: Sources) => SeedUser;

const perm =
  (username: string, extra: Partial<SeedUser> = {}): Maker =>
  (s) => ({ username, mode: PasswordMode.PERMANENT, password: s.perm, ...extra });
const temp =
  (username: string, extra: Partial<SeedUser> = {}): Maker =>
  (s) => ({ username, mode: PasswordMode.TEMPORARY, password: s.temp, ...extra });
const many = (prefix: string, count: number, make: (name: string) => Maker = temp): Maker[] =>
  Array.from({ length: count }, (_, i) => make(`${prefix}${String(i).padStart(2, '0')}`));

interface SeederSpec {
  /** The construct id: the seed resource's logical id starts with it. */
  readonly id: string;
  readonly poolId: string;
  readonly users: Maker[];
  readonly adopt?: boolean;
  readonly maxConcurrency?: number;
}

/**
 * Synthesizes one stack whose seeders seed imported pools, and stands it up. Same ids,
 * same logical ids, every time: each call is the next template of the same stack.
 * Returns the seed resources by seeder id.
 */
async function deploy(
  r: Rehearsal,
  seeders: SeederSpec[],
  stackName = 'Sequences',
): Promise<Record<string, SeedResource>> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-sequences-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  const stack = new Stack(app, stackName);
  const sources: Sources = {
    perm: SeedPassword.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Perm', PERM_ARN)),
    temp: SeedPassword.fromSsmParameter(
      ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Temp', { parameterName: TEMP_PARAM }),
    ),
  };
  const pools = new Map<string, cognito.IUserPool>();
  for (const s of seeders) {
    if (!pools.has(s.poolId)) {
      pools.set(s.poolId, cognito.UserPool.fromUserPoolId(stack, `Pool${pools.size}`, s.poolId));
    }
    new UserSeeder(stack, s.id, {
      userPool: pools.get(s.poolId)!,
      users: s.users.map((make) => make(sources)),
      adoptExistingUsers: s.adopt,
      maxConcurrency: s.maxConcurrency,
    });
  }
  const resources = await r.deploy(synthesize(app));
  return Object.fromEntries(
    seeders.map((s) => {
      const found = resources.filter((res) => res.logicalId.startsWith(s.id));
      if (found.length !== 1) throw new Error(`expected one seed resource for ${s.id}, found ${found.length}`);
      return [s.id, found[0]];
    }),
  );
}

/** A one-seeder stack: its seed resource. */
async function deployOne(r: Rehearsal, seeder: SeederSpec): Promise<SeedResource> {
  return (await deploy(r, [seeder]))[seeder.id];
}

const physicalIdOf = (resource: SeedResource) => `${resource.properties.UserPoolId}/${resource.logicalId}`;

// ---------------------------------------------------------------------------------------
// CloudFormation's requests, named as CloudFormation sends them
// ---------------------------------------------------------------------------------------

function createRequest(r: Rehearsal, resource: SeedResource, requestId?: string): Promise<InvokeResult> {
  return r.invoke({ requestType: 'Create', resource, requestId });
}

/** An Update from `from` to `to`: forward, or (with the roles swapped) a rollback. */
function updateRequest(
  r: Rehearsal,
  to: SeedResource,
  from: SeedResource,
  physicalResourceId: string,
  requestId?: string,
): Promise<InvokeResult> {
  return r.invoke({
    requestType: 'Update',
    resource: to,
    oldProperties: from.properties,
    physicalResourceId,
    requestId,
  });
}

/** UPDATE_ROLLBACK_IN_PROGRESS: back to the properties `failed` replaced. */
function rollbackUpdate(
  r: Rehearsal,
  back: SeedResource,
  failed: SeedResource,
  physicalResourceId: string,
): Promise<InvokeResult> {
  return updateRequest(r, back, failed, physicalResourceId);
}

/** A Delete: of the stack, of a failed Create (rollback), or of an old physical id (cleanup). */
function deleteRequest(r: Rehearsal, resource: SeedResource, physicalResourceId: string): Promise<InvokeResult> {
  return r.invoke({ requestType: 'Delete', resource, physicalResourceId });
}
const rollbackDelete = deleteRequest;
const cleanupDelete = deleteRequest;

/** The answer a request got: throws when there was none. */
function answered(result: InvokeResult): CfnResponseBody {
  if (!result.response) throw new Error(`no answer to ${String(result.event.RequestType)}: ${result.output}`);
  return result.response;
}

/** Every answer that reached the ResponseURL for one request id. */
function answersTo(r: Rehearsal, requestId: string): CfnResponseBody[] {
  return r.responses.bodies.filter((b) => b.RequestId === requestId);
}

/** Cognito writes the handler made (through the proxy) while `fn` ran. */
async function writesDuring<T>(r: Rehearsal, fn: () => Promise<T>): Promise<{ result: T; writes: string[] }> {
  const before = { ...r.proxy.forwarded };
  const result = await fn();
  const writes = WRITES.flatMap((t) => Array(Math.max(0, (r.proxy.forwarded[t] ?? 0) - (before[t] ?? 0))).fill(t));
  return { result, writes };
}

// ---------------------------------------------------------------------------------------
// The pool as Cognito reports it, hand-made users, and the ledger
// ---------------------------------------------------------------------------------------

interface UserState {
  username: string;
  status?: string;
  attributes: Record<string, string>;
  groups: string[];
  modified?: number;
}

/** One user as AdminGetUser and AdminListGroupsForUser report it; undefined when absent. */
async function getUser(r: Rehearsal, poolId: string, username: string): Promise<UserState | undefined> {
  let out;
  try {
    out = await r.cognito.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: username }));
  } catch (error) {
    if ((error as { name?: string }).name === 'UserNotFoundException') return undefined;
    throw error;
  }
  const groups = await r.cognito.send(new AdminListGroupsForUserCommand({ UserPoolId: poolId, Username: username }));
  return {
    username: out.Username!,
    status: out.UserStatus,
    attributes: Object.fromEntries((out.UserAttributes ?? []).map((a) => [a.Name!, a.Value!])),
    groups: (groups.Groups ?? []).map((g) => g.GroupName!).sort(),
    modified: out.UserLastModifiedDate?.getTime(),
  };
}

/** Every user of a pool, by username (or, in email-username pools, by email). */
async function poolState(
  r: Rehearsal,
  poolId: string,
  by: 'username' | 'email' = 'username',
): Promise<Record<string, UserState>> {
  const state: Record<string, UserState> = {};
  let token: string | undefined;
  do {
    const page = await r.cognito.send(new ListUsersCommand({ UserPoolId: poolId, PaginationToken: token }));
    for (const u of page.Users ?? []) {
      const user = (await getUser(r, poolId, u.Username!))!;
      state[by === 'email' ? user.attributes.email : user.username] = user;
    }
    token = page.PaginationToken;
  } while (token);
  return state;
}

const subsOf = (state: Record<string, UserState>) =>
  Object.fromEntries(Object.entries(state).map(([name, u]) => [name, u.attributes.sub]));

/** A user someone made by hand, outside any stack, as it was right after. */
interface HandMade {
  readonly poolId: string;
  /** The name it was made with (the email in email-username pools). */
  readonly name: string;
  readonly sub: string;
  readonly state: UserState;
}

/** Makes a user by hand, straight at Cognito (not through the handler's proxy), with its own password. */
async function handMade(
  r: Rehearsal,
  poolId: string,
  name: string,
  attributes: Record<string, string> = {},
): Promise<HandMade> {
  await r.cognito.send(
    new AdminCreateUserCommand({
      UserPoolId: poolId,
      Username: name,
      MessageAction: 'SUPPRESS',
      UserAttributes: Object.entries(attributes).map(([Name, Value]) => ({ Name, Value })),
    }),
  );
  await r.cognito.send(
    new AdminSetUserPasswordCommand({ UserPoolId: poolId, Username: name, Password: HAND_PASSWORD, Permanent: true }),
  );
  const state = (await getUser(r, poolId, name))!;
  return { poolId, name, sub: state.attributes.sub, state };
}

/**
 * Every hand-made user is still in its pool with its original `sub`; unless it was adopted
 * on the way (`untouched: false`), exactly as it was made: attributes, groups, status, and
 * no write since (its last-modified date).
 */
async function expectHandMadeUsersSurvive(
  r: Rehearsal,
  users: HandMade[],
  options: { untouched?: boolean } = {},
): Promise<void> {
  for (const u of users) {
    const now = await getUser(r, u.poolId, u.name);
    expect({ handMade: u.name, exists: now !== undefined, sub: now?.attributes.sub }).toEqual({
      handMade: u.name,
      exists: true,
      sub: u.sub,
    });
    if (options.untouched !== false) expect({ handMade: u.name, ...now }).toEqual({ handMade: u.name, ...u.state });
  }
}

/** The ledger's user records (`USER#<pool>` items), unmarshalled. */
async function ledgerUsers(
  r: Rehearsal,
): Promise<{ pool: string; owner: string; username: string; sub?: string; state: string; origin: string }[]> {
  const items = await r.ledgerItems();
  return items.filter((i) => String(i.pk).startsWith('USER#')) as never;
}

// ---------------------------------------------------------------------------------------
// 1. Failed or undone Updates and CloudFormation's rollback Update
// ---------------------------------------------------------------------------------------

describe('rollbackUpdate', () => {
  test('after an Update that failed on listed hand-made users: they and the seeded users are untouched', async () => {
    // GIVEN a seeded pool, and three hand-made users in it
    const r = await start();
    const poolId = await createPool(r, 'rollback-failed');
    const v1 = await deployOne(r, {
      id: 'Seeder',
      poolId,
      users: [perm('alice', { groups: ['admins'] }), temp('bob')],
    });
    const created = await createRequest(r, v1);
    const id = answered(created).PhysicalResourceId;
    const hand = [
      await handMade(r, poolId, 'henry'),
      await handMade(r, poolId, 'hazel'),
      await handMade(r, poolId, 'holly', { given_name: 'Holly' }),
    ];
    const afterCreate = await poolState(r, poolId);

    // WHEN an Update lists them (and a new carol), fails, and CloudFormation rolls back
    const v2 = await deployOne(r, {
      id: 'Seeder',
      poolId,
      users: [
        perm('alice', { groups: ['admins'] }),
        temp('bob'),
        perm('carol'),
        perm('henry'),
        perm('hazel'),
        temp('holly'),
      ],
    });
    const { result: failed, writes } = await writesDuring(r, () => updateRequest(r, v2, v1, id));
    const rollback = await rollbackUpdate(r, v1, v2, id);

    // THEN the Update failed before any write, naming every conflict; the rollback changed nothing
    expect(answered(failed)).toMatchObject({ Status: 'FAILED', PhysicalResourceId: id });
    for (const name of ['henry', 'hazel', 'holly']) expect(answered(failed).Reason).toContain(`'${name}'`);
    expect(writes).toEqual([]);
    expect(answered(rollback)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: id });
    await expectHandMadeUsersSurvive(r, hand);
    expect(await poolState(r, poolId)).toEqual(afterCreate);
  });

  test('after an Update that adopted hand-made users: they are released, never deleted', async () => {
    // GIVEN a seeded pool, and two hand-made users in it
    const r = await start();
    const poolId = await createPool(r, 'rollback-adopted');
    const v1 = await deployOne(r, { id: 'Seeder', poolId, users: [perm('alice'), temp('bob')] });
    const id = answered(await createRequest(r, v1)).PhysicalResourceId;
    const hand = [await handMade(r, poolId, 'henry'), await handMade(r, poolId, 'hazel')];
    const seeded = subsOf(await poolState(r, poolId));

    // WHEN an Update adopts them (and succeeds), another resource fails, and CloudFormation rolls back
    const v2 = await deployOne(r, {
      id: 'Seeder',
      poolId,
      adopt: true,
      users: [perm('alice'), temp('bob'), perm('henry', { groups: ['admins'] }), temp('hazel')],
    });
    const adopted = await updateRequest(r, v2, v1, id);
    const afterAdopt = await poolState(r, poolId);
    const rollback = await rollbackUpdate(r, v1, v2, id);
    const afterRollback = await poolState(r, poolId);
    // ...and later the stack is deleted
    const deleted = await deleteRequest(r, v1, id);

    // THEN adopted, released, and still there after the stack is gone
    expect(answered(adopted).Status).toBe('SUCCESS');
    expect(afterAdopt.henry).toMatchObject({ status: 'CONFIRMED', groups: ['admins'] });
    expect(answered(rollback)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: id });
    expect(subsOf(afterRollback)).toEqual({ ...seeded, henry: hand[0].sub, hazel: hand[1].sub });
    expect(answered(deleted).Status).toBe('SUCCESS');
    expect(Object.keys(await poolState(r, poolId)).sort()).toEqual(['hazel', 'henry']);
    await expectHandMadeUsersSurvive(r, hand, { untouched: false });
    const held = (await ledgerUsers(r)).map((u) => u.sub);
    for (const u of hand) expect(held).not.toContain(u.sub);
  });

  test("after the seeder's Update succeeded and another resource failed: only what the Update did is undone", async () => {
    // GIVEN a seeded case-sensitive pool, and hand-made users in it, two of them named like
    // the users the Update adds but for case (other users, in this pool)
    const r = await start();
    const poolId = await createPool(r, 'rollback-succeeded');
    const v1 = await deployOne(r, {
      id: 'Seeder',
      poolId,
      users: [perm('alice', { attributes: { given_name: 'Alice' }, groups: ['admins'] }), temp('bob')],
    });
    const id = answered(await createRequest(r, v1)).PhysicalResourceId;
    const hand = [
      await handMade(r, poolId, 'henry', { given_name: 'Henry' }),
      await handMade(r, poolId, 'Carol'),
      await handMade(r, poolId, 'DAVE'),
    ];
    const afterCreate = await poolState(r, poolId);

    // WHEN an Update changes alice, drops bob, adds carol and dave and succeeds; then another
    // resource fails and CloudFormation rolls back
    const v2 = await deployOne(r, {
      id: 'Seeder',
      poolId,
      users: [
        perm('alice', { attributes: { given_name: 'Alicia' }, groups: ['testers'] }),
        perm('carol'),
        temp('dave'),
      ],
    });
    const updated = await updateRequest(r, v2, v1, id);
    const afterUpdate = await poolState(r, poolId);
    const rollback = await rollbackUpdate(r, v1, v2, id);

    // THEN the update's users are gone, bob is back, alice is as before with her own sub
    expect(answered(updated).Status).toBe('SUCCESS');
    expect(Object.keys(afterUpdate).sort()).toEqual(['Carol', 'DAVE', 'alice', 'carol', 'dave', 'henry']);
    expect(answered(rollback)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: id });
    const state = await poolState(r, poolId);
    expect(Object.keys(state).sort()).toEqual(['Carol', 'DAVE', 'alice', 'bob', 'henry']);
    expect(state.alice).toMatchObject({
      attributes: { ...afterCreate.alice.attributes, given_name: 'Alice' },
      groups: ['admins'],
      status: 'CONFIRMED',
    });
    expect(state.bob).toMatchObject({ status: 'FORCE_CHANGE_PASSWORD', groups: [] });
    await expectHandMadeUsersSurvive(r, hand);
  });
});

// ---------------------------------------------------------------------------------------
// 2. A forward Update that lists a hand-made user
// ---------------------------------------------------------------------------------------

test('forwardUpdate that lists a hand-made user without adoptExistingUsers fails before any write', async () => {
  // GIVEN a seeded pool and a hand-made user that looks exactly like what the seeder would make
  const r = await start();
  const poolId = await createPool(r, 'forward-update');
  const v1 = await deployOne(r, { id: 'Seeder', poolId, users: [perm('alice')] });
  const id = answered(await createRequest(r, v1)).PhysicalResourceId;
  const hand = [await handMade(r, poolId, 'hazel')];
  const afterCreate = await poolState(r, poolId);

  // WHEN an Update lists it (beside a new carol), then CloudFormation rolls back
  const v2 = await deployOne(r, { id: 'Seeder', poolId, users: [perm('alice'), perm('hazel'), perm('carol')] });
  const { result: updated, writes } = await writesDuring(r, () => updateRequest(r, v2, v1, id));
  const rollback = await rollbackUpdate(r, v1, v2, id);

  // THEN no write at all (no password set on hazel, no carol), and the rollback changes nothing
  expect(answered(updated)).toMatchObject({ Status: 'FAILED', PhysicalResourceId: id });
  expect(answered(updated).Reason).toMatch(/'hazel'.*adopt/i);
  expect(writes).toEqual([]);
  expect(answered(rollback).Status).toBe('SUCCESS');
  await expectHandMadeUsersSurvive(r, hand);
  expect(await poolState(r, poolId)).toEqual(afterCreate);
});

// ---------------------------------------------------------------------------------------
// 3, 4. A Create that fails, and CloudFormation's rollback Delete
// ---------------------------------------------------------------------------------------

describe('rollbackDelete of a failed Create', () => {
  test('a Create that lists a hand-made user fails before any write; its rollback Delete keeps the user', async () => {
    // GIVEN a pool with a hand-made user
    const r = await start();
    const poolId = await createPool(r, 'failed-create');
    const hand = [await handMade(r, poolId, 'user-07', { given_name: 'Someone Else' })];
    const resource = await deployOne(r, { id: 'Seeder', poolId, users: many('user-', 12, perm), maxConcurrency: 2 });

    // WHEN the Create meets it, and CloudFormation rolls back with the id the Create answered
    const { result: created, writes } = await writesDuring(r, () => createRequest(r, resource));
    const rollback = await rollbackDelete(r, resource, answered(created).PhysicalResourceId);

    // THEN
    expect(answered(created).Status).toBe('FAILED');
    expect(answered(created).Reason).toContain("'user-07'");
    expect(writes).toEqual([]);
    expect(answered(rollback).Status).toBe('SUCCESS');
    expect(Object.keys(await poolState(r, poolId))).toEqual(['user-07']);
    await expectHandMadeUsersSurvive(r, hand);
  });

  test('a Create that adopted a hand-made user and failed mid-way: created users removed, adopted one released', async () => {
    // GIVEN a pool with a hand-made user the seeder adopts, and a Cognito fault no pre-flight can foresee
    const r = await start();
    const poolId = await createPool(r, 'failed-create-adopt');
    const hand = [await handMade(r, poolId, 'henry')];
    const resource = await deployOne(r, {
      id: 'Seeder',
      poolId,
      adopt: true,
      users: [...many('user-', 10, perm), perm('henry', { groups: ['admins'] })],
      maxConcurrency: 2,
    });
    r.proxy.failOn('AdminCreateUser', 'user-07');

    // WHEN the Create fails, and CloudFormation rolls back with the id it answered
    const created = await createRequest(r, resource);
    const rollback = await rollbackDelete(r, resource, answered(created).PhysicalResourceId);

    // THEN no seeded user is left, and henry is still henry
    expect(answered(created).Status).toBe('FAILED');
    expect(answered(created).Reason).toContain("'user-07'");
    expect(answered(rollback).Status).toBe('SUCCESS');
    expect(Object.keys(await poolState(r, poolId))).toEqual(['henry']);
    await expectHandMadeUsersSurvive(r, hand, { untouched: false });
    expect((await ledgerUsers(r)).map((u) => u.sub)).not.toContain(hand[0].sub);
  });

  test('a Create whose slices are killed at the timeout is retried by the engine, then answers FAILED once; its rollback Delete removes every seeded user', async () => {
    // GIVEN many users, and a Cognito that stops answering after 8 creations
    const r = await start();
    const poolId = await createPool(r, 'timed-out-create');
    const hand = [await handMade(r, poolId, 'henry')];
    const resource = await deployOne(r, { id: 'Seeder', poolId, users: many('slow-', 30), maxConcurrency: 4 });
    (r.emulator as FakeCognito).stallAfter('AdminCreateUser', 8);

    // WHEN every slice hangs until Lambda kills it, Cognito answers again, and CloudFormation rolls back
    const created = await r.invoke({ requestType: 'Create', resource, requestId: 'timed-out', timeoutMs: 5000 });
    (r.emulator as FakeCognito).resume();
    const stranded = Object.keys(await poolState(r, poolId)).length - 1;
    const rollback = await rollbackDelete(r, resource, answered(created).PhysicalResourceId);

    // THEN the engine ran the killed slice again (Lambda.Unknown, three retries), then answered FAILED once
    expect(created.invocations).toBe(4);
    expect(created.output.match(/Task timed out/g)).toHaveLength(4);
    expect(created.rawResponses).toHaveLength(1);
    expect(answered(created)).toMatchObject({
      Status: 'FAILED',
      PhysicalResourceId: `${poolId}/${resource.logicalId}`,
    });
    expect(answered(created).Reason).toMatch(/crashed, ran out of memory or timed out.*\(Lambda\.Unknown\)/);
    // ...and names the call its last slice waited on, and where to look
    expect(answered(created).Reason).toMatch(
      /the last slice ended waiting: (DescribeUserPool|AdminCreateUser for user 'slow-\d+') had waited \d+ s for Cognito's answer\. Check the function's network path to cognito-idp/,
    );
    expect(stranded).toBe(8);
    expect(answered(rollback).Status).toBe('SUCCESS');
    expect(Object.keys(await poolState(r, poolId))).toEqual(['henry']);
    expect(answersTo(r, 'timed-out')).toHaveLength(1);
    await expectHandMadeUsersSurvive(r, hand);
  });
  test('a Create throttled past one invocation continues in fresh invocations and answers once; the Delete removes every seeded user', async () => {
    // GIVEN many users, and a Cognito that throttles creations to 4 a second: the work is
    // still going when the invocation's time is up
    const r = await start();
    const poolId = await createPool(r, 'throttled-create');
    const hand = [await handMade(r, poolId, 'henry')];
    const resource = await deployOne(r, { id: 'Seeder', poolId, users: many('slow-', 40), maxConcurrency: 4 });
    const quotas = (create: number, write: number) =>
      r.proxy.enforceQuotas({
        UserCreation: { rate: create, targets: ['AdminCreateUser'] },
        UserUpdate: { rate: write, targets: ['AdminDeleteUser'] },
      });
    quotas(4, 1);
    // ...and a ResponseURL whose first PUT fails (S3 answers 500 now and then): the answer is retried
    r.responses.failFirst = 1;

    // WHEN the request outlasts an invocation, then CloudFormation deletes the stack
    const created = await r.invoke({ requestType: 'Create', resource, requestId: 'throttled', timeoutMs: 5000 });
    quotas(1000, 1000);
    const rollback = await deleteRequest(r, resource, answered(created).PhysicalResourceId);

    // THEN it went on in fresh invocations, and the one that finished answered SUCCESS, once
    expect(created.invocations).toBeGreaterThanOrEqual(2);
    expect(created.rawResponses).toHaveLength(1);
    expect(answered(created).Status).toBe('SUCCESS');
    expect(created.exitCode).toBe(0);
    expect(created.output).not.toContain('Task timed out');
    expect(answered(rollback).Status).toBe('SUCCESS');
    expect(Object.keys(await poolState(r, poolId))).toEqual(['henry']);
    expect(answersTo(r, 'throttled')).toHaveLength(1);
    await expectHandMadeUsersSurvive(r, hand);
  });
});

// ---------------------------------------------------------------------------------------
// 5. Two stacks seeding one pool
// ---------------------------------------------------------------------------------------

// Two apps with different stack names stand up in one rehearsal (and so one pool). Their
// seeders have different ids, so whether the harness gives each stack its own ledger table
// or lets them share one, the owners differ, as two stacks' seed resources do in AWS.
describe('two stacks, one pool', () => {
  test("the second stack's Create of a username the first seeded fails; its rollback Delete keeps the first's user", async () => {
    // GIVEN stack one seeded `shared`; a hand-made user is in the pool too
    const r = await start();
    const poolId = await createPool(r, 'two-stacks');
    const hand = [await handMade(r, poolId, 'henry')];
    const one = (await deploy(r, [{ id: 'Alpha', poolId, users: [perm('shared'), temp('a1')] }], 'StackOne')).Alpha;
    const oneId = answered(await createRequest(r, one)).PhysicalResourceId;
    const seeded = subsOf(await poolState(r, poolId));

    // WHEN stack two seeds the same username, fails, and CloudFormation rolls it back
    const two = (await deploy(r, [{ id: 'Beta', poolId, users: [perm('shared'), temp('b1')] }], 'StackTwo')).Beta;
    const { result: created, writes } = await writesDuring(r, () => createRequest(r, two));
    const rollback = await rollbackDelete(r, two, answered(created).PhysicalResourceId);
    const afterRollback = subsOf(await poolState(r, poolId));
    // ...and later stack one is deleted
    const deleted = await deleteRequest(r, one, oneId);

    // THEN
    expect(answered(created).Status).toBe('FAILED');
    expect(answered(created).Reason).toContain("'shared'");
    expect(writes).toEqual([]);
    expect(answered(rollback).Status).toBe('SUCCESS');
    expect(afterRollback).toEqual(seeded);
    expect(answered(deleted).Status).toBe('SUCCESS');
    expect(Object.keys(await poolState(r, poolId))).toEqual(['henry']);
    await expectHandMadeUsersSurvive(r, hand);
  });

  test("the second stack adopting the first's user, then deleted, never deletes that user", async () => {
    // GIVEN stack one seeded `shared`
    const r = await start();
    const poolId = await createPool(r, 'two-stacks-adopt');
    const hand = [await handMade(r, poolId, 'henry')];
    const one = (await deploy(r, [{ id: 'Alpha', poolId, users: [perm('shared')] }], 'StackOne')).Alpha;
    const oneId = answered(await createRequest(r, one)).PhysicalResourceId;
    const sharedSub = subsOf(await poolState(r, poolId)).shared;

    // WHEN stack two, told to adopt existing users, lists it; then stack two is deleted
    // (CloudFormation's rollback Delete if its Create failed, the stack's Delete if not)
    const two = (await deploy(r, [{ id: 'Beta', poolId, adopt: true, users: [perm('shared')] }], 'StackTwo')).Beta;
    const created = await createRequest(r, two);
    const deleted = await deleteRequest(r, two, answered(created).PhysicalResourceId);
    const afterTwo = subsOf(await poolState(r, poolId));
    const deletedOne = await deleteRequest(r, one, oneId);

    // THEN stack one's user survives stack two, and goes with stack one
    expect(answered(deleted).Status).toBe('SUCCESS');
    expect(afterTwo).toEqual({ henry: hand[0].sub, shared: sharedSub });
    expect(answered(deletedOne).Status).toBe('SUCCESS');
    expect(Object.keys(await poolState(r, poolId))).toEqual(['henry']);
    await expectHandMadeUsersSurvive(r, hand);
  });
});

// ---------------------------------------------------------------------------------------
// 6. Two seeders in one stack
// ---------------------------------------------------------------------------------------

describe('two seeders in one stack', () => {
  test.each([['Alpha', 'Beta'] as const, ['Beta', 'Alpha'] as const])(
    'moveBetweenSeeders, %s updated first: the user keeps its sub, or an update fails before any delete',
    async (first, second) => {
      // GIVEN seeder Alpha holds `mover`, Beta holds b1; a hand-made user is in the pool
      const r = await start();
      const poolId = await createPool(r, 'move-between-seeders');
      const hand = [await handMade(r, poolId, 'henry')];
      const v1 = await deploy(r, [
        { id: 'Alpha', poolId, users: [perm('mover', { groups: ['admins'] }), temp('a1')] },
        { id: 'Beta', poolId, users: [temp('b1')] },
      ]);
      const ids = {
        Alpha: answered(await createRequest(r, v1.Alpha)).PhysicalResourceId,
        Beta: answered(await createRequest(r, v1.Beta)).PhysicalResourceId,
      };
      const seeded = subsOf(await poolState(r, poolId));

      // WHEN one deploy moves `mover` from Alpha to Beta: CloudFormation updates both, in this order
      const v2 = await deploy(r, [
        { id: 'Alpha', poolId, users: [temp('a1')] },
        { id: 'Beta', poolId, users: [temp('b1'), perm('mover', { groups: ['admins'] })] },
      ]);
      const { result: updates, writes } = await writesDuring(r, async () => ({
        [first]: await updateRequest(r, v2[first], v1[first], ids[first]),
        [second]: await updateRequest(r, v2[second], v1[second], ids[second]),
      }));
      const failed = Object.values(updates).some((u) => answered(u).Status === 'FAILED');
      // Each seed resource knows its siblings' usernames, so the move is handed over in either order.
      expect(failed).toBe(false);
      if (failed) {
        // ...one failed: CloudFormation rolls both back
        expect(writes).not.toContain('AdminDeleteUser');
        for (const id of [second, first]) {
          expect(answered(await rollbackUpdate(r, v1[id], v2[id], ids[id])).Status).toBe('SUCCESS');
        }
      }

      // THEN mover is the same user, held by the seeder that now lists it
      const state = await poolState(r, poolId);
      expect(subsOf(state)).toEqual(seeded);
      expect(state.mover).toMatchObject({ status: 'CONFIRMED', groups: ['admins'] });
      const holder = (await ledgerUsers(r)).find((u) => u.sub === seeded.mover);
      expect(holder?.owner).toBe((failed ? v1.Alpha : v2.Beta).logicalId);
      // ...and the stack's Delete removes every seeded user, and no other
      for (const id of ['Alpha', 'Beta'] as const) {
        expect(answered(await deleteRequest(r, failed ? v1[id] : v2[id], ids[id])).Status).toBe('SUCCESS');
      }
      expect(Object.keys(await poolState(r, poolId))).toEqual(['henry']);
      await expectHandMadeUsersSurvive(r, hand);
    },
  );

  test("renamedSeeder: the new logical id's Create, then cleanupDelete of the old, keeps the users or fails before any delete", async () => {
    // GIVEN seeder Alpha holds r1 and r2; a hand-made user is in the pool
    const r = await start();
    const poolId = await createPool(r, 'renamed-seeder');
    const hand = [await handMade(r, poolId, 'henry')];
    const v1 = (await deploy(r, [{ id: 'Alpha', poolId, users: [perm('r1'), temp('r2')] }])).Alpha;
    const oldId = answered(await createRequest(r, v1)).PhysicalResourceId;
    const seeded = subsOf(await poolState(r, poolId));

    // WHEN its construct id is renamed to Gamma: CloudFormation creates Gamma, and then
    // deletes Alpha in cleanup (or, if Gamma's Create failed, deletes Gamma in rollback)
    const v2 = (await deploy(r, [{ id: 'Gamma', poolId, users: [perm('r1'), temp('r2')] }])).Gamma;
    const { result: created, writes } = await writesDuring(r, () => createRequest(r, v2));
    const newId = answered(created).PhysicalResourceId;
    const succeeded = answered(created).Status === 'SUCCESS';
    const settled = succeeded ? await cleanupDelete(r, v1, oldId) : await rollbackDelete(r, v2, newId);

    // THEN the users are the same users, whichever way it went
    if (!succeeded) expect(writes).not.toContain('AdminDeleteUser');
    expect(answered(settled).Status).toBe('SUCCESS');
    expect(subsOf(await poolState(r, poolId))).toEqual(seeded);
    // ...and the surviving seeder's Delete removes them
    const last = succeeded ? await deleteRequest(r, v2, newId) : await deleteRequest(r, v1, oldId);
    expect(answered(last).Status).toBe('SUCCESS');
    expect(Object.keys(await poolState(r, poolId))).toEqual(['henry']);
    await expectHandMadeUsersSurvive(r, hand);
  });
});

// ---------------------------------------------------------------------------------------
// 7. Case-insensitive pools
// ---------------------------------------------------------------------------------------

describe('case-insensitive pool', () => {
  test("caseOnlyUpdate from 'Carol' to 'carol' keeps the user and its sub", async () => {
    // GIVEN a case-insensitive pool with a seeded Carol and a hand-made Henry
    const r = await start();
    const poolId = await createPool(r, 'case-insensitive', { caseSensitive: false });
    const hand = [await handMade(r, poolId, 'Henry')];
    const v1 = await deployOne(r, {
      id: 'Seeder',
      poolId,
      users: [perm('Carol', { groups: ['admins'] }), temp('dave')],
    });
    const id = answered(await createRequest(r, v1)).PhysicalResourceId;
    const before = await poolState(r, poolId);

    // WHEN an Update changes only the case of her username
    const v2 = await deployOne(r, {
      id: 'Seeder',
      poolId,
      users: [perm('carol', { groups: ['admins'] }), temp('dave')],
    });
    const updated = await updateRequest(r, v2, v1, id);

    // THEN one user, the same one
    expect(answered(updated)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: id });
    const state = await poolState(r, poolId);
    expect(
      Object.keys(state)
        .map((n) => n.toLowerCase())
        .sort(),
    ).toEqual(['carol', 'dave', 'henry']);
    expect((await getUser(r, poolId, 'carol'))?.attributes.sub).toBe(before.Carol.attributes.sub);
    expect(subsOf(state).dave).toBe(before.dave.attributes.sub);
    await expectHandMadeUsersSurvive(r, hand);
    // ...which the stack's Delete removes, whatever case it was seeded in
    expect(answered(await deleteRequest(r, v2, id)).Status).toBe('SUCCESS');
    expect(Object.keys(await poolState(r, poolId))).toEqual(['Henry']);
    await expectHandMadeUsersSurvive(r, hand);
  });

  test("forwardUpdate listing 'HENRY' when a hand-made 'Henry' exists fails before any write", async () => {
    // GIVEN
    const r = await start();
    const poolId = await createPool(r, 'case-insensitive-conflict', { caseSensitive: false });
    const hand = [await handMade(r, poolId, 'Henry')];
    const v1 = await deployOne(r, { id: 'Seeder', poolId, users: [perm('alice')] });
    const id = answered(await createRequest(r, v1)).PhysicalResourceId;

    // WHEN
    const v2 = await deployOne(r, { id: 'Seeder', poolId, users: [perm('alice'), perm('HENRY'), temp('carol')] });
    const { result: updated, writes } = await writesDuring(r, () => updateRequest(r, v2, v1, id));
    const rollback = await rollbackUpdate(r, v1, v2, id);

    // THEN
    expect(answered(updated).Status).toBe('FAILED');
    expect(answered(updated).Reason).toMatch(/'henry'/i);
    expect(writes).toEqual([]);
    expect(answered(rollback).Status).toBe('SUCCESS');
    expect(Object.keys(await poolState(r, poolId)).sort()).toEqual(['Henry', 'alice']);
    await expectHandMadeUsersSurvive(r, hand);
  });
});

// ---------------------------------------------------------------------------------------
// 8. Moving to another pool: cleanupDelete of the old id, or rollbackUpdate of the move
// ---------------------------------------------------------------------------------------

describe('pool move', () => {
  test.each([
    ['a username pool', {}],
    ['an email-username pool', { usernameAttributes: ['email'] }],
  ] as [string, PoolOptions][])(
    'poolMove then cleanupDelete of the old id empties the old pool of seeded users only, in %s',
    async (_kind, options) => {
      // GIVEN seeded users in pool one; hand-made users in both pools
      const r = await start();
      const email = options.usernameAttributes !== undefined;
      const name = (n: string) => (email ? `${n}@example.com` : n);
      const by = email ? 'email' : 'username';
      const one = await createPool(r, 'move-from', options);
      const two = await createPool(r, 'move-to', options);
      const hand = [await handMade(r, one, name('henry')), await handMade(r, two, name('hank'))];
      const users = [perm(name('alice')), temp(name('bob'), { groups: ['admins'] })];
      const v1 = await deployOne(r, { id: 'Seeder', poolId: one, users });
      const oldId = answered(await createRequest(r, v1)).PhysicalResourceId;

      // WHEN an Update moves the seeder to pool two, and CloudFormation cleans up the old id
      const v2 = await deployOne(r, { id: 'Seeder', poolId: two, users });
      const moved = await updateRequest(r, v2, v1, oldId);
      const afterMove = await poolState(r, two, by);
      const cleanup = await cleanupDelete(r, v1, oldId);

      // THEN
      expect(oldId).toBe(physicalIdOf(v1));
      expect(answered(moved)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: physicalIdOf(v2) });
      expect(answered(cleanup).Status).toBe('SUCCESS');
      expect(Object.keys(await poolState(r, one, by))).toEqual([name('henry')]);
      const state = await poolState(r, two, by);
      expect(state).toEqual(afterMove);
      expect(Object.keys(state).sort()).toEqual([name('alice'), name('bob'), name('hank')]);
      expect(state[name('bob')]).toMatchObject({ status: 'FORCE_CHANGE_PASSWORD', groups: ['admins'] });
      await expectHandMadeUsersSurvive(r, hand);
    },
  );

  test('rollbackUpdate of a pool move after the users drifted succeeds, then cleanupDelete of the new id', async () => {
    // GIVEN seeded users in pool one that drifted by hand (an email verified, a group added)
    const r = await start();
    const one = await createPool(r, 'move-back-from');
    const two = await createPool(r, 'move-back-to');
    const hand = [await handMade(r, one, 'henry'), await handMade(r, two, 'hank')];
    const users = [perm('alice', { attributes: { email: 'alice@example.com' } }), temp('bob')];
    const v1 = await deployOne(r, { id: 'Seeder', poolId: one, users });
    const oldId = answered(await createRequest(r, v1)).PhysicalResourceId;
    await r.cognito.send(
      new AdminUpdateUserAttributesCommand({
        UserPoolId: one,
        Username: 'alice',
        UserAttributes: [{ Name: 'email_verified', Value: 'true' }],
      }),
    );
    await r.cognito.send(new AdminAddUserToGroupCommand({ UserPoolId: one, Username: 'bob', GroupName: 'admins' }));
    const seeded = subsOf(await poolState(r, one));

    // WHEN the seeder moves to pool two, another resource fails, CloudFormation rolls the
    // move back and cleans up the id the move answered
    const v2 = await deployOne(r, { id: 'Seeder', poolId: two, users });
    const moved = await updateRequest(r, v2, v1, oldId);
    const newId = answered(moved).PhysicalResourceId;
    const rollback = await rollbackUpdate(r, v1, v2, newId);
    const cleanup = await cleanupDelete(r, v2, newId);

    // THEN pool one has the same users again, pool two none of them
    expect(answered(moved).Status).toBe('SUCCESS');
    expect(newId).toBe(physicalIdOf(v2));
    expect(answered(rollback)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: oldId });
    expect(answered(cleanup).Status).toBe('SUCCESS');
    expect(subsOf(await poolState(r, one))).toEqual(seeded);
    expect(Object.keys(await poolState(r, two))).toEqual(['hank']);
    await expectHandMadeUsersSurvive(r, hand);
  });

  test('rollbackUpdate of a pool move in email-username pools, after drift, keeps every user and sub', async () => {
    // GIVEN two pools whose usernames are emails; seeded users in pool one, one of them drifted
    const r = await start();
    const one = await createPool(r, 'email-from', { usernameAttributes: ['email'] });
    const two = await createPool(r, 'email-to', { usernameAttributes: ['email'] });
    const hand = [await handMade(r, one, 'henry@example.com'), await handMade(r, two, 'hank@example.com')];
    const users = [
      perm('alice@example.com', { attributes: { email_verified: 'true' }, groups: ['testers'] }),
      temp('bob@example.com'),
    ];
    const v1 = await deployOne(r, { id: 'Seeder', poolId: one, users });
    const created = await createRequest(r, v1);
    const oldId = answered(created).PhysicalResourceId;
    const afterCreate = await poolState(r, one, 'email');
    await r.cognito.send(
      new AdminUpdateUserAttributesCommand({
        UserPoolId: one,
        Username: 'bob@example.com',
        UserAttributes: [{ Name: 'email_verified', Value: 'true' }],
      }),
    );
    await r.cognito.send(
      new AdminAddUserToGroupCommand({ UserPoolId: one, Username: 'bob@example.com', GroupName: 'admins' }),
    );

    // WHEN the seeder moves to pool two, CloudFormation rolls the move back and cleans up
    const v2 = await deployOne(r, { id: 'Seeder', poolId: two, users });
    const moved = await updateRequest(r, v2, v1, oldId);
    const afterMove = await poolState(r, two, 'email');
    const newId = answered(moved).PhysicalResourceId;
    const rollback = await rollbackUpdate(r, v1, v2, newId);
    const cleanup = await cleanupDelete(r, v2, newId);

    // THEN
    expect(answered(created)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: physicalIdOf(v1) });
    expect(Object.keys(afterCreate).sort()).toEqual(['alice@example.com', 'bob@example.com', 'henry@example.com']);
    expect(afterCreate['alice@example.com']).toMatchObject({ status: 'CONFIRMED', groups: ['testers'] });
    expect(answered(moved).Status).toBe('SUCCESS');
    expect(Object.keys(afterMove).sort()).toEqual(['alice@example.com', 'bob@example.com', 'hank@example.com']);
    expect(answered(rollback)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: oldId });
    expect(answered(cleanup).Status).toBe('SUCCESS');
    expect(subsOf(await poolState(r, one, 'email'))).toEqual(subsOf(afterCreate));
    expect(Object.keys(await poolState(r, two, 'email'))).toEqual(['hank@example.com']);
    await expectHandMadeUsersSurvive(r, hand);
    // the ledger holds pool one's seeded users by their sub
    const held = (await ledgerUsers(r)).filter((u) => u.pool === one).map((u) => u.sub);
    expect(held.sort()).toEqual(
      [afterCreate['alice@example.com'].attributes.sub, afterCreate['bob@example.com'].attributes.sub].sort(),
    );
  });
});

// ---------------------------------------------------------------------------------------
// 9. A lost AdminCreateUser response
// ---------------------------------------------------------------------------------------

test('lostCreateResponse: the Create succeeds without an orphan, and a later Delete removes the users', async () => {
  // GIVEN AdminCreateUser takes effect but its response is lost, so the SDK's retry meets UsernameExists
  const r = await start();
  const poolId = await createPool(r, 'lost-response');
  const hand = [await handMade(r, poolId, 'henry')];
  const v1 = await deployOne(r, { id: 'Seeder', poolId, users: [perm('alice', { groups: ['admins'] }), temp('bob')] });
  r.proxy.loseResponse('AdminCreateUser', 'alice');
  r.proxy.loseResponse('AdminCreateUser', 'bob');

  // WHEN CloudFormation creates, later updates (adding carol), and finally deletes
  const created = await createRequest(r, v1);
  const afterCreate = await poolState(r, poolId);
  const held = await ledgerUsers(r);
  const id = answered(created).PhysicalResourceId;
  const v2 = await deployOne(r, {
    id: 'Seeder',
    poolId,
    users: [perm('alice', { groups: ['admins'] }), temp('bob'), temp('carol')],
  });
  const updated = await updateRequest(r, v2, v1, id);
  const deleted = await deleteRequest(r, v2, id);

  // THEN
  expect(r.proxy.lost.AdminCreateUser).toBe(2);
  expect(answered(created)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: physicalIdOf(v1) });
  expect(afterCreate.alice).toMatchObject({ status: 'CONFIRMED', groups: ['admins'] });
  expect(afterCreate.bob).toMatchObject({ status: 'FORCE_CHANGE_PASSWORD', groups: [] });
  expect(answered(updated).Status).toBe('SUCCESS');
  expect(answered(deleted).Status).toBe('SUCCESS');
  expect(Object.keys(await poolState(r, poolId))).toEqual(['henry']);
  await expectHandMadeUsersSurvive(r, hand);
  expect(held.map((u) => [u.username, u.sub, u.state]).sort()).toEqual([
    ['alice', afterCreate.alice.attributes.sub, 'present'],
    ['bob', afterCreate.bob.attributes.sub, 'present'],
  ]);
});

// ---------------------------------------------------------------------------------------
// 10. Duplicate deliveries: together, and late
// ---------------------------------------------------------------------------------------

describe('duplicateDelivery', () => {
  test('of a Create, delivered together: one SUCCESS answer in all, no FAILED, each user made once', async () => {
    // GIVEN
    const r = await start();
    const poolId = await createPool(r, 'duplicate-together');
    const hand = [await handMade(r, poolId, 'henry')];
    const names = ['d00', 'd01', 'd02', 'd03', 'd04', 'd05', 'd06', 'd07'];
    const resource = await deployOne(r, {
      id: 'Seeder',
      poolId,
      users: names.map((n, i) => (i % 2 ? temp(n) : perm(n, { groups: ['testers'] }))),
      maxConcurrency: 2,
    });

    // ...and creations paced at 10 a second, so the two deliveries overlap
    r.proxy.enforceQuotas({ UserCreation: { rate: 10, targets: ['AdminCreateUser'] } });

    // WHEN CloudFormation's event reaches the function twice at once
    await Promise.all([createRequest(r, resource, 'create-twice'), createRequest(r, resource, 'create-twice')]);

    // THEN
    expect(answersTo(r, 'create-twice')).toEqual([
      expect.objectContaining({ Status: 'SUCCESS', PhysicalResourceId: physicalIdOf(resource) }),
    ]);
    expect(r.responses.bodies.filter((b) => b.Status === 'FAILED')).toEqual([]);
    expect(r.proxy.forwarded.AdminCreateUser).toBe(names.length);
    const state = await poolState(r, poolId);
    expect(Object.keys(state).sort()).toEqual([...names, 'henry']);
    names.forEach((n, i) =>
      expect(state[n]).toMatchObject(
        i % 2 ? { status: 'FORCE_CHANGE_PASSWORD', groups: [] } : { status: 'CONFIRMED', groups: ['testers'] },
      ),
    );
    await expectHandMadeUsersSurvive(r, hand);
  });

  test('of a Create, delivered late after it completed: nothing is done again, and no other answer', async () => {
    // GIVEN a completed Create
    const r = await start();
    const poolId = await createPool(r, 'duplicate-late');
    const hand = [await handMade(r, poolId, 'henry')];
    const resource = await deployOne(r, { id: 'Seeder', poolId, users: [perm('alice'), temp('bob')] });
    const first = answered(await createRequest(r, resource, 'create-late'));
    const before = await poolState(r, poolId);

    // WHEN the same event arrives again
    const { result: late, writes } = await writesDuring(r, () => createRequest(r, resource, 'create-late'));

    // THEN no write, and either no answer or the same one
    expect(first.Status).toBe('SUCCESS');
    expect(writes).toEqual([]);
    for (const again of late.rawResponses.map((raw) => JSON.parse(raw) as CfnResponseBody)) {
      expect(again).toMatchObject({ Status: first.Status, PhysicalResourceId: first.PhysicalResourceId });
    }
    expect(await poolState(r, poolId)).toEqual(before);
    await expectHandMadeUsersSurvive(r, hand);
  });

  test('of an older Update, delivered late after a newer Update: no user the current template lists is deleted', async () => {
    // GIVEN v1 [alice], then update-1 to [alice, bob], then update-2 to [alice, carol]
    const r = await start();
    const poolId = await createPool(r, 'duplicate-older-update');
    const hand = [await handMade(r, poolId, 'henry')];
    const v1 = await deployOne(r, { id: 'Seeder', poolId, users: [perm('alice')] });
    const id = answered(await createRequest(r, v1)).PhysicalResourceId;
    const v2 = await deployOne(r, { id: 'Seeder', poolId, users: [perm('alice'), temp('bob')] });
    const update1 = await updateRequest(r, v2, v1, id, 'update-1');
    const v3 = await deployOne(r, { id: 'Seeder', poolId, users: [perm('alice'), temp('carol')] });
    const update2 = await updateRequest(r, v3, v2, id, 'update-2');
    const current = await poolState(r, poolId);

    // WHEN update-1 arrives again
    const { result: late, writes } = await writesDuring(r, () => updateRequest(r, v2, v1, id, 'update-1'));

    // THEN it is not applied again: carol keeps her sub, bob stays gone
    expect([answered(update1).Status, answered(update2).Status]).toEqual(['SUCCESS', 'SUCCESS']);
    expect(Object.keys(current).sort()).toEqual(['alice', 'carol', 'henry']);
    expect(writes).toEqual([]);
    for (const again of late.rawResponses.map((raw) => JSON.parse(raw) as CfnResponseBody)) {
      expect(again).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: id });
    }
    expect(await poolState(r, poolId)).toEqual(current);
    await expectHandMadeUsersSurvive(r, hand);
  });
});

// ---------------------------------------------------------------------------------------
// 11. Contact attributes that change
// ---------------------------------------------------------------------------------------

test("emailChange with email_verified 'true' in the spec leaves the new email verified", async () => {
  // GIVEN users with a verified email and a verified phone
  const r = await start();
  const poolId = await createPool(r, 'email-change');
  const hand = [await handMade(r, poolId, 'henry', { email: 'henry@example.com', email_verified: 'true' })];
  const v1 = await deployOne(r, {
    id: 'Seeder',
    poolId,
    users: [
      perm('alice', { attributes: { email: 'alice@example.com', email_verified: 'true' } }),
      temp('bob', { attributes: { phone_number: '+15550100001', phone_number_verified: 'true' } }),
    ],
  });
  const id = answered(await createRequest(r, v1)).PhysicalResourceId;
  const before = subsOf(await poolState(r, poolId));

  // WHEN an Update changes the email and the phone, each still said to be verified
  const v2 = await deployOne(r, {
    id: 'Seeder',
    poolId,
    users: [
      perm('alice', { attributes: { email: 'alice.new@example.com', email_verified: 'true' } }),
      temp('bob', { attributes: { phone_number: '+15550100002', phone_number_verified: 'true' } }),
    ],
  });
  const updated = await updateRequest(r, v2, v1, id);

  // THEN
  expect(answered(updated).Status).toBe('SUCCESS');
  const state = await poolState(r, poolId);
  expect(subsOf(state)).toEqual(before);
  expect(state.alice.attributes).toMatchObject({ email: 'alice.new@example.com', email_verified: 'true' });
  expect(state.bob.attributes).toMatchObject({ phone_number: '+15550100002', phone_number_verified: 'true' });
  await expectHandMadeUsersSurvive(r, hand);
});
