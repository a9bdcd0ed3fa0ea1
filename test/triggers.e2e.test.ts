// Pools with Lambda triggers, played end to end through the real asset against the in-memory
// Cognito stand-in, which runs a pool's pre sign-up trigger on AdminCreateUser as Cognito
// does (the event it builds, the exception it answers a refusal with). A trigger that refuses
// a user fails the request naming the user, the stage, the trigger's words and the fix, and
// the request removes what it made; a trigger that lets the seeder's calls through by its
// marker sees the seeder's ClientMetadata, and only the calls that take it carry it.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  AdminCreateUserCommand,
  CreateUserPoolCommand,
  ListUsersCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { App, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { PasswordMode, SeedPassword, SeedUser, UserSeeder } from '../lib';
import { FakeCognito, TriggerEvent, TriggerTimeout } from '../rehearsal/fake-cognito';
import { Rehearsal, SeedResource, synthesize } from '../rehearsal/harness';

const outdirs: string[] = [];
let rehearsal: Rehearsal | undefined;

afterEach(async () => {
  await rehearsal?.stop();
  rehearsal = undefined;
});
afterAll(() => outdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const PASSWORD = 'Local-Only-Passw0rd!';
const MARKER = 'cdk-cognito-seeder';

/** A pre sign-up trigger as teams write them: only the company's email domain may sign up. */
function companyOnly(seen: TriggerEvent[], allowSeeder: boolean) {
  return (event: TriggerEvent) => {
    seen.push(event);
    if (allowSeeder && event.request.clientMetadata?.[MARKER] !== undefined) return;
    const email = event.request.userAttributes.email ?? '';
    if (!email.endsWith('@example.com')) throw new Error(`Sign-ups from ${email.split('@')[1]} are not allowed`);
  };
}

interface World {
  readonly r: Rehearsal;
  readonly fake: FakeCognito;
  readonly poolId: string;
  readonly hand: { readonly name: string; readonly sub: string };
  readonly seeder: (users: SeedUser[], clientMetadata?: Record<string, string>) => Promise<SeedResource>;
}

async function world(): Promise<World> {
  rehearsal = await Rehearsal.start({ backend: 'fake' });
  const r = rehearsal;
  const fake = r.emulator as FakeCognito;
  const poolId = (await r.cognito.send(new CreateUserPoolCommand({ PoolName: 'triggers' }))).UserPool!.Id!;
  // made by hand before the pool had its trigger
  const made = await r.cognito.send(
    new AdminCreateUserCommand({
      UserPoolId: poolId,
      Username: 'hand-made',
      MessageAction: 'SUPPRESS',
      UserAttributes: [{ Name: 'email', Value: 'hand@elsewhere.org' }],
    }),
  );
  const sub = made.User!.Attributes!.find((a) => a.Name === 'sub')!.Value!;
  const seeder: World['seeder'] = async (users, clientMetadata) => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-triggers-'));
    outdirs.push(outdir);
    const app = new App({ outdir });
    const stack = new Stack(app, 'Triggers');
    new UserSeeder(stack, 'Seeder', {
      userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', poolId),
      users,
      clientMetadata,
    });
    return (await r.deploy(synthesize(app)))[0];
  };
  return { r, fake, poolId, hand: { name: 'hand-made', sub }, seeder };
}

async function poolUsers(w: World): Promise<Record<string, string>> {
  const out = await w.r.cognito.send(new ListUsersCommand({ UserPoolId: w.poolId }));
  return Object.fromEntries(
    (out.Users ?? []).map((u) => [u.Username!, u.Attributes!.find((a) => a.Name === 'sub')!.Value!]),
  );
}

const temp = (username: string, email: string, clientMetadata?: Record<string, string>): SeedUser => ({
  username,
  mode: PasswordMode.TEMPORARY,
  password: SeedPassword.unsafePlainText(PASSWORD),
  attributes: { email },
  clientMetadata,
});

test('a pre sign-up trigger that refuses one user: FAILED naming the user, the stage, its message and the fix; the hand-made user kept; nothing of the request left', async () => {
  // GIVEN a pool whose pre sign-up trigger refuses other domains, seeders' calls included
  const w = await world();
  const seen: TriggerEvent[] = [];
  w.fake.setPreSignUp(w.poolId, companyOnly(seen, false));
  const resource = await w.seeder([
    temp('alice', 'alice@example.com'),
    temp('bob', 'bob@elsewhere.org'),
    temp('carol', 'carol@example.com'),
  ]);

  // WHEN
  const result = await w.r.invoke({ requestType: 'Create', resource });

  // THEN the request failed, and says who, which trigger, what it said, and how to fix it
  expect(result.response?.Status).toBe('FAILED');
  const reason = result.response?.Reason ?? '';
  expect(reason).toMatch(
    /user 'bob': create failed \(UserLambdaValidationException: the pool's pre sign-up trigger \(PreSignUp\) refused AdminCreateUser: "Sign-ups from elsewhere\.org are not allowed"\. Let the trigger allow the seeder's calls \(each of the seeder's AdminCreateUser calls carries cdk-cognito-seeder: seed in event\.request\.clientMetadata\), or allow what it refused/,
  );
  expect(reason).not.toContain(PASSWORD);
  expect(result.output).not.toContain(PASSWORD);
  // the trigger ran for bob, and never saw a password
  expect(seen.map((e) => e.userName)).toContain('bob');
  expect(JSON.stringify(seen)).not.toContain(PASSWORD);
  // the hand-made user is untouched, and what the request created is gone, from the pool and the ledger
  expect(await poolUsers(w)).toEqual({ [w.hand.name]: w.hand.sub });
  expect(await w.r.ledgerUsers()).toEqual([]);
}, 120_000);

test('a pre sign-up trigger that times out: FAILED naming the user, the stage and the time-out', async () => {
  // GIVEN a trigger that does not answer for bob
  const w = await world();
  w.fake.setPreSignUp(w.poolId, (event) => {
    if (event.userName === 'bob') throw new TriggerTimeout();
  });
  const resource = await w.seeder([temp('alice', 'alice@example.com'), temp('bob', 'bob@example.com')]);

  // WHEN
  const result = await w.r.invoke({ requestType: 'Create', resource });

  // THEN
  expect(result.response?.Status).toBe('FAILED');
  expect(result.response?.Reason).toMatch(
    /user 'bob': create failed \(UnexpectedLambdaException: the pool's pre sign-up trigger \(PreSignUp\) did not answer AdminCreateUser in time \(TimeoutError\): Cognito waits about 5 seconds for a trigger\. Make it answer sooner for the seeder's calls/,
  );
  expect(await poolUsers(w)).toEqual({ [w.hand.name]: w.hand.sub });
  expect(await w.r.ledgerUsers()).toEqual([]);
}, 120_000);

test('a trigger that lets seeded users through by the marker: the metadata reaches every call that takes it, and no other call', async () => {
  // GIVEN a pool whose pre sign-up trigger refuses other domains, except the seeder's calls
  const w = await world();
  const seen: TriggerEvent[] = [];
  w.fake.setPreSignUp(w.poolId, companyOnly(seen, true));
  const users = (aliceEmail: string) => [
    temp('alice', aliceEmail),
    {
      username: 'dave',
      mode: PasswordMode.RESET_REQUIRED,
      attributes: { email: 'dave@elsewhere.org', email_verified: 'true' },
      clientMetadata: { tenant: 'partners', team: 'b' },
    },
  ];
  const first = await w.seeder(users('alice@example.com'), { tenant: 'qa', stage: 'test' });
  // and a real sign-up from another domain is still refused
  await expect(
    w.r.cognito.send(
      new AdminCreateUserCommand({
        UserPoolId: w.poolId,
        Username: 'mallory',
        MessageAction: 'SUPPRESS',
        UserAttributes: [{ Name: 'email', Value: 'mallory@elsewhere.org' }],
      }),
    ),
  ).rejects.toThrow(/PreSignUp failed with error Sign-ups from elsewhere\.org are not allowed/);

  // WHEN the seeder creates its users, then changes alice's email
  const created = await w.r.invoke({ requestType: 'Create', resource: first });
  const second = await w.seeder(users('alice@other.example.com'), { tenant: 'qa', stage: 'test' });
  const updated = await w.r.invoke({
    requestType: 'Update',
    resource: second,
    oldProperties: first.properties,
    physicalResourceId: `${w.poolId}/${first.logicalId}`,
  });

  // THEN both succeeded, and the trigger saw the seeder's map, dave's merged over it, and the marker
  expect([created.response?.Status, updated.response?.Status]).toEqual(['SUCCESS', 'SUCCESS']);
  const seederMap = { tenant: 'qa', stage: 'test', [MARKER]: 'seed' };
  const daveMap = { tenant: 'partners', stage: 'test', team: 'b', [MARKER]: 'seed' };
  const bySeeder = seen.filter((e) => e.userName !== 'mallory');
  expect(bySeeder.map((e) => [e.triggerSource, e.userName, e.request.clientMetadata])).toEqual(
    expect.arrayContaining([
      ['PreSignUp_AdminCreateUser', 'alice', seederMap],
      ['PreSignUp_AdminCreateUser', 'dave', daveMap],
    ]),
  );
  expect(bySeeder).toHaveLength(2);
  expect(JSON.stringify(seen)).not.toContain(PASSWORD);
  // every call of the seeder that takes ClientMetadata carried it, and no other call did
  const seederCalls = w.fake.calls.filter((c) => c.username === 'alice' || c.username === 'dave');
  const withMetadata = seederCalls.filter((c) => c.clientMetadata !== undefined);
  expect(withMetadata.map((c) => [c.target, c.username, c.clientMetadata])).toEqual(
    expect.arrayContaining([
      ['AdminCreateUser', 'alice', seederMap],
      ['AdminCreateUser', 'dave', daveMap],
      ['AdminResetUserPassword', 'dave', daveMap],
      ['AdminUpdateUserAttributes', 'alice', seederMap],
    ]),
  );
  expect(withMetadata).toHaveLength(4);
  const takesMetadata = new Set(['AdminCreateUser', 'AdminResetUserPassword', 'AdminUpdateUserAttributes']);
  expect(seederCalls.filter((c) => !takesMetadata.has(c.target)).length).toBeGreaterThan(0);
  expect(seederCalls.filter((c) => !takesMetadata.has(c.target) && c.clientMetadata !== undefined)).toEqual([]);
  // the hand-made user is untouched
  expect((await poolUsers(w))[w.hand.name]).toBe(w.hand.sub);
}, 120_000);
