// The build of cdk-cognito-seeder/testing (scripts/bundle-testing.js): self-contained, the
// same bytes on every build, and working from its own directory: the CLI runs, and the
// bundled module signs in with SRP (its inlined SRP library and random source included).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { SeededUsers } from '../testing';
import { createLedgerTable, manifestOf, writeManifest } from './support/manifest-fixture';
import { SrpDouble } from './support/srp-double';
import { startTestingServices } from './support/testing-services';

const root = path.join(__dirname, '..');
let first: string;
let second: string;

beforeAll(() => {
  first = fs.mkdtempSync(path.join(os.tmpdir(), 'testing-bundle-'));
  second = fs.mkdtempSync(path.join(os.tmpdir(), 'testing-bundle-'));
  for (const dir of [first, second]) {
    execFileSync(process.execPath, [path.join(root, 'scripts', 'bundle-testing.js'), dir], { stdio: 'pipe' });
  }
}, 60_000);

afterAll(() => {
  for (const dir of [first, second]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('two builds in different directories produce the same bytes, with no machine paths inside', () => {
  for (const name of [
    'index.js',
    'cli.js',
    'THIRD-PARTY-LICENSES.txt',
    'rehearse/index.js',
    'rehearse/index.d.ts',
    'rehearse/THIRD-PARTY-LICENSES.txt',
  ]) {
    const text = fs.readFileSync(path.join(first, name), 'utf8');
    expect(fs.readFileSync(path.join(second, name), 'utf8')).toBe(text);
    expect(text.includes(root)).toBe(false);
    expect(text.includes(os.homedir())).toBe(false);
  }
});

test('the rehearse bundle leaves out exactly the optional packages a rehearsal runs on, and carries its scripts', () => {
  const dir = path.join(first, 'rehearse');
  const bundle = fs.readFileSync(path.join(dir, 'index.js'), 'utf8');
  const required = new Set(
    [...bundle.matchAll(/require\("([^"]+)"\)/g)]
      .map((m) => m[1])
      .filter((id) => !id.startsWith('node:') && !['child_process', 'crypto', 'fs', 'path', 'os', 'http'].includes(id)),
  );
  expect([...required].sort()).toEqual(['@aws-sdk/signature-v4-crt', 'aws-local-stepfunctions', 'dynalite']);
  // cognito-local runs in a process of its own, from the script beside the bundle
  expect(fs.readdirSync(dir).sort()).toEqual([
    'THIRD-PARTY-LICENSES.txt',
    'emulator-process.js',
    'index.d.ts',
    'index.js',
    'invoke-runner.js',
  ]);
  expect(fs.readFileSync(path.join(dir, 'index.d.ts'), 'utf8')).toMatch(
    /export declare function rehearse\(options: RehearseOptions\): Promise<Rehearsed>;/,
  );
  expect(fs.readFileSync(path.join(dir, 'index.d.ts'), 'utf8')).not.toMatch(/import /);
});

test('the module inlines its dependencies, and the CLI loads the module beside it', () => {
  const required = (name: string) =>
    new Set(
      [...fs.readFileSync(path.join(first, name), 'utf8').matchAll(/require\("([^"]+)"\)/g)]
        .map((m) => m[1])
        .filter(
          (id) => !id.startsWith('node:') && !['crypto', 'fs', 'path', 'os', 'http', 'https', 'util'].includes(id),
        ),
    );
  // The SDK loads its CRT signer only for SigV4a, which none of these services use.
  expect([...required('index.js')]).toEqual(['@aws-sdk/signature-v4-crt']);
  // (and the rehearse bundle, only when its command runs)
  // (child_process: the rehearse command runs the command given after --)
  expect([...required('cli.js')]).toEqual(['./index.js', 'child_process', '../rehearse/index.js']);
  // No import() left: jest's module sandbox refuses it, and jest is where this module runs.
  expect(fs.readFileSync(path.join(first, 'index.js'), 'utf8')).not.toMatch(/\bimport\(/);
  expect(fs.readFileSync(path.join(first, 'cli.js'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  const licenses = fs.readFileSync(path.join(first, 'THIRD-PARTY-LICENSES.txt'), 'utf8');
  for (const pkg of ['otpauth', 'cognito-srp-helper', 'crypto-js', 'jsbn', '@aws-sdk/client-ssm']) {
    expect(licenses).toMatch(new RegExp(`^ {2}${pkg}@\\S+ \\(`, 'm'));
  }
  // Each licence text once, after its packages (it was 287 KB with a copy per package).
  expect(licenses.length).toBeLessThan(120_000);
  // NOTICE names every bundled package that is not the AWS SDK or Smithy.
  const notice = fs.readFileSync(path.join(root, 'NOTICE'), 'utf8');
  const named = [...licenses.matchAll(/^ {2}((?:@[\w-]+\/)?[\w.-]+)@\d\S* \(/gm)].map((m) => m[1]);
  expect(named.filter((name) => !/^@(aws-sdk|smithy|aws)\//.test(name) && !notice.includes(name))).toEqual([]);

  const help = execFileSync(process.execPath, [path.join(first, 'cli.js'), '--help'], { encoding: 'utf8' });
  expect(help).toMatch(/^Usage: cdk-cognito-seeder/);
});

test('the bundled module signs in with USER_SRP_AUTH', async () => {
  // GIVEN a Cognito double, a manifest and a password, and the module as built
  const double = new SrpDouble('us-east-1_Bundle1');
  await double.start();
  double.addClient('tests', ['ALLOW_USER_SRP_AUTH']);
  double.addUser('sam', 'Sam-Bundled-Passw0rd!');
  const services = await startTestingServices(double.endpoint);
  try {
    services.standIn.secrets.set('arn:aws:secretsmanager:us-east-1:111111111111:secret:sam', 'Sam-Bundled-Passw0rd!');
    await createLedgerTable(services.dynamodb, 'ledger-bundle');
    await writeManifest(services, {
      stackName: 'Bundle',
      seederPath: 'Users/Seeder',
      table: 'ledger-bundle',
      manifest: manifestOf({
        owner: 'BundleSeed',
        userPoolId: 'us-east-1_Bundle1',
        clientId: 'tests',
        sources: [{ type: 'secretsmanager', secretArn: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:sam' }],
        users: [{ username: 'sam', mode: 'PERMANENT', groups: [], password: 0 }],
      }),
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const bundled = require(path.join(first, 'index.js')) as { SeededUsers: typeof SeededUsers };

    // WHEN
    const users = await bundled.SeededUsers.load({ stackName: 'Bundle' });
    const tokens = await users.signIn('sam', { flow: 'USER_SRP_AUTH' });

    // THEN the double verified the signature
    expect(tokens.accessToken).toBeTruthy();
    expect(double.counts.verified).toBe(1);
    users.destroy();
  } finally {
    await services.stop();
    await double.stop();
  }
});
