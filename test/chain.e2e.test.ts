// The seeders of one stack, played as CloudFormation plays them from the synthesized
// template's DependsOn: the second seeder's Create starts once the first's is answered,
// and their Deletes run the other way round. The synthesized asset runs in its own
// processes, behind the quota proxy.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { PasswordMode, SeededUserPool, SeedPassword, UserSeeder } from '../lib';
import { Rehearsal, synthesize } from '../rehearsal/harness';

let rehearsal: Rehearsal | undefined;
let outdir: string | undefined;

afterEach(async () => {
  await rehearsal?.stop();
  rehearsal = undefined;
  if (outdir) fs.rmSync(outdir, { recursive: true, force: true });
});

test('two seeders of one stack run one after another: created in construct order, deleted in the reverse', async () => {
  // GIVEN a stack with a SeededUserPool and a second seeder on its pool, 20 users each
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-chain-'));
  const app = new App({ outdir });
  const stack = new Stack(app, 'Chain');
  const password = SeedPassword.generate();
  const users = (prefix: string) =>
    Array.from({ length: 20 }, (_, i) => ({ username: `${prefix}-${i}`, mode: PasswordMode.PERMANENT, password }));
  const pool = new SeededUserPool(stack, 'Pool', { users: users('first') });
  new UserSeeder(stack, 'Second', { userPool: pool, users: users('second') });
  rehearsal = await Rehearsal.start({ backend: 'fake', quotas: true });
  const r = rehearsal;
  const resources = await r.deploy(synthesize(app));
  const [first, second] = ['PoolSeeder', 'Second'].map((prefix) =>
    resources.find((x) => x.logicalId.startsWith(prefix)),
  );
  // Which seeder's users each forwarded write was for, in order.
  const writes: string[] = [];
  r.proxy.onForwarded = (target, username) => {
    if (target.startsWith('Admin') && username) writes.push(username.split('-')[0]);
  };

  // WHEN CloudFormation creates them, then deletes them
  const created = await r.playInOrder('Create', resources);
  const ids = Object.fromEntries([...created].map(([id, result]) => [id, result.response?.PhysicalResourceId ?? '']));
  const createWrites = writes.splice(0);
  const deleted = await r.playInOrder('Delete', resources, ids);

  // THEN the template orders them (the second depends on the first), and they ran that way
  expect(second?.dependsOn).toEqual([first?.logicalId]);
  expect(first?.dependsOn).toEqual([]);
  const create = (x = first) => created.get(x!.logicalId)!;
  const remove = (x = first) => deleted.get(x!.logicalId)!;
  expect([create(first), create(second), remove(first), remove(second)].map((x) => x.response?.Status)).toEqual([
    'SUCCESS',
    'SUCCESS',
    'SUCCESS',
    'SUCCESS',
  ]);
  expect(create(second).startedAt).toBeGreaterThanOrEqual(create(first).endedAt);
  expect(remove(first).startedAt).toBeGreaterThanOrEqual(remove(second).endedAt);
  // every Cognito write of the first seeder's Create before any of the second's, and the
  // other way round for the Deletes
  expect(createWrites.join(' ')).toMatch(/^(first )+(second ?)+$/);
  expect(writes.join(' ')).toMatch(/^(second )+(first ?)+$/);
});
