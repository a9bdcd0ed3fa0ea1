// Repair end to end: the real asset on the rehearsal's engine, asked by the testing module
// through a Lambda Invoke, as a test runner with grantRepair would. Between two deploys the
// pool drifts (a user deleted, a TEMPORARY user confirmed, a user disabled with an attribute
// and a group changed, a PERMANENT password changed, a source given a new value); the
// repair reports exactly those and puts them back. A hand-made user is in the pool
// throughout and must keep its `sub`; a seeded user re-made by hand is reported, untouched.
import type { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminDisableUserCommand,
  AdminGetUserCommand,
  AdminListGroupsForUserCommand,
  AdminRemoveUserFromGroupCommand,
  AdminSetUserPasswordCommand,
  AdminUpdateUserAttributesCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { App, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { PasswordMode, SeededUserPool, SeedPassword } from '../lib';
import type { FakeCognito } from '../rehearsal/fake-cognito';
import { Rehearsal, SeedResource, synthesize } from '../rehearsal/harness';
import { SeededUsers, SeededUsersError } from '../testing';

const PERM_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:repair-perm-AbCdEf';
const ROTATED_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:repair-rotated-AbCdEf';
const TEMP_PARAM = '/repair/temporary-password';
const CANARIES = {
  perm: 'Canary-Repair-Perm-4!kQ',
  rotated: 'Canary-Repair-Old-8!pX',
  rotatedNew: 'Canary-Repair-New-2!vB',
  temp: 'Canary-Repair-Temp-7!wZ',
  changedByUser: 'Canary-Changed-By-User-5!mN',
};

jest.setTimeout(240_000);

const outdirs: string[] = [];
let rehearsal: Rehearsal;
afterAll(() => outdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
afterEach(async () => rehearsal?.stop());

interface Deployed {
  resource: SeedResource;
  poolId: string;
  handMadeSub: string;
  physicalResourceId: string;
  users: SeededUsers;
}

/** The stack: five users, each to drift one way, beside a hand-made user; then its Create. */
async function deploy(): Promise<Deployed> {
  rehearsal = await Rehearsal.start({
    backend: 'fake',
    secrets: { [PERM_ARN]: CANARIES.perm, [ROTATED_ARN]: CANARIES.rotated },
    parameters: { [TEMP_PARAM]: CANARIES.temp },
  });
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-repair-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  const stack = new Stack(app, 'Repair');
  const perm = SeedPassword.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Perm', PERM_ARN));
  const rotated = SeedPassword.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Rotated', ROTATED_ARN));
  const temp = SeedPassword.fromSsmParameter(
    ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Temp', { parameterName: TEMP_PARAM }),
  );
  const pool = new SeededUserPool(stack, 'Pool', {
    users: [
      { username: 'alice', mode: PasswordMode.PERMANENT, password: perm },
      { username: 'bob', mode: PasswordMode.TEMPORARY, password: temp },
      {
        username: 'carol',
        mode: PasswordMode.PERMANENT,
        password: perm,
        attributes: { given_name: 'Carol' },
        groups: ['admins'],
      },
      { username: 'dave', mode: PasswordMode.PERMANENT, password: perm },
      { username: 'erin', mode: PasswordMode.PERMANENT, password: rotated },
      { username: 'frank', mode: PasswordMode.PERMANENT, password: perm },
    ],
  });
  new cognito.CfnUserPoolGroup(stack, 'Admins', { userPoolId: pool.userPoolId, groupName: 'admins' });
  const [resource] = await rehearsal.deploy(synthesize(app));
  const poolId = String(resource.properties.UserPoolId);
  const made = await rehearsal.cognito.send(
    new AdminCreateUserCommand({ UserPoolId: poolId, Username: 'hand-made', MessageAction: 'SUPPRESS' }),
  );
  const handMadeSub = String(made.User?.Attributes?.find((a) => a.Name === 'sub')?.Value);
  const create = await rehearsal.invoke({ requestType: 'Create', resource });
  expect(create.response?.Status).toBe('SUCCESS');
  Object.assign(process.env, rehearsal.testingEnv());
  const users = await SeededUsers.load({ stackName: 'Repair' });
  return { resource, poolId, handMadeSub, physicalResourceId: String(create.response?.PhysicalResourceId), users };
}

async function live(poolId: string, username: string) {
  const out = await rehearsal.cognito.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: username }));
  const groups = await rehearsal.cognito.send(
    new AdminListGroupsForUserCommand({ UserPoolId: poolId, Username: username }),
  );
  return {
    status: out.UserStatus,
    enabled: out.Enabled,
    sub: out.UserAttributes?.find((a) => a.Name === 'sub')?.Value,
    givenName: out.UserAttributes?.find((a) => a.Name === 'given_name')?.Value,
    groups: (groups.Groups ?? []).map((g) => g.GroupName),
  };
}

/** Everything the function printed and answered: no password may be in it. */
function expectNoPassword(...texts: string[]): void {
  const all = texts.join('\n') + rehearsal.invocationOutputs.join('\n');
  for (const value of Object.values(CANARIES)) expect(all).not.toContain(value);
}

test('a repair reports exactly the drifted users and puts each back; the hand-made user keeps its sub', async () => {
  const { poolId, handMadeSub, users } = await deploy();
  const before = await live(poolId, 'frank');
  // The PERMANENT password change is told from the user's last-modified time, past the clock tolerance.
  await new Promise((resolve) => setTimeout(resolve, 6_000));
  const c = rehearsal.cognito;
  await c.send(new AdminDeleteUserCommand({ UserPoolId: poolId, Username: 'dave' }));
  // bob answered NEW_PASSWORD_REQUIRED: CONFIRMED now.
  await c.send(
    new AdminSetUserPasswordCommand({ UserPoolId: poolId, Username: 'bob', Password: CANARIES.temp, Permanent: true }),
  );
  await c.send(new AdminDisableUserCommand({ UserPoolId: poolId, Username: 'carol' }));
  await c.send(
    new AdminUpdateUserAttributesCommand({
      UserPoolId: poolId,
      Username: 'carol',
      UserAttributes: [{ Name: 'given_name', Value: 'Mallory' }],
    }),
  );
  await c.send(new AdminRemoveUserFromGroupCommand({ UserPoolId: poolId, Username: 'carol', GroupName: 'admins' }));
  await c.send(
    new AdminSetUserPasswordCommand({
      UserPoolId: poolId,
      Username: 'alice',
      Password: CANARIES.changedByUser,
      Permanent: true,
    }),
  );
  rehearsal.standIn.putSecretValue(ROTATED_ARN, CANARIES.rotatedNew);

  const dry = await users.repair({ dryRun: true });
  const found = Object.fromEntries(dry.users.map((u) => [u.username, [...u.found].sort()]));
  expect(found).toEqual({
    alice: ['password-may-have-changed'],
    bob: ['temporary-password-answered'],
    // Modified since the seeder set it (disabled, an attribute and a group changed): the pool
    // cannot say whether its password changed too, so the repair sets it again.
    carol: ['attributes', 'disabled', 'groups', 'password-may-have-changed'],
    dave: ['deleted'],
    erin: ['password-source-changed'],
  });
  expect(dry).toMatchObject({ dryRun: true, checked: 6, left: 0 });
  expect(dry.users.every((u) => u.done.length === 0)).toBe(true);
  // The dry run changed nothing.
  expect((await live(poolId, 'carol')).enabled).toBe(false);
  expect((await live(poolId, 'bob')).status).toBe('CONFIRMED');

  const callsBefore = (rehearsal.emulator as FakeCognito).calls.length;
  const report = await users.repair();
  expect(report.left).toBe(0);
  // The pool's triggers can tell a repair's calls apart by the marker.
  const repairCalls = (rehearsal.emulator as FakeCognito).calls.slice(callsBefore);
  const marked = repairCalls.filter((c) => c.clientMetadata);
  expect(marked.map((c) => `${c.target} ${c.username}`).sort()).toEqual([
    'AdminCreateUser dave',
    'AdminUpdateUserAttributes carol',
  ]);
  expect(marked.every((c) => c.clientMetadata?.['cdk-cognito-seeder'] === 'repair')).toBe(true);
  expect(Object.fromEntries(report.users.map((u) => [u.username, [...u.done].sort()]))).toEqual({
    alice: ['password'],
    bob: ['password'],
    carol: ['attributes', 'enabled', 'groups', 'password'],
    dave: ['created'],
    erin: ['password'],
  });
  expect((await live(poolId, 'bob')).status).toBe('FORCE_CHANGE_PASSWORD');
  expect(await live(poolId, 'carol')).toMatchObject({ enabled: true, givenName: 'Carol', groups: ['admins'] });
  const dave = await live(poolId, 'dave');
  expect(dave.status).toBe('CONFIRMED');
  // frank did not drift: untouched, same sub.
  expect((await live(poolId, 'frank')).sub).toBe(before.sub);
  expect((await live(poolId, 'hand-made')).sub).toBe(handMadeSub);
  // The re-made dave is the seeder's: its new sub is in the ledger.
  const ledger = await rehearsal.ledgerUsers();
  expect(ledger.find((r) => r.username === 'dave')?.sub).toBe(dave.sub);

  // Repaired: a second repair finds nothing.
  const again = await users.repair();
  expect(again.users).toEqual([]);
  expect(again.checked).toBe(6);
  expectNoPassword(JSON.stringify([dry, report, again]));
  users.destroy();
});

test('a user re-made by hand is reported and left as it is; a repair of named users looks at those only', async () => {
  const { poolId, users } = await deploy();
  const c = rehearsal.cognito;
  await c.send(new AdminDeleteUserCommand({ UserPoolId: poolId, Username: 'alice' }));
  const remade = await c.send(
    new AdminCreateUserCommand({ UserPoolId: poolId, Username: 'alice', MessageAction: 'SUPPRESS' }),
  );
  const sub = remade.User?.Attributes?.find((a) => a.Name === 'sub')?.Value;
  await c.send(new AdminDisableUserCommand({ UserPoolId: poolId, Username: 'frank' }));

  const report = await users.repair({ usernames: ['alice'] });
  expect(report.checked).toBe(1);
  expect(report.left).toBe(1);
  expect(report.users).toEqual([
    expect.objectContaining({
      username: 'alice',
      found: ['remade-by-hand'],
      done: [],
      error: expect.stringMatching(/sub/),
    }),
  ]);
  const alice = await live(poolId, 'alice');
  expect(alice).toMatchObject({ sub, status: 'FORCE_CHANGE_PASSWORD', enabled: true });
  // frank was not named: still disabled.
  expect((await live(poolId, 'frank')).enabled).toBe(false);
  // A name the seeder did not seed is refused before anything runs.
  await expect(users.repair({ usernames: ['nobody'] })).rejects.toMatchObject({ code: 'UNKNOWN_USER' });
  users.destroy();
});

test('rearm is a repair of one TEMPORARY user, done by the function', async () => {
  const { poolId, users } = await deploy();
  await rehearsal.cognito.send(
    new AdminSetUserPasswordCommand({ UserPoolId: poolId, Username: 'bob', Password: CANARIES.temp, Permanent: true }),
  );
  await users.rearm('bob');
  expect((await live(poolId, 'bob')).status).toBe('FORCE_CHANGE_PASSWORD');
  await expect(users.rearm('alice')).rejects.toBeInstanceOf(SeededUsersError);
  users.destroy();
});

test('a repair waits for no CloudFormation request: refused while one runs, and a stack with no users left repairs them all', async () => {
  const { resource, poolId, physicalResourceId, users } = await deploy();
  // Every seeded user deleted by hand: the repair makes them all again.
  for (const u of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) {
    await rehearsal.cognito.send(new AdminDeleteUserCommand({ UserPoolId: poolId, Username: u }));
  }
  const report = await users.repair();
  expect(report.users.map((u) => u.username)).toEqual(['alice', 'bob', 'carol', 'dave', 'erin', 'frank']);
  expect(report.users.every((u) => u.done.includes('created'))).toBe(true);
  expect(report.left).toBe(0);

  // An Update whose first slice is held back (stopped): a repair asked meanwhile is refused,
  // and never interleaves with it.
  let stopped: ChildProcess | undefined;
  const update = rehearsal.invoke({
    requestType: 'Update',
    resource: rehearsal.withProperties(resource, { ...resource.properties, MaxConcurrency: 8 }),
    oldProperties: resource.properties,
    physicalResourceId,
    onSlice: (slice, child) => {
      if (slice !== 1) return;
      child.kill('SIGSTOP');
      stopped = child;
    },
  });
  // Wait until the Update is recorded as running.
  for (let i = 0; i < 100; i++) {
    const items = await rehearsal.ledgerItems();
    if (items.some((x) => String(x.sk).startsWith('REQUEST#') && x.type === 'Update')) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await expect(users.repair()).rejects.toThrow(/Update of seed resource .* is running: ask again once it has finished/);
  for (let i = 0; i < 100 && !stopped; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  stopped?.kill('SIGCONT');
  expect((await update).response?.Status).toBe('SUCCESS');
  const after = await users.repair();
  expect(after.users).toEqual([]);
  users.destroy();
});
