// The cdk-cognito-seeder CLI against cognito-local, dynalite and the stand-in: what it
// prints, that it prints a password only for the user a command names, and its exit codes;
// against a Cognito that echoes the password in its errors, that it prints no form of it.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { AdminGetUserCommand } from '@aws-sdk/client-cognito-identity-provider';
import { jwtClaims } from '../testing/browser-storage';
import { main } from '../testing/cli';
import { createLedgerTable, manifestOf, rearmDouble, writeManifest } from './support/manifest-fixture';
import {
  createPoolAndClient,
  createUser,
  enrolTotp,
  REGION,
  startTestingServices,
  TestingServices,
} from './support/testing-services';

const SECRET = `arn:aws:secretsmanager:${REGION}:111111111111:secret:cli-users-AbCdEf`;
const TOTP = `arn:aws:secretsmanager:${REGION}:111111111111:secret:cli-totp-AbCdEf`;
// A quote, a dollar and a backslash: the env format must survive a shell.
const PASSWORDS = { alice: `Alice's-$Passw0rd\\!`, bob: 'Bob-Temp0rary!cli', carol: 'Carol-Passw0rd!cli' };

let services: TestingServices;
let userPoolId: string;
let clientId: string;

/** Runs the CLI in-process. */
async function cli(...argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { status, stdout, stderr };
}

function expectNoPassword(text: string, except: string[] = []): void {
  for (const [user, password] of Object.entries(PASSWORDS)) {
    if (!except.includes(user)) expect(text).not.toContain(password);
  }
}

beforeAll(async () => {
  services = await startTestingServices();
  ({ userPoolId, clientId } = await createPoolAndClient(services.cognito));
  await createUser(services.cognito, userPoolId, 'alice', PASSWORDS.alice, 'PERMANENT');
  await createUser(services.cognito, userPoolId, 'bob', PASSWORDS.bob, 'TEMPORARY');
  await createUser(services.cognito, userPoolId, 'carol', PASSWORDS.carol, 'PERMANENT');
  const totpSecret = await enrolTotp(services.cognito, userPoolId, clientId, 'carol', PASSWORDS.carol);
  services.standIn.secrets.set(SECRET, JSON.stringify(PASSWORDS));
  services.standIn.secrets.set(TOTP, JSON.stringify({ [userPoolId]: { carol: totpSecret } }));
  await createLedgerTable(services.dynamodb, 'ledger-cli');
  const manifest = (owner: string) =>
    manifestOf({
      owner,
      userPoolId,
      clientId,
      totpSecretArn: TOTP,
      sources: Object.keys(PASSWORDS).map((name) => ({ type: 'secretsmanager', secretArn: SECRET, jsonField: name })),
      users: [
        { username: 'alice', mode: 'PERMANENT', groups: ['admins', 'qa'], password: 0 },
        { username: 'bob', mode: 'TEMPORARY', groups: [], password: 1 },
        { username: 'carol', mode: 'PERMANENT', groups: [], password: 2, totp: true },
        { username: 'dave', mode: 'RESET_REQUIRED', groups: ['qa'] },
      ],
    });
  await writeManifest(services, {
    stackName: 'Cli',
    seederPath: 'Users/Seeder',
    table: 'ledger-cli',
    manifest: manifest('CliSeed1'),
  });
  for (const seederPath of ['A/Seeder', 'B/Seeder']) {
    await writeManifest(services, { stackName: 'Two', seederPath, table: 'ledger-cli', manifest: manifest('TwoSeed') });
  }
}, 60_000);

afterAll(async () => {
  await services?.stop();
});

test('--help prints the usage; no command is a usage error', async () => {
  const help = await cli('--help');
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^Usage: cdk-cognito-seeder <command> <stack>/);
  expect(help.stdout).toMatch(/only for the user named/);

  const none = await cli();
  expect(none).toMatchObject({ status: 2, stdout: '' });
  expect(none.stderr).toMatch(/no command\nRun cdk-cognito-seeder --help/);

  // -h, and --help after a command or beside a mistake, still print the usage
  for (const argv of [['-h'], ['list', 'Cli', '--help'], ['nope', '--bogus', '--help']]) {
    expect(await cli(...argv)).toEqual({ status: 0, stdout: help.stdout, stderr: '' });
  }
});

test('--version prints the version of the package, and nothing else', async () => {
  const { version } = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));

  for (const argv of [['--version'], ['list', 'Cli', '--version']]) {
    expect(await cli(...argv)).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
  }
  expect(await cli('--version=1')).toMatchObject({ status: 2, stdout: '' });
  expect((await cli()).stdout).not.toContain(version);
  expect((await cli('--help')).stdout).toMatch(/^ {2}--version {2,}the version of cdk-cognito-seeder$/m);
});

test('fails with status 2, naming the option, on an unknown option or a flag given a value', async () => {
  for (const [argv, message] of [
    [['list', 'Cli', '--bogus'], /^cdk-cognito-seeder: unknown option --bogus \(options: --seeder, .*--flow, /],
    [['credentials', 'Cli', 'alice', '--password', 'x'], /unknown option --password /],
    [['list', 'Cli', '-x'], /unknown option -x /],
    [['list', 'Cli', '--json=yes'], /--json takes no value/],
    [['list', 'Cli', '--help=me'], /--help takes no value/],
    [['tokens', 'Cli', 'alice', '--flow', '--json'], /--flow needs a value/],
    [['tokens', 'Cli', 'alice', '--client-id='], /--client-id needs a value/],
  ] as const) {
    const run = await cli(...argv);
    expect(run).toMatchObject({ status: 2, stdout: '' });
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/\nRun cdk-cognito-seeder --help for the usage\.\n$/);
  }
});

test('list prints every user with mode, groups and TOTP, and no password', async () => {
  const { status, stdout, stderr } = await cli('list', 'Cli');

  expect(status).toBe(0);
  expect(stderr).toBe('');
  expect(stdout).toBe(
    [
      `4 users of CliSeed1 in pool ${userPoolId} (${REGION}, app client ${clientId})`,
      'USERNAME  MODE            GROUPS     TOTP',
      'alice     PERMANENT       admins,qa  no',
      'bob       TEMPORARY       -          no',
      'carol     PERMANENT       -          yes',
      'dave      RESET_REQUIRED  qa         no',
      '',
    ].join('\n'),
  );
  expectNoPassword(stdout);
});

test('list --json prints the same as JSON, and no password', async () => {
  const { status, stdout } = await cli('list', 'Cli', '--json');

  expect(status).toBe(0);
  expect(JSON.parse(stdout)).toEqual({
    parameterName: '/cdk-cognito-seeder/Cli/Users/Seeder',
    owner: 'CliSeed1',
    userPoolId,
    region: REGION,
    clientId,
    users: [
      { username: 'alice', mode: 'PERMANENT', groups: ['admins', 'qa'], totp: false },
      { username: 'bob', mode: 'TEMPORARY', groups: [], totp: false },
      { username: 'carol', mode: 'PERMANENT', groups: [], totp: true },
      { username: 'dave', mode: 'RESET_REQUIRED', groups: ['qa'], totp: false },
    ],
  });
  expectNoPassword(stdout);
});

test('credentials prints the password of the user named only, shell-quoted or as JSON', async () => {
  const env = await cli('credentials', 'Cli', 'alice');
  expect(env.status).toBe(0);
  expect(env.stdout).toBe(`SEEDED_USERNAME='alice'\nSEEDED_PASSWORD='Alice'\\''s-$Passw0rd\\!'\n`);
  expectNoPassword(env.stdout, ['alice']);
  // A shell reads back the exact password.
  const echoed = await new Promise<string>((resolve, reject) =>
    execFile('sh', ['-c', `${env.stdout}printf %s "$SEEDED_PASSWORD"`], (error, out) =>
      error ? reject(error) : resolve(out),
    ),
  );
  expect(echoed).toBe(PASSWORDS.alice);

  const json = await cli('credentials', 'Cli', 'bob', '--format', 'json');
  expect(JSON.parse(json.stdout)).toEqual({ username: 'bob', password: PASSWORDS.bob });
  expectNoPassword(json.stdout, ['bob']);
});

test('tokens signs the user in and prints its tokens', async () => {
  const env = await cli('tokens', 'Cli', 'alice');
  expect(env.status).toBe(0);
  const values = Object.fromEntries([...env.stdout.matchAll(/^(\w+)='([^']*)'$/gm)].map((m) => [m[1], m[2]]));
  expect(Object.keys(values)).toEqual(
    expect.arrayContaining(['SEEDED_ID_TOKEN', 'SEEDED_ACCESS_TOKEN', 'SEEDED_REFRESH_TOKEN']),
  );
  expect(jwtClaims(values.SEEDED_ACCESS_TOKEN).username).toBe('alice');
  expectNoPassword(env.stdout);

  const json = await cli('tokens', 'Cli', 'carol', '--format=json', '--client-id', clientId);
  expect(jwtClaims(JSON.parse(json.stdout).idToken)['cognito:username']).toBe('carol');
});

test('totp prints the current code; rearm makes a TEMPORARY user temporary again after tokens', async () => {
  const totp = await cli('totp', 'Cli', 'carol');
  expect(totp).toMatchObject({ status: 0, stderr: '' });
  expect(totp.stdout).toMatch(/^\d{6}\n$/);

  expect((await cli('tokens', 'Cli', 'bob')).status).toBe(0);
  const status = async () =>
    (await services.cognito.send(new AdminGetUserCommand({ UserPoolId: userPoolId, Username: 'bob' }))).UserStatus;
  expect(await status()).toBe('CONFIRMED');
  const fn = rearmDouble(services.standIn, services.cognito, userPoolId, { bob: PASSWORDS.bob });
  const rearm = await cli('rearm', 'Cli', 'bob');
  expect(fn.payloads).toEqual([expect.objectContaining({ kind: 'repair', usernames: ['bob'], passwords: 'always' })]);
  expect(rearm).toEqual({
    status: 0,
    stdout: `Re-armed 'bob': FORCE_CHANGE_PASSWORD, with its seeded password\n`,
    stderr: '',
  });
  expect(await status()).toBe('FORCE_CHANGE_PASSWORD');
});

test('repair prints the report, passes --dry-run and the users named, and exits 1 when a user was left', async () => {
  const payloads: Record<string, unknown>[] = [];
  services.standIn.onInvoke = async (_name, text) => {
    const payload = JSON.parse(text);
    payloads.push(payload);
    const users = [
      { username: 'alice', found: ['disabled'], done: payload.dryRun ? [] : ['enabled'] },
      {
        username: 'carol',
        found: ['remade-by-hand'],
        done: [],
        error: 'its sub is not the one the seeder recorded: someone made it again; left as it is',
      },
    ];
    const report = {
      seeder: payload.seeder,
      dryRun: payload.dryRun === true,
      checked: 4,
      users,
      more: 0,
      left: 1,
      calls: 7,
      seconds: 1,
    };
    return { status: 'FAILED', repairId: 'repair-x', reason: '1 user(s) could not be put back', report };
  };
  const dry = await cli('repair', 'Cli', 'alice', 'carol', '--dry-run');
  expect(payloads[0]).toEqual(
    expect.objectContaining({ kind: 'repair', usernames: ['alice', 'carol'], dryRun: true, passwords: 'changed' }),
  );
  expect(dry.status).toBe(1);
  expect(dry.stdout).toBe(
    [
      'alice: disabled',
      'carol: remade-by-hand (not repaired: its sub is not the one the seeder recorded: someone made it again; left as it is)',
      'Dry run: 4 users checked, 2 drifted, 1 not repaired; 7 Cognito calls in 1 s',
      '',
    ].join('\n'),
  );
  const all = await cli('repair', 'Cli', '--json');
  expect(payloads[1]).not.toHaveProperty('usernames');
  expect(JSON.parse(all.stdout)).toMatchObject({ checked: 4, left: 1 });
  expect((await cli('repair', 'Cli', 'nobody')).stderr).toMatch(/No user 'nobody'/);
  expect(payloads).toHaveLength(2);
});

test('fails with status 1 and a message, never a password, when the command fails', async () => {
  const unknown = await cli('credentials', 'Cli', 'mallory');
  expect(unknown).toMatchObject({ status: 1, stdout: '' });
  expect(unknown.stderr).toMatch(/^cdk-cognito-seeder: No user 'mallory'.*'alice', 'bob', 'carol', 'dave'\n$/);

  const reset = await cli('tokens', 'Cli', 'dave');
  expect(reset.stderr).toMatch(/'dave' is RESET_REQUIRED/);

  const two = await cli('list', 'Two');
  expect(two.status).toBe(1);
  expect(two.stderr).toMatch(/has 2 seeders \('A\/Seeder', 'B\/Seeder'\).*\(--seeder <path>\)\n$/);
  expect((await cli('list', 'Two', '--seeder', 'B/Seeder')).status).toBe(0);

  for (const output of [unknown, reset, two]) expectNoPassword(output.stderr + output.stdout);
});

test('fails with status 2 on a usage error', async () => {
  for (const [argv, message] of [
    [['nope', 'Cli'], /unknown command 'nope'/],
    [['credentials', 'Cli'], /credentials takes <stack> <username>/],
    [['list', 'Cli', '--format', 'json'], /list takes no option --format/],
    [['credentials', 'Cli', 'alice', '--format', 'yaml'], /--format is env or json, not 'yaml'/],
    [['tokens', 'Cli', 'alice', '--flow'], /--flow needs a value/],
    [['tokens', 'Cli', 'alice', '--flow=USER_PASSWORD_AUTH', 'extra'], /tokens takes <stack> <username>/],
    [['totp', '--parameter-name', '/p', 'carol', 'extra'], /totp takes <username> with --parameter-name/],
  ] as const) {
    const run = await cli(...argv);
    expect(run).toMatchObject({ status: 2, stdout: '' });
    expect(run.stderr).toMatch(message);
  }
  const byParameter = await cli('credentials', '--parameter-name', '/cdk-cognito-seeder/Cli/Users/Seeder', 'bob');
  expect(byParameter.status).toBe(0);
});

test('as a program, it exits with the status', async () => {
  const run = (...argv: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [
          require.resolve('ts-node/dist/bin.js'),
          '--transpile-only',
          path.join(__dirname, '..', 'testing', 'cli.ts'),
          ...argv,
        ],
        { env: process.env },
        (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
      );
    });

  const listed = await run('list', 'Cli');
  expect(listed.code).toBe(0);
  expect(listed.stdout).toMatch(/^4 users of CliSeed1/);
  const version = await run('--version');
  expect(version).toMatchObject({ code: 0, stderr: '' });
  expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
  const missing = await run('list', 'Missing');
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/No seeder manifest was found for stack 'Missing' in region us-east-1/);
}, 30_000);

// ---------------------------------------------------------------------------------------
// The canary: a password echoed by an error, in every encoding the handler's redactor
// covers (lambda/log.ts: echoForms, maskTruncated), never reaches the CLI's stdout or stderr
// ---------------------------------------------------------------------------------------

describe('canary: a password an error echoes is in none of its forms in what the CLI prints', () => {
  // Non-ASCII letters with decomposed forms (NFD), a ligature that NFKC unfolds, quotes and
  // a backslash that JSON escapes: every form below is distinct.
  const ECHO = {
    ana: 'Ångström-"ﬁ"\\Pässwörd-7!',
    ben: 'Bénédicte-"Temp"\\ﬀ-Paß-2!',
  };
  /** A secret that should hold JSON and does not: its whole text is what is in hand. */
  const NOT_JSON = 'Cid-Plain-Pässwörd-3!';
  const TOTP_NOT_JSON = 'JBSWY3DPEHPK3PXP-Dora-Tötp';
  const ECHO_SECRET = `arn:aws:secretsmanager:${REGION}:111111111111:secret:cli-echo-AbCdEf`;
  const PLAIN_SECRET = `arn:aws:secretsmanager:${REGION}:111111111111:secret:cli-plain-AbCdEf`;
  const TOTP_SECRET = `arn:aws:secretsmanager:${REGION}:111111111111:secret:cli-echo-totp-AbCdEf`;

  /**
   * Every form the handler's redactor masks a password in, as lambda/log.ts lists them: the
   * value and its NFC, NFD and NFKC forms, each as is, JSON-escaped once and twice, with
   * non-ASCII as \uXXXX (lower- and upper-case hex), and URL-encoded; and cut short (a
   * prefix followed by '...', '…' or the end of the text).
   */
  function whole(password: string): string[] {
    const forms = new Set<string>();
    for (const n of [password, password.normalize('NFC'), password.normalize('NFD'), password.normalize('NFKC')]) {
      const once = JSON.stringify(n).slice(1, -1);
      const ascii = once.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
      forms.add(n);
      forms.add(once);
      forms.add(JSON.stringify(once).slice(1, -1));
      forms.add(ascii);
      forms.add(ascii.replace(/\\u([0-9a-f]{4})/g, (_m, hex: string) => `\\u${hex.toUpperCase()}`));
      forms.add(encodeURIComponent(n));
    }
    return [...forms];
  }

  /** The messages an error may carry a password in, each with the text that must not be printed. */
  function echoes(password: string): { message: string; secret: string }[] {
    const list = whole(password).map((form) => ({
      message: `Password '${form}' does not conform to policy`,
      secret: form,
    }));
    for (const form of [password, JSON.stringify(password).slice(1, -1), encodeURIComponent(password)]) {
      const prefix = form.slice(0, 10);
      list.push(
        { message: `Value '${prefix}...' at 'password' failed`, secret: prefix },
        { message: `Value '${prefix}…' at 'password' failed`, secret: prefix },
        { message: `Invalid password: ${prefix}`, secret: prefix },
      );
    }
    return [...new Map(list.map((c) => [c.message, c])).values()];
  }

  /**
   * A Cognito double: InitiateAuth asks for a new password (a TEMPORARY user's first
   * sign-in), and the call `echo` names fails with `echo.name` and `echo.message`.
   */
  let double: http.Server;
  let echo = { call: 'InitiateAuth', name: 'NotAuthorizedException', message: '' };

  beforeAll(async () => {
    services.standIn.secrets.set(ECHO_SECRET, JSON.stringify(ECHO));
    services.standIn.secrets.set(PLAIN_SECRET, NOT_JSON);
    services.standIn.secrets.set(TOTP_SECRET, TOTP_NOT_JSON);
    await writeManifest(services, {
      stackName: 'Echo',
      seederPath: 'Users/Seeder',
      table: 'ledger-cli',
      manifest: manifestOf({
        owner: 'EchoSeed1',
        userPoolId,
        clientId,
        totpSecretArn: TOTP_SECRET,
        sources: [
          { type: 'secretsmanager', secretArn: ECHO_SECRET, jsonField: 'ana' },
          { type: 'secretsmanager', secretArn: ECHO_SECRET, jsonField: 'ben' },
          { type: 'secretsmanager', secretArn: PLAIN_SECRET, jsonField: 'password' },
        ],
        users: [
          { username: 'ana', mode: 'PERMANENT', groups: [], password: 0 },
          { username: 'ben', mode: 'TEMPORARY', groups: [], password: 1 },
          { username: 'cid', mode: 'PERMANENT', groups: [], password: 2 },
          { username: 'dora', mode: 'PERMANENT', groups: [], password: 0, totp: true },
        ],
      }),
    });
    double = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const call = String(req.headers['x-amz-target']).split('.').pop();
        const json = (status: number, payload: object, headers: Record<string, string> = {}) =>
          res
            .writeHead(status, { 'content-type': 'application/x-amz-json-1.1', ...headers })
            .end(JSON.stringify(payload));
        if (call === echo.call) {
          json(400, { __type: echo.name, message: echo.message }, { 'x-amzn-errortype': echo.name });
        } else if (call === 'InitiateAuth') {
          // A TEMPORARY user's first sign-in: the seeded password goes back as the new one.
          const username = JSON.parse(body).AuthParameters.USERNAME;
          json(200, {
            ChallengeName: 'NEW_PASSWORD_REQUIRED',
            Session: 'session-1',
            ChallengeParameters: { USER_ID_FOR_SRP: username, requiredAttributes: '[]', userAttributes: '{}' },
          });
        } else {
          json(400, { __type: 'UnexpectedCall', message: `${call} was not expected` });
        }
      });
    });
    await new Promise<void>((resolve) => double.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => double.close(() => resolve()));
  });

  /** Runs the CLI against the echoing Cognito. */
  async function againstEcho(...argv: string[]) {
    const cognitoEndpoint = process.env.AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER;
    process.env.AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER = `http://127.0.0.1:${(double.address() as AddressInfo).port}`;
    try {
      return await cli(...argv);
    } finally {
      process.env.AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER = cognitoEndpoint;
    }
  }

  test.each([
    [
      'tokens of a PERMANENT user, when InitiateAuth echoes its password',
      'ana',
      'InitiateAuth',
      'NotAuthorizedException',
    ],
    [
      'tokens of a TEMPORARY user, when the answer to NEW_PASSWORD_REQUIRED echoes it',
      'ben',
      'RespondToAuthChallenge',
      'InvalidPasswordException',
    ],
  ] as const)('%s', async (_name, username, call, name) => {
    const password = ECHO[username];
    // The password's forms differ from one another: each case below tests an encoding of its own.
    const distinct = [
      password,
      password.normalize('NFD'),
      password.normalize('NFKC'),
      JSON.stringify(password).slice(1, -1),
      JSON.stringify(JSON.stringify(password).slice(1, -1)).slice(1, -1),
      encodeURIComponent(password),
    ];
    expect(new Set(distinct).size).toBe(distinct.length);
    expect(whole(password)).toEqual(expect.arrayContaining(distinct));
    for (const { message, secret } of echoes(password)) {
      const label = message;
      // GIVEN Cognito's error quotes the password in this form
      echo = { call, name, message };

      // WHEN
      const run = await againstEcho('tokens', 'Echo', username);

      // THEN the command failed, saying what Cognito said, with the password masked
      expect({ label, status: run.status, stdout: run.stdout }).toEqual({ label, status: 1, stdout: '' });
      expect(run.stderr).toMatch(new RegExp(`^cdk-cognito-seeder: .*${name}: .*\\*{3,5}`));
      expect({ label, printed: run.stdout + run.stderr }).not.toEqual({
        label,
        printed: expect.stringContaining(secret),
      });
    }
  });

  test.each([
    [
      'credentials, when the secret that should hold JSON holds the password as text',
      ['credentials', 'Echo', 'cid'],
      NOT_JSON,
    ],
    ['totp, when the TOTP secret is not JSON', ['totp', 'Echo', 'dora'], TOTP_NOT_JSON],
  ] as const)('%s', async (_name, argv, value) => {
    // WHEN JSON.parse would quote the text in its message
    const run = await againstEcho(...argv);

    // THEN the command failed, saying why, and quoting nothing of what it read
    expect(run).toMatchObject({ status: 1, stdout: '' });
    expect(run.stderr).toMatch(/^cdk-cognito-seeder: (TOTP )?secret \S+ is not JSON, so it has no (field|entry) /);
    for (const form of [...whole(value), value.slice(0, 6), value.slice(0, 10)]) {
      expect({ form, printed: (run.stdout + run.stderr).includes(form) }).toEqual({ form, printed: false });
    }
  });

  // rearm and repair never read a password: the seeding function sets it, and its answer has
  // been through the handler's redactor (test/redaction.test.ts, test/secrecy.test.ts); list
  // and --help hold none.
});
