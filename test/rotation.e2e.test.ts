// A generated password's rotation, played as Secrets Manager plays it (a new AWSPENDING
// version, then createSecret, setSecret, testSecret and finishSecret invoked on the seeding
// function), against cognito-local: the users of the password sign in with the new one and
// not the old; every other user, and a hand-made one, is left as it was; a step delivered
// again changes nothing; a rotation event for a secret the stack does not rotate is refused
// and nothing is written. No password in anything the function printed.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  AdminCreateUserCommand,
  AdminGetUserCommand,
  InitiateAuthCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { PasswordMode, SeededUserPool, SeedPassword } from '../lib';
import { Rehearsal, synthesize } from '../rehearsal/harness';

const OTHER_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:rotation-other-AbCdEf';
const OTHER_PASSWORD = 'Canary-Rotation-Other-5!xQ';

const outdirs: string[] = [];
let rehearsal: Rehearsal;
afterAll(() => outdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
afterEach(async () => rehearsal?.stop());

async function deploy() {
  rehearsal = await Rehearsal.start({ secrets: { [OTHER_ARN]: OTHER_PASSWORD } });
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-rotation-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  const stack = new Stack(app, 'Rotation');
  const rotating = SeedPassword.generate({ id: 'Rotating', rotateAfter: Duration.days(30) });
  const pool = new SeededUserPool(stack, 'Pool', {
    users: [
      { username: 'alice', mode: PasswordMode.PERMANENT, password: rotating },
      { username: 'carol', mode: PasswordMode.PERMANENT, password: rotating },
      { username: 'dave', mode: PasswordMode.PERMANENT, password: SeedPassword.generate({ id: 'Still' }) },
      {
        username: 'erin',
        mode: PasswordMode.PERMANENT,
        password: SeedPassword.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Other', OTHER_ARN)),
      },
    ],
  });
  const client = pool.addClient('Client', { authFlows: { userPassword: true } });
  // A generated secret of the same stack that another function rotates: not the seeder's to rotate.
  const theirs = new secretsmanager.Secret(stack, 'Theirs', { generateSecretString: {} });
  new secretsmanager.CfnRotationSchedule(stack, 'TheirRotation', {
    secretId: theirs.secretArn,
    rotationLambdaArn: 'arn:aws:lambda:us-east-1:000000000000:function:their-rotation',
    rotationRules: { automaticallyAfterDays: 30 },
  });
  const [resource] = await rehearsal.deploy(synthesize(app));
  const poolId = String(resource.properties.UserPoolId);
  const made = await rehearsal.cognito.send(
    new AdminCreateUserCommand({ UserPoolId: poolId, Username: 'hand-made', MessageAction: 'SUPPRESS' }),
  );
  const create = await rehearsal.invoke({ requestType: 'Create', resource });
  expect(create.response?.Status).toBe('SUCCESS');
  const secretOf = (username: string) =>
    String(rehearsal.usersOf(resource).find((u: { Username: string }) => u.Username === username).Password.SecretArn);
  return {
    resource,
    poolId,
    clientId: rehearsal.ref(stack.getLogicalId(client.node.defaultChild as cognito.CfnUserPoolClient)),
    handMadeSub: made.User?.Attributes?.find((a) => a.Name === 'sub')?.Value,
    theirsArn: rehearsal.ref(stack.getLogicalId(theirs.node.defaultChild as secretsmanager.CfnSecret)),
    secretOf,
    fn: String(resource.properties.ServiceToken),
  };
}

async function signIn(clientId: string, username: string, password: string): Promise<string> {
  try {
    const out = await rehearsal.cognito.send(
      new InitiateAuthCommand({
        ClientId: clientId,
        AuthFlow: 'USER_PASSWORD_AUTH',
        AuthParameters: { USERNAME: username, PASSWORD: password },
      }),
    );
    return out.AuthenticationResult?.IdToken ? 'signed in' : 'no tokens';
  } catch (error) {
    return (error as Error).name;
  }
}

async function userState(poolId: string, username: string) {
  const out = await rehearsal.cognito.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: username }));
  return {
    status: out.UserStatus,
    sub: out.UserAttributes?.find((a) => a.Name === 'sub')?.Value,
    modified: out.UserLastModifiedDate?.getTime(),
  };
}

test('a rotation sets the new password on every user of it and on no one else; the hand-made user keeps its sub', async () => {
  // GIVEN
  const d = await deploy();
  const rotatingArn = d.secretOf('alice');
  const old = rehearsal.standIn.secrets.get(rotatingArn)!;
  const untouched = { dave: await userState(d.poolId, 'dave'), erin: await userState(d.poolId, 'erin') };
  expect(await signIn(d.clientId, 'alice', old)).toBe('signed in');

  // WHEN Secrets Manager rotates the secret
  await new Promise((resolve) => setTimeout(resolve, 1_100)); // a later last-modified time is visible
  const token = await rehearsal.rotateSecret(d.fn, rotatingArn);

  // THEN the secret's current version is the new one, made under the secret's constraints
  const now = rehearsal.standIn.secrets.get(rotatingArn)!;
  expect(now).not.toBe(old);
  expect(now).toHaveLength(32);
  expect(rehearsal.standIn.currentVersionIds.get(rotatingArn)).toBe(token);
  // and alice and carol sign in with it, not with the old one
  for (const username of ['alice', 'carol']) {
    expect(await signIn(d.clientId, username, now)).toBe('signed in');
    expect(await signIn(d.clientId, username, old)).not.toBe('signed in');
    expect((await userState(d.poolId, username)).status).toBe('CONFIRMED');
  }
  // and no one else was written
  expect({ dave: await userState(d.poolId, 'dave'), erin: await userState(d.poolId, 'erin') }).toEqual(untouched);
  expect(await signIn(d.clientId, 'erin', OTHER_PASSWORD)).toBe('signed in');
  expect((await userState(d.poolId, 'hand-made')).sub).toBe(d.handMadeSub);

  // WHEN the steps are delivered again
  for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
    await rehearsal.invokeFunction(d.fn, { Step, SecretId: rotatingArn, ClientRequestToken: token });
  }
  // THEN nothing changes
  expect(rehearsal.standIn.secrets.get(rotatingArn)).toBe(now);
  expect(await signIn(d.clientId, 'alice', now)).toBe('signed in');

  // and no password is in anything the function printed
  const printed = rehearsal.invocationOutputs.join('\n');
  for (const password of [old, now, OTHER_PASSWORD]) expect(printed).not.toContain(password);
}, 120_000);

test('a rotation event for a secret the stack does not rotate is refused: nothing is written anywhere', async () => {
  // GIVEN
  const d = await deploy();
  const stillArn = d.secretOf('dave');
  const before = {
    ledger: await rehearsal.ledgerItems(),
    dave: await userState(d.poolId, 'dave'),
    erin: await userState(d.poolId, 'erin'),
    secrets: new Map(rehearsal.standIn.secrets),
  };

  // WHEN forged rotations name another stack's secret, a generated secret that does not
  // rotate, a step that does not exist, and a secret another function rotates
  const forged: [string, string][] = [
    [OTHER_ARN, 'createSecret'],
    [OTHER_ARN, 'finishSecret'],
    [stillArn, 'createSecret'],
    [stillArn, 'finishSecret'],
    [d.secretOf('alice'), 'deleteSecret'],
    [d.theirsArn, 'createSecret'],
  ];
  for (const [secret, step] of forged) {
    rehearsal.standIn.startRotation(secret, 'forged-token');
    // THEN each is refused
    await expect(
      rehearsal.invokeFunction(d.fn, { Step: step, SecretId: secret, ClientRequestToken: 'forged-token' }),
    ).rejects.toMatchObject({ name: 'RotationRefused' });
    rehearsal.standIn.pendingVersions.delete(secret);
  }

  // and nothing was written to Secrets Manager, Cognito or the ledger
  expect(new Map(rehearsal.standIn.secrets)).toEqual(before.secrets);
  expect(await userState(d.poolId, 'dave')).toEqual(before.dave);
  expect(await userState(d.poolId, 'erin')).toEqual(before.erin);
  expect(await rehearsal.ledgerItems()).toEqual(before.ledger);
  expect((await userState(d.poolId, 'hand-made')).sub).toBe(d.handMadeSub);
  const printed = rehearsal.invocationOutputs.join('\n');
  expect(printed).toContain('"outcome":"refused-rotation"');
  expect(printed).toContain("the secret is not a resource of this function's stack");
  expect(printed).toContain("the stack's template does not rotate the secret");
  expect(printed).toMatch(/does not rotate the secret Theirs[0-9A-F]+ with this function/);
}, 120_000);
