// The test identities end to end: the real asset against cognito-local, the ledger on
// dynalite. A TOTP user is enrolled at seed time and signs in with a code from the secret
// the seeder keeps; the manifest is published with every Create and Update and removed by
// the Delete; the stage guard refuses a forbidden account at deploy. A hand-made user is
// in the pool throughout and must keep its `sub`.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  AdminCreateUserCommand,
  AdminGetUserCommand,
  InitiateAuthCommand,
  RespondToAuthChallengeCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { App, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Secret, TOTP } from 'otpauth';
import { PasswordMode, SeedMfa, SeededUserPool, SeedingOptions, SeedPassword, SeedUser } from '../lib';
import type { Manifest, ManifestPointer } from '../lib/private/manifest-format';
import { totpUserSecretName } from '../lib/private/totp-names';
import { InvokeResult, Rehearsal, synthesize, Synthesized } from '../rehearsal/harness';
import { SeededUsers } from '../testing';
import { ownTotpSecrets, totpSecrets } from './support/totp-secrets';

const PERM_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:ids-perm-AbCdEf';
const TEMP_PARAM = '/ids/temporary-password';
const CANARIES = { perm: 'Canary-Ids-Perm-4!kQ', temp: 'Canary-Ids-Temp-7!wZ' };

const outdirs: string[] = [];
let clientLogicalId = '';
let rehearsal: Rehearsal;

afterAll(() => outdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
afterEach(() => rehearsal?.stop());

async function start(): Promise<Rehearsal> {
  rehearsal = await Rehearsal.start({
    secrets: { [PERM_ARN]: CANARIES.perm },
    parameters: { [TEMP_PARAM]: CANARIES.temp },
  });
  return rehearsal;
}

/** A pool with MFA optional (TOTP), a sign-in client, and the users `users` makes. */
function synth(
  users: (perm: SeedPassword, temp: SeedPassword) => SeedUser[],
  seeding: SeedingOptions = {},
): Synthesized {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-ids-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  const stack = new Stack(app, 'Ids');
  const perm = SeedPassword.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Perm', PERM_ARN));
  const temp = SeedPassword.fromSsmParameter(
    ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Temp', { parameterName: TEMP_PARAM }),
  );
  const pool = new SeededUserPool(stack, 'Pool', {
    mfa: cognito.Mfa.OPTIONAL,
    mfaSecondFactor: { otp: true, sms: false },
    users: users(perm, temp),
    seeding,
  });
  const client = pool.addClient('Client', { authFlows: { userPassword: true } });
  clientLogicalId = stack.getLogicalId(client.node.defaultChild as cognito.CfnUserPoolClient);
  return synthesize(app);
}

const carol = (perm: SeedPassword): SeedUser => ({
  username: 'carol',
  mode: PasswordMode.PERMANENT,
  password: perm,
  mfa: SeedMfa.TOTP,
  groups: [],
});
const dave = (perm: SeedPassword): SeedUser => ({ ...carol(perm), username: 'dave' });
const alice = (perm: SeedPassword): SeedUser => ({ username: 'alice', mode: PasswordMode.PERMANENT, password: perm });
const bob = (_: SeedPassword, temp: SeedPassword): SeedUser => ({
  username: 'bob',
  mode: PasswordMode.TEMPORARY,
  password: temp,
});

/** The hand-made user every test keeps in the pool; returns its `sub`. */
async function handMade(r: Rehearsal, poolId: string): Promise<string> {
  const out = await r.cognito.send(
    new AdminCreateUserCommand({ UserPoolId: poolId, Username: 'hand-made', MessageAction: 'SUPPRESS' }),
  );
  return out.User!.Attributes!.find((a) => a.Name === 'sub')!.Value!;
}

async function subOf(r: Rehearsal, poolId: string, username: string): Promise<string | undefined> {
  const out = await r.cognito.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: username }));
  return out.UserAttributes?.find((a) => a.Name === 'sub')?.Value;
}

/** The manifest as a test reads it: the pointer from SSM, then HEAD and parts from the ledger. */
async function readManifest(r: Rehearsal, parameterName: string): Promise<Manifest | undefined> {
  const pointer = JSON.parse(r.standIn.parameters.get(parameterName) ?? 'null') as ManifestPointer | null;
  if (!pointer) throw new Error(`no pointer ${parameterName}`);
  const items = (await r.ledgerItems()).filter((i) => i.pk === `MANIFEST#${pointer.owner}`);
  const head = items.find((i) => i.sk === `${pointer.userPoolId}#HEAD`);
  if (!head) return undefined;
  const parts = items
    .filter((i) => String(i.sk).startsWith(`${pointer.userPoolId}#PART#${head.generation}#`))
    .sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
  expect(parts).toHaveLength(Number(head.parts));
  const body = parts.map((p) => String(p.body)).join('');
  expect(createHash('sha256').update(body).digest('hex')).toBe(head.sha256);
  return JSON.parse(body) as Manifest;
}

function expectNoLeak(...results: InvokeResult[]): void {
  for (const result of results) {
    const everything = [result.output, ...result.rawResponses].join('\n');
    for (const canary of Object.values(CANARIES)) expect(everything).not.toContain(canary);
  }
}

const code = (base32: string) =>
  new TOTP({ secret: Secret.fromBase32(base32), digits: 6, period: 30, algorithm: 'SHA1' }).generate();

test('a TOTP user is enrolled at seed time and signs in with a code from the secret the seeder keeps', async () => {
  // GIVEN a pool with MFA optional and a hand-made user
  const r = await start();
  const [resource] = await r.deploy(synth((perm, temp) => [alice(perm), bob(perm, temp), carol(perm), dave(perm)]));
  const poolId = resource.properties.UserPoolId;
  const handMadeSub = await handMade(r, poolId);

  // WHEN
  const created = await r.invoke({ requestType: 'Create', resource });

  // THEN carol has a token whose secret is in the TOTP secret, under the pool
  expect(created.response?.Status).toBe('SUCCESS');
  const secretArn = resource.properties.Totp.SecretArn;
  const secrets = totpSecrets(r, secretArn);
  expect(Object.keys(secrets)).toEqual([poolId]);
  expect(Object.keys(secrets[poolId])).toEqual(['carol', 'dave']);
  // and each TOTP user has a secret of its own with the same seed, under the seeder's prefix,
  // so a grant for one user reads that user's seed only
  const prefix = resource.properties.Totp.UserSecretPrefix;
  expect(prefix).toMatch(/^cdk-cognito-seeder\/totp\/Ids\/c8[0-9a-f]{40}$/);
  expect(ownTotpSecrets(r, prefix)).toEqual({
    carol: { userPoolId: poolId, secret: secrets[poolId].carol },
    dave: { userPoolId: poolId, secret: secrets[poolId].dave },
  });
  expect(r.standIn.createdSecrets.get(totpUserSecretName(prefix, 'carol'))?.description).toMatch(
    /TOTP secret of user 'carol' of pool /,
  );
  const first = await r.cognito.send(
    new InitiateAuthCommand({
      ClientId: r.ref(clientLogicalId),
      AuthFlow: 'USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: 'carol', PASSWORD: CANARIES.perm },
    }),
  );
  expect(first.ChallengeName).toBe('SOFTWARE_TOKEN_MFA');
  const answered = await r.cognito.send(
    new RespondToAuthChallengeCommand({
      ClientId: r.ref(clientLogicalId),
      ChallengeName: 'SOFTWARE_TOKEN_MFA',
      Session: first.Session,
      ChallengeResponses: { USERNAME: 'carol', SOFTWARE_TOKEN_MFA_CODE: code(secrets[poolId].carol) },
    }),
  );
  expect(answered.AuthenticationResult?.IdToken).toBeDefined();
  // alice has no token: her password alone signs her in
  const plain = await r.cognito.send(
    new InitiateAuthCommand({
      ClientId: r.ref(clientLogicalId),
      AuthFlow: 'USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: 'alice', PASSWORD: CANARIES.perm },
    }),
  );
  expect(plain.AuthenticationResult?.IdToken).toBeDefined();
  const record = (await r.ledgerUsers()).find((u) => u.username === 'carol');
  expect(record?.totp).toBe('enrolled');
  // the TOTP secret and the access tokens never reach the log or the response
  const everything = [created.output, ...created.rawResponses].join('\n');
  expect(everything).not.toContain(secrets[poolId].carol);
  expectNoLeak(created);
  expect(await subOf(r, poolId, 'hand-made')).toBe(handMadeSub);

  // WHEN carol leaves the spec, and then the stack is deleted
  const [without] = await r.deploy(synth((perm, temp) => [alice(perm), bob(perm, temp), dave(perm)]));
  const updated = await r.invoke({
    requestType: 'Update',
    resource: without,
    oldProperties: resource.properties,
    physicalResourceId: created.response!.PhysicalResourceId,
  });

  // THEN her secret is cleared with her, dave's stays
  expect(updated.response?.Status).toBe('SUCCESS');
  expect(Object.keys(totpSecrets(r, secretArn)[poolId])).toEqual(['dave']);
  expect(totpSecrets(r, secretArn)[poolId].dave).toBe(secrets[poolId].dave);
  expect(ownTotpSecrets(r, prefix)).toEqual({ dave: { userPoolId: poolId, secret: secrets[poolId].dave } });
  const deleted = await r.invoke({
    requestType: 'Delete',
    resource: without,
    physicalResourceId: created.response!.PhysicalResourceId,
  });
  expect(deleted.response?.Status).toBe('SUCCESS');
  expect(totpSecrets(r, secretArn)).toEqual({});
  expect(ownTotpSecrets(r, prefix)).toEqual({});
  expect(await subOf(r, poolId, 'hand-made')).toBe(handMadeSub);
  expectNoLeak(updated, deleted);
});

test("a repair writes again a TOTP user's own secret deleted or changed by hand, from the seeder's secret", async () => {
  // GIVEN carol and dave enrolled, beside a hand-made user
  const r = await start();
  const [resource] = await r.deploy(synth((perm) => [alice(perm), carol(perm), dave(perm)]));
  const poolId = resource.properties.UserPoolId;
  const handMadeSub = await handMade(r, poolId);
  const created = await r.invoke({ requestType: 'Create', resource });
  expect(created.response?.Status).toBe('SUCCESS');
  const seeds = totpSecrets(r, resource.properties.Totp.SecretArn)[poolId];
  const prefix = resource.properties.Totp.UserSecretPrefix;
  Object.assign(process.env, r.testingEnv());
  const users = await SeededUsers.load({ stackName: 'Ids' });

  // WHEN someone deletes carol's own secret and writes another seed into dave's
  r.standIn.secrets.delete(totpUserSecretName(prefix, 'carol'));
  r.standIn.secrets.set(
    totpUserSecretName(prefix, 'dave'),
    JSON.stringify({ userPoolId: poolId, username: 'dave', secret: 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU' }),
  );

  // THEN a dry run reports both and writes nothing
  const dry = await users.repair({ dryRun: true });
  const totpRows = (report: typeof dry) =>
    report.users.filter((u) => u.found.includes('totp-secret')).map((u) => [u.username, u.done]);
  expect(totpRows(dry)).toEqual([
    ['carol', []],
    ['dave', []],
  ]);
  expect(ownTotpSecrets(r, prefix)).toEqual({
    dave: { userPoolId: poolId, secret: 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU' },
  });

  // and the repair puts both back with the seeds the tokens were enrolled with
  const report = await users.repair();
  expect(totpRows(report)).toEqual([
    ['carol', ['totp-secret']],
    ['dave', ['totp-secret']],
  ]);
  expect(report.left).toBe(0);
  expect(ownTotpSecrets(r, prefix)).toEqual({
    carol: { userPoolId: poolId, secret: seeds.carol },
    dave: { userPoolId: poolId, secret: seeds.dave },
  });
  // a code from carol's own secret signs her in
  const first = await r.cognito.send(
    new InitiateAuthCommand({
      ClientId: r.ref(clientLogicalId),
      AuthFlow: 'USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: 'carol', PASSWORD: CANARIES.perm },
    }),
  );
  const answered = await r.cognito.send(
    new RespondToAuthChallengeCommand({
      ClientId: r.ref(clientLogicalId),
      ChallengeName: 'SOFTWARE_TOKEN_MFA',
      Session: first.Session,
      ChallengeResponses: { USERNAME: 'carol', SOFTWARE_TOKEN_MFA_CODE: code(ownTotpSecrets(r, prefix).carol.secret) },
    }),
  );
  expect(answered.AuthenticationResult?.IdToken).toBeDefined();
  // a second repair finds them whole; nothing printed holds a seed; the hand-made user is as it was
  expect(totpRows(await users.repair())).toEqual([]);
  const printed = r.invocationOutputs.join('\n') + JSON.stringify([dry, report]);
  expect(printed).not.toContain(seeds.carol);
  expect(printed).not.toContain(seeds.dave);
  expectNoLeak(created);
  expect(await subOf(r, poolId, 'hand-made')).toBe(handMadeSub);
});

test('the manifest is published by Create and Update, holds no password, and goes with the Delete', async () => {
  // GIVEN
  const r = await start();
  const [resource] = await r.deploy(synth((perm, temp) => [alice(perm), bob(perm, temp), carol(perm)]));
  const poolId = resource.properties.UserPoolId;
  const handMadeSub = await handMade(r, poolId);
  const pointerName = '/cdk-cognito-seeder/Ids/Pool/Seeder';

  // WHEN
  const created = await r.invoke({ requestType: 'Create', resource });

  // THEN the pointer names the ledger and the owner, and the body lists every user and where its password lives
  expect(created.response?.Status).toBe('SUCCESS');
  expect(JSON.parse(r.standIn.parameters.get(pointerName)!)).toEqual({
    version: 1,
    table: expect.stringMatching(/^rehearsal-CognitoUserSeederFunctionLedger/),
    owner: resource.logicalId,
    userPoolId: poolId,
    region: 'us-east-1',
    // What repair() and rearm() invoke.
    functionArn: String(resource.properties.ServiceToken),
  });
  const manifest = await readManifest(r, pointerName);
  expect(manifest).toEqual({
    version: 1,
    stackId: expect.stringMatching(/^arn:aws:cloudformation:/),
    owner: resource.logicalId,
    userPoolId: poolId,
    region: 'us-east-1',
    requestId: expect.any(String),
    sources: [
      { type: 'secretsmanager', secretArn: PERM_ARN },
      { type: 'ssm', parameterName: TEMP_PARAM },
    ],
    totpSecretArn: resource.properties.Totp.SecretArn,
    totpUserSecretPrefix: resource.properties.Totp.UserSecretPrefix,
    users: [
      { username: 'alice', mode: 'PERMANENT', groups: [], password: 0 },
      { username: 'bob', mode: 'TEMPORARY', groups: [], password: 1 },
      { username: 'carol', mode: 'PERMANENT', groups: [], password: 0, totp: true },
    ],
  });
  const items = JSON.stringify(await r.ledgerItems());
  for (const canary of Object.values(CANARIES)) expect(items).not.toContain(canary);

  // WHEN an Update drops bob
  const [next] = await r.deploy(synth((perm) => [alice(perm), carol(perm)]));
  const updated = await r.invoke({
    requestType: 'Update',
    resource: next,
    oldProperties: resource.properties,
    physicalResourceId: created.response!.PhysicalResourceId,
  });

  // THEN the manifest follows, and only one generation of it is kept
  expect(updated.response?.Status).toBe('SUCCESS');
  expect((await readManifest(r, pointerName))?.users.map((u) => u.username)).toEqual(['alice', 'carol']);
  const heads = (await r.ledgerItems()).filter(
    (i) => String(i.pk).startsWith('MANIFEST#') && String(i.sk).endsWith('#HEAD'),
  );
  expect(heads).toHaveLength(1);

  // WHEN the stack is deleted
  const deleted = await r.invoke({
    requestType: 'Delete',
    resource: next,
    physicalResourceId: created.response!.PhysicalResourceId,
  });

  // THEN no manifest item is left, and the hand-made user is untouched
  expect(deleted.response?.Status).toBe('SUCCESS');
  expect((await r.ledgerItems()).filter((i) => String(i.pk).startsWith('MANIFEST#'))).toEqual([]);
  expect(await subOf(r, poolId, 'hand-made')).toBe(handMadeSub);
  expectNoLeak(created, updated, deleted);
});

test('the stage guard refuses a forbidden account at deploy, before any write; the rollback Delete keeps everything', async () => {
  // GIVEN a seeder told never to seed the rehearsal's account (unknown at synth: env-agnostic)
  const r = await start();
  const [resource] = await r.deploy(synth((perm) => [alice(perm)], { forbiddenAccounts: ['000000000000'] }));
  const poolId = resource.properties.UserPoolId;
  const handMadeSub = await handMade(r, poolId);

  // WHEN
  const created = await r.invoke({ requestType: 'Create', resource });
  const rollback = await r.invoke({
    requestType: 'Delete',
    resource,
    physicalResourceId: created.response!.PhysicalResourceId,
  });

  // THEN
  expect(created.response?.Status).toBe('FAILED');
  expect(created.response?.Reason).toContain(
    'seeding is forbidden in account 000000000000 (the stage guard: forbiddenAccounts or the context key cdk-cognito-seeder:forbiddenAccounts); nothing was written. To seed this account deliberately, deploy with -c cdk-cognito-seeder:allowSeedingIn=000000000000',
  );
  expect(rollback.response?.Status).toBe('SUCCESS');
  await expect(subOf(r, poolId, 'alice')).rejects.toThrow(/User does not exist/);
  expect(await subOf(r, poolId, 'hand-made')).toBe(handMadeSub);
  expect((await r.ledgerUsers()).length).toBe(0);
  expectNoLeak(created, rollback);
});
