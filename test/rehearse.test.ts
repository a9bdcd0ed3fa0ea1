// `rehearse` from a cloud assembly that `cdk synth` wrote: the module a test runner's global
// setup calls and the CLI command, against the example app's cdk.out, with the real
// synthesized asset and state machine, and a test's view through cdk-cognito-seeder/testing.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack, Stage } from 'aws-cdk-lib';
import { ExampleStack } from '../examples/example-stack';
import { PasswordMode, SeededUserPool, SeedPassword } from '../lib';
import { fromCloudAssembly } from '../rehearsal/harness';
import { checkRehearsalPackages, dotenv, rehearse, shellExports } from '../rehearsal/rehearse';
import { main } from '../testing/cli';
import { SeededUsers } from '../testing';

const STACK = 'CognitoSeederExample';
let work: string;
let assembly: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-rehearse-'));
  assembly = path.join(work, 'cdk.out');
  const app = new App({ outdir: assembly });
  new ExampleStack(app, STACK);
  app.synth();
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('rehearse seeds the stack from its cdk.out, fills what the template only references, and says what it left out', async () => {
  // GIVEN the example app's cdk.out (a RESET_REQUIRED user, an SSM parameter it only references)
  const saved = { ...process.env };
  const lines: string[] = [];

  // WHEN
  const rehearsed = await rehearse({ assembly, stack: STACK, log: (line) => lines.push(line) });
  try {
    Object.assign(process.env, rehearsed.env);
    const users = await SeededUsers.load({ stackName: STACK });
    const tokens = await users.signIn('alice');
    const srp = users.signIn('alice', { flow: 'USER_SRP_AUTH' });
    users.destroy();

    // THEN a test signs in with the variables it printed, and SRP is refused as it said
    expect(rehearsed.stackName).toBe(STACK);
    expect(users.usernames.sort()).toEqual(['alice', 'bob', 'carol', 'erin', 'frank']);
    expect(tokens.idToken).toBeTruthy();
    await expect(srp).rejects.toThrow(/unsupported/i);
    expect(Object.keys(rehearsed.env).sort()).toEqual([
      'AWS_ACCESS_KEY_ID',
      'AWS_DEFAULT_REGION',
      'AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER',
      'AWS_ENDPOINT_URL_DYNAMODB',
      'AWS_ENDPOINT_URL_LAMBDA',
      'AWS_ENDPOINT_URL_SECRETS_MANAGER',
      'AWS_ENDPOINT_URL_SSM',
      'AWS_REGION',
      'AWS_SECRET_ACCESS_KEY',
    ]);
    expect(rehearsed.filled).toEqual(
      expect.arrayContaining([expect.stringMatching(/^parameter \/cognito-seeder-example\/tester-password /)]),
    );
    expect(rehearsed.notRehearsed).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^dave \(RESET_REQUIRED, \w+\): cognito-local does not implement AdminResetUserPassword/),
        expect.stringMatching(/^USER_SRP_AUTH/),
      ]),
    );
    expect(lines.join('\n')).toMatch(/seeded 5 users through 1 seed resource/);
    // and no password in what it printed
    const password = (await SeededUsers.load({ stackName: STACK }).then((u) => u.credentials('alice'))).password;
    expect(lines.join('\n')).not.toContain(password);
  } finally {
    await rehearsed.stop();
    process.env = saved;
  }
});

test('the CLI writes the variables to --env-out, runs a command with them, and stops', async () => {
  // GIVEN
  const out = { stdout: '', stderr: '' };
  const envOut = path.join(work, '.env.rehearse');
  const seen = path.join(work, 'seen.json');
  const script = `require('fs').writeFileSync(${JSON.stringify(seen)}, JSON.stringify({ file: require('fs').readFileSync(${JSON.stringify(envOut)}, 'utf8'), ssm: process.env.AWS_ENDPOINT_URL_SSM })); process.exit(3)`;

  // WHEN
  const status = await main(['rehearse', assembly, STACK, '--env-out', envOut, '--', process.execPath, '-e', script], {
    stdout: (t) => (out.stdout += t),
    stderr: (t) => (out.stderr += t),
  });

  // THEN the command's status, the file it read while the rehearsal ran, and the file gone after
  expect(status).toBe(3);
  const { file, ssm } = JSON.parse(fs.readFileSync(seen, 'utf8'));
  expect(file).toMatch(/^AWS_REGION=us-east-1\n/m);
  expect(file).toContain(`AWS_ENDPOINT_URL_SSM=${ssm}\n`);
  expect(fs.existsSync(envOut)).toBe(false);
  expect(out.stdout).toBe('');
  expect(out.stderr).toMatch(/wrote 9 variables to .*\n.*running .*\nrehearse: stopped\n$/);
});

test('--hold keeps the rehearsal up until SIGTERM, then stops it', async () => {
  // GIVEN signals the test sends
  const listeners = new Map<string, () => void>();
  const signals = {
    once: (signal: string, listener: () => void) => listeners.set(signal, listener),
    removeListener: (signal: string) => listeners.delete(signal),
  };
  const out = { stdout: '', stderr: '' };
  const { rehearseCommand } = await import('../testing/rehearse-command');

  // WHEN
  const running = rehearseCommand(
    [assembly, STACK, '--hold'],
    { stdout: (t) => (out.stdout += t), stderr: (t) => (out.stderr += t) },
    signals,
  );
  while (!listeners.has('SIGTERM')) await new Promise((resolve) => setTimeout(resolve, 50));
  const ssm = /^export AWS_ENDPOINT_URL_SSM='(.+)'$/m.exec(out.stdout)![1];
  const held = await fetch(ssm, { method: 'POST', body: '{}' }).then((r) => r.status);
  listeners.get('SIGTERM')!();

  // THEN
  expect(await running).toBe(0);
  expect(held).toBe(400);
  expect(out.stderr).toMatch(
    /holding CognitoSeederExample's rehearsal until SIGINT or SIGTERM\nrehearse: SIGTERM: stopping\nrehearse: stopped\n$/,
  );
  await expect(fetch(ssm, { method: 'POST', body: '{}' })).rejects.toThrow();
  expect(listeners.size).toBe(0);
});

test('fails when the CLI is given --env-file, which Node itself reads', async () => {
  const err: string[] = [];
  const status = await main(['rehearse', assembly, STACK, '--env-file', 'x'], {
    stdout: () => undefined,
    stderr: (t) => err.push(t),
  });
  expect(status).toBe(2);
  expect(err.join('')).toMatch(/--env-out <path>/);
});

test('fails when a package the rehearsal runs on is missing, naming what to install', () => {
  const resolve = (name: string) => {
    if (name === 'cognito-local') throw new Error('Cannot find module');
    return name;
  };
  expect(() => checkRehearsalPackages(resolve)).toThrow(
    /missing here: cognito-local\. Install them beside cdk-cognito-seeder: npm install --save-dev cognito-local@5\.3\.0 dynalite@4\.0\.0 aws-local-stepfunctions@3\.0\.0/,
  );
});

test('the rehearsal packages it names are the ones the repository tests with', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
  const { REHEARSAL_PACKAGES } = jest.requireActual('../rehearsal/rehearse');
  for (const [name, version] of Object.entries(REHEARSAL_PACKAGES)) {
    expect(manifest.devDependencies[name]).toBe(version);
    expect(manifest.peerDependenciesMeta[name]).toEqual({ optional: true });
  }
});

test('fromCloudAssembly finds a stack by name, id or path, and its staged assets', () => {
  // GIVEN a stage's stack, whose assets are staged in the outer assembly
  const dir = path.join(work, 'staged.out');
  const app = new App({ outdir: dir });
  const stage = new Stage(app, 'Qa');
  const stack = new Stack(stage, 'Api', { stackName: 'qa-api' });
  new SeededUserPool(stack, 'Users', {
    users: [{ username: 'u', mode: PasswordMode.PERMANENT, password: SeedPassword.generate() }],
  });
  app.synth();

  // WHEN / THEN
  for (const name of ['qa-api', 'Qa/Api']) {
    const found = fromCloudAssembly(dir, name);
    expect(found.stackName).toBe('qa-api');
    expect(Object.values(found.template.Resources).some((r) => r.Type === 'Custom::CognitoUserSeed')).toBe(true);
    expect(fs.readdirSync(found.assemblyDir).some((f) => f.startsWith('asset.'))).toBe(true);
  }
});

test('fails when the directory is no cloud assembly or has no such stack', () => {
  expect(() => fromCloudAssembly(work, STACK)).toThrow(
    /is not a cloud assembly \(no manifest\.json\): run `cdk synth` first/,
  );
  expect(() => fromCloudAssembly(assembly, 'Nope')).toThrow(
    /no stack named Nope in .* \(its stacks: CognitoSeederExample\)/,
  );
});

test('dotenv and shell lines carry the values as they are', () => {
  expect(dotenv({ A: 'http://x:1' })).toBe('A=http://x:1\n');
  expect(shellExports({ A: "it's" })).toBe("export A='it'\\''s'\n");
});
