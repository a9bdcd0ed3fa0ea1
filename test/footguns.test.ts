// Behaviours a new user tripped over: a shared generated password renamed with its first
// user, a users file looked up in the working directory, a temporary directory left per
// synth, and a message that blamed the mode instead of the password's source.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { PasswordMode, SeedPassword, SeedUser, UserSeeder } from '../lib';

const pool = (stack: Stack) => cognito.UserPool.fromUserPoolId(stack, 'Pool', 'us-east-1_abc');
const user = (username: string, password: SeedPassword): SeedUser => ({
  username,
  mode: PasswordMode.PERMANENT,
  password,
});

/** The logical ids of the stack's secrets. */
function secretIds(users: (shared: SeedPassword, other: SeedPassword) => SeedUser[], id?: string): string[] {
  const stack = new Stack(new App(), 'S');
  const shared = SeedPassword.generate(id ? { id } : {});
  new UserSeeder(stack, 'Seeder', {
    userPool: pool(stack),
    users: users(shared, SeedPassword.generate({ id: 'Other' })),
  });
  return Object.keys(Template.fromStack(stack).findResources('AWS::SecretsManager::Secret')).sort();
}

describe('a shared SeedPassword.generate()', () => {
  test('keeps its secret when the first user bound to it is removed or the users are reordered', () => {
    const before = secretIds((shared) => [user('alice', shared), user('bob', shared), user('carol', shared)]);
    const withoutAlice = secretIds((shared) => [user('bob', shared), user('carol', shared)]);
    const reordered = secretIds((shared) => [user('carol', shared), user('alice', shared), user('bob', shared)]);
    expect(before).toEqual([expect.stringMatching(/^SeederGeneratedPassword[0-9A-F]{8}$/)]);
    expect(withoutAlice).toEqual(before);
    expect(reordered).toEqual(before);
  });

  test('with an id keeps its secret whatever the other generated passwords and users do', () => {
    const before = secretIds(
      (shared, other) => [user('x', other), user('alice', shared), user('bob', shared)],
      'Shared',
    );
    const after = secretIds((shared) => [user('bob', shared)], 'Shared');
    expect(before).toEqual([expect.stringMatching(/^SeederOther/), expect.stringMatching(/^SeederShared/)]);
    expect(after).toEqual([before[1]]);
  });

  test('warns when a seeder has more than one generate() without an id', () => {
    const stack = new Stack(new App(), 'S');
    new UserSeeder(stack, 'Seeder', {
      userPool: pool(stack),
      users: [user('a', SeedPassword.generate()), user('b', SeedPassword.generate())],
    });
    Annotations.fromStack(stack).hasWarning(
      '/S/Seeder',
      Match.stringLikeRegexp('more than one SeedPassword.generate\\(\\) without an id'),
    );
  });

  test('fails when two generate() of one seeder have the same id', () => {
    const stack = new Stack(new App(), 'S');
    expect(
      () =>
        new UserSeeder(stack, 'Seeder', {
          userPool: pool(stack),
          users: [user('a', SeedPassword.generate({ id: 'Pw' })), user('b', SeedPassword.generate({ id: 'Pw' }))],
        }),
    ).toThrow(
      /^S\/Seeder: user 'b': SeedPassword.generate\(\{ id: 'Pw' \}\): the seeder already has a child with that id/,
    );
  });
});

describe('usersFromFile', () => {
  test('resolves a relative path against baseDir', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'users-base-'));
    fs.writeFileSync(path.join(dir, 'users.csv'), 'username,mode\nann,RESET_REQUIRED\n');
    expect(UserSeeder.usersFromFile('users.csv', { baseDir: dir }).map((u) => u.username)).toEqual(['ann']);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("resolves a relative path against the app's entry file, not the working directory", () => {
    // GIVEN an app in another directory whose users file sits beside it, run from elsewhere
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'users-app-'));
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.writeFileSync(
      path.join(dir, 'bin', 'users.json'),
      JSON.stringify([{ username: 'ann', mode: 'RESET_REQUIRED' }]),
    );
    const lib = path.join(__dirname, '..', 'lib');
    fs.writeFileSync(
      path.join(dir, 'bin', 'app.js'),
      `require('ts-node').register({ transpileOnly: true, project: ${JSON.stringify(path.join(__dirname, '..', 'tsconfig.json'))} });
const { UserSeeder } = require(${JSON.stringify(lib)});
console.log(UserSeeder.usersFromFile('users.json').map((u) => u.username).join());`,
    );
    // WHEN
    const out = execFileSync(process.execPath, [path.join(dir, 'bin', 'app.js')], {
      cwd: os.tmpdir(),
      encoding: 'utf8',
      env: { ...process.env, NODE_PATH: path.join(__dirname, '..', 'node_modules') },
    });
    // THEN
    expect(out.trim()).toBe('ann');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('fails when the file is missing, with the path it looked at and how to fix it (no raw ENOENT)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'users-missing-'));
    let message = '';
    try {
      UserSeeder.usersFromFile('nope.csv', { baseDir: dir });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      `UserSeeder.usersFromFile('nope.csv'): no users file at ${path.join(dir, 'nope.csv')} (relative paths resolve against baseDir, ${dir}): pass an absolute path (path.join(__dirname, 'nope.csv')) or the directory it is in as baseDir.`,
    );
    expect(message).not.toMatch(/ENOENT/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('a large population', () => {
  test('stages its users file in the cloud assembly and leaves no temporary directory behind', () => {
    // GIVEN
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'large-out-'));
    const before = new Set(fs.readdirSync(os.tmpdir()));
    const app = new App({ outdir });
    const stack = new Stack(app, 'S');
    const shared = SeedPassword.generate();
    new UserSeeder(stack, 'Seeder', {
      userPool: pool(stack),
      users: Array.from({ length: 2000 }, (_, i) => user(`user-${String(i).padStart(5, '0')}`, shared)),
    });

    // WHEN
    const assembly = app.synth();

    // THEN the file is an asset of the assembly, named by its hash
    const template = assembly.getStackByName('S').template;
    const seed: any = Object.values(template.Resources).find((r: any) => r.Type === 'Custom::CognitoUserSeed');
    const { Key, Sha256 } = seed.Properties.UsersFile;
    expect(Key).toBe(`${Sha256}.json`);
    expect(fs.existsSync(path.join(outdir, `asset.${Key}`))).toBe(true);
    const assets = JSON.parse(fs.readFileSync(path.join(outdir, 'S.assets.json'), 'utf8'));
    expect(assets.files[Sha256].source).toEqual({ path: `asset.${Key}`, packaging: 'file' });
    const leftovers = fs.readdirSync(os.tmpdir()).filter((d) => !before.has(d) && d.startsWith('cognito-seed-users-'));
    expect(leftovers).toEqual([]);
    fs.rmSync(outdir, { recursive: true, force: true });
  });
});

describe('passwordSecret', () => {
  test('fails for an SSM user naming the source, not the mode', () => {
    const stack = new Stack(new App(), 'S');
    const parameter = ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'P', { parameterName: '/pw' });
    const seeder = new UserSeeder(stack, 'Seeder', {
      userPool: pool(stack),
      users: [{ username: 'bob', mode: PasswordMode.TEMPORARY, password: SeedPassword.fromSsmParameter(parameter) }],
    });
    expect(() => seeder.passwordSecret('bob')).toThrow(
      /^S\/Seeder: the password of user 'bob' is not stored in a secret: it comes from an SSM parameter \(SeedPassword.fromSsmParameter\)\./,
    );
  });
});
