// cdk-cognito-seeder/testing against real local services: cognito-local for Cognito,
// dynalite for the ledger table that holds manifests, the stand-in for SSM and Secrets
// Manager, all reached through the AWS_ENDPOINT_URL_* variables. Manifests are written
// with test/support/manifest-fixture.ts, in the format the handler will write them.
import { createHash } from 'crypto';
import { AdminGetUserCommand } from '@aws-sdk/client-cognito-identity-provider';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SeededUsers, SeededUsersError } from '../testing';
import { jwtClaims } from '../testing/browser-storage';
import { manifestPartKey, ManifestSource, ManifestUser } from '../testing/manifest-format';
import { assembleManifest, parsePointer } from '../testing/manifest-reader';
import { totpCode } from '../testing/totp';
import { totpUserSecretName } from '../lib/private/totp-names';
import {
  corruptPart,
  createLedgerTable,
  manifestOf,
  rearmDouble,
  SEED_FUNCTION_ARN,
  writeManifest,
} from './support/manifest-fixture';
import {
  createPoolAndClient,
  createUser,
  enrolTotp,
  REGION,
  startTestingServices,
  TestingServices,
} from './support/testing-services';

const TABLE = 'ledger-testing';
const ACCOUNT = '111111111111';
const secretArn = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`;

const PASSWORDS = {
  alice: 'Alice-Passw0rd!one',
  frank: 'Frank-Passw0rd!two',
  bob: 'Bob-Temp0rary!three',
  carol: 'Carol-Passw0rd!four',
  mallory: 'Mallory-Stored!five',
  malloryInPool: 'Mallory-InPool!six',
  notJson: 'Plain-Passw0rd!seven',
};
const SHARED = secretArn('qa-passwords');
const CAROL = secretArn('qa-carol');
const TOTP = secretArn('qa-totp');
const NOT_JSON = secretArn('qa-not-json');
const BOB_PARAMETER = '/qa/bob-password';

const SOURCES: ManifestSource[] = [
  { type: 'secretsmanager', secretArn: SHARED, jsonField: 'alice' },
  { type: 'secretsmanager', secretArn: SHARED, jsonField: 'frank' },
  { type: 'ssm', parameterName: BOB_PARAMETER },
  { type: 'secretsmanager', secretArn: CAROL },
  { type: 'plaintext' },
  { type: 'secretsmanager', secretArn: SHARED, jsonField: 'mallory' },
  { type: 'secretsmanager', secretArn: NOT_JSON, jsonField: 'password' },
];
const USERS: ManifestUser[] = [
  { username: 'alice', mode: 'PERMANENT', groups: ['admins'], password: 0 },
  { username: 'frank', mode: 'PERMANENT', groups: [], password: 1 },
  { username: 'bob', mode: 'TEMPORARY', groups: ['readers'], password: 2 },
  { username: 'carol', mode: 'PERMANENT', groups: [], password: 3, totp: true },
  { username: 'dave', mode: 'RESET_REQUIRED', groups: [] },
  { username: 'erin', mode: 'PERMANENT', groups: [], password: 4 },
  { username: 'mallory', mode: 'PERMANENT', groups: [], password: 5 },
  { username: 'nojson', mode: 'PERMANENT', groups: [], password: 6 },
];

let services: TestingServices;
let userPoolId: string;
let clientId: string;
let totpSecret: string;

/** Every password (and the TOTP secret) these tests know, for the check that no message carries one. */
const allPasswords = () => [...Object.values(PASSWORDS), totpSecret];

/** The error `promise` rejects with, after checking that neither its message nor its stack holds a password. */
async function failure(promise: Promise<unknown>): Promise<SeededUsersError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SeededUsersError);
  const { message, stack } = error as SeededUsersError;
  for (const password of allPasswords()) {
    expect(message).not.toContain(password);
    expect(stack ?? '').not.toContain(password);
  }
  return error as SeededUsersError;
}

beforeAll(async () => {
  services = await startTestingServices();
  ({ userPoolId, clientId } = await createPoolAndClient(services.cognito));
  const { cognito, standIn, dynamodb } = services;
  await createUser(cognito, userPoolId, 'alice', PASSWORDS.alice, 'PERMANENT');
  await createUser(cognito, userPoolId, 'frank', PASSWORDS.frank, 'PERMANENT');
  await createUser(cognito, userPoolId, 'bob', PASSWORDS.bob, 'TEMPORARY');
  await createUser(cognito, userPoolId, 'carol', PASSWORDS.carol, 'PERMANENT');
  await createUser(cognito, userPoolId, 'mallory', PASSWORDS.malloryInPool, 'PERMANENT');
  totpSecret = await enrolTotp(cognito, userPoolId, clientId, 'carol', PASSWORDS.carol);

  standIn.secrets.set(
    SHARED,
    JSON.stringify({ alice: PASSWORDS.alice, frank: PASSWORDS.frank, mallory: PASSWORDS.mallory }),
  );
  standIn.secrets.set(CAROL, PASSWORDS.carol);
  standIn.secrets.set(TOTP, JSON.stringify({ [userPoolId]: { carol: totpSecret } }));
  standIn.secrets.set(NOT_JSON, PASSWORDS.notJson);
  standIn.parameters.set(BOB_PARAMETER, PASSWORDS.bob);

  await createLedgerTable(dynamodb, TABLE);
  const base = { userPoolId, clientId, sources: SOURCES, totpSecretArn: TOTP };
  await writeManifest(services, {
    stackName: 'Qa',
    seederPath: 'Users/Seeder',
    table: TABLE,
    manifest: manifestOf({ ...base, owner: 'UsersSeederSeedA1', users: USERS }),
  });
  for (const [seederPath, owner] of [
    ['Users/Seeder', 'UsersSeederSeedB2'],
    ['Admins/Seeder', 'AdminsSeederSeedC3'],
  ]) {
    await writeManifest(services, {
      stackName: 'Multi',
      seederPath,
      table: TABLE,
      manifest: manifestOf({ ...base, owner, users: USERS.slice(0, 2) }),
    });
  }
}, 60_000);

afterAll(async () => {
  await services?.stop();
});

describe('load', () => {
  test('finds the only seeder of a stack from the stack name, through the AWS_ENDPOINT_URL_* variables', async () => {
    const users = await SeededUsers.load({ stackName: 'Qa' });

    expect(users.usernames).toEqual(['alice', 'frank', 'bob', 'carol', 'dave', 'erin', 'mallory', 'nojson']);
    expect(users.userPoolId).toBe(userPoolId);
    expect(users.clientId).toBe(clientId);
    expect(users.region).toBe(REGION);
    expect(users.parameterName).toBe('/cdk-cognito-seeder/Qa/Users/Seeder');
    expect(users.user('bob')).toEqual({
      username: 'bob',
      mode: 'TEMPORARY',
      groups: ['readers'],
      totp: false,
      passwordSource: { type: 'ssm', parameterName: BOB_PARAMETER },
    });
    expect(users.user('dave')).toEqual({ username: 'dave', mode: 'RESET_REQUIRED', groups: [], totp: false });
    expect(Object.isFrozen(users.manifest.users[0])).toBe(true);
  });

  test("takes the region from the option, else the pointer's (the body's); fails without any", async () => {
    expect((await SeededUsers.load({ stackName: 'Qa', region: 'eu-west-1' })).region).toBe('eu-west-1');
    const users = await SeededUsers.load({ stackName: 'Qa' });
    // The pointer's region is the body's too: a pointer naming another region than its body is refused.
    expect(users.region).toBe(users.pointer.region);
    const moved = await failure(SeededUsers.fromPointer({ ...users.pointer, region: 'ap-south-1' }));
    expect(moved.message).toMatch(/names region us-east-1, the pointer ap-south-1/);

    // No region anywhere: not in the environment, not in a profile.
    const saved = { AWS_REGION: process.env.AWS_REGION, AWS_CONFIG_FILE: process.env.AWS_CONFIG_FILE };
    delete process.env.AWS_REGION;
    process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
    try {
      const error = await failure(SeededUsers.load({ stackName: 'Qa' }));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toMatch(/^No AWS region for listing the seeder manifests of stack 'Qa'.*pass region/);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  test('by parameterName, or from a pointer, reads the same manifest; SDK clients can be passed in', async () => {
    const ssm = new SSMClient({
      endpoint: services.standIn.endpoint,
      region: REGION,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    try {
      const byName = await SeededUsers.load({ parameterName: '/cdk-cognito-seeder/Qa/Users/Seeder', clients: { ssm } });
      const byPointer = await SeededUsers.fromPointer(byName.pointer);
      expect(byPointer.manifest).toEqual(byName.manifest);
      expect(byName.pointer).toEqual({
        version: 1,
        table: TABLE,
        owner: 'UsersSeederSeedA1',
        userPoolId,
        region: REGION,
        clientId,
        functionArn: SEED_FUNCTION_ARN,
      });
    } finally {
      ssm.destroy();
    }
  });

  test('fails when a stack has several seeders and no seeder is given, naming them; works with seeder', async () => {
    const error = await failure(SeededUsers.load({ stackName: 'Multi' }));
    expect(error.code).toBe('SEEDER_AMBIGUOUS');
    expect(error.message).toMatch(/has 2 seeders \('Admins\/Seeder', 'Users\/Seeder'\)/);
    expect(error.message).toMatch(/pass seeder: '<path>'/);

    const admins = await SeededUsers.load({ stackName: 'Multi', seeder: 'Admins/Seeder' });
    expect(admins.manifest.owner).toBe('AdminsSeederSeedC3');

    const wrong = await failure(SeededUsers.load({ stackName: 'Multi', seeder: 'Nope' }));
    expect(wrong.message).toMatch(/has no seeder 'Nope'; its seeders are 'Admins\/Seeder', 'Users\/Seeder'/);
  });

  test('fails when the stack has no manifest, saying where it looked and what to check', async () => {
    const error = await failure(SeededUsers.load({ stackName: 'Missing' }));
    expect(error.code).toBe('NO_MANIFEST');
    expect(error.message).toMatch(/No seeder manifest was found for stack 'Missing' in region us-east-1/);
    expect(error.message).toMatch(/under \/cdk-cognito-seeder\/Missing/);
    expect(error.message).toMatch(/deployed.*region.*seeder\.grantReadManifest\(role\)/);

    const byName = await failure(SeededUsers.load({ parameterName: '/cdk-cognito-seeder/Missing/Seeder' }));
    expect(byName.code).toBe('NO_MANIFEST');
  });
});

describe('credentials', () => {
  test("come from a secret's JSON field and from an SSM SecureString; a shared secret is read once", async () => {
    const users = await SeededUsers.load({ stackName: 'Qa' });
    const before = services.standIn.calls['secretsmanager.GetSecretValue'] ?? 0;

    expect(await users.credentials('alice')).toEqual({ username: 'alice', password: PASSWORDS.alice });
    expect(await users.credentials('frank')).toEqual({ username: 'frank', password: PASSWORDS.frank });
    expect(await users.credentials('bob')).toEqual({ username: 'bob', password: PASSWORDS.bob });
    expect(await users.credentials('carol')).toEqual({ username: 'carol', password: PASSWORDS.carol });

    // alice and frank share one secret: one read for both; carol's is another.
    expect((services.standIn.calls['secretsmanager.GetSecretValue'] ?? 0) - before).toBe(2);
  });

  test('fail clearly for an unknown user, a RESET_REQUIRED user and a plain-text password', async () => {
    const users = await SeededUsers.load({ stackName: 'Qa' });

    const unknown = await failure(users.credentials('Alice2'));
    expect(unknown.code).toBe('UNKNOWN_USER');
    expect(unknown.message).toMatch(/No user 'Alice2'.*'alice', 'frank', 'bob', 'carol', 'dave', and 3 more/);
    expect((await failure(users.credentials('ALICE'))).message).toMatch(/did you mean 'alice'\?/);

    const reset = await failure(users.credentials('dave'));
    expect(reset.code).toBe('NO_PASSWORD');
    expect(reset.message).toMatch(/'dave' is RESET_REQUIRED.*must complete a password reset/);

    const plain = await failure(users.credentials('erin'));
    expect(plain.code).toBe('NO_PASSWORD');
    expect(plain.message).toMatch(/unsafePlainText.*only in the CloudFormation template.*secret/);
  });

  test('fail when access is denied, naming the grant', async () => {
    const denied = {
      send: async () => {
        throw Object.assign(
          new Error(
            `User: arn:aws:sts::${ACCOUNT}:assumed-role/ci/runner is not authorized to perform: GetSecretValue`,
          ),
          { name: 'AccessDeniedException' },
        );
      },
    };
    const users = await SeededUsers.load({ stackName: 'Qa', clients: { secretsManager: denied } });

    const error = await failure(users.credentials('alice'));
    expect(error.code).toBe('ACCESS_DENIED');
    expect(error.message).toContain(`Access denied reading secret ${SHARED} for 'alice'`);
    expect(error.message).toContain("seeder.grantReadPassword('alice', role), or seeder.grantReadPasswords(role)");
  });

  test('fail without quoting the value when a secret that should be JSON is not', async () => {
    const users = await SeededUsers.load({ stackName: 'Qa' });
    const error = await failure(users.credentials('nojson'));
    expect(error.message).toBe(`secret ${NOT_JSON} is not JSON, so it has no field 'password'`);
  });
});

describe('signIn', () => {
  test("masks a password Cognito echoes in any form the seeding function masks (parity with the handler's redactor)", async () => {
    const p = PASSWORDS.alice;
    const forms = {
      raw: p,
      'JSON-escaped twice': JSON.stringify(JSON.stringify(p)).slice(1, -1),
      'URL-encoded': encodeURIComponent(p),
      'cut short': `${p.slice(0, 9)}...`,
    };
    for (const [label, form] of Object.entries(forms)) {
      const echoing = {
        send: async () => {
          throw Object.assign(new Error(`Password ${form} does not conform to policy`), {
            name: 'InvalidPasswordException',
          });
        },
      };
      const users = await SeededUsers.load({ stackName: 'Qa', clients: { cognito: echoing } });
      const error = await failure(users.signIn('alice'));
      expect([label, error.message]).not.toEqual([label, expect.stringContaining(form)]);
      expect(error.message).toMatch(/Password \S*\*{3,5}\S* does not conform/);
    }
  });

  test('of a PERMANENT user returns tokens of that user', async () => {
    const users = await SeededUsers.load({ stackName: 'Qa' });

    const tokens = await users.signIn('alice');

    expect(jwtClaims(tokens.idToken)).toMatchObject({ 'cognito:username': 'alice', token_use: 'id', aud: clientId });
    expect(jwtClaims(tokens.accessToken)).toMatchObject({ username: 'alice', token_use: 'access' });
    expect(tokens.refreshToken).toEqual(expect.any(String));
  });

  test('of a TEMPORARY user answers NEW_PASSWORD_REQUIRED; rearm puts it back to FORCE_CHANGE_PASSWORD', async () => {
    const users = await SeededUsers.load({ stackName: 'Qa' });
    const status = async () =>
      (await services.cognito.send(new AdminGetUserCommand({ UserPoolId: userPoolId, Username: 'bob' }))).UserStatus;
    expect(await status()).toBe('FORCE_CHANGE_PASSWORD');

    // WHEN bob signs in: NEW_PASSWORD_REQUIRED, answered with the seeded password
    const first = await users.signIn('bob');
    expect(jwtClaims(first.accessToken).username).toBe('bob');
    expect(await status()).toBe('CONFIRMED');

    // THEN rearm asks the seeding function for a repair of bob alone, naming no password,
    // and the next run signs in the same way
    const fn = rearmDouble(services.standIn, services.cognito, userPoolId, { bob: PASSWORDS.bob });
    await users.rearm('bob');
    expect(fn.payloads).toEqual([
      {
        functionName: SEED_FUNCTION_ARN,
        kind: 'repair',
        seeder: 'UsersSeederSeedA1',
        usernames: ['bob'],
        passwords: 'always',
      },
    ]);
    expect(await status()).toBe('FORCE_CHANGE_PASSWORD');
    const second = await users.signIn('bob');
    expect(jwtClaims(second.idToken)['cognito:username']).toBe('bob');
    await users.rearm('bob');

    const permanent = await failure(users.rearm('alice'));
    expect(permanent.code).toBe('NOT_APPLICABLE');
    expect(permanent.message).toBe("'alice' is PERMANENT, not TEMPORARY: only TEMPORARY users are re-armed");
  });

  test('of a TOTP user answers SOFTWARE_TOKEN_MFA with the current code', async () => {
    const users = await SeededUsers.load({ stackName: 'Qa' });

    const code = await users.totp('carol');
    const now = Date.now();
    expect([totpCode(totpSecret, now), totpCode(totpSecret, now - 30_000)]).toContain(code);
    const tokens = await users.signIn('carol');

    expect(jwtClaims(tokens.accessToken).username).toBe('carol');
    expect((await failure(users.totp('alice'))).message).toBe("'alice' has no TOTP software token in the manifest");

    // The secret is kept per pool: another pool's entry is not this user's.
    services.standIn.secrets.set(TOTP, JSON.stringify({ 'us-east-1_other': { carol: totpSecret } }));
    try {
      const elsewhere = await failure((await SeededUsers.load({ stackName: 'Qa' })).totp('carol'));
      expect(elsewhere.message).toBe(`TOTP secret ${TOTP} has no string entry ["${userPoolId}"]["carol"]`);
    } finally {
      services.standIn.secrets.set(TOTP, JSON.stringify({ [userPoolId]: { carol: totpSecret } }));
    }

    // The challenge was really answered with the code: a wrong TOTP secret fails the sign-in.
    services.standIn.secrets.set(TOTP, JSON.stringify({ [userPoolId]: { carol: 'JBSWY3DPEHPK3PXP' } }));
    try {
      const wrong = await failure((await SeededUsers.load({ stackName: 'Qa' })).signIn('carol'));
      expect(wrong.message).toMatch(/Cognito refused the TOTP code of 'carol' \(CodeMismatchException/);
    } finally {
      services.standIn.secrets.set(TOTP, JSON.stringify({ [userPoolId]: { carol: totpSecret } }));
    }
  });

  test("of a TOTP user granted alone: its own secret when the seeder's is denied; a prefix outside the stack refused", async () => {
    // GIVEN a manifest naming the seeder's per-user TOTP secrets, and carol's
    const prefix = `cdk-cognito-seeder/totp/Qa/c8${'a'.repeat(40)}`;
    const own = totpUserSecretName(prefix, 'carol');
    const { standIn } = services;
    standIn.secrets.set(own, JSON.stringify({ userPoolId, username: 'carol', secret: totpSecret }));
    const manifest = (totpUserSecretPrefix: string, owner: string) =>
      manifestOf({
        userPoolId,
        clientId,
        sources: SOURCES,
        totpSecretArn: TOTP,
        totpUserSecretPrefix,
        owner,
        users: USERS,
      });
    await writeManifest(services, {
      stackName: 'QaOwn',
      seederPath: 'Users/Seeder',
      table: TABLE,
      manifest: manifest(prefix, 'QaOwnSeederSeedD4'),
    });
    const valid = () => [totpCode(totpSecret, Date.now()), totpCode(totpSecret, Date.now() - 30_000)];
    try {
      // WHEN the runner may read the seeder's secret (grantReadPasswords), THEN that one read
      // serves: carol's own secret is never read
      standIn.deniedSecrets.add(own);
      expect(valid()).toContain(await (await SeededUsers.load({ stackName: 'QaOwn' })).totp('carol'));
      standIn.deniedSecrets.delete(own);

      // WHEN the runner may read carol's own secret only (grantReadPassword('carol'))
      standIn.deniedSecrets.add(TOTP);
      const users = await SeededUsers.load({ stackName: 'QaOwn' });
      // THEN her code comes from her own secret, and signs her in
      expect(valid()).toContain(await users.totp('carol'));
      expect(jwtClaims((await users.signIn('carol')).accessToken).username).toBe('carol');

      // an own secret that holds another pool's user is not taken for hers
      standIn.secrets.set(
        own,
        JSON.stringify({ userPoolId: 'us-east-1_other', username: 'carol', secret: totpSecret }),
      );
      const elsewhere = await failure((await SeededUsers.load({ stackName: 'QaOwn' })).totp('carol'));
      expect(elsewhere.message).toBe(
        `TOTP secret ${own} does not hold the seed of 'carol' in pool ${userPoolId}: deploy the stack again, and the seeding function writes it`,
      );

      // neither readable: the grant to ask for is named
      standIn.deniedSecrets.add(own);
      const denied = await failure((await SeededUsers.load({ stackName: 'QaOwn' })).totp('carol'));
      expect(denied.code).toBe('ACCESS_DENIED');
      expect(denied.message).toContain(`Access denied reading TOTP secret ${own} for 'carol'`);
      expect(denied.message).toContain("seeder.grantReadPassword('carol', role)");

      // a manifest whose prefix is not its stack's is not followed
      standIn.deniedSecrets.delete(own);
      const foreign = `cdk-cognito-seeder/totp/Prod/c8${'b'.repeat(40)}`;
      standIn.secrets.set(
        totpUserSecretName(foreign, 'carol'),
        JSON.stringify({ userPoolId, username: 'carol', secret: totpSecret }),
      );
      await writeManifest(services, {
        stackName: 'QaForeign',
        seederPath: 'Users/Seeder',
        table: TABLE,
        manifest: manifest(foreign, 'QaForeignSeederSeedE5'),
      });
      const refused = await failure((await SeededUsers.load({ stackName: 'QaForeign' })).totp('carol'));
      expect(refused.code).toBe('MANIFEST_UNREADABLE');
      expect(refused.message).toContain(`names TOTP secrets under '${foreign}', not under cdk-cognito-seeder/totp/Qa/`);
      expect(refused.message).toContain('allowForeignReferences');
      const allowed = await SeededUsers.load({ stackName: 'QaForeign', allowForeignReferences: true });
      expect(valid()).toContain(await allowed.totp('carol'));
    } finally {
      standIn.deniedSecrets.clear();
      standIn.secrets.delete(own);
    }
  });

  test('fails naming rearm and passwordRevision when Cognito refuses the stored password', async () => {
    const users = await SeededUsers.load({ stackName: 'Qa' });

    const error = await failure(users.signIn('mallory'));

    expect(error.code).toBe('SIGN_IN_FAILED');
    expect(error.message).toMatch(/Cognito refused InitiateAuth for 'mallory' with USER_PASSWORD_AUTH/);
    expect(error.message).toMatch(/rearm\(\).*passwordRevision/);
  });

  test('fails without an app client when neither the call nor the manifest names one', async () => {
    await writeManifest(services, {
      stackName: 'NoClient',
      seederPath: 'Users/Seeder',
      table: TABLE,
      manifest: manifestOf({ owner: 'NoClientSeedF6', userPoolId, sources: SOURCES, users: USERS.slice(0, 1) }),
    });
    const users = await SeededUsers.load({ stackName: 'NoClient' });

    const error = await failure(users.signIn('alice'));

    expect(error.code).toBe('NO_CLIENT');
    expect(error.message).toMatch(/pass \{ clientId \}, or give the seeder its app client/);
    expect(jwtClaims((await users.signIn('alice', { clientId })).accessToken).username).toBe('alice');
  });
});

describe('storageState', () => {
  test('holds the tokens where Amplify JS looks for them, in the origin given', async () => {
    const users = await SeededUsers.load({ stackName: 'Qa' });

    const state = await users.storageState('alice', { origin: 'http://localhost:3000/app' });

    expect(state.cookies).toEqual([]);
    expect(state.origins).toHaveLength(1);
    expect(state.origins[0].origin).toBe('http://localhost:3000');
    const prefix = `CognitoIdentityServiceProvider.${clientId}`;
    const entries = Object.fromEntries(state.origins[0].localStorage.map((e) => [e.name, e.value]));
    expect(Object.keys(entries).sort()).toEqual(
      [
        `${prefix}.LastAuthUser`,
        `${prefix}.alice.accessToken`,
        `${prefix}.alice.clockDrift`,
        `${prefix}.alice.idToken`,
        `${prefix}.alice.refreshToken`,
      ].sort(),
    );
    expect(entries[`${prefix}.LastAuthUser`]).toBe('alice');
    expect(jwtClaims(entries[`${prefix}.alice.idToken`])['cognito:username']).toBe('alice');
    expect(entries[`${prefix}.alice.clockDrift`]).toMatch(/^-?\d+$/);
  });

  test('fails on an origin that is not a URL, before signing in', async () => {
    const users = await SeededUsers.load({ stackName: 'Qa' });
    const error = await failure(users.storageState('bob', { origin: 'localhost' }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    const status = await services.cognito.send(new AdminGetUserCommand({ UserPoolId: userPoolId, Username: 'bob' }));
    expect(status.UserStatus).toBe('FORCE_CHANGE_PASSWORD');
  });
});

describe('manifest checks', () => {
  const pointer = { version: 1, table: 't', owner: 'o', userPoolId: 'us-east-1_p', region: REGION };
  const body = JSON.stringify(manifestOf({ owner: 'o', userPoolId: 'us-east-1_p', users: [] }));
  const head = (text: string, parts: number) => ({
    generation: 'g1',
    parts: String(parts),
    sha256: createHash('sha256').update(text).digest('hex'),
  });
  const part = (index: number, text: string) => ({ sk: manifestPartKey('us-east-1_p', 'g1', index), body: text });

  test('a body whose parts are all there, in order, and match the SHA-256 is read', () => {
    const [a, b] = [body.slice(0, 10), body.slice(10)];
    expect(assembleManifest(pointer, head(body, 2), [part(0, a), part(1, b)]).owner).toBe('o');
  });

  test('fails when a part is missing or out of place, or the body is for another pool', () => {
    const [a, b] = [body.slice(0, 10), body.slice(10)];
    expect(() => assembleManifest(pointer, head(body, 2), [part(0, a)])).toThrow(
      /has 1 of the 2 parts of generation g1/,
    );
    expect(() => assembleManifest(pointer, head(body, 2), [part(1, b), part(0, a)])).toThrow(/has no part 0/);
    const other = { ...pointer, userPoolId: 'us-east-1_q' };
    expect(() =>
      assembleManifest(other, head(body, 1), [{ ...part(0, body), sk: manifestPartKey('us-east-1_q', 'g1', 0) }]),
    ).toThrow(/describes pool us-east-1_p, not us-east-1_q/);
  });

  test("fails when the body's region or app client is not the pointer's (CloudFormation wrote the pointer)", () => {
    const elsewhere = JSON.stringify(
      manifestOf({ owner: 'o', userPoolId: 'us-east-1_p', users: [], region: 'eu-west-1' }),
    );
    expect(() => assembleManifest(pointer, head(elsewhere, 1), [part(0, elsewhere)])).toThrow(
      /names region eu-west-1, the pointer us-east-1/,
    );
    const client = JSON.stringify(
      manifestOf({ owner: 'o', userPoolId: 'us-east-1_p', users: [], clientId: 'attacker' }),
    );
    expect(() => assembleManifest({ ...pointer, clientId: 'tests' }, head(client, 1), [part(0, client)])).toThrow(
      /names app client attacker, the pointer \(which CloudFormation wrote\) tests: redeploy the seeder/,
    );
  });

  test("refuses a secret outside the stack's account or region unless allowed, and never reads it", async () => {
    const foreign = `arn:aws:secretsmanager:${REGION}:999999999999:secret:theirs-AbCdEf`;
    services.standIn.secrets.set(foreign, 'Their-Passw0rd!secret');
    const served = services.standIn.calls['secretsmanager.GetSecretValue'] ?? 0;
    await writeManifest(services, {
      stackName: 'Foreign',
      seederPath: 'Users/Seeder',
      table: TABLE,
      manifest: manifestOf({
        owner: 'ForeignSeedE5',
        userPoolId,
        sources: [{ type: 'secretsmanager', secretArn: foreign }],
        users: [{ username: 'alice', mode: 'PERMANENT', groups: [], password: 0 }],
      }),
    });
    const refused = await failure((await SeededUsers.load({ stackName: 'Foreign' })).credentials('alice'));
    expect(refused.code).toBe('MANIFEST_UNREADABLE');
    expect(refused.message).toBe(
      `The manifest of ForeignSeedE5 names ${foreign} for the password of 'alice', outside its stack's account 111111111111 and region us-east-1: a manifest changed in the ledger could point anywhere, so it is not read. If the seeder really reads it there, pass { allowForeignReferences: true } to SeededUsers.load`,
    );
    expect(services.standIn.calls['secretsmanager.GetSecretValue'] ?? 0).toBe(served);
    const allowed = await SeededUsers.load({ stackName: 'Foreign', allowForeignReferences: true });
    expect((await allowed.credentials('alice')).password).toBe('Their-Passw0rd!secret');
  });

  test('fails on a pointer of a newer format, saying to upgrade', () => {
    expect(() => parsePointer(JSON.stringify({ ...pointer, version: 2 }), '/p')).toThrow(
      /format version 2; this testing module reads version 1: upgrade cdk-cognito-seeder/,
    );
    expect(() => parsePointer(JSON.stringify({ version: 1, table: 't' }), '/p')).toThrow(
      /not a version 1 pointer \(missing owner, userPoolId, region\)/,
    );
  });
});

describe('large and damaged manifests', () => {
  test('a 10,000-user manifest sharing one secret loads from several parts', async () => {
    const shared = secretArn('load-test');
    services.standIn.secrets.set(shared, 'Load-Test-Passw0rd!');
    const users = Array.from({ length: 10_000 }, (_, i) => ({
      username: `load-${String(i).padStart(5, '0')}`,
      mode: 'PERMANENT' as const,
      groups: ['load'],
      password: 0,
    }));
    const written = await writeManifest(services, {
      stackName: 'Large',
      seederPath: 'Load/Seeder',
      table: TABLE,
      manifest: manifestOf({
        owner: 'LoadSeederSeedD4',
        userPoolId: 'us-east-1_Large',
        sources: [{ type: 'secretsmanager', secretArn: shared }],
        users,
      }),
    });
    expect(written.parts).toBeGreaterThan(1);
    const before = services.standIn.calls['secretsmanager.GetSecretValue'] ?? 0;

    const loaded = await SeededUsers.load({ stackName: 'Large' });

    expect(loaded.usernames).toHaveLength(10_000);
    expect(loaded.usernames[9_999]).toBe('load-09999');
    expect((await loaded.credentials('load-00000')).password).toBe('Load-Test-Passw0rd!');
    expect((await loaded.credentials('load-09999')).password).toBe('Load-Test-Passw0rd!');
    expect((services.standIn.calls['secretsmanager.GetSecretValue'] ?? 0) - before).toBe(1);
  });

  test('a corrupted part fails the SHA-256 check', async () => {
    const written = await writeManifest(services, {
      stackName: 'Corrupt',
      seederPath: 'Users/Seeder',
      table: TABLE,
      manifest: manifestOf({ owner: 'CorruptSeedE5', userPoolId, sources: SOURCES, users: USERS }),
      partCharacters: 200,
    });
    expect(written.parts).toBeGreaterThan(2);
    await corruptPart(services.dynamodb, written, 1);

    const error = await failure(SeededUsers.load({ stackName: 'Corrupt' }));

    expect(error.code).toBe('MANIFEST_UNREADABLE');
    expect(error.message).toMatch(/does not match its SHA-256 \(generation request-1\): the body is corrupt/);
  });
});
