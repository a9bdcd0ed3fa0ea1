import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { PasswordMode, SeedPassword, UserSeeder } from '../lib';

const fixtures = path.join(__dirname, 'fixtures');

function tempFile(name: string, text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'users-file-')), name);
  fs.writeFileSync(file, text);
  return file;
}

test('reads a CSV population: quoted fields, groups split on ;, other columns as attributes, the default mode', () => {
  const password = SeedPassword.generate();
  const users = UserSeeder.usersFromFile(path.join(fixtures, 'users.csv'), {
    password,
    mode: PasswordMode.TEMPORARY,
    groups: ['all'],
  });

  expect(users).toEqual([
    {
      username: 'ann',
      mode: 'PERMANENT',
      password,
      attributes: { given_name: 'Ann', email: 'ann@example.com', email_verified: 'true' },
      groups: ['all', 'admins', 'testers'],
    },
    {
      username: 'bob,jr',
      mode: 'TEMPORARY',
      password,
      attributes: { given_name: 'Bob "B"' },
      groups: ['all', 'testers'],
    },
    {
      username: 'carl',
      mode: 'RESET_REQUIRED',
      password: undefined,
      attributes: { email: 'carl@example.com', email_verified: 'true' },
      groups: ['all'],
    },
  ]);
});

test('reads a JSON population, and a seeder seeds it', () => {
  const stack = new Stack();
  const password = SeedPassword.generate();
  new UserSeeder(stack, 'Seeder', {
    userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', 'us-east-1_x'),
    users: UserSeeder.usersFromFile(path.join(fixtures, 'users.json'), { password, mode: PasswordMode.PERMANENT }),
  });

  Template.fromStack(stack).hasResourceProperties('Custom::CognitoUserSeed', {
    Users: [
      {
        Username: 'dee',
        Mode: 'TEMPORARY',
        Attributes: { given_name: 'Dee' },
        Groups: ['testers'],
        Password: Match.objectLike({ Source: 'secretsmanager' }),
      },
      {
        Username: 'eve',
        Mode: 'PERMANENT',
        PasswordRevision: '2',
        Password: Match.objectLike({ Source: 'secretsmanager' }),
      },
    ],
  });
});

test('fails when a file holds passwords', () => {
  const file = tempFile('leak.csv', 'username,mode,password\nann,PERMANENT,hunter2\n');
  expect(() => UserSeeder.usersFromFile(file)).toThrow(
    /leak.csv:2: a users file must not hold passwords: remove the column/,
  );
});

test('fails when a row has no mode and no default, naming the file, line and user', () => {
  const file = tempFile('nomode.csv', 'username\nann\n');
  expect(() => UserSeeder.usersFromFile(file)).toThrow(
    /nomode.csv:2: user 'ann' has mode '': give a mode column or options.mode/,
  );
});
