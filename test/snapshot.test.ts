// One full-template snapshot per README scenario. Asset hashes are masked (see
// test/support/stable-snapshot.js), so these change with the template, not the bundle.
// They complement the assertions in user-seeder.test.ts; they do not replace them.
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ExampleStack } from '../examples/example-stack';
import { PasswordMode, SeededUserPool, SeedPassword, UserSeeder } from '../lib';

test('scenario: a SeededUserPool with one user of each mode and password source (the example app)', () => {
  const stack = new ExampleStack(new App(), 'CognitoSeederExample');
  expect(Template.fromStack(stack).toJSON()).toMatchSnapshot();
});

test('scenario: seeding an existing pool, retaining users and adopting existing ones', () => {
  const stack = new Stack(new App(), 'Existing');
  const pool = cognito.UserPool.fromUserPoolId(stack, 'Pool', 'eu-west-1_EXAMPLE');
  const seeder = new UserSeeder(stack, 'Seeder', {
    userPool: pool,
    removalPolicy: RemovalPolicy.RETAIN,
    adoptExistingUsers: true,
  });
  seeder.addUser({
    username: 'qa-lead',
    mode: PasswordMode.PERMANENT,
    password: SeedPassword.fromSecret(secretsmanager.Secret.fromSecretNameV2(stack, 'Secret', 'qa/lead'), 'password'),
    groups: ['qa'],
  });
  expect(Template.fromStack(stack).toJSON()).toMatchSnapshot();
});

test('scenario: a load-test population sharing one generated password', () => {
  const stack = new Stack(new App(), 'Load');
  const shared = SeedPassword.generate();
  new SeededUserPool(stack, 'Pool', {
    users: Array.from({ length: 20 }, (_, i) => ({
      username: `load-${String(i).padStart(4, '0')}`,
      mode: PasswordMode.PERMANENT,
      password: shared,
    })),
  });
  expect(Template.fromStack(stack).toJSON()).toMatchSnapshot();
});

test('scenario: three seeders in one stack, run one after another (each seed resource depends on the previous)', () => {
  const stack = new Stack(new App(), 'Chain');
  const pool = new SeededUserPool(stack, 'Pool', {
    users: [
      {
        username: 'qa-admin',
        mode: PasswordMode.RESET_REQUIRED,
        attributes: { email: 'qa-admin@example.com', email_verified: 'true' },
      },
    ],
  });
  const password = SeedPassword.generate();
  new UserSeeder(stack, 'Testers', {
    userPool: pool,
    users: [{ username: 'tester', mode: PasswordMode.TEMPORARY, password }],
  });
  new UserSeeder(stack, 'Load', {
    userPool: pool,
    users: Array.from({ length: 3 }, (_, i) => ({ username: `load-${i}`, mode: PasswordMode.PERMANENT, password })),
  });
  expect(Template.fromStack(stack).toJSON()).toMatchSnapshot();
});
