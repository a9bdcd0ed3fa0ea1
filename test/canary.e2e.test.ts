// The canary suite: every password source and every failure path, through the real
// synthesized asset in its own process (cognito-local + dynalite + the loopback stand-in).
// No canary may appear in the template, any file of the cloud assembly (users files
// included), the handler's output, any response PUT (Reason and Data), the ledger, the
// manifest or its pointer, in any encoding: raw, JSON-escaped, NFC and NFD, URL- and
// base64-encoded, or cut to a prefix. `unsafePlainText` is in the template by design (synth
// warns); it must still stay out of everything the handler writes.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AdminCreateUserCommand } from '@aws-sdk/client-cognito-identity-provider';
import { App, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { PasswordMode, SeedMfa, SeededUserPool, SeedPassword, SeedUser } from '../lib';
import { InvokeResult, Rehearsal, SeedResource, synthesize, Synthesized } from '../rehearsal/harness';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:canary-raw-AbCdEf';
const JSON_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:canary-json-AbCdEf';
const WEAK_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:canary-weak-AbCdEf';
const PARAM = '/canary/ssm';
// Each needs escaping in JSON (a quote, a backslash) and has a character NFC and NFD spell differently.
const CANARY = {
  secret: 'Cañary-Sécret"9q\\Xw',
  json: 'Cañary-Jsón"7r\\Yz',
  ssm: 'Cañary-Ssm"5t\\Uv',
  plain: 'Cañary-Plaın"3p\\Ab',
  weak: 'cañary-weak',
};

const outdirs: string[] = [];
let rehearsal: Rehearsal | undefined;
afterAll(() => outdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
afterEach(async () => {
  await rehearsal?.stop();
  rehearsal = undefined;
});

/** Every form a value could be echoed in. */
function encodings(value: string): string[] {
  const forms = new Set<string>();
  for (const v of [value, value.normalize('NFC'), value.normalize('NFD')]) {
    forms.add(v);
    forms.add(JSON.stringify(v).slice(1, -1));
    forms.add(JSON.stringify(JSON.stringify(v)).slice(1, -1));
    forms.add(encodeURIComponent(v));
    forms.add(Buffer.from(v).toString('base64'));
    // A truncated echo: the first 12 characters are already unique to the canary.
    forms.add(v.slice(0, 12));
  }
  return [...forms];
}

function expectAbsent(haystack: string, secrets: readonly string[], where: string): void {
  for (const secret of secrets) {
    for (const form of encodings(secret)) {
      if (haystack.includes(form)) throw new Error(`a canary appears in ${where} (as ${JSON.stringify(form)})`);
    }
  }
}

/** Every file of the cloud assembly, as text. */
function assemblyText(dir: string): string {
  const texts: string[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const file = path.join(d, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (!file.endsWith('index.js')) texts.push(fs.readFileSync(file, 'utf8'));
    }
  };
  walk(dir);
  return texts.join('\n');
}

async function start(options: { throttle?: number } = {}): Promise<Rehearsal> {
  rehearsal = await Rehearsal.start({
    ...options,
    secrets: {
      [SECRET_ARN]: CANARY.secret,
      [JSON_ARN]: JSON.stringify({ username: 'x', password: CANARY.json }),
      [WEAK_ARN]: CANARY.weak,
    },
    parameters: { [PARAM]: CANARY.ssm },
  });
  return rehearsal;
}

interface Sources {
  secret: SeedPassword;
  json: SeedPassword;
  ssm: SeedPassword;
  plain: SeedPassword;
  weak: SeedPassword;
  generated: SeedPassword;
}

function synth(users: (s: Sources) => SeedUser[]): Synthesized {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'seeder-canary-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  const stack = new Stack(app, 'Canary');
  const sources: Sources = {
    secret: SeedPassword.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Raw', SECRET_ARN)),
    json: SeedPassword.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Json', JSON_ARN), 'password'),
    ssm: SeedPassword.fromSsmParameter(
      ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Param', { parameterName: PARAM }),
    ),
    plain: SeedPassword.unsafePlainText(CANARY.plain),
    weak: SeedPassword.fromSecret(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Weak', WEAK_ARN)),
    generated: SeedPassword.generate(),
  };
  new SeededUserPool(stack, 'Pool', {
    mfa: cognito.Mfa.OPTIONAL,
    mfaSecondFactor: { otp: true, sms: false },
    users: users(sources),
  });
  return synthesize(app);
}

const every = (s: Sources): SeedUser[] => [
  { username: 'raw', mode: PasswordMode.PERMANENT, password: s.secret },
  { username: 'json', mode: PasswordMode.TEMPORARY, password: s.json },
  { username: 'ssm', mode: PasswordMode.PERMANENT, password: s.ssm },
  { username: 'plain', mode: PasswordMode.TEMPORARY, password: s.plain },
  { username: 'generated', mode: PasswordMode.PERMANENT, password: s.generated },
  { username: 'totp', mode: PasswordMode.PERMANENT, password: s.secret, mfa: SeedMfa.TOTP },
  // RESET_REQUIRED is not here: cognito-local has no AdminResetUserPassword. Its throwaway
  // password is masked in test/redaction.test.ts, in-process.
];

/**
 * Checks everything the deploy left behind: the assembly (all canaries but the plain one,
 * which is in the template by design), and every output, answer, ledger item, manifest
 * and pointer (all canaries, the generated passwords and TOTP secrets included).
 */
function totpSeeds(value: string): unknown[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  // Pool entries only: the list of pools whose users have their own secrets holds no seed.
  return Object.values(parsed).flatMap((v) =>
    typeof v === 'object' && v && !Array.isArray(v) ? Object.values(v as object) : [],
  );
}

async function expectNoCanary(
  r: Rehearsal,
  synthesized: Synthesized,
  resource: SeedResource,
  results: InvokeResult[],
): Promise<void> {
  const generated = [...r.standIn.secrets.entries()]
    .filter(([arn]) => ![SECRET_ARN, JSON_ARN, WEAK_ARN].includes(arn))
    .flatMap(([, value]) => {
      // The TOTP secret holds seeds per pool (its canaries are the seeds); a generated password
      // secret holds the password, which may itself begin with '{' (generated passwords draw
      // punctuation), so only a value that parses as a JSON object is read as the map.
      return totpSeeds(value) ?? [value];
    })
    .map(String);
  const kept = [CANARY.secret, CANARY.json, CANARY.ssm, CANARY.weak, ...generated];
  expectAbsent(assemblyText(synthesized.assemblyDir), kept, 'the cloud assembly');
  // The detector's control: unsafePlainText is in the template, so it must be found there.
  expect(() => expectAbsent(assemblyText(synthesized.assemblyDir), [CANARY.plain], 'the template')).toThrow(
    /a canary appears in the template/,
  );
  const written = [
    ...results.flatMap((x) => [x.output, ...x.rawResponses]),
    JSON.stringify(await r.ledgerItems()),
    JSON.stringify([...r.standIn.parameters.entries()].filter(([name]) => name.startsWith('/cdk-cognito-seeder/'))),
  ].join('\n');
  expectAbsent(written, [...kept, CANARY.plain], 'what the handler printed, answered or stored');
  expect(resource.properties).toBeDefined();
}

test('every source, through Create, a re-applied Update and Delete: no canary anywhere', async () => {
  const r = await start();
  const synthesized = synth(every);
  const [resource] = await r.deploy(synthesized);

  const created = await r.invoke({ requestType: 'Create', resource });
  const next = synth((s) => every(s).map((u) => ({ ...u, passwordRevision: '2' })));
  const [again] = await r.deploy(next);
  const updated = await r.invoke({
    requestType: 'Update',
    resource: again,
    oldProperties: resource.properties,
    physicalResourceId: created.response!.PhysicalResourceId,
  });
  const deleted = await r.invoke({
    requestType: 'Delete',
    resource: again,
    physicalResourceId: created.response!.PhysicalResourceId,
  });

  expect([created, updated, deleted].map((x) => x.response?.Status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
  await expectNoCanary(r, next, again, [created, updated, deleted]);
  await expectNoCanary(r, synthesized, resource, [created]);
});

test('failure paths: a password that breaks the policy, a taken username, throttling: no canary anywhere', async () => {
  const r = await start({ throttle: 0.3 });
  const synthesized = synth((s) => [...every(s), { username: 'weak', mode: PasswordMode.PERMANENT, password: s.weak }]);
  const [resource] = await r.deploy(synthesized);
  await r.cognito.send(
    new AdminCreateUserCommand({
      UserPoolId: resource.properties.UserPoolId,
      Username: 'raw',
      MessageAction: 'SUPPRESS',
    }),
  );

  const failed = await r.invoke({ requestType: 'Create', resource });
  const rollback = await r.invoke({
    requestType: 'Delete',
    resource,
    physicalResourceId: failed.response!.PhysicalResourceId,
  });

  expect(failed.response?.Status).toBe('FAILED');
  expect(failed.response?.Reason).toMatch(/user 'weak': the password from secret .* breaks the pool's password policy/);
  expect(failed.response?.Reason).toMatch(/user 'raw' already exists in the pool/);
  expect(rollback.response?.Status).toBe('SUCCESS');
  await expectNoCanary(r, synthesized, resource, [failed, rollback]);
});

test('a population that travels as a users file: no canary in the file, the logs or the answers', async () => {
  const r = await start();
  const synthesized = synth((s) => [
    ...Array.from({ length: 1200 }, (_, i) => ({
      username: `load-${String(i).padStart(4, '0')}`,
      mode: PasswordMode.TEMPORARY,
      password: i % 2 ? s.json : s.plain,
    })),
  ]);
  const [resource] = await r.deploy(synthesized);
  expect(resource.properties.UsersFile).toBeDefined();

  const created = await r.invoke({ requestType: 'Create', resource });

  expect(created.response?.Status).toBe('SUCCESS');
  // The plain canary is in the users file by design (unsafePlainText warns "template or users file").
  expectAbsent(assemblyText(synthesized.assemblyDir), [CANARY.json], 'the cloud assembly');
  expectAbsent([created.output, ...created.rawResponses].join('\n'), [CANARY.json, CANARY.plain], 'the handler output');
  expectAbsent(JSON.stringify(await r.ledgerItems()), [CANARY.json, CANARY.plain], 'the ledger');
});
