// End to end: the real synthesized asset, in its own process, through the real AWS SDK,
// against an embedded Cognito (cognito-local). Every test asserts the pool's state through
// the SDK, and that no canary password and no ResponseURL appear in anything the handler
// printed or answered.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  AdminCreateUserCommand,
  AdminListGroupsForUserCommand,
  AdminSetUserPasswordCommand,
  InitiateAuthCommand,
  ListUsersCommand,
  RespondToAuthChallengeCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { PasswordMode, SeededUserPool, SeedingOptions, SeedPassword, SeedUser } from '../lib';
import { InvokeResult, Rehearsal, synthesize, Synthesized } from '../rehearsal/harness';

const PERM_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:e2e-perm-AbCdEf';
const WEAK_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:e2e-weak-AbCdEf';
const TEMP_PARAM = '/e2e/temporary-password';
const CANARIES = { perm: 'Canary-E2E-Perm-4!kQ', temp: 'Canary-E2E-Temp-7!wZ', weak: 'cnry-weak' };
const URL_CANARIES = ['RESPONSE-URL-CANARY', 'SIG-CANARY-0123'];

const outdirs: string[] = [];
let clientLogicalId = '';
let rehearsal: Rehearsal;

afterAll(() => outdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
afterEach(() => rehearsal?.stop());

async function start(options: { throttle?: number } = {}): Promise<Rehearsal> {
  rehearsal = await Rehearsal.start({
    ...options,
    secrets: { [PERM_ARN]: CANARIES.perm, [WEAK_ARN]: CANARIES.weak },
    parameters: { [TEMP_PARAM]: CANARIES.temp },
  });
  return rehearsal;
}

type UserFactory = (sources: { perm: SeedPassword; temp: SeedPassword; weak: SeedPassword }) => SeedUser[];

/** Synthesizes a stack with one seeded pool, two groups and a client; same logical ids every time. */
function synth(users: UserFactory, seeding?: SeedingOptions): Synthesized {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-e2e-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  const stack = new Stack(app, 'E2E');
  const sources = {
    perm: SeedPassword.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Perm', PERM_ARN)),
    temp: SeedPassword.fromSsmParameter(
      ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Temp', { parameterName: TEMP_PARAM }),
    ),
    weak: SeedPassword.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Weak', WEAK_ARN)),
  };
  const pool = new SeededUserPool(stack, 'Pool', {
    passwordPolicy: { minLength: 10 },
    customAttributes: { team: new cognito.StringAttribute({ mutable: true }) },
    users: users(sources),
    seeding,
  });
  new cognito.UserPoolGroup(stack, 'Admins', { userPool: pool, groupName: 'admins' });
  new cognito.UserPoolGroup(stack, 'Testers', { userPool: pool, groupName: 'testers' });
  const client = pool.addClient('Client', { authFlows: { userPassword: true } });
  clientLogicalId = stack.getLogicalId(client.node.defaultChild as cognito.CfnUserPoolClient);
  return synthesize(app);
}

const perm =
  (username: string, extra: Partial<SeedUser> = {}) =>
  (s: { perm: SeedPassword }): SeedUser => ({ username, mode: PasswordMode.PERMANENT, password: s.perm, ...extra });
const temp =
  (username: string, extra: Partial<SeedUser> = {}) =>
  (s: { temp: SeedPassword }): SeedUser => ({ username, mode: PasswordMode.TEMPORARY, password: s.temp, ...extra });
const users =
  (...makers: ((s: { perm: SeedPassword; temp: SeedPassword; weak: SeedPassword }) => SeedUser)[]): UserFactory =>
  (s) =>
    makers.map((m) => m(s));

interface UserState {
  status?: string;
  attributes: Record<string, string>;
  groups: string[];
}

/** Every user of the pool, its status, attributes (`sub` included) and groups. */
async function poolState(r: Rehearsal, poolId: string): Promise<Record<string, UserState>> {
  const state: Record<string, UserState> = {};
  let token: string | undefined;
  do {
    const page = await r.cognito.send(new ListUsersCommand({ UserPoolId: poolId, PaginationToken: token }));
    for (const u of page.Users ?? []) {
      const groups = await r.cognito.send(
        new AdminListGroupsForUserCommand({ UserPoolId: poolId, Username: u.Username! }),
      );
      state[u.Username!] = {
        status: u.UserStatus,
        attributes: Object.fromEntries((u.Attributes ?? []).map((a) => [a.Name!, a.Value!])),
        groups: (groups.Groups ?? []).map((g) => g.GroupName!).sort(),
      };
    }
    token = page.PaginationToken;
  } while (token);
  return state;
}

function expectNoLeak(...args: (InvokeResult | { answered: boolean })[]): void {
  const answered = !args.some((a) => 'answered' in a && !a.answered);
  for (const result of args.filter((a): a is InvokeResult => 'output' in a)) {
    const everything = [result.output, ...result.rawResponses].join('\n');
    for (const canary of [...Object.values(CANARIES), ...URL_CANARIES]) {
      expect(everything.includes(canary)).toBe(false);
    }
    if (answered) expect(result.rawResponses.length).toBeGreaterThan(0);
  }
}

async function signIn(r: Rehearsal, username: string, password: string) {
  return r.cognito.send(
    new InitiateAuthCommand({
      ClientId: r.ref(clientLogicalId),
      AuthFlow: 'USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: username, PASSWORD: password },
    }),
  );
}

test('Create, then sign-in: PERMANENT gets tokens, TEMPORARY gets NEW_PASSWORD_REQUIRED', async () => {
  // GIVEN
  const r = await start();
  const [resource] = await r.deploy(
    synth(users(perm('alice', { groups: ['admins'], attributes: { 'custom:team': 'qa' } }), temp('bob'))),
  );

  // WHEN
  const created = await r.invoke({ requestType: 'Create', resource });

  // THEN
  expect(created.response).toMatchObject({
    Status: 'SUCCESS',
    PhysicalResourceId: `${resource.properties.UserPoolId}/${resource.logicalId}`,
  });
  const state = await poolState(r, resource.properties.UserPoolId);
  expect(Object.keys(state).sort()).toEqual(['alice', 'bob']);
  expect(state.alice).toMatchObject({
    status: 'CONFIRMED',
    groups: ['admins'],
    attributes: expect.objectContaining({ 'custom:team': 'qa' }),
  });
  expect(state.bob).toMatchObject({ status: 'FORCE_CHANGE_PASSWORD', groups: [] });
  expect((await signIn(r, 'alice', CANARIES.perm)).AuthenticationResult?.IdToken).toBeDefined();
  expect((await signIn(r, 'bob', CANARIES.temp)).ChallengeName).toBe('NEW_PASSWORD_REQUIRED');
  expect(created.exitCode).toBe(0);
  expectNoLeak(created);
});

test('Update: adds, removes, changes attributes and groups, re-applies a bumped password, and leaves an untouched user alone', async () => {
  // GIVEN: bob answered his temporary-password challenge and chose his own password
  const r = await start();
  const v1 = synth(
    users(
      perm('alice'),
      temp('bob'),
      perm('carol', { groups: ['admins'], attributes: { given_name: 'Carol' } }),
      perm('dan'),
    ),
  );
  const [before] = await r.deploy(v1);
  const created = await r.invoke({ requestType: 'Create', resource: before });
  const challenge = await signIn(r, 'bob', CANARIES.temp);
  const chosen = 'Bobs-Own-Choice-9!';
  await r.cognito.send(
    new RespondToAuthChallengeCommand({
      ClientId: r.ref(clientLogicalId),
      ChallengeName: 'NEW_PASSWORD_REQUIRED',
      Session: challenge.Session,
      ChallengeResponses: { USERNAME: 'bob', NEW_PASSWORD: chosen },
    }),
  );
  // alice changed hers out of band too; the bumped revision must put the seeded one back
  await r.cognito.send(
    new AdminSetUserPasswordCommand({
      UserPoolId: before.properties.UserPoolId,
      Username: 'alice',
      Password: 'Changed-By-Hand-1!',
      Permanent: true,
    }),
  );
  const bobBefore = (await poolState(r, before.properties.UserPoolId)).bob;

  // WHEN
  const v2 = synth(
    users(
      perm('alice', { passwordRevision: '2' }),
      temp('bob'),
      perm('carol', { groups: ['testers'], attributes: { given_name: 'Caroline', 'custom:team': 'ops' } }),
      temp('erin', { groups: ['testers'] }),
    ),
  );
  const [after] = await r.deploy(v2);
  const updated = await r.invoke({
    requestType: 'Update',
    resource: after,
    oldProperties: before.properties,
    physicalResourceId: created.response!.PhysicalResourceId,
  });

  // THEN
  expect(updated.response).toMatchObject({
    Status: 'SUCCESS',
    PhysicalResourceId: created.response!.PhysicalResourceId,
  });
  const state = await poolState(r, after.properties.UserPoolId);
  expect(Object.keys(state).sort()).toEqual(['alice', 'bob', 'carol', 'erin']);
  expect(state.carol.groups).toEqual(['testers']);
  expect(state.carol.attributes).toMatchObject({ given_name: 'Caroline', 'custom:team': 'ops' });
  expect(state.erin).toMatchObject({ status: 'FORCE_CHANGE_PASSWORD', groups: ['testers'] });
  expect(state.bob).toEqual(bobBefore);
  expect((await signIn(r, 'bob', chosen)).AuthenticationResult?.IdToken).toBeDefined();
  expect((await signIn(r, 'alice', CANARIES.perm)).AuthenticationResult?.IdToken).toBeDefined();
  const bobLines = updated.output.split('\n').filter((l) => l.includes('"user":"bob"'));
  expect(bobLines).toEqual([]);
  expectNoLeak(created, updated);
});

test('Delete removes every seeded user; with RETAIN it keeps them', async () => {
  const r = await start();
  const [resource] = await r.deploy(synth(users(perm('alice'), temp('bob'))));
  const created = await r.invoke({ requestType: 'Create', resource });
  const deleted = await r.invoke({
    requestType: 'Delete',
    resource,
    physicalResourceId: created.response!.PhysicalResourceId,
  });
  expect(deleted.response?.Status).toBe('SUCCESS');
  expect(await poolState(r, resource.properties.UserPoolId)).toEqual({});

  const [retained] = await r.deploy(synth(users(perm('alice'), temp('bob')), { removalPolicy: RemovalPolicy.RETAIN }));
  const again = await r.invoke({ requestType: 'Create', resource: retained });
  const kept = await r.invoke({
    requestType: 'Delete',
    resource: retained,
    physicalResourceId: again.response!.PhysicalResourceId,
  });
  expect(kept.response?.Status).toBe('SUCCESS');
  expect(Object.keys(await poolState(r, retained.properties.UserPoolId)).sort()).toEqual(['alice', 'bob']);
  expectNoLeak(created, deleted, again, kept);
});

test('duplicateDelivery: every event delivered again after it was answered is neither applied again nor answered again', async () => {
  const r = await start();
  const v1 = synth(users(perm('alice', { groups: ['admins'] }), temp('bob', { attributes: { given_name: 'Bob' } })));
  const [before] = await r.deploy(v1);
  const poolId = before.properties.UserPoolId;

  const create1 = await r.invoke({ requestType: 'Create', resource: before, requestId: 'create-1' });
  const afterCreate = await poolState(r, poolId);
  const create2 = await r.invoke({ requestType: 'Create', resource: before, requestId: 'create-1' });
  expect(create1.response?.Status).toBe('SUCCESS');
  expect(create2.rawResponses).toEqual([]);
  expect(await poolState(r, poolId)).toEqual(afterCreate);

  const [after] = await r.deploy(synth(users(perm('alice', { groups: ['testers'] }), perm('carol'))));
  const update = {
    requestType: 'Update' as const,
    resource: after,
    oldProperties: before.properties,
    physicalResourceId: create1.response!.PhysicalResourceId,
    requestId: 'update-1',
  };
  const update1 = await r.invoke(update);
  const afterUpdate = await poolState(r, poolId);
  const update2 = await r.invoke(update);
  expect(update1.response?.Status).toBe('SUCCESS');
  expect(update2.rawResponses).toEqual([]);
  expect(await poolState(r, poolId)).toEqual(afterUpdate);

  const del = {
    requestType: 'Delete' as const,
    resource: after,
    physicalResourceId: create1.response!.PhysicalResourceId,
    requestId: 'delete-1',
  };
  const delete1 = await r.invoke(del);
  const delete2 = await r.invoke(del);
  expect(delete1.response?.Status).toBe('SUCCESS');
  expect(delete2.rawResponses).toEqual([]);
  expect(await poolState(r, poolId)).toEqual({});
  expectNoLeak(create1, update1, delete1);
  expectNoLeak(create2, update2, delete2, { answered: false });
});

describe('a Create that fails leaves no user behind, and its rollback Delete is a no-op', () => {
  test('a secret whose value breaks the pool policy fails in pre-flight, before any write', async () => {
    const r = await start();
    const [resource] = await r.deploy(
      synth((s) => [
        perm('a1')(s),
        perm('a2')(s),
        { username: 'weak', mode: PasswordMode.PERMANENT, password: s.weak },
      ]),
    );

    const created = await r.invoke({ requestType: 'Create', resource });

    expect(created.response?.Status).toBe('FAILED');
    expect(created.response?.Reason).toMatch(
      /user 'weak': the password from secret .*e2e-weak.* breaks the pool's password policy/,
    );
    expect(await poolState(r, resource.properties.UserPoolId)).toEqual({});
    const rollback = await r.invoke({
      requestType: 'Delete',
      resource,
      physicalResourceId: created.response!.PhysicalResourceId,
    });
    expect(rollback.response?.Status).toBe('SUCCESS');
    expectNoLeak(created, rollback);
  });

  test('a user that already exists and is not in the ledger fails pre-flight, before any write; the rollback Delete keeps it', async () => {
    const r = await start();
    const names = Array.from({ length: 12 }, (_, i) => `user-${String(i).padStart(2, '0')}`);
    const [resource] = await r.deploy(synth(users(...names.map((n) => perm(n))), { maxConcurrency: 2 }));
    const poolId = resource.properties.UserPoolId;
    await r.cognito.send(
      new AdminCreateUserCommand({
        UserPoolId: poolId,
        Username: 'user-07',
        MessageAction: 'SUPPRESS',
        UserAttributes: [{ Name: 'given_name', Value: 'Someone Else' }],
      }),
    );
    const existing = await poolState(r, poolId);

    const created = await r.invoke({ requestType: 'Create', resource });

    expect(created.response?.Status).toBe('FAILED');
    expect(created.response?.Reason).toMatch(
      /pre-flight found 1 problem\(s\), nothing was written: user 'user-07' already exists in the pool and was not created by this seeder/,
    );
    expect(r.proxy.forwarded.AdminCreateUser ?? 0).toBe(0);
    expect(await poolState(r, poolId)).toEqual(existing);
    const rollback = await r.invoke({
      requestType: 'Delete',
      resource,
      physicalResourceId: created.response!.PhysicalResourceId,
    });
    expect(rollback.response?.Status).toBe('SUCCESS');
    expect(await poolState(r, poolId)).toEqual(existing);
    expectNoLeak(created, rollback);
  });
});

test("a failed Update followed by CloudFormation's rollback Update restores the exact earlier state", async () => {
  // GIVEN
  const r = await start();
  const [before] = await r.deploy(
    synth(
      users(perm('alice', { attributes: { given_name: 'Alice' }, groups: ['admins'] }), temp('bob'), perm('carol')),
    ),
  );
  const poolId = before.properties.UserPoolId;
  const created = await r.invoke({ requestType: 'Create', resource: before });
  const earlier = await poolState(r, poolId);

  // WHEN: an update that changes alice, adds dave and erin, and removes carol fails on a
  // Cognito-side fault for erin, which no pre-flight can foresee...
  r.proxy.failOn('AdminCreateUser', 'erin');
  const [after] = await r.deploy(
    synth(
      users(
        perm('alice', { attributes: { given_name: 'Alicia' }, groups: ['testers'] }),
        temp('bob'),
        perm('dave'),
        perm('erin'),
      ),
      { maxConcurrency: 1 },
    ),
  );
  const failed = await r.invoke({
    requestType: 'Update',
    resource: after,
    oldProperties: before.properties,
    physicalResourceId: created.response!.PhysicalResourceId,
  });
  expect(failed.response).toMatchObject({ Status: 'FAILED', PhysicalResourceId: created.response!.PhysicalResourceId });
  expect(failed.response?.Reason).toMatch(/user 'erin': create failed \(InternalErrorException/);
  expect(await poolState(r, poolId)).not.toEqual(earlier);

  // ...and CloudFormation rolls back: new -> old
  const rollback = await r.invoke({
    requestType: 'Update',
    resource: before,
    oldProperties: after.properties,
    physicalResourceId: created.response!.PhysicalResourceId,
  });

  // THEN: the same users, attributes, groups, statuses and subs (nobody was re-created)
  expect(rollback.response?.Status).toBe('SUCCESS');
  expect(await poolState(r, poolId)).toEqual(earlier);
  expectNoLeak(created, failed, rollback);
});

test('the emulator stopped mid-run: FAILED is answered before the timeout, never a hang', async () => {
  const r = await start();
  const names = Array.from({ length: 200 }, (_, i) => `slow-${i}`);
  // 20 creations a second: 10 s of work, against an 8 s timeout, with the emulator gone after 1 s.
  const [resource] = await r.deploy(synth(users(...names.map((n) => temp(n))), { rateLimits: { userCreation: 20 } }));

  const result = await r.invoke({
    requestType: 'Create',
    resource,
    timeoutMs: 8000,
    onStart: () => setTimeout(() => void r.emulator.stop(), 1000),
  });

  expect(result.response?.Status).toBe('FAILED');
  expect(result.exitCode).toBe(0);
  expect(result.ms).toBeLessThan(8000);
  expectNoLeak(result);
});

test('throttling: a proxy answers a share of calls with TooManyRequestsException, and every user still ends correct', async () => {
  const r = await start({ throttle: 0.3 });
  const names = Array.from({ length: 30 }, (_, i) => `t-${String(i).padStart(2, '0')}`);
  const [resource] = await r.deploy(
    synth(users(...names.map((n, i) => (i % 2 === 0 ? perm(n, { groups: ['testers'] }) : temp(n))))),
  );

  const created = await r.invoke({ requestType: 'Create', resource });

  expect(created.response?.Status).toBe('SUCCESS');
  expect(r.proxy.throttledTotal).toBeGreaterThan(10);
  // Every throttle reached the pacer: none was retried out of its sight by the SDK.
  const summary = created.output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .find((l) => l.outcome === 'SUCCESS');
  expect(summary.throttles).toBe(r.proxy.throttledTotal);
  const state = await poolState(r, resource.properties.UserPoolId);
  expect(Object.keys(state).sort()).toEqual(names);
  names.forEach((n, i) =>
    expect(state[n]).toMatchObject(
      i % 2 === 0 ? { status: 'CONFIRMED', groups: ['testers'] } : { status: 'FORCE_CHANGE_PASSWORD', groups: [] },
    ),
  );
  expectNoLeak(created);
});

test('a population past the inline threshold travels as a users file in S3, and an update diffs two files', async () => {
  const r = await start();
  const names = Array.from({ length: 1000 }, (_, i) => `pop-${String(i).padStart(4, '0')}`);
  // Paced far above Cognito's quotas: this test is about the file, not the pace.
  const fast = { rateLimits: { userCreation: 2000, accountRecovery: 2000, userWrites: 2000, userReads: 2000 } };
  const [before] = await r.deploy(synth(users(...names.map((n) => temp(n, { groups: ['testers'] }))), fast));
  expect(before.properties.Users).toBeUndefined();
  expect(before.properties.UsersFile.Key).toMatch(/\.json$/);

  const created = await r.invoke({ requestType: 'Create', resource: before });
  expect(created.response).toMatchObject({
    Status: 'SUCCESS',
    Data: { UserCount: '1000', UsersObjectArn: before.properties.UsersFile.ObjectArn },
  });

  const [after] = await r.deploy(
    synth(users(...names.slice(1).map((n) => temp(n, { groups: ['testers'] })), perm('pop-new')), fast),
  );
  const updated = await r.invoke({
    requestType: 'Update',
    resource: after,
    oldProperties: before.properties,
    physicalResourceId: created.response!.PhysicalResourceId,
  });

  expect(updated.response?.Status).toBe('SUCCESS');
  const state = await poolState(r, before.properties.UserPoolId);
  expect(Object.keys(state)).toHaveLength(1000);
  expect(state['pop-0000']).toBeUndefined();
  expect(state['pop-new']).toMatchObject({ status: 'CONFIRMED' });
  expect(state['pop-0999']).toMatchObject({ status: 'FORCE_CHANGE_PASSWORD', groups: ['testers'] });
  // Only the two changed users cost calls: the 999 unchanged ones cost none.
  const userLines = updated.output.split('\n').filter((l) => l.includes('"user":'));
  expect(userLines).toHaveLength(2);
  // The Create reads its file and the Update its own: the previous file is never needed.
  expect(r.standIn.calls['s3.GetObject']).toBe(2);
  expectNoLeak(created, updated);
}, 120_000);
