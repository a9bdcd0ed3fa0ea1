// The pool client's pacing beyond the four configurable categories: pre-flight reads of the
// pool and its groups at their own fixed quotas, and Cognito's limit of 10 writes a second
// to one user.
import {
  AdminAddUserToGroupCommand,
  AdminGetUserCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
  DescribeUserPoolCommand,
  GetGroupCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { mockClient } from 'aws-sdk-client-mock';
import { CognitoPool, FIXED_RATES, PER_USER_WRITE_INTERVAL_MS } from '../lambda/cognito';
import { StopSignal } from '../lambda/pace';
import { DEFAULT_RATES } from '../lambda/properties';

const client = new CognitoIdentityProviderClient({ region: 'us-east-1' });
const mock = mockClient(client);
const times: Record<string, number[]> = {};
const note = (name: string) => async () => {
  (times[name] ??= []).push(Date.now());
  return {};
};

beforeEach(() => {
  mock.reset();
  for (const key of Object.keys(times)) delete times[key];
  mock.on(GetGroupCommand).callsFake(note('GetGroup'));
  mock.on(DescribeUserPoolCommand).callsFake(note('DescribeUserPool'));
  mock.on(AdminSetUserPasswordCommand).callsFake(note('AdminSetUserPassword'));
  mock.on(AdminAddUserToGroupCommand).callsFake(note('AdminAddUserToGroup'));
  mock.on(AdminGetUserCommand).callsFake(note('AdminGetUser'));
});

const pool = () => new CognitoPool(client, 'us-east-1_P', DEFAULT_RATES, new StopSignal());

test('GetGroup is paced at the per-pool UserPoolResourceRead quota (5/s), apart from the other reads', async () => {
  const p = pool();
  const started = Date.now();
  await Promise.all([
    ...Array.from({ length: 6 }, (_, i) => p.groupExists(`g${i}`)),
    ...Array.from({ length: 6 }, (_, i) => p.getUser(`u${i}`)),
  ]);
  // Six group reads at 5/s span a second; six user reads at 120/s are not held behind them.
  expect(FIXED_RATES.groupRead).toBe(5);
  expect(times.GetGroup.at(-1)! - started).toBeGreaterThanOrEqual(950);
  expect(times.AdminGetUser.at(-1)! - started).toBeLessThan(times.GetGroup.at(-1)! - started - 500);
});

test('writes to one user are at least 100 ms apart; writes to different users are not held', async () => {
  const p = pool();
  await p.setPassword('alice', 'irrelevant-Passw0rd!', true);
  await p.addToGroup('alice', 'admins');
  await p.addToGroup('alice', 'testers');
  const [a, b, c] = [times.AdminSetUserPassword[0], ...times.AdminAddUserToGroup];
  expect(b - a).toBeGreaterThanOrEqual(PER_USER_WRITE_INTERVAL_MS - 2);
  expect(c - b).toBeGreaterThanOrEqual(PER_USER_WRITE_INTERVAL_MS - 2);

  const started = Date.now();
  await Promise.all(['b1', 'b2', 'b3', 'b4'].map((u) => p.addToGroup(u, 'admins')));
  // Four users at the UserUpdate rate (25/s): 120 ms, not four per-user intervals.
  expect(Date.now() - started).toBeLessThan(300);
});

test('a write that reaches Cognito late still leaves 100 ms before the next write to that user arrives', async () => {
  // GIVEN a password call that arrives 40 ms after it is sent (the SDK's middleware, the
  // network) and is answered at once
  mock.on(AdminSetUserPasswordCommand).callsFake(async () => {
    await new Promise((resolve) => setTimeout(resolve, 40));
    return note('AdminSetUserPassword')();
  });
  const p = pool();

  // WHEN the same user is written again at once
  await p.setPassword('alice', 'irrelevant-Passw0rd!', true);
  await p.addToGroup('alice', 'admins');

  // THEN Cognito sees the two writes at least the per-user interval apart, not 60 ms
  expect(times.AdminAddUserToGroup[0] - times.AdminSetUserPassword[0]).toBeGreaterThanOrEqual(
    PER_USER_WRITE_INTERVAL_MS - 2,
  );
});
