/**
 * `npm run demo`: rehearses the example app's seeding step against the embedded Cognito,
 * then signs in as each seeded user through `cdk-cognito-seeder/testing`, as a test would:
 * the manifest found from the stack name, passwords read from where they live, TEMPORARY
 * users answered and re-armed, the TOTP user answered with a code. Needs no AWS account
 * and reaches no AWS endpoint.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminDisableUserCommand,
  AdminGetUserCommand,
  ChangePasswordCommand,
  InitiateAuthCommand,
  ListUsersCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { App } from 'aws-cdk-lib';
import { ExampleStack } from '../examples/example-stack';
import { SeededUsers } from '../testing';
import { fromCloudAssembly, generateSecretString, Rehearsal, SeedResource } from './harness';

const TESTER_PARAMETER = '/cognito-seeder-example/tester-password';
const STACK = 'CognitoSeederExample';
const UNSUPPORTED =
  'not runnable here: cognito-local does not implement AdminResetUserPassword (HTTP 500, "unsupported feature")';

interface Row {
  user: string;
  mode: string;
  source: string;
  status: string;
  signIn: string;
  ms: string;
  ok: boolean;
}

const say = (message: string) => process.stdout.write(`  ${message}\n`);

async function main(): Promise<number> {
  const started = Date.now();
  console.log('Rehearsing the example app (examples/app.ts) against an embedded Cognito (cognito-local)\n');

  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-demo-'));
  const app = new App({ outdir });
  new ExampleStack(app, STACK);
  app.synth();
  // Read back from the cloud assembly, as `cdk-cognito-seeder rehearse cdk.out <stack>` reads a user's.
  const synthesized = fromCloudAssembly(outdir, STACK);
  say(`synthesized CognitoSeederExample (${Object.keys(synthesized.template.Resources).length} resources)`);

  // The example reads one SSM SecureString that CloudFormation cannot create: fill it here.
  const rehearsal = await Rehearsal.start({
    parameters: { [TESTER_PARAMETER]: generateSecretString({ PasswordLength: 20, ExcludeCharacters: ' ' }) },
  });
  try {
    say(`cognito-local listening on ${rehearsal.emulator.endpoint} (store: a fresh temporary directory)`);
    say(
      `Secrets Manager and SSM: a loopback stand-in on ${rehearsal.standIn.endpoint}, filled by the rehearsal ` +
        `(generated secrets get values that meet their GenerateSecretString; ${TESTER_PARAMETER} gets a random value)`,
    );
    const [resource] = await rehearsal.deploy(synthesized);
    say(`stood up the pool, its groups and client in the emulator; pool id ${resource.properties.UserPoolId}`);

    const users = resource.properties.Users as {
      Username: string;
      Mode: string;
      Password?: { Source: string };
      Mfa?: string;
    }[];
    const skipped = users.filter((u) => u.Mode === 'RESET_REQUIRED');
    const runnable: SeedResource = rehearsal.withProperties(resource, {
      ...resource.properties,
      Users: users.filter((u) => u.Mode !== 'RESET_REQUIRED'),
    });
    for (const u of skipped) say(`${u.Username} (RESET_REQUIRED) is left out of the rehearsal: ${UNSUPPORTED}`);

    // Someone made a user by hand in the same pool: the seeder must never touch it.
    const handMade = await rehearsal.cognito.send(
      new AdminCreateUserCommand({
        UserPoolId: resource.properties.UserPoolId,
        Username: 'hand-made',
        MessageAction: 'SUPPRESS',
      }),
    );
    const handMadeSub = handMade.User?.Attributes?.find((a) => a.Name === 'sub')?.Value;
    say(`a hand-made user 'hand-made' is in the pool too (sub ${handMadeSub}); the seeder's ledger does not hold it`);

    say(`running the handler asset (${path.basename(resource.asset)}) with a Create event...`);
    const create = await rehearsal.invoke({ requestType: 'Create', resource: runnable });
    for (const line of create.output.split('\n').filter((l) => l.startsWith('{'))) {
      const entry = JSON.parse(line);
      if (entry.user) {
        say(
          `  handler: ${entry.user} ${entry.action} -> ${entry.outcome}${entry.ms === undefined ? '' : ` (${entry.ms} ms)`}`,
        );
      }
    }
    say(
      `CloudFormation response: ${create.response?.Status ?? 'none'} in ${create.ms} ms, physical id ${create.response?.PhysicalResourceId}`,
    );
    if (create.response?.Status !== 'SUCCESS') {
      console.error(`\nThe Create failed: ${create.response?.Reason ?? `no response (exit ${create.exitCode})`}`);
      return 1;
    }

    const ledger = await rehearsal.ledgerUsers();
    say(`the ownership ledger (DynamoDB on dynalite, ${rehearsal.ledgerDb.endpoint}) after the Create:`);
    for (const r of ledger.sort((a, b) => String(a.sk).localeCompare(String(b.sk)))) {
      say(
        `  ${String(r.username).padEnd(6)} owner ${r.owner}, ${r.origin}, ${r.state}, sub ${r.sub}, by request ${r.requestId}`,
      );
    }
    const ledgerOk =
      ledger.length === runnable.properties.Users.length &&
      ledger.every((r) => r.state === 'present' && r.origin === 'created' && !!r.sub) &&
      !ledger.some((r) => r.username === 'hand-made');

    // A test's view from here on: the testing module, pointed at the rehearsal's loopback
    // services by the standard AWS_ENDPOINT_URL_* variables, finds everything from the stack name.
    pointAtRehearsal(rehearsal);
    const seeded = await SeededUsers.load({ stackName: STACK });
    say(
      `SeededUsers.load({ stackName: '${STACK}' }): manifest of ${seeded.usernames.length} users, pool ${seeded.userPoolId}, client ${seeded.clientId}`,
    );
    const rows: Row[] = [];
    for (const u of users) {
      rows.push(
        u.Mode === 'RESET_REQUIRED'
          ? {
              user: u.Username,
              mode: u.Mode,
              source: '-',
              status: '(not seeded)',
              signIn: 'not runnable on cognito-local',
              ms: '-',
              ok: true,
            }
          : await signIn(rehearsal, seeded, resource.properties.UserPoolId, u),
      );
    }
    const repaired = await driftAndRepair(rehearsal, seeded, resource.properties.UserPoolId, users, create.endedAt);
    seeded.destroy();

    // Tear down as CloudFormation would on stack deletion.
    const del = await rehearsal.invoke({
      requestType: 'Delete',
      resource: runnable,
      physicalResourceId: create.response.PhysicalResourceId,
    });
    const left = await rehearsal.cognito.send(new ListUsersCommand({ UserPoolId: resource.properties.UserPoolId }));
    const survivor = left.Users?.find((u) => u.Username === 'hand-made');
    const survived =
      left.Users?.length === 1 && survivor?.Attributes?.find((a) => a.Name === 'sub')?.Value === handMadeSub;
    const ledgerAfter = await rehearsal.ledgerUsers();
    say(
      `Delete: ${del.response?.Status}; users left in the pool: ${left.Users?.map((u) => u.Username).join(', ') || 'none'} ` +
        `(the hand-made user ${survived ? 'survived with its sub' : 'DID NOT SURVIVE'}); ledger user records left: ${ledgerAfter.length}`,
    );

    console.log('');
    printTable(rows);
    const leaks = [create, del].some(
      (r) => r.output.includes('RESPONSE-URL-CANARY') || r.rawResponses.join('').includes('RESPONSE-URL-CANARY'),
    );
    console.log('');
    for (const line of repaired.lines) console.log(line);
    const wrong =
      rows.filter((r) => !r.ok).length +
      repaired.wrong +
      (leaks ? 1 : 0) +
      (del.response?.Status === 'SUCCESS' && survived && ledgerOk && ledgerAfter.length === 0 ? 0 : 1);
    console.log(
      `\n${rows.filter((r) => r.signIn.endsWith('tokens')).length} users signed in through cdk-cognito-seeder/testing, ${skipped.length} not runnable here, ${wrong} wrong; ${Date.now() - started} ms in all.`,
    );
    if (skipped.length > 0) console.log(`RESET_REQUIRED: ${UNSUPPORTED}.`);
    return wrong === 0 ? 0 : 1;
  } finally {
    await rehearsal.stop();
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * Between two deploys the pool drifts: one user deleted by hand, a TEMPORARY user confirmed
 * by a sign-in, one user disabled, a PERMANENT user's password changed by the user, one
 * password source given a new value. `repair()` must report exactly those five and put them
 * back, and every runnable user must sign in again.
 */
async function driftAndRepair(
  rehearsal: Rehearsal,
  seeded: SeededUsers,
  poolId: string,
  users: { Username: string; Mode: string; Password?: { Source: string; SecretArn?: string } }[],
  createdAt: number,
): Promise<{ lines: string[]; wrong: number }> {
  const lines = [
    'Between two deploys the pool drifts; then users.repair() (the seeding function, as a test runner with grantRepair asks it):',
  ];
  const c = rehearsal.cognito;
  // A user's own password change is told from its last-modified time, past a 5 s clock tolerance.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, createdAt + 6_000 - Date.now())));
  await c.send(new AdminDeleteUserCommand({ UserPoolId: poolId, Username: 'erin' }));
  lines.push('  erin   deleted by hand');
  await seeded.signIn('bob');
  lines.push('  bob    signed in: NEW_PASSWORD_REQUIRED answered, CONFIRMED now');
  await c.send(new AdminDisableUserCommand({ UserPoolId: poolId, Username: 'frank' }));
  lines.push('  frank  disabled');
  const carol = await seeded.credentials('carol');
  const { accessToken } = await seeded.signIn('carol');
  await c.send(
    new ChangePasswordCommand({
      AccessToken: accessToken,
      PreviousPassword: carol.password,
      ProposedPassword: generateSecretString({ PasswordLength: 20, ExcludeCharacters: ' ' }),
    }),
  );
  lines.push('  carol  changed her own password (ChangePassword)');
  const aliceSecret = String(users.find((u) => u.Username === 'alice')?.Password?.SecretArn);
  rehearsal.standIn.putSecretValue(
    aliceSecret,
    JSON.stringify({
      username: 'alice',
      password: generateSecretString({ PasswordLength: 24, ExcludeCharacters: ' ' }),
    }),
  );
  lines.push('  alice  her secret given a new value (PutSecretValue)');

  const report = await seeded.repair();
  lines.push(
    `repair: ${report.checked} users checked in ${report.seconds} s, ${report.calls} Cognito calls, ${report.left} left`,
  );
  for (const u of report.users) {
    lines.push(
      `  ${u.username.padEnd(6)} found ${u.found.join(', ')} -> ${u.done.join(', ') || 'nothing'}${u.error ? ` (${u.error})` : ''}`,
    );
  }
  let wrong = 0;
  const drifted = report.users.map((u) => u.username).sort();
  if (JSON.stringify(drifted) !== JSON.stringify(['alice', 'bob', 'carol', 'erin', 'frank']) || report.left > 0) {
    lines.push(`  WRONG: the repair should report exactly alice, bob, carol, erin and frank, all put back`);
    wrong++;
  }
  // Every runnable user signs in again; erin (template-only password) is back as seeded.
  const again: string[] = [];
  for (const username of ['alice', 'bob', 'carol', 'frank']) {
    try {
      const tokens = await seeded.signIn(username);
      again.push(`${username} ${tokens.idToken ? 'tokens' : 'NO TOKENS'}`);
      if (!tokens.idToken) wrong++;
    } catch (error) {
      again.push(`${username} FAILED (${(error as Error).message})`);
      wrong++;
    }
  }
  const erin = await c.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: 'erin' }));
  const erinSub = erin.UserAttributes?.find((a) => a.Name === 'sub')?.Value;
  const held = (await rehearsal.ledgerUsers()).find((r) => r.username === 'erin');
  const erinOk = erin.UserStatus === 'FORCE_CHANGE_PASSWORD' && held?.sub === erinSub;
  if (!erinOk) wrong++;
  again.push(`erin ${erin.UserStatus}, ${erinOk ? 'its new sub in the ledger' : 'NOT HELD BY THE LEDGER'}`);
  lines.push(`signed in again after the repair: ${again.join('; ')}`);
  return { lines, wrong };
}

/** The testing module reads the rehearsal's stand-ins, as a test reads AWS. */
function pointAtRehearsal(rehearsal: Rehearsal): void {
  Object.assign(process.env, rehearsal.testingEnv());
}

/**
 * Signs in as one user the way a test would, and checks the pool agrees: PERMANENT gets
 * tokens (a TOTP user answers with a code), TEMPORARY answers NEW_PASSWORD_REQUIRED, is
 * re-armed to FORCE_CHANGE_PASSWORD with its seeded password, and answers it again.
 */
async function signIn(
  rehearsal: Rehearsal,
  seeded: SeededUsers,
  poolId: string,
  user: { Username: string; Mode: string; Password?: { Source: string }; Mfa?: string },
): Promise<Row> {
  const started = Date.now();
  const status = async () =>
    (await rehearsal.cognito.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: user.Username })))
      .UserStatus ?? '?';
  const before = await status();
  const row = (signIn: string, ok: boolean): Row => ({
    user: user.Username,
    mode: user.Mode + (user.Mfa ? ` + ${user.Mfa}` : ''),
    source: user.Password?.Source ?? '-',
    status: before,
    signIn,
    ms: String(Date.now() - started),
    ok,
  });
  if (user.Password?.Source === 'plaintext') {
    // Its value is in the template only, which the testing module does not read.
    const refused = await seeded.credentials(user.Username).then(
      () => false,
      (e: Error) => e.name === 'SeededUsersError',
    );
    return row('not readable by tests (unsafePlainText: template only)', refused && before === 'FORCE_CHANGE_PASSWORD');
  }
  try {
    if (user.Mode === 'PERMANENT') {
      // A TOTP user's password alone must not be enough: the pool asks for a code.
      let challenged = true;
      if (user.Mfa) {
        const { password } = await seeded.credentials(user.Username);
        const first = await rehearsal.cognito.send(
          new InitiateAuthCommand({
            ClientId: seeded.clientId,
            AuthFlow: 'USER_PASSWORD_AUTH',
            AuthParameters: { USERNAME: user.Username, PASSWORD: password },
          }),
        );
        challenged = first.ChallengeName === 'SOFTWARE_TOKEN_MFA' && !first.AuthenticationResult;
      }
      const tokens = await seeded.signIn(user.Username);
      const path = user.Mfa ? `SOFTWARE_TOKEN_MFA (code from totp()) -> tokens` : 'tokens';
      return row(path, before === 'CONFIRMED' && challenged && !!tokens.idToken);
    }
    const first = await seeded.signIn(user.Username);
    const answered = await status();
    await seeded.rearm(user.Username);
    const rearmed = await status();
    const again = await seeded.signIn(user.Username);
    const ok =
      before === 'FORCE_CHANGE_PASSWORD' &&
      answered === 'CONFIRMED' &&
      rearmed === 'FORCE_CHANGE_PASSWORD' &&
      !!first.idToken &&
      !!again.idToken;
    return row(`NEW_PASSWORD_REQUIRED -> tokens; rearm() -> ${rearmed}; again -> tokens`, ok);
  } catch (error) {
    return row(`failed: ${(error as Error).message}`, false);
  }
}

function printTable(rows: Row[]): void {
  const header = {
    user: 'user',
    mode: 'mode',
    source: 'password source',
    status: 'status in pool',
    signIn: 'sign-in',
    ms: 'ms',
    ok: true,
  };
  const cols = ['user', 'mode', 'source', 'status', 'signIn', 'ms'] as const;
  const width = Object.fromEntries(
    cols.map((c) => [c, Math.max(...[header, ...rows].map((r) => String(r[c]).length))]),
  );
  const line = (r: Row, mark: string) => `${cols.map((c) => String(r[c]).padEnd(width[c])).join('  ')}  ${mark}`;
  console.log(line(header, ''));
  console.log(cols.map((c) => '-'.repeat(width[c])).join('  '));
  for (const r of rows) console.log(line(r, r.ok ? 'ok' : 'WRONG'));
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`demo failed: ${(error as Error).stack}`);
    process.exit(1);
  },
);
