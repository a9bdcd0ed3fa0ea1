// signIn's clientMetadata and the CLI's --client-metadata, seen by a pool's pre token
// generation trigger: cognito-local runs the trigger (its own event and exceptions), played
// by a server in this process. Cognito gives that trigger the ClientMetadata of a challenge
// answer (RespondToAuthChallenge), never InitiateAuth's, and cognito-local does the same.
import * as http from 'http';
import type { AddressInfo } from 'net';
import { SeededUsers } from '../testing';
import { jwtClaims } from '../testing/browser-storage';
import { main } from '../testing/cli';
import { Emulator, startEmulator } from '../rehearsal/emulator';
import { createLedgerTable, manifestOf, writeManifest } from './support/manifest-fixture';
import {
  createPoolAndClient,
  createUser,
  REGION,
  startTestingServices,
  TestingServices,
} from './support/testing-services';

const SECRET = `arn:aws:secretsmanager:${REGION}:111111111111:secret:trigger-users-AbCdEf`;
const PASSWORDS = { alice: 'Alice-Passw0rd!trig', bob: 'Bob-Temp0rary!trig', carol: 'Carol-Temp0rary!trig' };

/** What the pre token generation trigger received, each time it ran. */
const seen: { userName: string; clientMetadata?: Record<string, string> }[] = [];
let triggerServer: http.Server;
let emulator: Emulator;
let services: TestingServices;

/** The trigger: it records the event, and puts the caller's `tenant` in the id token. */
function preTokenGeneration(event: {
  userName: string;
  request: { clientMetadata?: Record<string, string> };
  response: Record<string, unknown>;
}) {
  seen.push({ userName: event.userName, clientMetadata: event.request.clientMetadata });
  const tenant = event.request.clientMetadata?.tenant;
  return {
    ...event,
    response: { claimsOverrideDetails: tenant ? { claimsToAddOrOverride: { 'custom:tenant': tenant } } : {} },
  };
}

beforeAll(async () => {
  triggerServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const { FunctionName, Payload } = JSON.parse(body);
      const answer =
        FunctionName === 'PreTokenGeneration'
          ? { Payload: JSON.stringify(preTokenGeneration(JSON.parse(Payload))) }
          : { FunctionError: 'Unhandled', Payload: JSON.stringify({ errorMessage: `no ${FunctionName} here` }) };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => triggerServer.listen(0, '127.0.0.1', resolve));
  const port = (triggerServer.address() as AddressInfo).port;
  emulator = await startEmulator({
    triggers: { endpoint: `http://127.0.0.1:${port}`, names: ['PreTokenGeneration'] },
  });
  services = await startTestingServices(emulator.endpoint);
  const { userPoolId, clientId } = await createPoolAndClient(services.cognito);
  await createUser(services.cognito, userPoolId, 'alice', PASSWORDS.alice, 'PERMANENT');
  await createUser(services.cognito, userPoolId, 'bob', PASSWORDS.bob, 'TEMPORARY');
  await createUser(services.cognito, userPoolId, 'carol', PASSWORDS.carol, 'TEMPORARY');
  services.standIn.secrets.set(SECRET, JSON.stringify(PASSWORDS));
  await createLedgerTable(services.dynamodb, 'ledger-triggers');
  await writeManifest(services, {
    stackName: 'Triggers',
    seederPath: 'Users/Seeder',
    table: 'ledger-triggers',
    manifest: manifestOf({
      owner: 'TriggersSeed1',
      userPoolId,
      clientId,
      sources: Object.keys(PASSWORDS).map((name) => ({ type: 'secretsmanager', secretArn: SECRET, jsonField: name })),
      users: [
        { username: 'alice', mode: 'PERMANENT', groups: [], password: 0 },
        { username: 'bob', mode: 'TEMPORARY', groups: [], password: 1 },
        { username: 'carol', mode: 'TEMPORARY', groups: [], password: 2 },
      ],
    }),
  });
}, 60_000);

afterAll(async () => {
  await services?.stop();
  await emulator?.stop();
  await new Promise((resolve) => triggerServer?.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
});

test("signIn's clientMetadata reaches the pre token generation trigger through the challenge answer", async () => {
  // GIVEN a TEMPORARY user, whose tokens come from the answer to NEW_PASSWORD_REQUIRED
  const users = await SeededUsers.load({ stackName: 'Triggers' });

  // WHEN
  const tokens = await users.signIn('bob', { clientMetadata: { tenant: 'qa-7', run: '42' } });

  // THEN the trigger saw the map, and what it did with it is in the id token
  expect(seen).toEqual([{ userName: 'bob', clientMetadata: { tenant: 'qa-7', run: '42' } }]);
  expect(jwtClaims(tokens.idToken)).toMatchObject({ 'cognito:username': 'bob', 'custom:tenant': 'qa-7' });
  users.destroy();
});

test('without clientMetadata the trigger gets none; InitiateAuth alone never passes it on, as in Cognito', async () => {
  const users = await SeededUsers.load({ stackName: 'Triggers' });
  const plain = await users.signIn('alice');
  const direct = await users.signIn('alice', { clientMetadata: { tenant: 'qa-7' } });
  expect(seen).toEqual([
    { userName: 'alice', clientMetadata: undefined },
    { userName: 'alice', clientMetadata: undefined },
  ]);
  expect(jwtClaims(plain.idToken)['custom:tenant']).toBeUndefined();
  expect(jwtClaims(direct.idToken)['custom:tenant']).toBeUndefined();
  users.destroy();
});

test('the CLI: tokens --client-metadata key=value, repeated, reaches the trigger; a malformed entry is a usage error', async () => {
  let stdout = '';
  let stderr = '';
  const out = { stdout: (t: string) => (stdout += t), stderr: (t: string) => (stderr += t) };

  const status = await main(
    [
      'tokens',
      'Triggers',
      'carol',
      '--format',
      'json',
      '--client-metadata',
      'tenant=qa=8',
      '--client-metadata',
      'run=43',
    ],
    out,
  );

  expect([status, stderr]).toEqual([0, '']);
  expect(seen).toEqual([{ userName: 'carol', clientMetadata: { tenant: 'qa=8', run: '43' } }]);
  expect(jwtClaims(JSON.parse(stdout).idToken)['custom:tenant']).toBe('qa=8');

  stderr = '';
  expect(await main(['tokens', 'Triggers', 'carol', '--client-metadata', 'tenant'], out)).toBe(2);
  expect(stderr).toMatch(/--client-metadata is key=value, not 'tenant'/);
  stderr = '';
  expect(await main(['credentials', 'Triggers', 'carol', '--client-metadata', 'a=b'], out)).toBe(2);
  expect(stderr).toMatch(/credentials takes no option --client-metadata/);
});
