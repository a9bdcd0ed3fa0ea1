// A generated password's rotation (SeedPassword.generate({ rotateAfter })) played
// as Secrets Manager and CloudFormation can really deliver it, on the synthesized asset
// against cognito-local: steps delivered twice and out of order, a token that is not the
// pending version, a rotation while a CloudFormation Update of the seeder runs, and the
// stack's Delete after a rotation. Users end with the secret's AWSCURRENT value and nothing
// else changes; a hand-made user keeps its `sub`; no password appears in any output.
import type { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  AdminCreateUserCommand,
  AdminGetUserCommand,
  InitiateAuthCommand,
  ListUsersCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { PasswordMode, SeededUserPool, SeedPassword, SeedUser } from '../lib';
import { InvokeResult, Rehearsal, SeedResource, synthesize } from '../rehearsal/harness';

jest.setTimeout(150_000);

const outdirs: string[] = [];
let r: Rehearsal;
let clientLogicalId = '';
afterAll(() => outdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
afterEach(async () => r?.stop());

/** The stack: alice (PERMANENT) and bob (TEMPORARY) on a rotating generated password, dave on another. */
async function deploy(extra: string[] = []): Promise<SeedResource> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-adv-rotation-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  const stack = new Stack(app, 'AdvRotation');
  const rotating = SeedPassword.generate({ id: 'Rotating', rotateAfter: Duration.days(30) });
  const users: SeedUser[] = [
    { username: 'alice', mode: PasswordMode.PERMANENT, password: rotating },
    { username: 'bob', mode: PasswordMode.TEMPORARY, password: rotating },
    { username: 'dave', mode: PasswordMode.PERMANENT, password: SeedPassword.generate({ id: 'Still' }) },
    ...extra.map((username) => ({ username, mode: PasswordMode.PERMANENT, password: rotating })),
  ];
  const pool = new SeededUserPool(stack, 'Pool', { users });
  const client = pool.addClient('Client', { authFlows: { userPassword: true } });
  clientLogicalId = stack.getLogicalId(client.node.defaultChild as cognito.CfnUserPoolClient);
  const [resource] = await r.deploy(synthesize(app));
  return resource;
}

interface Deployed {
  readonly resource: SeedResource;
  readonly poolId: string;
  readonly physicalId: string;
  readonly handMadeSub: string;
  readonly rotatingArn: string;
  readonly stillArn: string;
  readonly fn: string;
  readonly created: InvokeResult;
}

async function start(): Promise<Deployed> {
  r = await Rehearsal.start();
  const resource = await deploy();
  const poolId = String(resource.properties.UserPoolId);
  const made = await r.cognito.send(
    new AdminCreateUserCommand({ UserPoolId: poolId, Username: 'hand-made', MessageAction: 'SUPPRESS' }),
  );
  const created = await r.invoke({ requestType: 'Create', resource });
  expect(created.response?.Status).toBe('SUCCESS');
  const secretOf = (username: string) =>
    String(r.usersOf(resource).find((u: { Username: string }) => u.Username === username).Password.SecretArn);
  return {
    resource,
    poolId,
    physicalId: String(created.response?.PhysicalResourceId),
    handMadeSub: String(made.User?.Attributes?.find((a) => a.Name === 'sub')?.Value),
    rotatingArn: secretOf('alice'),
    stillArn: secretOf('dave'),
    fn: String(resource.properties.ServiceToken),
    created,
  };
}

/** 'signed in', the challenge Cognito asked for, or the error's name. */
async function signIn(username: string, password: string): Promise<string> {
  try {
    const out = await r.cognito.send(
      new InitiateAuthCommand({
        ClientId: r.ref(clientLogicalId),
        AuthFlow: 'USER_PASSWORD_AUTH',
        AuthParameters: { USERNAME: username, PASSWORD: password },
      }),
    );
    return out.AuthenticationResult?.IdToken ? 'signed in' : String(out.ChallengeName);
  } catch (error) {
    return (error as Error).name;
  }
}

async function userState(poolId: string, username: string) {
  const out = await r.cognito.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: username }));
  return {
    status: out.UserStatus,
    sub: out.UserAttributes?.find((a) => a.Name === 'sub')?.Value,
    modified: out.UserLastModifiedDate?.getTime(),
  };
}

async function usernames(poolId: string): Promise<string[]> {
  const out = await r.cognito.send(new ListUsersCommand({ UserPoolId: poolId }));
  return (out.Users ?? []).map((u) => u.Username!).sort();
}

/** One rotation step, as Secrets Manager invokes it: 'ok' or the error's name. */
async function step(d: Deployed, Step: string, token: string): Promise<string> {
  try {
    await r.invokeFunction(d.fn, { Step, SecretId: d.rotatingArn, ClientRequestToken: token });
    return 'ok';
  } catch (error) {
    return (error as Error).name;
  }
}

/** Where each user of the rotating secret stands with `password`: PERMANENT signs in, TEMPORARY is asked for a new one. */
async function usersOn(password: string, names = ['alice', 'bob']): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await signIn(n, password)] as const)));
}

/** No value any secret ever held (the stand-in's, and every pending one) in what the function printed or answered. */
function expectNoPassword(seen: Set<string>, ...results: InvokeResult[]): void {
  for (const v of r.standIn.secrets.values()) seen.add(v);
  for (const p of r.standIn.pendingVersions.values()) if (p.value) seen.add(p.value);
  const everything = [
    ...results.flatMap((x) => [x.output, ...x.rawResponses]),
    ...r.invocationOutputs,
    JSON.stringify(r.responses.bodies),
  ].join('\n');
  for (const value of seen) {
    expect({ value: value.slice(0, 3), found: everything.includes(value) }).toEqual({
      value: value.slice(0, 3),
      found: false,
    });
  }
}

async function settleClock(): Promise<void> {
  // Cognito's last-modified times are in seconds: a later write is visible after one.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
}

test('steps delivered out of order and twice: finishSecret before createSecret changes nothing; each later step delivered again changes nothing more', async () => {
  // GIVEN
  const d = await start();
  const seen = new Set(r.standIn.secrets.values());
  const old = r.standIn.secrets.get(d.rotatingArn)!;
  const before = {
    alice: await userState(d.poolId, 'alice'),
    bob: await userState(d.poolId, 'bob'),
    dave: await userState(d.poolId, 'dave'),
  };
  const ledgerBefore = await r.ledgerUsers();
  await settleClock();

  // WHEN Secrets Manager starts a rotation and finishSecret arrives first
  const token = 'adv-token-0000-0000-0000-000000000001';
  r.standIn.startRotation(d.rotatingArn, token);
  const early = await step(d, 'finishSecret', token);

  // THEN it fails, and nothing moved: the secret, the users, the ledger
  expect(early).not.toBe('ok');
  expect(r.standIn.secrets.get(d.rotatingArn)).toBe(old);
  expect(r.standIn.currentVersionIds.get(d.rotatingArn)).toBeUndefined();
  expect({
    alice: await userState(d.poolId, 'alice'),
    bob: await userState(d.poolId, 'bob'),
    dave: await userState(d.poolId, 'dave'),
  }).toEqual(before);
  expect(await r.ledgerUsers()).toEqual(ledgerBefore);

  // WHEN createSecret is delivered twice
  expect(await step(d, 'createSecret', token)).toBe('ok');
  const pending = r.standIn.pendingVersions.get(d.rotatingArn)?.value;
  expect(pending).toEqual(expect.any(String));
  expect(await step(d, 'createSecret', token)).toBe('ok');
  // THEN the second made no other value, and the users still have the old one
  expect(r.standIn.pendingVersions.get(d.rotatingArn)?.value).toBe(pending);
  expect(pending).not.toBe(old);
  expect(await usersOn(old)).toEqual({ alice: 'signed in', bob: 'NEW_PASSWORD_REQUIRED' });

  // WHEN setSecret and testSecret come twice each, then finishSecret twice
  for (const s of ['setSecret', 'setSecret', 'testSecret', 'testSecret']) expect(await step(d, s, token)).toBe('ok');
  expect(r.standIn.secrets.get(d.rotatingArn)).toBe(old);
  expect(await step(d, 'finishSecret', token)).toBe('ok');
  const afterFirst = { alice: await userState(d.poolId, 'alice'), bob: await userState(d.poolId, 'bob') };
  await settleClock();
  expect(await step(d, 'finishSecret', token)).toBe('ok');

  // THEN the pending value is current, the users have it and not the old one
  expect(r.standIn.secrets.get(d.rotatingArn)).toBe(pending);
  expect(r.standIn.currentVersionIds.get(d.rotatingArn)).toBe(token);
  expect(await usersOn(pending!)).toEqual({ alice: 'signed in', bob: 'NEW_PASSWORD_REQUIRED' });
  expect(await signIn('alice', old)).not.toBe('signed in');
  expect(afterFirst.alice.status).toBe('CONFIRMED');
  // (cognito-local asks a FORCE_CHANGE_PASSWORD user for a new password whatever it is given:
  // bob's new temporary password shows as a write after the rotation started)
  expect(afterFirst.bob.status).toBe('FORCE_CHANGE_PASSWORD');
  expect(afterFirst.bob.modified).toBeGreaterThan(before.bob.modified!);
  // and the second finishSecret wrote no user again
  expect({ alice: await userState(d.poolId, 'alice'), bob: await userState(d.poolId, 'bob') }).toEqual(afterFirst);
  // and no one else changed: dave, the other secret, the hand-made user
  expect(await userState(d.poolId, 'dave')).toEqual(before.dave);
  expect((await userState(d.poolId, 'hand-made')).sub).toBe(d.handMadeSub);
  expect(await usernames(d.poolId)).toEqual(['alice', 'bob', 'dave', 'hand-made']);
  expect((await r.ledgerUsers()).map((u) => [u.username, u.sub])).toEqual(ledgerBefore.map((u) => [u.username, u.sub]));
  expectNoPassword(seen, d.created);
});

test('a token that is not the pending version: unknown, or the current one from an earlier rotation while a new one is pending, writes nothing', async () => {
  // GIVEN a first rotation done
  const d = await start();
  const seen = new Set(r.standIn.secrets.values());
  const first = await r.rotateSecret(d.fn, d.rotatingArn);
  const firstValue = r.standIn.secrets.get(d.rotatingArn)!;
  expect(await usersOn(firstValue)).toEqual({ alice: 'signed in', bob: 'NEW_PASSWORD_REQUIRED' });
  const settled = {
    alice: await userState(d.poolId, 'alice'),
    bob: await userState(d.poolId, 'bob'),
    dave: await userState(d.poolId, 'dave'),
  };
  const ledger = await r.ledgerUsers();

  // WHEN a second rotation is pending and steps arrive with a token no version has
  const second = 'adv-token-0000-0000-0000-000000000002';
  r.standIn.startRotation(d.rotatingArn, second);
  const unknown = [];
  for (const s of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
    unknown.push(await step(d, s, 'adv-token-never-started'));
  }
  // and steps arrive late with the first rotation's token (now AWSCURRENT)
  const stale = [];
  for (const s of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) stale.push(await step(d, s, first));

  // THEN the unknown token is refused at every step, the stale one does nothing
  expect(unknown).toEqual(['RotationRefused', 'RotationRefused', 'RotationRefused', 'RotationRefused']);
  expect(stale).toEqual(['ok', 'ok', 'ok', 'ok']);
  expect(r.standIn.secrets.get(d.rotatingArn)).toBe(firstValue);
  expect(r.standIn.currentVersionIds.get(d.rotatingArn)).toBe(first);
  expect(r.standIn.pendingVersions.get(d.rotatingArn)).toEqual({ token: second });
  expect({
    alice: await userState(d.poolId, 'alice'),
    bob: await userState(d.poolId, 'bob'),
    dave: await userState(d.poolId, 'dave'),
  }).toEqual(settled);
  expect(await r.ledgerUsers()).toEqual(ledger);

  // WHEN the second rotation then runs its steps
  await settleClock();
  await r.rotateSecret(d.fn, d.rotatingArn, undefined, second);

  // THEN its value is current and on the users
  const secondValue = r.standIn.secrets.get(d.rotatingArn)!;
  expect(secondValue).not.toBe(firstValue);
  expect(await usersOn(secondValue)).toEqual({ alice: 'signed in', bob: 'NEW_PASSWORD_REQUIRED' });
  expect(await userState(d.poolId, 'dave')).toEqual(settled.dave);
  expect((await userState(d.poolId, 'hand-made')).sub).toBe(d.handMadeSub);
  seen.add(firstValue);
  expectNoPassword(seen, d.created);
});

// A late step of an earlier rotation: AWS's rotation templates refuse a token whose version
// is neither AWSPENDING nor AWSCURRENT. A finishSecret delivered late for an earlier rotation,
// whose version Secrets Manager now labels AWSPREVIOUS, must not move AWSCURRENT back to it
// (UpdateSecretVersionStage allows that: it is how a secret is rolled back), or the repair
// that follows would set the old password on every user of the secret.
test('a late finishSecret of an earlier rotation (its version now AWSPREVIOUS) does not roll the secret and the users back', async () => {
  // GIVEN two rotations done: Secrets Manager keeps the first one's version as AWSPREVIOUS
  const d = await start();
  const seen = new Set(r.standIn.secrets.values());
  const first = await r.rotateSecret(d.fn, d.rotatingArn);
  const firstValue = r.standIn.secrets.get(d.rotatingArn)!;
  await settleClock();
  const second = await r.rotateSecret(d.fn, d.rotatingArn);
  const secondValue = r.standIn.secrets.get(d.rotatingArn)!;
  expect(await usersOn(secondValue)).toEqual({ alice: 'signed in', bob: 'NEW_PASSWORD_REQUIRED' });
  expect(r.standIn.previousVersions.get(d.rotatingArn)?.token).toBe(first);
  expect(r.standIn.currentVersionIds.get(d.rotatingArn)).toBe(second);
  const movesBefore = r.standIn.calls['secretsmanager.UpdateSecretVersionStage'] ?? 0;
  const settled = { alice: await userState(d.poolId, 'alice'), bob: await userState(d.poolId, 'bob') };
  await settleClock();

  // WHEN the first rotation's finishSecret is delivered again, late
  const late = await step(d, 'finishSecret', first);

  // THEN the secret is still the second rotation's, and so are the users' passwords
  seen.add(firstValue);
  expectNoPassword(seen, d.created);
  expect((await userState(d.poolId, 'hand-made')).sub).toBe(d.handMadeSub);
  // (one comparison, so that a failure shows the whole outcome: no value is printed)
  expect({
    late,
    movesOfAwsCurrent: (r.standIn.calls['secretsmanager.UpdateSecretVersionStage'] ?? 0) - movesBefore,
    secretIsStillTheSecondRotations: r.standIn.secrets.get(d.rotatingArn) === secondValue,
    aliceWithTheSecondRotations: await signIn('alice', secondValue),
    aliceWithTheFirstRotations: await signIn('alice', firstValue),
    usersWritten:
      JSON.stringify({
        alice: await userState(d.poolId, 'alice'),
        bob: await userState(d.poolId, 'bob'),
      }) !== JSON.stringify(settled),
  }).toEqual({
    late: expect.any(String),
    movesOfAwsCurrent: 0,
    secretIsStillTheSecondRotations: true,
    aliceWithTheSecondRotations: 'signed in',
    aliceWithTheFirstRotations: expect.not.stringMatching(/^signed in$/),
    usersWritten: false,
  });
});

test('a rotation while a CloudFormation Update of the seeder runs: finishSecret fails, the Update and the next repair leave every user on AWSCURRENT', async () => {
  // GIVEN
  const d = await start();
  const seen = new Set(r.standIn.secrets.values());
  const old = r.standIn.secrets.get(d.rotatingArn)!;
  const dave = await userState(d.poolId, 'dave');
  const bobBefore = await userState(d.poolId, 'bob');
  await settleClock();

  // WHEN an Update adds erin (on the rotating secret), its first slice held back (stopped)
  const next = await deploy(['erin']);
  let stopped: ChildProcess | undefined;
  const update = r.invoke({
    requestType: 'Update',
    resource: next,
    oldProperties: d.resource.properties,
    physicalResourceId: d.physicalId,
    onSlice: (slice, child) => {
      if (slice !== 1) return;
      child.kill('SIGSTOP');
      stopped = child;
    },
  });
  for (let i = 0; i < 200 && !stopped; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(stopped).toBeDefined();
  // and Secrets Manager rotates the secret meanwhile
  const token = 'adv-token-0000-0000-0000-000000000003';
  r.standIn.startRotation(d.rotatingArn, token);
  const steps = [];
  for (const s of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) steps.push(await step(d, s, token));
  const rotated = r.standIn.secrets.get(d.rotatingArn)!;
  const during = await usersOn(old);
  stopped!.kill('SIGCONT');
  const updated = await update;

  // THEN finishSecret failed (the repair could not run beside the Update), the new value is current
  expect(steps.slice(0, 3)).toEqual(['ok', 'ok', 'ok']);
  expect(steps[3]).not.toBe('ok');
  expect(r.invocationOutputs.join('\n')).toMatch(/is running: ask again once it has finished/);
  expect(r.standIn.currentVersionIds.get(d.rotatingArn)).toBe(token);
  expect(rotated).not.toBe(old);
  // and no user was written while the Update held the seeder
  expect(during).toEqual({ alice: 'signed in', bob: 'NEW_PASSWORD_REQUIRED' });
  // and the Update succeeded, once
  expect(updated.response?.Status).toBe('SUCCESS');
  expect(r.responses.bodies.filter((b) => b.RequestId === updated.event.RequestId)).toHaveLength(1);

  // WHEN the next repair runs (as the docs say: the CLI, or repairSchedule)
  const repaired = (await r.invokeFunction(d.fn, { kind: 'repair', seeder: next.logicalId })) as {
    status: string;
    report: { left: number };
  };
  // and the Update is delivered again, late (the same request id)
  const again = await r.invoke({
    requestType: 'Update',
    resource: next,
    oldProperties: d.resource.properties,
    physicalResourceId: d.physicalId,
    requestId: String(updated.event.RequestId),
  });

  // THEN every user of the secret has AWSCURRENT, and none has the old one
  expect(repaired.status).toBe('SUCCEEDED');
  expect(repaired.report.left).toBe(0);
  expect(await usersOn(rotated, ['alice', 'bob', 'erin'])).toEqual({
    alice: 'signed in',
    bob: 'NEW_PASSWORD_REQUIRED',
    erin: 'signed in',
  });
  expect(await signIn('alice', old)).not.toBe('signed in');
  expect(await signIn('erin', old)).not.toBe('signed in');
  // (cognito-local does not check a FORCE_CHANGE_PASSWORD user's password: bob's was written after the rotation)
  const bob = await userState(d.poolId, 'bob');
  expect(bob.status).toBe('FORCE_CHANGE_PASSWORD');
  expect(bob.modified).toBeGreaterThan(bobBefore.modified!);
  // and the late delivery was not applied again, and answered nothing new
  expect(r.responses.bodies.filter((b) => b.RequestId === updated.event.RequestId)).toHaveLength(1);
  expect(again.output).toMatch(/duplicate-delivery/);
  // and nothing else changed
  expect(await userState(d.poolId, 'dave')).toEqual(dave);
  expect((await userState(d.poolId, 'hand-made')).sub).toBe(d.handMadeSub);
  expect(await usernames(d.poolId)).toEqual(['alice', 'bob', 'dave', 'erin', 'hand-made']);
  expectNoPassword(seen, d.created, updated, again);
});

test('the stack Delete after a rotation removes exactly the seeded users; a late finishSecret and a new rotation after it make no user again', async () => {
  // GIVEN a rotation done
  const d = await start();
  const seen = new Set(r.standIn.secrets.values());
  const token = await r.rotateSecret(d.fn, d.rotatingArn);
  const rotated = r.standIn.secrets.get(d.rotatingArn)!;
  expect(await usersOn(rotated)).toEqual({ alice: 'signed in', bob: 'NEW_PASSWORD_REQUIRED' });

  // WHEN the stack is deleted (the seed resource first: the secret and its schedule after it)
  const deleted = await r.invoke({ requestType: 'Delete', resource: d.resource, physicalResourceId: d.physicalId });
  // and the Delete is delivered again
  const again = await r.invoke({
    requestType: 'Delete',
    resource: d.resource,
    physicalResourceId: d.physicalId,
    requestId: String(deleted.event.RequestId),
  });

  // THEN only the hand-made user is left, and the ledger holds no user
  expect(deleted.response?.Status).toBe('SUCCESS');
  expect(r.responses.bodies.filter((b) => b.RequestId === deleted.event.RequestId)).toHaveLength(1);
  expect(again.output).toMatch(/duplicate-delivery/);
  expect(await usernames(d.poolId)).toEqual(['hand-made']);
  expect(await r.ledgerUsers()).toEqual([]);

  // WHEN, before CloudFormation deletes the secret, the last finishSecret is delivered again
  // and another rotation runs through
  const late = await step(d, 'finishSecret', token);
  let another = 'ok';
  await r.rotateSecret(d.fn, d.rotatingArn).catch((e: Error) => (another = e.name));

  // THEN no user is made again, and the hand-made user is the same user
  expect(await usernames(d.poolId)).toEqual(['hand-made']);
  expect(await r.ledgerUsers()).toEqual([]);
  expect((await userState(d.poolId, 'hand-made')).sub).toBe(d.handMadeSub);
  expect({ late, another }).toEqual({ late: expect.any(String), another: expect.any(String) });
  expectNoPassword(seen, d.created, deleted, again);
});
