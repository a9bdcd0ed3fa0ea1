// Per-user TOTP secrets under the sequences CloudFormation really sends.
// The real asset against cognito-local, the ledger on dynalite. Two pools made outside the
// stack (MFA optional), a seeder imported onto one of them; a hand-made user in each pool
// must keep its `sub`; no password and no TOTP seed may appear in any output or answer.
//
// - a pool move (Update to a new UserPoolId: a new physical id), then the cleanup Delete of
//   the old id;
// - the same move rolled back (another resource failed): the rollback Update, then the
//   cleanup Delete of the id the move answered;
// - a TOTP user removed, then added again by the next Update;
// - a repair after a person deleted a moved user's own secret.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  AdminCreateUserCommand,
  AdminGetUserCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  InitiateAuthCommand,
  ListUsersCommand,
  RespondToAuthChallengeCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { App, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Secret, TOTP } from 'otpauth';
import { PasswordMode, SeedMfa, SeedPassword, SeedUser, UserSeeder } from '../lib';
import { totpUserSecretName } from '../lib/private/totp-names';
import { InvokeResult, Rehearsal, SeedResource, synthesize } from '../rehearsal/harness';
import { ownTotpSecrets, totpSecrets } from './support/totp-secrets';

jest.setTimeout(150_000);

const PERM_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:adv-totp-perm-AbCdEf';
const PASSWORD = 'Canary-AdvTotp-Perm-4!kQ';

const outdirs: string[] = [];
let r: Rehearsal;
afterAll(() => outdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
afterEach(async () => r?.stop());

interface PoolSetup {
  readonly poolId: string;
  /** A client that signs in with a password, for the checks. */
  readonly signInClient: string;
  /** A client the seeder may enrol with (ADMIN_USER_PASSWORD_AUTH), as its own would be. */
  readonly enrolClient: string;
  readonly handMadeSub: string;
}

async function createPool(name: string): Promise<PoolSetup> {
  const out = await r.cognito.send(
    new CreateUserPoolCommand({
      PoolName: name,
      MfaConfiguration: 'OPTIONAL',
      Policies: {
        PasswordPolicy: {
          MinimumLength: 10,
          RequireUppercase: true,
          RequireLowercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        },
      },
    }),
  );
  const poolId = out.UserPool!.Id!;
  const client = async (flows: string[]) =>
    (
      await r.cognito.send(
        new CreateUserPoolClientCommand({
          UserPoolId: poolId,
          ClientName: flows.join('-'),
          ExplicitAuthFlows: flows as never,
        }),
      )
    ).UserPoolClient!.ClientId!;
  const made = await r.cognito.send(
    new AdminCreateUserCommand({ UserPoolId: poolId, Username: 'hand-made', MessageAction: 'SUPPRESS' }),
  );
  return {
    poolId,
    signInClient: await client(['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']),
    enrolClient: await client(['ALLOW_ADMIN_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']),
    handMadeSub: made.User!.Attributes!.find((a) => a.Name === 'sub')!.Value!,
  };
}

/**
 * The stack's next template: one UserSeeder on `pool`, with `usernames` (carol and dave
 * TOTP). The seeder's own enrolment client is a child of the seeder, so the rehearsal
 * (which keeps a resource's id across templates) would keep it in the first pool after a
 * move, where CloudFormation would replace it: the resource is given `pool`'s enrolment
 * client instead, as CloudFormation's replacement would give it.
 */
async function deploy(pool: PoolSetup, usernames: string[]): Promise<SeedResource> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-adv-totp-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  const stack = new Stack(app, 'AdvTotp');
  const perm = SeedPassword.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Perm', PERM_ARN));
  const user = (username: string): SeedUser =>
    username === 'carol' || username === 'dave'
      ? { username, mode: PasswordMode.PERMANENT, password: perm, mfa: SeedMfa.TOTP }
      : { username, mode: PasswordMode.PERMANENT, password: perm };
  new UserSeeder(stack, 'Seeder', {
    userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', pool.poolId),
    users: usernames.map(user),
  });
  const [resource] = await r.deploy(synthesize(app));
  return r.withProperties(resource, {
    ...resource.properties,
    Totp: { ...resource.properties.Totp, ClientId: pool.enrolClient },
  });
}

async function start(): Promise<{ one: PoolSetup; two: PoolSetup }> {
  r = await Rehearsal.start({ secrets: { [PERM_ARN]: PASSWORD } });
  return { one: await createPool('adv-totp-one'), two: await createPool('adv-totp-two') };
}

function answersTo(result: InvokeResult) {
  return r.responses.bodies.filter((b) => b.RequestId === result.event.RequestId);
}

/** The one answer CloudFormation got for the request. */
function onlyAnswer(result: InvokeResult) {
  const answers = answersTo(result);
  expect(answers).toHaveLength(1);
  return answers[0];
}

/** The seeder's TOTP secret: pool entries only. */
const seederSecret = (resource: SeedResource) => totpSecrets(r, String(resource.properties.Totp.SecretArn));

/** The per-user TOTP secrets the function keeps under the seeder's prefix, by username. */
const ownSecrets = (resource: SeedResource) => ownTotpSecrets(r, String(resource.properties.Totp.UserSecretPrefix));

async function usernames(poolId: string): Promise<string[]> {
  const out = await r.cognito.send(new ListUsersCommand({ UserPoolId: poolId }));
  return (out.Users ?? []).map((u) => u.Username!).sort();
}

async function subOf(poolId: string, username: string): Promise<string | undefined> {
  try {
    const out = await r.cognito.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: username }));
    return out.UserAttributes?.find((a) => a.Name === 'sub')?.Value;
  } catch (error) {
    if ((error as Error).name === 'UserNotFoundException') return undefined;
    throw error;
  }
}

const code = (base32: string) =>
  new TOTP({ secret: Secret.fromBase32(base32), digits: 6, period: 30, algorithm: 'SHA1' }).generate();

/** Signs `username` in with the password and a code from `seed`: 'signed in' or the error's name. */
async function signInWithTotp(pool: PoolSetup, username: string, seed: string): Promise<string> {
  try {
    const first = await r.cognito.send(
      new InitiateAuthCommand({
        ClientId: pool.signInClient,
        AuthFlow: 'USER_PASSWORD_AUTH',
        AuthParameters: { USERNAME: username, PASSWORD: PASSWORD },
      }),
    );
    if (first.ChallengeName !== 'SOFTWARE_TOKEN_MFA') return `challenge ${first.ChallengeName ?? 'none'}`;
    const answered = await r.cognito.send(
      new RespondToAuthChallengeCommand({
        ClientId: pool.signInClient,
        ChallengeName: 'SOFTWARE_TOKEN_MFA',
        Session: first.Session,
        ChallengeResponses: { USERNAME: username, SOFTWARE_TOKEN_MFA_CODE: code(seed) },
      }),
    );
    return answered.AuthenticationResult?.IdToken ? 'signed in' : 'no tokens';
  } catch (error) {
    return (error as Error).name;
  }
}

/** Nothing secret in what the function printed or answered: no password, no TOTP seed. */
function expectNoLeak(results: InvokeResult[], seeds: string[]): void {
  const everything = [
    ...results.flatMap((x) => [x.output, ...x.rawResponses]),
    ...r.invocationOutputs,
    JSON.stringify(r.responses.bodies),
  ].join('\n');
  for (const canary of [PASSWORD, ...seeds]) {
    expect({ canary: canary.slice(0, 4), found: everything.includes(canary) }).toEqual({
      canary: canary.slice(0, 4),
      found: false,
    });
  }
}

test('a pool move, then the cleanup Delete of the old id: the moved TOTP users own secrets hold the new pool, the old pool keeps only its hand-made user', async () => {
  // GIVEN carol (TOTP) and alice seeded in pool one
  const { one, two } = await start();
  const v1 = await deploy(one, ['alice', 'carol']);
  const created = await r.invoke({ requestType: 'Create', resource: v1 });
  const oldId = onlyAnswer(created).PhysicalResourceId;
  expect(onlyAnswer(created).Status).toBe('SUCCESS');
  const seedOne = seederSecret(v1)[one.poolId].carol;
  expect(ownSecrets(v1)).toEqual({ carol: { userPoolId: one.poolId, secret: seedOne } });

  // WHEN an Update moves the seeder to pool two, and CloudFormation cleans up the old id
  const v2 = await deploy(two, ['alice', 'carol']);
  const moved = await r.invoke({
    requestType: 'Update',
    resource: v2,
    oldProperties: v1.properties,
    physicalResourceId: oldId,
  });
  const newId = onlyAnswer(moved).PhysicalResourceId;
  const cleanup = await r.invoke({ requestType: 'Delete', resource: v1, physicalResourceId: oldId });

  // THEN the move answered a new id and the cleanup removed pool one's seeded users only
  expect(onlyAnswer(moved)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `${two.poolId}/${v2.logicalId}` });
  expect(newId).not.toBe(oldId);
  expect(onlyAnswer(cleanup).Status).toBe('SUCCESS');
  expect(await usernames(one.poolId)).toEqual(['hand-made']);
  expect(await usernames(two.poolId)).toEqual(['alice', 'carol', 'hand-made']);
  // and carol's token in pool two has its secret in both places, pool one's is gone
  const secrets = seederSecret(v2);
  expect(Object.keys(secrets)).toEqual([two.poolId]);
  const seedTwo = secrets[two.poolId].carol;
  expect(ownSecrets(v2)).toEqual({ carol: { userPoolId: two.poolId, secret: seedTwo } });
  expect(await signInWithTotp(two, 'carol', seedTwo)).toBe('signed in');
  // and the hand-made users are the same users
  expect(await subOf(one.poolId, 'hand-made')).toBe(one.handMadeSub);
  expect(await subOf(two.poolId, 'hand-made')).toBe(two.handMadeSub);
  expect((await r.ledgerUsers()).map((u) => `${String(u.pk)} ${String(u.username)}`).sort()).toEqual(
    [`USER#${two.poolId} alice`, `USER#${two.poolId} carol`].sort(),
  );
  expectNoLeak([created, moved, cleanup], [seedOne, seedTwo]);
});

// The rollback Update of a pool move writes nothing (pool one's users are unchanged), and
// carol's own secret still holds pool two's seed the move wrote: the cleanup Delete of the
// new id must give it pool one's seed back (the seeder's secret keeps it), not delete it, or
// grantReadPassword('carol') reads nothing.
test("a pool move rolled back, then the cleanup Delete of the new id: carol's own secret holds pool one's seed again", async () => {
  // GIVEN carol (TOTP) and alice seeded in pool one
  const { one, two } = await start();
  const v1 = await deploy(one, ['alice', 'carol']);
  const created = await r.invoke({ requestType: 'Create', resource: v1 });
  const oldId = onlyAnswer(created).PhysicalResourceId;
  const seedOne = seederSecret(v1)[one.poolId].carol;
  const subs = { alice: await subOf(one.poolId, 'alice'), carol: await subOf(one.poolId, 'carol') };

  // WHEN the seeder moves to pool two, another resource fails, CloudFormation rolls the
  // move back (an Update with the old properties) and cleans up the id the move answered
  const v2 = await deploy(two, ['alice', 'carol']);
  const moved = await r.invoke({
    requestType: 'Update',
    resource: v2,
    oldProperties: v1.properties,
    physicalResourceId: oldId,
  });
  const newId = onlyAnswer(moved).PhysicalResourceId;
  const seedTwo = seederSecret(v2)[two.poolId].carol;
  const rollback = await r.invoke({
    requestType: 'Update',
    resource: v1,
    oldProperties: v2.properties,
    physicalResourceId: newId,
  });
  const cleanup = await r.invoke({ requestType: 'Delete', resource: v2, physicalResourceId: newId });

  // THEN every request was answered once, with success
  expect(onlyAnswer(moved).Status).toBe('SUCCESS');
  expect(onlyAnswer(rollback)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: oldId });
  expect(onlyAnswer(cleanup).Status).toBe('SUCCESS');
  // and pool one has the same users again (same subs), pool two none of them
  expect(await usernames(one.poolId)).toEqual(['alice', 'carol', 'hand-made']);
  expect(await usernames(two.poolId)).toEqual(['hand-made']);
  expect({ alice: await subOf(one.poolId, 'alice'), carol: await subOf(one.poolId, 'carol') }).toEqual(subs);
  expect(await subOf(one.poolId, 'hand-made')).toBe(one.handMadeSub);
  expect(await subOf(two.poolId, 'hand-made')).toBe(two.handMadeSub);
  // and carol still signs in with the seed she was enrolled with, kept by the seeder
  expect(seederSecret(v1)).toEqual({ [one.poolId]: { carol: seedOne } });
  expect(await signInWithTotp(one, 'carol', seedOne)).toBe('signed in');
  expectNoLeak([created, moved, rollback, cleanup], [seedOne, seedTwo]);
  // and her own secret, what grantReadPassword('carol') reads, holds that seed
  expect(ownSecrets(v1)).toEqual({ carol: { userPoolId: one.poolId, secret: seedOne } });
});

test('a TOTP user removed by one Update and added again by the next: a new token, its secret in both places, once', async () => {
  // GIVEN carol and dave (TOTP) and alice in pool one
  const { one } = await start();
  const v1 = await deploy(one, ['alice', 'carol', 'dave']);
  const created = await r.invoke({ requestType: 'Create', resource: v1 });
  const id = onlyAnswer(created).PhysicalResourceId;
  const first = seederSecret(v1)[one.poolId];
  const daveSub = await subOf(one.poolId, 'dave');

  // WHEN an Update drops carol, and the next one lists her again
  const v2 = await deploy(one, ['alice', 'dave']);
  const dropped = await r.invoke({
    requestType: 'Update',
    resource: v2,
    oldProperties: v1.properties,
    physicalResourceId: id,
  });
  const afterDrop = { seeder: seederSecret(v2), own: ownSecrets(v2), users: await usernames(one.poolId) };
  const v3 = await deploy(one, ['alice', 'carol', 'dave']);
  const readded = await r.invoke({
    requestType: 'Update',
    resource: v3,
    oldProperties: v2.properties,
    physicalResourceId: id,
  });
  const afterReadd = { seeder: seederSecret(v3), own: ownSecrets(v3), ledger: await r.ledgerUsers() };
  // and the second Update is delivered again, late
  const again = await r.invoke({
    requestType: 'Update',
    resource: v3,
    oldProperties: v2.properties,
    physicalResourceId: id,
    requestId: String(readded.event.RequestId),
  });

  // THEN carol went with her secrets, and came back with a new token and a new seed in both places
  expect(onlyAnswer(dropped).Status).toBe('SUCCESS');
  expect(afterDrop).toEqual({
    seeder: { [one.poolId]: { dave: first.dave } },
    own: { dave: { userPoolId: one.poolId, secret: first.dave } },
    users: ['alice', 'dave', 'hand-made'],
  });
  expect(onlyAnswer(readded).Status).toBe('SUCCESS');
  expect(answersTo(again)).toHaveLength(1);
  const now = seederSecret(v3)[one.poolId];
  expect(Object.keys(now).sort()).toEqual(['carol', 'dave']);
  expect(now.carol).not.toBe(first.carol);
  expect(now.dave).toBe(first.dave);
  expect(ownSecrets(v3)).toEqual({
    carol: { userPoolId: one.poolId, secret: now.carol },
    dave: { userPoolId: one.poolId, secret: first.dave },
  });
  expect(await signInWithTotp(one, 'carol', now.carol)).toBe('signed in');
  // dave was never touched, nor the hand-made user
  expect(await subOf(one.poolId, 'dave')).toBe(daveSub);
  expect(await subOf(one.poolId, 'hand-made')).toBe(one.handMadeSub);
  // the late delivery did nothing: one carol record, enrolled once
  const records = (await r.ledgerUsers()).filter((u) => u.username === 'carol');
  expect(records).toHaveLength(1);
  expect(records[0].totp).toBe('enrolled');
  // (the harness shares a twin delivery's output with the first: one enrolment in all)
  expect(again.output).toMatch(/"outcome":"duplicate-delivery","note":"already answered"/);
  expect(again.output.match(/"action":"enrol-totp"/g)).toHaveLength(1);
  expect({ seeder: seederSecret(v3), own: ownSecrets(v3), ledger: await r.ledgerUsers() }).toEqual(afterReadd);
  expectNoLeak([created, dropped, readded, again], [first.carol, first.dave, now.carol]);
});

test("a repair after a moved TOTP user's own secret was deleted by hand writes it back with the new pool's seed", async () => {
  // GIVEN carol moved from pool one to pool two, and the old id cleaned up
  const { one, two } = await start();
  const v1 = await deploy(one, ['alice', 'carol']);
  const created = await r.invoke({ requestType: 'Create', resource: v1 });
  const oldId = onlyAnswer(created).PhysicalResourceId;
  const v2 = await deploy(two, ['alice', 'carol']);
  const moved = await r.invoke({
    requestType: 'Update',
    resource: v2,
    oldProperties: v1.properties,
    physicalResourceId: oldId,
  });
  const cleanup = await r.invoke({ requestType: 'Delete', resource: v1, physicalResourceId: oldId });
  expect([onlyAnswer(moved).Status, onlyAnswer(cleanup).Status]).toEqual(['SUCCESS', 'SUCCESS']);
  const seedTwo = seederSecret(v2)[two.poolId].carol;
  const aliceSub = await subOf(two.poolId, 'alice');

  // WHEN someone deletes carol's own secret, and a repair runs (as the CLI asks for one)
  r.standIn.secrets.delete(totpUserSecretName(String(v2.properties.Totp.UserSecretPrefix), 'carol'));
  const dry = (await r.invokeFunction(String(v2.properties.ServiceToken), {
    kind: 'repair',
    seeder: v2.logicalId,
    dryRun: true,
  })) as { status: string; report: { users: { username: string; found: string[]; done: string[] }[] } };
  const afterDry = ownSecrets(v2);
  const report = (await r.invokeFunction(String(v2.properties.ServiceToken), {
    kind: 'repair',
    seeder: v2.logicalId,
  })) as { status: string; report: { left: number; users: { username: string; found: string[]; done: string[] }[] } };

  // THEN the dry run found it and wrote nothing; the repair wrote it back, with pool two's seed
  expect(dry.status).toBe('SUCCEEDED');
  expect(dry.report.users).toEqual([{ username: 'carol', found: ['totp-secret'], done: [] }]);
  expect(afterDry).toEqual({});
  expect(report.status).toBe('SUCCEEDED');
  expect(report.report.users).toEqual([{ username: 'carol', found: ['totp-secret'], done: ['totp-secret'] }]);
  expect(report.report.left).toBe(0);
  expect(ownSecrets(v2)).toEqual({ carol: { userPoolId: two.poolId, secret: seedTwo } });
  expect(await signInWithTotp(two, 'carol', seedTwo)).toBe('signed in');
  // and nothing else changed: no user made in pool one, alice and the hand-made users are the same
  expect(await usernames(one.poolId)).toEqual(['hand-made']);
  expect(await subOf(two.poolId, 'alice')).toBe(aliceSub);
  expect(await subOf(one.poolId, 'hand-made')).toBe(one.handMadeSub);
  expect(await subOf(two.poolId, 'hand-made')).toBe(two.handMadeSub);
  expect(JSON.stringify([dry, report])).not.toContain(seedTwo);
  expectNoLeak([created, moved, cleanup], [seedTwo]);
});
