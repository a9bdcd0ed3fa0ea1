// The package as a user gets it: `npm pack` (its prepack builds, so nothing stale or
// missing ships), the tarball's content, a fresh CDK app elsewhere that installs the
// tarball and synthesizes a stack with it, and a test runner's project that installs the
// tarball alone (no CDK) and signs in with cdk-cognito-seeder/testing.
import { execFile, execFileSync } from 'child_process';
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
    /^(LICENSE|NOTICE|README\.md|package\.json|\.jsii|assets\/seed-handler\/[^/]+|dist\/lib\/.+\.(js|d\.ts)|dist\/testing\/(index\.js|cli\.js|THIRD-PARTY-LICENSES\.txt|[\w-]+\.d\.ts))$/;
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

  // THEN one seed resource, one function, and its handler asset staged from the package
  const template = JSON.parse(fs.readFileSync(path.join(app, 'cdk.out', 'Consumer.template.json'), 'utf8'));
  const types = Object.values(template.Resources).map((r: any) => r.Type);
  expect(types.filter((t) => t === 'Custom::CognitoUserSeed')).toHaveLength(1);
  expect(types.filter((t) => t === 'AWS::Lambda::Function')).toHaveLength(1);
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

    // THEN
    expect(signedIn).toEqual({ usernames: ['tess'], username: 'tess' });
    expect(listed).toMatch(/^1 users of UsersSeederRunner in pool .*\nUSERNAME .*\ntess +PERMANENT +qa +no\n$/);
    expect(jwtClaims(tokens.accessToken).username).toBe('tess');
    expect(version).toBe(`${JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version}\n`);
    expect(fs.existsSync(path.join(project, 'node_modules', 'aws-cdk-lib'))).toBe(false);
  } finally {
    await services.stop();
  }
}, 120_000);
