// USER_SRP_AUTH, and the TOTP rule "each code once", proven against a test double of
// Cognito (test/support/srp-double.ts: the server side of SRP-6a as Cognito does it,
// written independently of the client library), because cognito-local implements neither.
// Manifests and passwords come from dynalite and the stand-in, as in testing.test.ts.
import { SeededUsers, SeededUsersError } from '../testing';
import { jwtClaims } from '../testing/browser-storage';
import { nextTotpSlot } from '../testing/totp';
import { createLedgerTable, manifestOf, writeManifest } from './support/manifest-fixture';
import { SrpDouble } from './support/srp-double';
import { REGION, startTestingServices, TestingServices } from './support/testing-services';

const POOL = `${REGION}_SrpDouble1`;
const SECRET = `arn:aws:secretsmanager:${REGION}:111111111111:secret:srp-users-AbCdEf`;
const TOTP = `arn:aws:secretsmanager:${REGION}:111111111111:secret:srp-totp-AbCdEf`;
const TOTP_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const PASSWORDS = { sam: 'Sam-Srp-Passw0rd!', tina: 'Tina-Temp0rary!', tom: 'Tom-Totp-Passw0rd!' };

let double: SrpDouble;
let services: TestingServices;

async function failure(promise: Promise<unknown>): Promise<SeededUsersError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SeededUsersError);
  for (const password of Object.values(PASSWORDS)) expect((error as Error).message).not.toContain(password);
  return error as SeededUsersError;
}

beforeAll(async () => {
  double = new SrpDouble(POOL);
  await double.start();
  double.addClient('srp-client', ['ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']);
  double.addClient('password-client', ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']);
  double.addUser('sam', PASSWORDS.sam);
  double.addUser('tina', PASSWORDS.tina, { temporary: true });
  double.addUser('tom', PASSWORDS.tom, { totpSecret: TOTP_SECRET });
  services = await startTestingServices(double.endpoint);
  services.standIn.secrets.set(SECRET, JSON.stringify(PASSWORDS));
  services.standIn.secrets.set(TOTP, JSON.stringify({ [POOL]: { tom: TOTP_SECRET } }));
  await createLedgerTable(services.dynamodb, 'ledger-srp');
  await writeManifest(services, {
    stackName: 'Srp',
    seederPath: 'Users/Seeder',
    table: 'ledger-srp',
    manifest: manifestOf({
      owner: 'UsersSeederSeedS1',
      userPoolId: POOL,
      clientId: 'srp-client',
      totpSecretArn: TOTP,
      sources: Object.keys(PASSWORDS).map((name) => ({ type: 'secretsmanager', secretArn: SECRET, jsonField: name })),
      users: [
        { username: 'sam', mode: 'PERMANENT', groups: [], password: 0 },
        { username: 'tina', mode: 'TEMPORARY', groups: [], password: 1 },
        { username: 'tom', mode: 'PERMANENT', groups: [], password: 2, totp: true },
      ],
    }),
  });
});

afterAll(async () => {
  await services?.stop();
  await double?.stop();
});

test('USER_SRP_AUTH signs in: the double checks the PASSWORD_VERIFIER signature', async () => {
  const users = await SeededUsers.load({ stackName: 'Srp' });
  const verified = double.counts.verified;

  const tokens = await users.signIn('sam', { flow: 'USER_SRP_AUTH' });

  expect(jwtClaims(tokens.accessToken).username).toBe('sam');
  expect(double.counts.verified).toBe(verified + 1);
});

test("the SRP library loads with jsbn's routine of Node 20 and browsers, and leaves navigator as it was", async () => {
  // GIVEN the first SRP sign-in of this file (the one above) loaded cognito-srp-helper
  const navigator = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  const users = await SeededUsers.load({ stackName: 'Srp' });
  await users.signIn('sam', { flow: 'USER_SRP_AUTH' });

  // THEN jsbn multiplies with am3, which it takes only where navigator is undefined or a
  // browser's: with Node 22's navigator it took am1, and a sign-in took seconds under jest
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { BigInteger } = require('jsbn') as { BigInteger: { prototype: { am: { name: string } } } };
  expect(BigInteger.prototype.am.name).toBe('am3');
  expect(Object.getOwnPropertyDescriptor(globalThis, 'navigator')).toEqual(navigator);
});

test('USER_SRP_AUTH with a password the pool does not hold fails the signature check', async () => {
  services.standIn.secrets.set(SECRET, JSON.stringify({ ...PASSWORDS, sam: 'Not-Sams-Passw0rd!' }));
  try {
    const users = await SeededUsers.load({ stackName: 'Srp' });
    const refused = double.counts.refused;

    const error = await failure(users.signIn('sam', { flow: 'USER_SRP_AUTH' }));

    expect(double.counts.refused).toBe(refused + 1);
    expect(error.code).toBe('SIGN_IN_FAILED');
    expect(error.message).toMatch(/Cognito refused the answer to PASSWORD_VERIFIER for 'sam' with USER_SRP_AUTH/);
    expect(error.message).not.toContain('Not-Sams-Passw0rd!');
  } finally {
    services.standIn.secrets.set(SECRET, JSON.stringify(PASSWORDS));
  }
});

test('USER_SRP_AUTH of a TEMPORARY user answers NEW_PASSWORD_REQUIRED after the verifier', async () => {
  const users = await SeededUsers.load({ stackName: 'Srp' });

  const tokens = await users.signIn('tina', { flow: 'USER_SRP_AUTH' });

  expect(jwtClaims(tokens.idToken)['cognito:username']).toBe('tina');
  expect(double.status('tina')).toBe('CONFIRMED');
  // The seeded password was kept as the new one: SRP with it works again.
  await users.signIn('tina', { flow: 'USER_SRP_AUTH' });
});

test('fails naming authFlows when the app client does not allow the flow', async () => {
  const users = await SeededUsers.load({ stackName: 'Srp' });

  const password = await failure(users.signIn('sam'));
  expect(password.code).toBe('CLIENT_CONFIGURATION');
  expect(password.message).toMatch(/App client srp-client does not allow USER_PASSWORD_AUTH/);
  expect(password.message).toMatch(/CDK: authFlows: \{ userPassword: true \}.*flow: 'USER_SRP_AUTH'/);

  const srp = await failure(users.signIn('sam', { clientId: 'password-client', flow: 'USER_SRP_AUTH' }));
  expect(srp.message).toMatch(/App client password-client does not allow USER_SRP_AUTH/);
  expect(srp.message).toMatch(/CDK: authFlows: \{ userSrp: true \}/);

  const tokens = await users.signIn('sam', { clientId: 'password-client' });
  expect(jwtClaims(tokens.accessToken).username).toBe('sam');
});

describe('TOTP', () => {
  test('the next code is sent now, or at the next window once this window was used', () => {
    expect(nextTotpSlot(undefined, 95_000)).toEqual({ window: 3, waitMs: 0 });
    expect(nextTotpSlot(2, 95_000)).toEqual({ window: 3, waitMs: 0 });
    expect(nextTotpSlot(3, 95_000)).toEqual({ window: 4, waitMs: 25_250 });
  });

  test('a second sign-in in the same 30 s window waits for the next code, which Cognito accepts', async () => {
    const users = await SeededUsers.load({ stackName: 'Srp' });
    const { totpAccepted, totpRefused } = double.counts;

    await users.signIn('tom', { flow: 'USER_SRP_AUTH' });
    const second = await users.signIn('tom', { flow: 'USER_SRP_AUTH' });

    expect(jwtClaims(second.accessToken).username).toBe('tom');
    // The double refuses a code it has seen: both accepted means two windows' codes.
    expect(double.counts).toMatchObject({ totpAccepted: totpAccepted + 2, totpRefused });
  }, 70_000);
});
