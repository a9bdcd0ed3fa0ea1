// Jest: call your API as seeded users. Not run by this repository's jest (its roots are
// test/); type-checked by `npm run typecheck`. In your project, import from
// 'cdk-cognito-seeder/testing'.
import { SeededUsers } from '../../testing';

const api = process.env.API_URL ?? 'https://api.example.com';
let users: SeededUsers;

beforeAll(async () => {
  // The stack's only seeder; pass seeder: 'Users/Seeder' when it has several.
  users = await SeededUsers.load({ stackName: process.env.STACK_NAME ?? 'Qa' });
});

afterAll(() => users.destroy());

test('an admin lists every order', async () => {
  const { idToken } = await users.signIn('qa-admin');
  const response = await fetch(`${api}/orders`, { headers: { authorization: idToken } });
  expect(response.status).toBe(200);
});

test('a reader may not delete an order', async () => {
  // SRP: the password never leaves this process (the app client needs authFlows.userSrp).
  const { accessToken } = await users.signIn('qa-reader', { flow: 'USER_SRP_AUTH' });
  const response = await fetch(`${api}/orders/1`, { method: 'DELETE', headers: { authorization: accessToken } });
  expect(response.status).toBe(403);
});

test('a new hire (TEMPORARY) is asked for a new password first, and is temporary again for the next run', async () => {
  try {
    // NEW_PASSWORD_REQUIRED is answered with the seeded password (pass newPassword for another).
    const { idToken } = await users.signIn('new-hire');
    expect(idToken).toBeTruthy();
  } finally {
    await users.rearm('new-hire');
  }
});

test('an MFA user signs in with its TOTP code', async () => {
  // SOFTWARE_TOKEN_MFA is answered with users.totp('mfa-user'); a second sign-in in the same
  // 30 s window waits for the next code, since Cognito takes each code once.
  const { accessToken } = await users.signIn('mfa-user');
  expect(accessToken).toBeTruthy();
});
