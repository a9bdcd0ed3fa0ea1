// The storageState that cdk-cognito-seeder/testing writes, read by the real Amplify JS v6
// (@aws-amplify/auth and @aws-amplify/core, pinned dev dependencies) in Node: the app
// starts signed in from it, refreshes with the refresh token and app client it holds, and
// Amplify's own sign-in stores the same keys. testing/browser-storage.ts copies Amplify's
// key layout from its source; if an Amplify upgrade moves a key, these tests fail instead
// of every Playwright suite quietly starting signed out. Cognito is the SRP double
// (test/support/srp-double.ts), the one that serves SRP and GetTokensFromRefreshToken.
import './support/hide-navigator';
import { fetchAuthSession, getCurrentUser, signIn } from '@aws-amplify/auth';
import { cognitoUserPoolsTokenProvider } from '@aws-amplify/auth/cognito';
import { Amplify, ConsoleLogger } from '@aws-amplify/core';
import type { KeyValueStorageInterface } from '@aws-amplify/core';
import { SeededUsers } from '../testing';
import { AMPLIFY_KEY_PREFIX } from '../testing/browser-storage';
import { createLedgerTable, manifestOf, writeManifest } from './support/manifest-fixture';
import { SrpDouble } from './support/srp-double';
import { REGION, startTestingServices, TestingServices } from './support/testing-services';

const POOL = `${REGION}_Amplify1`;
const CLIENT = 'amplify-web-client';
const PASSWORD = 'Sam-Amplify-Passw0rd!';
const SECRET = `arn:aws:secretsmanager:${REGION}:111111111111:secret:amplify-sam-AbCdEf`;
const ORIGIN = 'http://localhost:3000';

// Amplify warns at every configure that the endpoint is a custom one: it is, on purpose.
ConsoleLogger.LOG_LEVEL = 'ERROR';

let double: SrpDouble;
let services: TestingServices;
let users: SeededUsers;

/** A browser's localStorage for one origin, as Amplify sees it through its storage interface. */
class OriginStorage implements KeyValueStorageInterface {
  readonly items: Map<string, string>;
  constructor(entries: readonly { name: string; value: string }[] = []) {
    this.items = new Map(entries.map((e) => [e.name, e.value]));
  }
  async setItem(key: string, value: string): Promise<void> {
    this.items.set(key, value);
  }
  async getItem(key: string): Promise<string | null> {
    return this.items.get(key) ?? null;
  }
  async removeItem(key: string): Promise<void> {
    this.items.delete(key);
  }
  async clear(): Promise<void> {
    this.items.clear();
  }
}

/** Amplify configured as a web app of that pool and client, keeping its tokens in `storage`. */
function startApp(storage: OriginStorage): void {
  const config = { Cognito: { userPoolId: POOL, userPoolClientId: CLIENT, userPoolEndpoint: double.endpoint } };
  // What `Amplify.configure` of the aws-amplify package does, with this storage for the browser's.
  cognitoUserPoolsTokenProvider.setAuthConfig(config);
  cognitoUserPoolsTokenProvider.setKeyValueStorage(storage);
  Amplify.configure({ Auth: config }, { Auth: { tokenProvider: cognitoUserPoolsTokenProvider } });
}

/** The localStorage entries of a storageState for ORIGIN. */
async function storageStateEntries(): Promise<{ name: string; value: string }[]> {
  const state = await users.storageState('sam', { origin: ORIGIN, flow: 'USER_SRP_AUTH' });
  expect(state.origins.map((o) => o.origin)).toEqual([ORIGIN]);
  return state.origins[0].localStorage;
}

beforeAll(async () => {
  double = new SrpDouble(POOL);
  await double.start();
  double.addClient(CLIENT, ['ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']);
  double.addUser('sam', PASSWORD);
  services = await startTestingServices(double.endpoint);
  services.standIn.secrets.set(SECRET, PASSWORD);
  await createLedgerTable(services.dynamodb, 'ledger-amplify');
  await writeManifest(services, {
    stackName: 'Web',
    seederPath: 'Users/Seeder',
    table: 'ledger-amplify',
    manifest: manifestOf({
      owner: 'UsersSeederWeb1',
      userPoolId: POOL,
      clientId: CLIENT,
      sources: [{ type: 'secretsmanager', secretArn: SECRET }],
      users: [{ username: 'sam', mode: 'PERMANENT', groups: [], password: 0 }],
    }),
  });
  users = await SeededUsers.load({ stackName: 'Web' });
}, 60_000);

afterAll(async () => {
  users?.destroy();
  await services?.stop();
  await double?.stop();
});

test('Amplify starts signed in from a storageState: the user and the tokens, without calling Cognito', async () => {
  // GIVEN a browser whose localStorage holds the storageState
  const entries = await storageStateEntries();
  const storage = new OriginStorage(entries);
  const before = { ...double.counts };

  // WHEN the app starts
  startApp(storage);
  const user = await getCurrentUser();
  const session = await fetchAuthSession();

  // THEN Amplify has the seeded user, signed in with exactly those tokens
  expect(user).toMatchObject({ username: 'sam', userId: double.sub('sam') });
  const value = (key: string) => entries.find((e) => e.name === `${AMPLIFY_KEY_PREFIX}.${CLIENT}.sam.${key}`)?.value;
  expect(session.tokens?.idToken?.toString()).toBe(value('idToken'));
  expect(session.tokens?.accessToken.toString()).toBe(value('accessToken'));
  expect(session.userSub).toBe(double.sub('sam'));
  expect(double.counts).toEqual(before);
});

test("Amplify refreshes the session with the storageState's refresh token, for its app client", async () => {
  // GIVEN
  const entries = await storageStateEntries();
  const storage = new OriginStorage(entries);
  const accessKey = `${AMPLIFY_KEY_PREFIX}.${CLIENT}.sam.accessToken`;
  const refreshed = double.counts.refreshed;
  startApp(storage);

  // WHEN the app refreshes, as it does when the access token expires
  const session = await fetchAuthSession({ forceRefresh: true });

  // THEN Cognito issued new tokens for that refresh token and client, and Amplify stored them
  expect(double.counts.refreshed).toBe(refreshed + 1);
  const accessToken = session.tokens?.accessToken.toString();
  expect(accessToken).toBeDefined();
  expect(accessToken).not.toBe(entries.find((e) => e.name === accessKey)?.value);
  expect(storage.items.get(accessKey)).toBe(accessToken);
  expect((await getCurrentUser()).username).toBe('sam');
});

test("Amplify's own sign-in stores the keys a storageState writes, with the same user", async () => {
  // GIVEN an app with empty storage
  const storage = new OriginStorage();
  startApp(storage);

  // WHEN the user signs in through Amplify (USER_SRP_AUTH, Amplify's default)
  const result = await signIn({ username: 'sam', password: PASSWORD });

  // THEN Amplify wrote what storageState writes (and its own sign-in details, which it can do without)
  expect(result.isSignedIn).toBe(true);
  const written = [...storage.items.keys()].filter((key) => !key.endsWith('.signInDetails')).sort();
  const entries = await storageStateEntries();
  expect(written).toEqual(entries.map((e) => e.name).sort());
  const lastAuthUser = `${AMPLIFY_KEY_PREFIX}.${CLIENT}.LastAuthUser`;
  expect(storage.items.get(lastAuthUser)).toBe(entries.find((e) => e.name === lastAuthUser)?.value);
  expect(storage.items.get(`${AMPLIFY_KEY_PREFIX}.${CLIENT}.sam.clockDrift`)).toMatch(/^-?\d+$/);
});
