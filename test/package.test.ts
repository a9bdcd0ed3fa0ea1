// The package as a user gets it: `npm pack` (its prepack builds, so nothing stale or
// missing ships), the tarball's content, a fresh CDK app elsewhere that installs the
// tarball and synthesizes a stack with it, and a test runner's project that installs the
// tarball alone (no CDK) and signs in with cdk-cognito-seeder/testing.
import { execFile, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { jwtClaims } from '../testing/browser-storage';
import { createLedgerTable, manifestOf, writeManifest } from './support/manifest-fixture';
import { createPoolAndClient, createUser, startTestingServices } from './support/testing-services';

const root = path.join(__dirname, '..');
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });

// Async: the local services a test starts run in this process and must go on answering.
const execFileAsync = promisify(execFile);

let work: string;
let tarball: string;
let files: string[];

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-pack-'));
  // Lifecycle scripts run: prepack cleans dist/, compiles with jsii and bundles the handler.
  const output = npm(['pack', '--json', '--pack-destination', work], root);
  // The build's own output comes first; npm's JSON report is the last thing printed.
  const [packed] = JSON.parse(output.slice(output.search(/^\[\s*\{/m)));
  tarball = path.join(work, packed.filename);
  files = packed.files.map((f: { path: string }) => f.path).sort();
}, 240_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('the tarball holds the licence, notice, jsii assembly, compiled library with types, and the bundle with its licences', () => {
  expect(files).toEqual(
    expect.arrayContaining([
      'LICENSE',
      'NOTICE',
      'README.md',
      'package.json',
      '.jsii',
      'assets/seed-handler/index.js',
      'assets/seed-handler/THIRD-PARTY-LICENSES.txt',
      'dist/lib/index.js',
      'dist/lib/index.d.ts',
      'dist/lib/private/seed-function.js',
      'dist/testing/index.js',
      'dist/testing/index.d.ts',
      'dist/testing/cli.js',
      'dist/testing/THIRD-PARTY-LICENSES.txt',
      'dist/rehearse/index.js',
      'dist/rehearse/index.d.ts',
      'dist/rehearse/emulator-process.js',
      'dist/rehearse/invoke-runner.js',
      'dist/rehearse/THIRD-PARTY-LICENSES.txt',
    ]),
  );
  // Every library source compiles into the package, with its types.
  for (const source of fs.readdirSync(path.join(root, 'lib')).filter((f) => f.endsWith('.ts'))) {
    const base = `dist/lib/${source.replace(/\.ts$/, '')}`;
    expect(files).toEqual(expect.arrayContaining([`${base}.js`, `${base}.d.ts`]));
  }
});

test('the tarball holds no tests, rehearsal, handler sources, examples, scripts or development files', () => {
  const allowed =
    /^(LICENSE|NOTICE|README\.md|package\.json|\.jsii|assets\/seed-handler\/[^/]+|dist\/lib\/.+\.(js|d\.ts)|dist\/testing\/(index\.js|cli\.js|THIRD-PARTY-LICENSES\.txt|[\w-]+\.d\.ts)|dist\/rehearse\/(index\.js|index\.d\.ts|emulator-process\.js|invoke-runner\.js|THIRD-PARTY-LICENSES\.txt))$/;
  expect(files.filter((f) => !allowed.test(f))).toEqual([]);
  expect(files.filter((f) => /^(test|rehearsal|lambda|examples|scripts)\//.test(f) || /\.test\./.test(f))).toEqual([]);
});

test('the package runs no install-time script, and declares where it comes from', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) {
    expect(manifest.scripts[script]).toBeUndefined();
  }
  expect(manifest.scripts.prepack).toBe('npm run build');
  expect(manifest).toMatchObject({
    license: 'Apache-2.0',
    repository: { url: expect.stringMatching(/github\.com/) },
    homepage: expect.any(String),
    bugs: { url: expect.any(String) },
    author: { name: expect.any(String) },
    keywords: expect.arrayContaining(['cdk', 'awscdk', 'aws-cdk', 'cognito']),
    exports: {
      '.': expect.any(Object),
      './testing': { types: './dist/testing/index.d.ts', default: './dist/testing/index.js' },
      './rehearse': { types: './dist/rehearse/index.d.ts', default: './dist/rehearse/index.js' },
      './package.json': './package.json',
    },
    bin: { 'cdk-cognito-seeder': 'dist/testing/cli.js' },
  });
  // The testing module is bundled: the package has no runtime dependency to install.
  expect(manifest.dependencies).toBeUndefined();
  expect(manifest.bundledDependencies ?? manifest.bundleDependencies).toBeUndefined();
  // The .d.ts files hold no @internal type.
  const declarations = fs.readFileSync(path.join(root, 'dist', 'lib', 'seed-password.d.ts'), 'utf8');
  expect(declarations).not.toMatch(/@internal|SeedPasswordBinding|_bind/);
});

test('a fresh CDK app in another directory installs the tarball and synthesizes a SeededUserPool', () => {
  // GIVEN an app that depends on the tarball and on the aws-cdk-lib and constructs of this lockfile
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const version = (name: string) => lock.packages[`node_modules/${name}`].version;
  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({
      name: 'consumer',
      private: true,
      dependencies: {
        'aws-cdk-lib': version('aws-cdk-lib'),
        constructs: version('constructs'),
        'cdk-cognito-seeder': `file:${tarball}`,
      },
    }),
  );
  fs.writeFileSync(
    path.join(app, 'app.js'),
    `const { App, Stack } = require('aws-cdk-lib');
const { PasswordMode, SeededUserPool, SeedPassword } = require('cdk-cognito-seeder');
const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, 'Consumer');
const pool = new SeededUserPool(stack, 'Users', { passwordPolicy: { minLength: 12 } });
pool.addUser({ username: 'qa', mode: PasswordMode.PERMANENT, password: SeedPassword.generate() });
app.synth();
`,
  );

  // WHEN
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], app);
  execFileSync(process.execPath, ['app.js'], { cwd: app, stdio: 'pipe' });

  // THEN one seed resource, the seeding function and its failure answerer, and their handler asset staged from the package
  const template = JSON.parse(fs.readFileSync(path.join(app, 'cdk.out', 'Consumer.template.json'), 'utf8'));
  const types = Object.values(template.Resources).map((r: any) => r.Type);
  expect(types.filter((t) => t === 'Custom::CognitoUserSeed')).toHaveLength(1);
  const handlers = Object.values(template.Resources)
    .filter((r: any) => r.Type === 'AWS::Lambda::Function')
    .map((r: any) => r.Properties.Handler)
    .sort();
  expect(handlers).toEqual(['index.handler', 'index.onFailure']);
  const staged = fs.readdirSync(path.join(app, 'cdk.out')).filter((f) => f.startsWith('asset.'));
  expect(staged.some((dir) => fs.existsSync(path.join(app, 'cdk.out', dir, 'index.js')))).toBe(true);
  // The package's exports: the main entry and package.json, nothing deeper.
  const resolve = (request: string) =>
    execFileSync(process.execPath, ['-e', `console.log(require.resolve(${JSON.stringify(request)}))`], {
      cwd: app,
      encoding: 'utf8',
      stdio: 'pipe',
    });
  expect(resolve('cdk-cognito-seeder/package.json')).toMatch(/package\.json/);
  expect(() => resolve('cdk-cognito-seeder/dist/lib/private/seed-function')).toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
}, 240_000);

test('the package root exports at run time exactly the classes and enums of its jsii assembly', () => {
  // GIVEN the app installed by the previous test
  const app = path.join(work, 'app');
  const assembly = JSON.parse(fs.readFileSync(path.join(app, 'node_modules/cdk-cognito-seeder/.jsii'), 'utf8'));
  const types = Object.values(assembly.types as Record<string, { kind: string; name: string; namespace?: string }>);
  const api = types.filter((t) => t.kind !== 'interface' && t.namespace === undefined).map((t) => t.name);

  // WHEN
  const exported = execFileSync(
    process.execPath,
    ['-e', `console.log(JSON.stringify(Object.keys(require('cdk-cognito-seeder'))))`],
    { cwd: app, encoding: 'utf8', stdio: 'pipe' },
  );

  // THEN no internal helper (a function, a constant) rides along with the public API
  expect(JSON.parse(exported).sort()).toEqual(api.sort());
  expect(api).toEqual(expect.arrayContaining(['PasswordMode', 'SeedPassword', 'UserSeeder', 'SeededUserPool']));
});

test('the installed package resolves cdk-cognito-seeder/testing, with its types, and links its CLI', () => {
  // GIVEN the app installed by the previous test
  const app = path.join(work, 'app');
  const node = (script: string) =>
    execFileSync(process.execPath, ['-e', script], { cwd: app, encoding: 'utf8', stdio: 'pipe' });

  // THEN the module loads from its bundle, with no aws-cdk-lib in it
  expect(node(`console.log(require.resolve('cdk-cognito-seeder/testing'))`)).toMatch(/dist\/testing\/index\.js/);
  expect(node(`const t = require('cdk-cognito-seeder/testing'); console.log(typeof t.SeededUsers.load)`)).toBe(
    'function\n',
  );
  const bundle = fs.readFileSync(path.join(app, 'node_modules/cdk-cognito-seeder/dist/testing/index.js'), 'utf8');
  expect(bundle).not.toMatch(/require\("(aws-cdk-lib|constructs|otpauth|cognito-srp-helper|@aws-sdk\/client-[^"]+)"\)/);
  // and npm linked the CLI
  const help = execFileSync(path.join(app, 'node_modules', '.bin', 'cdk-cognito-seeder'), ['--help'], {
    encoding: 'utf8',
  });
  expect(help).toMatch(/^Usage: cdk-cognito-seeder <command>/);
  // and TypeScript finds the types with the classic (node10) and the node16 resolution
  fs.writeFileSync(
    path.join(app, 'check.ts'),
    `import { SeededUsers, SeededTokens } from 'cdk-cognito-seeder/testing';
export async function token(): Promise<string> {
  const users = await SeededUsers.load({ stackName: 'Qa', seeder: 'Users/Seeder' });
  const tokens: SeededTokens = await users.signIn(users.usernames[0], { flow: 'USER_SRP_AUTH' });
  return tokens.idToken;
}
`,
  );
  // (typesVersions maps the subpath for node10; the root's types must still resolve beside it)
  fs.writeFileSync(
    path.join(app, 'check-root.ts'),
    `import { PasswordMode } from 'cdk-cognito-seeder';\nexport const mode: string = PasswordMode.TEMPORARY;\n`,
  );
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const [module, moduleResolution] of [
    ['commonjs', 'node10'],
    ['node16', 'node16'],
  ]) {
    const config = `tsconfig.${moduleResolution}.json`;
    // skipLibCheck: aws-cdk-lib's declarations need @types/node, which this app does not install.
    const compilerOptions = { noEmit: true, strict: true, skipLibCheck: true, types: [], module, moduleResolution };
    const files = moduleResolution === 'node10' ? ['check.ts', 'check-root.ts'] : ['check.ts'];
    fs.writeFileSync(
      path.join(app, config),
      JSON.stringify({ compilerOptions: { ...compilerOptions, target: 'es2022' }, files }),
    );
    execFileSync(process.execPath, [tsc, '-p', config], { cwd: app, encoding: 'utf8', stdio: 'pipe' });
  }
}, 60_000);

test('a test-runner project installs the tarball alone, with no aws-cdk-lib or constructs, and loads the manifest, signs in and runs the CLI', async () => {
  // GIVEN a project that depends on the tarball only. Its peers are optional
  // (peerDependenciesMeta), so a plain `npm install` installs neither: no --omit=peer needed.
  const project = path.join(work, 'test-runner');
  fs.mkdirSync(project);
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'test-runner', private: true, dependencies: { 'cdk-cognito-seeder': `file:${tarball}` } }),
  );
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], project);
  expect(fs.readdirSync(path.join(project, 'node_modules')).sort()).toEqual([
    '.bin',
    '.package-lock.json',
    'cdk-cognito-seeder',
  ]);
  // (jest's process.env is the test's own: pass it, with the local services' endpoints)
  const run = async (file: string, args: string[]) =>
    (await execFileAsync(file, args, { cwd: project, env: process.env })).stdout;
  // The construct side needs the CDK, as it says:
  await expect(run(process.execPath, ['-e', `require('cdk-cognito-seeder')`])).rejects.toThrow(
    /Cannot find module 'aws-cdk-lib/,
  );

  // and a seeded user, with its manifest, on the local services
  const services = await startTestingServices();
  try {
    const { userPoolId, clientId } = await createPoolAndClient(services.cognito);
    const password = 'Tess-Passw0rd!runner';
    await createUser(services.cognito, userPoolId, 'tess', password, 'PERMANENT');
    const secretArn = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:runner-AbCdEf';
    services.standIn.secrets.set(secretArn, password);
    await createLedgerTable(services.dynamodb, 'ledger-runner');
    await writeManifest(services, {
      stackName: 'Runner',
      seederPath: 'Users/Seeder',
      table: 'ledger-runner',
      manifest: manifestOf({
        owner: 'UsersSeederRunner',
        userPoolId,
        clientId,
        sources: [{ type: 'secretsmanager', secretArn }],
        users: [{ username: 'tess', mode: 'PERMANENT', groups: ['qa'], password: 0 }],
      }),
    });

    // WHEN the project's own code loads the manifest and signs in through the installed module
    const script = `const { SeededUsers } = require('cdk-cognito-seeder/testing');
(async () => {
  const users = await SeededUsers.load({ stackName: 'Runner' });
  const { accessToken } = await users.signIn('tess');
  const claims = JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString());
  console.log(JSON.stringify({ usernames: users.usernames, username: claims.username }));
  users.destroy();
})().catch((error) => { console.error(error); process.exit(1); });`;
    const signedIn = JSON.parse(await run(process.execPath, ['-e', script]));
    // and runs the CLI that npm linked
    const cli = path.join(project, 'node_modules', '.bin', 'cdk-cognito-seeder');
    const listed = await run(cli, ['list', 'Runner']);
    const tokens = JSON.parse(await run(cli, ['tokens', 'Runner', 'tess', '--format', 'json']));
    const version = await run(cli, ['--version']);
    // and rehearse, whose packages a test-runner project need not install, says which to install
    const rehearseModule = await run(process.execPath, [
      '-e',
      `console.log(typeof require('cdk-cognito-seeder/rehearse').rehearse)`,
    ]);
    const rehearsing = await run(cli, ['rehearse', 'cdk.out', 'Runner']).then(
      () => 'exit 0',
      (error: { code: number; stderr: string }) => `exit ${error.code}: ${error.stderr}`,
    );

    // THEN
    expect(signedIn).toEqual({ usernames: ['tess'], username: 'tess' });
    expect(listed).toMatch(/^1 users of UsersSeederRunner in pool .*\nUSERNAME .*\ntess +PERMANENT +qa +no\n$/);
    expect(jwtClaims(tokens.accessToken).username).toBe('tess');
    expect(version).toBe(`${JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version}\n`);
    expect(fs.existsSync(path.join(project, 'node_modules', 'aws-cdk-lib'))).toBe(false);
    expect(rehearseModule).toBe('function\n');
    expect(rehearsing).toMatch(
      /^exit 1: cdk-cognito-seeder: rehearse runs on cognito-local, dynalite, aws-local-stepfunctions, .*missing here: cognito-local, dynalite, aws-local-stepfunctions\. Install them beside cdk-cognito-seeder: npm install --save-dev cognito-local@5\.3\.0 dynalite@4\.0\.0 aws-local-stepfunctions@3\.0\.0\n$/,
    );
  } finally {
    await services.stop();
  }
}, 120_000);

test('a new app outside the repository rehearses its own stack with one command, and its jest suite passes against it with no AWS account', async () => {
  // GIVEN an app as `cdk init app --language typescript` writes it (bin/, lib/, test/, cdk.json,
  // jest.config.js), with a SeededUserPool, the tarball installed from npm, and the packages a
  // rehearsal runs on. Those and the app's tooling are this repository's own copies, at the
  // versions its lockfile pins, linked in rather than downloaded again (the test's time).
  const app = path.join(work, 'rehearse-app');
  const stackName = 'RehearseAppStack';
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(app, file)), { recursive: true });
    fs.writeFileSync(path.join(app, file), text);
  };
  write(
    'package.json',
    JSON.stringify({
      name: 'rehearse-app',
      version: '0.1.0',
      private: true,
      bin: { 'rehearse-app': 'bin/app.js' },
      scripts: { test: 'jest', cdk: 'cdk' },
      dependencies: { 'cdk-cognito-seeder': `file:${tarball}` },
    }),
  );
  write(
    'bin/app.ts',
    `#!/usr/bin/env node
import * as cdk from 'aws-cdk-lib';
import { RehearseAppStack } from '../lib/stack';

const app = new cdk.App();
new RehearseAppStack(app, '${stackName}', {});
`,
  );
  write(
    'lib/stack.ts',
    `import * as cdk from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { PasswordMode, SeededUserPool, SeedPassword } from 'cdk-cognito-seeder';

export class RehearseAppStack extends cdk.Stack {
  constructor(scope: Construct, id: string, props?: cdk.StackProps) {
    super(scope, id, props);
    const pool = new SeededUserPool(this, 'Users', {
      passwordPolicy: { minLength: 14 },
      removalPolicy: cdk.RemovalPolicy.DESTROY,
    });
    const client = pool.addClient('Web', { authFlows: { userPassword: true, userSrp: true } });
    pool.seeder.useSignInClient(client);
    new cdk.aws_cognito.CfnUserPoolGroup(this, 'Admins', { userPoolId: pool.userPoolId, groupName: 'admins' });
    pool.addUser({ username: 'alice', mode: PasswordMode.PERMANENT, password: SeedPassword.generate(), groups: ['admins'] });
    pool.addUser({ username: 'bob', mode: PasswordMode.TEMPORARY, password: SeedPassword.generate() });
  }
}
`,
  );
  write(
    'cdk.json',
    JSON.stringify(
      { app: 'npx ts-node --prefer-ts-exts bin/app.ts', watch: { include: ['**'] }, context: {} },
      null,
      2,
    ),
  );
  write(
    'tsconfig.json',
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['es2022'],
        declaration: true,
        strict: true,
        noImplicitAny: true,
        strictNullChecks: true,
        noImplicitThis: true,
        alwaysStrict: true,
        inlineSourceMap: true,
        inlineSources: true,
        experimentalDecorators: true,
        strictPropertyInitialization: false,
        typeRoots: ['./node_modules/@types'],
        skipLibCheck: true,
      },
      exclude: ['node_modules', 'cdk.out'],
    }),
  );
  write(
    'jest.config.js',
    `module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\\\.tsx?$': ['ts-jest', { isolatedModules: true }] },
  // The variables \`cdk-cognito-seeder rehearse --env-out .env.rehearse\` wrote.
  setupFiles: ['<rootDir>/test/rehearsal-env.js'],
};
`,
  );
  // (jest gives each test file its own copy of process.env: assign to it, not to the real one)
  write(
    'test/rehearsal-env.js',
    `const { readFileSync } = require('fs');
const { parseEnv } = require('util');
Object.assign(process.env, parseEnv(readFileSync(require('path').join(__dirname, '..', '.env.rehearse'), 'utf8')));
`,
  );
  write(
    'test/users.test.ts',
    `import { SeededUsers } from 'cdk-cognito-seeder/testing';

let users: SeededUsers;
beforeAll(async () => {
  users = await SeededUsers.load({ stackName: '${stackName}' });
});
afterAll(() => users.destroy());

test('the seeded users are there', () => {
  expect([...users.usernames].sort()).toEqual(['alice', 'bob']);
});

test('alice signs in, and her token says she is an admin', async () => {
  const { idToken } = await users.signIn('alice');
  const claims = JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url').toString());
  expect(claims['cognito:username']).toBe('alice');
  expect(claims['cognito:groups']).toEqual(['admins']);
});

test('bob answers NEW_PASSWORD_REQUIRED, and is re-armed for the next run', async () => {
  expect((await users.signIn('bob')).accessToken).toBeTruthy();
  await users.rearm('bob');
  expect((await users.signIn('bob')).accessToken).toBeTruthy();
  await users.rearm('bob');
});
`,
  );
  const installStarted = Date.now();
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], app);
  const modules = path.join(app, 'node_modules');
  const tooling = ['aws-cdk', 'aws-cdk-lib', 'constructs', 'jest', 'ts-jest', 'ts-node', 'typescript', '@types/jest'];
  const peers = ['cognito-local', 'dynalite', 'aws-local-stepfunctions'];
  for (const name of [...tooling, ...peers]) {
    fs.mkdirSync(path.dirname(path.join(modules, name)), { recursive: true });
    fs.symlinkSync(path.join(root, 'node_modules', name), path.join(modules, name), 'dir');
  }
  for (const [bin, target] of [
    ['cdk', '../aws-cdk/bin/cdk'],
    ['jest', '../jest/bin/jest.js'],
    ['ts-node', '../ts-node/dist/bin.js'],
  ]) {
    fs.symlinkSync(target, path.join(modules, '.bin', bin));
  }
  const installMs = Date.now() - installStarted;
  // No AWS account: no credentials, no profile; nothing here may reach AWS.
  const env: NodeJS.ProcessEnv = {
    PATH: `${path.join(modules, '.bin')}${path.delimiter}${process.env.PATH}`,
    HOME: work,
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: path.join(work, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(work, 'no-aws-credentials'),
  };
  const timed = async (file: string, args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const started = Date.now();
    const out = await execFileAsync(file, args, { cwd: app, env: { ...env, ...extra }, maxBuffer: 16 << 20 });
    return { ...out, ms: Date.now() - started };
  };

  // WHEN the user synthesizes, rehearses with one command, and runs their own jest suite
  const synth = await timed('npx', ['cdk', 'synth', '--quiet', '--no-notices', '--no-version-reporting']);
  // The bin npm linked, as npx would run it; not through npx, which does not pass SIGTERM on.
  const rehearsal = spawn(
    path.join(modules, '.bin', 'cdk-cognito-seeder'),
    ['rehearse', 'cdk.out', stackName, '--env-out', '.env.rehearse', '--hold'],
    { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let said = '';
  rehearsal.stdout!.on('data', (c) => (said += c));
  rehearsal.stderr!.on('data', (c) => (said += c));
  const exited = new Promise<number | null>((resolve) => rehearsal.on('exit', (code) => resolve(code)));
  const rehearseStarted = Date.now();
  try {
    while (!fs.existsSync(path.join(app, '.env.rehearse'))) {
      if (rehearsal.exitCode !== null) throw new Error(`rehearse exited: ${said}`);
      if (Date.now() - rehearseStarted > 60_000) throw new Error(`rehearse took over 60 s: ${said}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const rehearseMs = Date.now() - rehearseStarted;
    const jest = await timed('npx', ['jest', '--ci']).catch((error: { stdout: string; stderr: string }) => {
      throw new Error(`the app's jest failed:\n${error.stdout}\n${error.stderr}\nrehearse said:\n${said}`);
    });
    rehearsal.kill('SIGTERM');
    const code = await exited;

    // THEN
    process.stdout.write(
      `outside app: install ${installMs} ms, cdk synth ${synth.ms} ms, rehearse ready ${rehearseMs} ms, jest ${jest.ms} ms\n`,
    );
    expect(jest.stderr).toMatch(/Tests: +3 passed, 3 total/);
    expect(said).toMatch(/seeded 2 users through 1 seed resource/);
    expect(said).toMatch(/filled secret \w+ \(generated by CloudFormation\)/);
    expect(said).toMatch(/not rehearsed: USER_SRP_AUTH/);
    expect(said).toMatch(/SIGTERM: stopping\nrehearse: stopped\n$/);
    expect(code).toBe(0);
    expect(fs.existsSync(path.join(app, '.env.rehearse'))).toBe(false);
    // the SDK's Node-version notice stays out of the user's output
    expect(`${synth.stderr}${jest.stderr}${said}`).not.toMatch(/NodeVersionSupportWarning|no longer support/);
  } finally {
    if (rehearsal.exitCode === null) rehearsal.kill('SIGKILL');
  }
}, 300_000);
