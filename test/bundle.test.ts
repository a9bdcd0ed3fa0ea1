// The handler asset: built by scripts/bundle.js, identical on every machine, and runnable
// as Lambda would run it.
import { execFileSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CloudFormationStandIn } from '../rehearsal/cloudformation-stand-in';
import {
  FUNCTION_ARN,
  createEvent,
  deleteEvent,
  LOGICAL_ID,
  ResponseServer,
  STACK_ID,
  STATE_MACHINE_ARN,
} from './support/cfn';

const root = path.join(__dirname, '..');
const bundled = path.join(root, 'assets', 'seed-handler', 'index.js');
const licenses = path.join(root, 'assets', 'seed-handler', 'THIRD-PARTY-LICENSES.txt');
const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

test('a rebuild into another directory produces the same bytes, with no machine paths inside', () => {
  const other = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-'));
  try {
    execFileSync(process.execPath, [path.join(root, 'scripts', 'bundle.js'), other], { stdio: 'pipe' });
    expect(sha256(path.join(other, 'index.js'))).toBe(sha256(bundled));
    expect(sha256(path.join(other, 'THIRD-PARTY-LICENSES.txt'))).toBe(sha256(licenses));
    expect(fs.readdirSync(path.dirname(bundled)).sort()).toEqual(['THIRD-PARTY-LICENSES.txt', 'index.js']);
    const text = fs.readFileSync(bundled, 'utf8');
    expect(text.includes(root)).toBe(false);
    expect(text.includes(os.homedir())).toBe(false);
  } finally {
    fs.rmSync(other, { recursive: true, force: true });
  }
});

test('the bundle carries its AWS SDK clients and stays small', () => {
  const text = fs.readFileSync(bundled, 'utf8');
  const external = new Set([...text.matchAll(/require\("(@aws-sdk\/[^"]+|@smithy\/[^"]+)"\)/g)].map((m) => m[1]));
  // The SDK loads its CRT signer only for SigV4a, which Cognito does not use.
  expect([...external]).toEqual(['@aws-sdk/signature-v4-crt']);
  for (const client of ['CognitoIdentityProvider', 'DynamoDB', 'SFN', 'SecretsManager', 'SSM', 'S3']) {
    expect(text).toContain(`${client}Client`);
  }
  // No Lambda client: a request goes on in slices of the state machine, never by invoking itself.
  expect(text).not.toContain('LambdaClient');
  // Issue 5's budget was 600 KB; the ledger's DynamoDB client adds about 50 KB, the Step
  // Functions client (the engine) about 60 KB, otpauth (TOTP enrolment) about 20 KB; the
  // CloudFormation reads (the event check), repair and the triggers' explanations about 20 KB.
  // Nothing installed at deploy.
  expect(fs.statSync(bundled).size).toBeLessThanOrEqual(800_000);
});

test('the licences of every bundled package travel beside the bundle', () => {
  const text = fs.readFileSync(licenses, 'utf8');
  for (const pkg of [
    '@aws-sdk/client-cognito-identity-provider',
    '@aws-sdk/client-dynamodb',
    '@smithy/core',
    'bowser',
  ]) {
    expect(text).toMatch(new RegExp(`^ {2}${pkg}@\\S+ \\((Apache-2\\.0|MIT)\\)$`, 'm'));
  }
  expect(text).toMatch(/Apache License\s+Version 2\.0/);
  expect(text.includes(root)).toBe(false);
  // Each licence text once, after its packages (it was 315 KB with a copy per package).
  expect(text.length).toBeLessThan(100_000);
  // NOTICE names every bundled package that is not the AWS SDK or Smithy.
  const notice = fs.readFileSync(path.join(root, 'NOTICE'), 'utf8');
  const named = [...text.matchAll(/^ {2}((?:@[\w-]+\/)?[\w.-]+)@\d\S* \(/gm)].map((m) => m[1]);
  expect(named.filter((name) => !/^@(aws-sdk|smithy|aws)\//.test(name) && !notice.includes(name))).toEqual([]);
});

test('the bundle answers CloudFormation through its handler export, even when it cannot find its ledger', async () => {
  const server = new ResponseServer();
  await server.start();
  const properties = { UserPoolId: 'us-east-1_x', Users: [], StateMachineArn: STATE_MACHINE_ARN };
  // CloudFormation, creating then deleting the resource with exactly these properties.
  const stack = new CloudFormationStandIn(STACK_ID);
  await stack.start();
  stack.templateResources.set(LOGICAL_ID, { Type: 'Custom::CognitoUserSeed', Properties: properties });
  stack.resources.set(LOGICAL_ID, { type: 'Custom::CognitoUserSeed', status: 'CREATE_IN_PROGRESS' });
  // As Lambda runs it: a process of its own, with the function's environment but no ledger.
  const invoke = (event: object) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(root, 'rehearsal', 'invoke-runner.js')], {
        stdio: ['pipe', 'ignore', 'inherit'],
        env: {
          PATH: process.env.PATH,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
          AWS_ENDPOINT_URL_CLOUDFORMATION: stack.endpoint,
          SEED_STACK_ID: STACK_ID,
          SEED_ALLOW_LOOPBACK_RESPONSE_URL: 'true',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
      });
      child.on('error', reject);
      child.on('close', () => resolve());
      child.stdin.end(
        JSON.stringify({ asset: path.dirname(bundled), event, timeoutMs: 60_000, functionArn: FUNCTION_ARN }),
      );
    });
  try {
    // A Create fails, naming what is missing...
    await invoke(createEvent(server.url, properties));
    expect(server.last).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'us-east-1_x/UsersSeeder7F21A71B' });
    expect(server.last?.Reason).toMatch(/the seeding function has no LEDGER_TABLE_NAME/);
    // ...and a Delete deletes nothing it cannot prove its own, and lets the stack go
    const physical = 'us-east-1_x/UsersSeeder7F21A71B';
    stack.resources.set(LOGICAL_ID, {
      type: 'Custom::CognitoUserSeed',
      status: 'DELETE_IN_PROGRESS',
      physicalId: physical,
    });
    await invoke(deleteEvent(server.url, physical, properties));
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: physical });
    expect(server.last?.Reason).toMatch(/^Delete changed no user: .*the seeding function has no LEDGER_TABLE_NAME/);
  } finally {
    await stack.stop();
    await server.stop();
  }
});
