// Work across invocations, end to end: with a function timeout far too short for the
// population, a Create and a Delete each run through several invocations of the real
// asset (each continuing itself with an asynchronous Lambda Invoke of the same event),
// the progress kept in the ledger, and exactly one answer from the invocation that
// finishes. A hand-made user in the pool is never touched.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AdminCreateUserCommand, ListUsersCommand } from '@aws-sdk/client-cognito-identity-provider';
import { App, Stack } from 'aws-cdk-lib';
import { PasswordMode, SeededUserPool, SeedPassword } from '../lib';
import { Rehearsal, synthesize } from '../rehearsal/harness';

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-continue-'));
let rehearsal: Rehearsal | undefined;

afterEach(() => rehearsal?.stop());
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

async function usersIn(r: Rehearsal, poolId: string): Promise<Record<string, string>> {
  const subs: Record<string, string> = {};
  let token: string | undefined;
  do {
    const page = await r.cognito.send(new ListUsersCommand({ UserPoolId: poolId, PaginationToken: token }));
    for (const u of page.Users ?? []) subs[u.Username!] = u.Attributes?.find((a) => a.Name === 'sub')?.Value ?? '';
    token = page.PaginationToken;
  } while (token);
  return subs;
}

test('a Create and a Delete too long for one invocation each continue in fresh invocations and answer once', async () => {
  // GIVEN 60 users at 10 creations and 10 deletes a second, and a function with 6 s
  const app = new App({ outdir });
  const stack = new Stack(app, 'Continue');
  const password = SeedPassword.unsafePlainText('Local-Only-Passw0rd!');
  new SeededUserPool(stack, 'Pool', {
    users: Array.from({ length: 60 }, (_, i) => ({
      username: `c${String(i).padStart(2, '0')}`,
      mode: PasswordMode.TEMPORARY,
      password,
    })),
    seeding: { rateLimits: { userCreation: 10, userWrites: 10 } },
  });
  rehearsal = await Rehearsal.start({ backend: 'fake' });
  const r = rehearsal;
  const [resource] = await r.deploy(synthesize(app));
  const poolId = resource.properties.UserPoolId;
  const handMade = await r.cognito.send(
    new AdminCreateUserCommand({ UserPoolId: poolId, Username: 'hand-made', MessageAction: 'SUPPRESS' }),
  );
  const handSub = handMade.User?.Attributes?.find((a) => a.Name === 'sub')?.Value;

  // WHEN CloudFormation creates the resource
  const created = await r.invoke({ requestType: 'Create', resource, timeoutMs: 6_000 });

  // THEN several invocations, one answer (SUCCESS), every user there, the ledger holding each
  expect(created.invocations).toBeGreaterThanOrEqual(2);
  expect(created.rawResponses).toHaveLength(1);
  expect(created.response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `${poolId}/${resource.logicalId}` });
  expect(created.output.match(/"outcome":"continuing"/g)?.length).toBe(created.invocations - 1);
  const afterCreate = await usersIn(r, poolId);
  expect(Object.keys(afterCreate)).toHaveLength(61);
  const ledger = await r.ledgerUsers();
  expect(ledger).toHaveLength(60);
  expect(ledger.every((u) => u.state === 'present' && u.sub === afterCreate[String(u.username)])).toBe(true);

  // WHEN CloudFormation deletes it
  const deleted = await r.invoke({
    requestType: 'Delete',
    resource,
    physicalResourceId: created.response!.PhysicalResourceId,
    timeoutMs: 6_000,
  });

  // THEN several invocations again, one answer, only the hand-made user left, with its sub
  expect(deleted.invocations).toBeGreaterThanOrEqual(2);
  expect(deleted.rawResponses).toHaveLength(1);
  expect(deleted.response?.Status).toBe('SUCCESS');
  expect(await usersIn(r, poolId)).toEqual({ 'hand-made': handSub });
  expect(await r.ledgerUsers()).toEqual([]);
}, 120_000);
