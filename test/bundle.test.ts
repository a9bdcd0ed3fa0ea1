// The handler asset: built by scripts/bundle.js, identical on every machine, and runnable
// as Lambda would run it.
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { context, deleteEvent, ResponseServer } from './support/cfn';

const root = path.join(__dirname, '..');
const bundled = path.join(root, 'assets', 'seed-handler', 'index.js');
const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

test('a rebuild into another directory produces the same bytes, with no machine paths inside', () => {
  const other = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-'));
  try {
    execFileSync(process.execPath, [path.join(root, 'scripts', 'bundle.js'), other], { stdio: 'pipe' });
    expect(sha256(path.join(other, 'index.js'))).toBe(sha256(bundled));
    expect(fs.readdirSync(path.dirname(bundled))).toEqual(['index.js']);
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
  // Issue 5's budget: 600 KB, nothing installed at deploy.
  expect(fs.statSync(bundled).size).toBeLessThanOrEqual(600_000);
});

test('the bundle answers CloudFormation through its handler export', async () => {
  const server = new ResponseServer();
  await server.start();
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { handler } = require(bundled);
    await handler(deleteEvent(server.url, 'failed-create/req-0', { UserPoolId: 'x', Users: [] }), context());
    expect(server.last).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'failed-create/req-0' });
  } finally {
    await server.stop();
  }
});
