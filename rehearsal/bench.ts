/**
 * `npm run bench`: seeds 100, 1,000 and 10,000 users through the synthesized handler,
 * behind a loopback proxy that enforces Cognito's default per-category quotas, and writes
 * BENCHMARKS.md. Backends: cognito-local where it keeps up, an in-memory stand-in past
 * that (cognito-local's JSON store slows quadratically past ~2,000 users).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  AdminCreateUserCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
  ListUsersCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { App, Stack } from 'aws-cdk-lib';
import { PasswordMode, SeededUserPool, SeedPassword } from '../lib';
import { Rehearsal, synthesize } from './harness';
import { DEFAULT_QUOTAS } from './throttle-proxy';

interface Scenario {
  users: number;
  mode: PasswordMode;
  backend: 'cognito-local' | 'fake';
  /** A memory probe: quotas off (memory does not depend on pace) and the heap capped here. */
  heapMb?: number;
  /** Milliseconds every Cognito call takes (a far-away Cognito): latency must not cap the rate. */
  latencyMs?: number;
  /** The account's quotas as a share of the defaults, the seeder's rates left at the defaults. */
  quotaScale?: number;
  /** A neighbour calling AdminSetUserPassword (on ten users of its own) through the same quota, this many a second. */
  neighbourRps?: number;
  /** The share of calls the proxy throttles at random, on top of the quotas. */
  randomThrottle?: number;
}

const SCENARIOS: Scenario[] = [
  { users: 100, mode: PasswordMode.PERMANENT, backend: 'cognito-local' },
  { users: 1_000, mode: PasswordMode.PERMANENT, backend: 'cognito-local' },
  { users: 1_000, mode: PasswordMode.TEMPORARY, backend: 'cognito-local' },
  { users: 10_000, mode: PasswordMode.PERMANENT, backend: 'fake' },
  { users: 10_000, mode: PasswordMode.PERMANENT, backend: 'fake', heapMb: 64 },
  { users: 1_000, mode: PasswordMode.PERMANENT, backend: 'fake', latencyMs: 300 },
  { users: 1_000, mode: PasswordMode.PERMANENT, backend: 'fake', latencyMs: 500 },
  { users: 1_000, mode: PasswordMode.PERMANENT, backend: 'fake', neighbourRps: 15 },
  { users: 1_000, mode: PasswordMode.PERMANENT, backend: 'fake', quotaScale: 1 / 3 },
  { users: 1_000, mode: PasswordMode.PERMANENT, backend: 'fake', randomThrottle: 0.3 },
];

/** The adaptation rows: the seeder's rates are not the proxy's quotas. */
const adapts = (s: Scenario) =>
  s.latencyMs !== undefined ||
  s.quotaScale !== undefined ||
  s.neighbourRps !== undefined ||
  s.randomThrottle !== undefined;
const root = path.join(__dirname, '..');
// `npm run bench -- 1000` runs the 1,000-user rows only, `-- probe` the memory probe only,
// `-- adapt` the adaptation rows only; each leaves BENCHMARKS.md as it was.
const only = process.argv[2];
const selected = (s: Scenario) =>
  only === undefined ||
  (only === 'probe'
    ? s.heapMb !== undefined
    : only === 'adapt'
      ? adapts(s)
      : only === 'neighbour'
        ? s.neighbourRps !== undefined
        : s.users === Number(only) && !s.heapMb && !adapts(s));

/** Users a second the scenario's Cognito allows: the quotas, less the neighbour's share and the random throttles. */
function scenarioBound(s: Scenario): number {
  const scale = s.quotaScale ?? 1;
  if (s.mode !== PasswordMode.PERMANENT) return quotaBound(s.mode) * scale * (1 - (s.randomThrottle ?? 0));
  const recovery = DEFAULT_QUOTAS.UserAccountRecovery.rate * scale - (s.neighbourRps ?? 0);
  const create = DEFAULT_QUOTAS.UserCreation.rate * scale;
  return Math.min(recovery, create) * (1 - (s.randomThrottle ?? 0));
}

/** Users a second the default quotas allow for one mode: the slowest category decides. */
function quotaBound(mode: PasswordMode): number {
  const perUser = { UserCreation: 1, UserAccountRecovery: mode === PasswordMode.PERMANENT ? 1 : 0 };
  return Math.min(
    ...Object.entries(perUser)
      .filter(([, c]) => c > 0)
      .map(([q, c]) => DEFAULT_QUOTAS[q].rate / c),
  );
}

async function seed(s: Scenario) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const app = new App({ outdir });
  const stack = new Stack(app, 'Bench');
  const pool = new SeededUserPool(stack, 'Pool');
  const password = SeedPassword.generate();
  for (let i = 0; i < s.users; i++) pool.addUser({ username: `load-${i}`, mode: s.mode, password });
  const rehearsal = await Rehearsal.start({
    backend: s.backend,
    quotas: !s.heapMb,
    latencyMs: s.latencyMs,
    quotaScale: s.quotaScale,
    throttle: s.randomThrottle,
  });
  try {
    const [resource] = await rehearsal.deploy(synthesize(app));
    process.stdout.write(
      `  seeding ${s.users} ${s.mode} users on ${s.backend} (${resource.properties.UsersFile ? 'users file in S3' : 'inline'})${s.heapMb ? `, heap capped at ${s.heapMb} MB, quotas off` : ''}${s.latencyMs ? `, ${s.latencyMs} ms a call` : ''}...\n`,
    );
    // The probe lifts the handler's own pacing too: memory, not pace, is what it measures.
    const fast = { Create: '5000', Recovery: '5000', Write: '5000', Read: '5000' };
    const neighbour = s.neighbourRps
      ? await startNeighbour(rehearsal, resource.properties.UserPoolId, s.neighbourRps)
      : undefined;
    const result = await rehearsal.invoke({
      requestType: 'Create',
      resource: s.heapMb ? { ...resource, properties: { ...resource.properties, Rates: fast } } : resource,
      heapMb: s.heapMb,
    });
    const neighbourStats = await neighbour?.stop();
    const served = neighbourStats?.share;
    const neighbourCalls = neighbourStats?.served;
    const summary = result.output
      .split('\n')
      .filter((l) => l.startsWith('{') && l.includes('"requestType"'))
      .map((l) => JSON.parse(l))
      .pop();
    let correct = 0;
    let token: string | undefined;
    const expected = s.mode === PasswordMode.PERMANENT ? 'CONFIRMED' : 'FORCE_CHANGE_PASSWORD';
    do {
      const page = await rehearsal.cognito.send(
        new ListUsersCommand({ UserPoolId: resource.properties.UserPoolId, PaginationToken: token }),
      );
      correct += (page.Users ?? []).filter(
        (u) => u.UserStatus === expected && !u.Username?.startsWith('neighbour-'),
      ).length;
      token = page.PaginationToken;
    } while (token);
    // The neighbour's calls are its own, not the seeder's.
    const forwarded =
      Object.entries(rehearsal.proxy.forwarded)
        .filter(([t]) => t.startsWith('Admin'))
        .reduce((a, [, c]) => a + c, 0) - (neighbourCalls ?? 0);
    const seconds = (summary?.ms ?? result.ms) / 1000;
    const rate = s.users / seconds;
    return {
      ...s,
      usersFile: resource.properties.UsersFile ? 'S3' : 'inline',
      status: result.response?.Status ?? 'none',
      seconds,
      rate,
      ratio: rate / scenarioBound(s),
      bound: scenarioBound(s),
      invocations: result.invocations,
      throttlesPer100: summary?.calls ? (100 * (summary.throttles ?? 0)) / summary.calls : 0,
      neighbourServed: served,
      callsPerUser: forwarded / s.users,
      throttles: rehearsal.proxy.throttledTotal,
      failed: s.users - correct,
      maxRssMb: result.maxRssMb,
    };
  } finally {
    await rehearsal.stop();
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * A neighbour sharing the account's quota: AdminSetUserPassword on a user of its own at
 * `rps` a second through the same proxy, no retries. `stop()` gives the share it got served.
 */
async function startNeighbour(rehearsal: Rehearsal, poolId: string, rps: number) {
  // Ten users of its own, in turn: one user takes 10 writes a second at most.
  const names = Array.from({ length: 10 }, (_, i) => `neighbour-${i}`);
  for (const Username of names) {
    await rehearsal.cognito.send(
      new AdminCreateUserCommand({ UserPoolId: poolId, Username, MessageAction: 'SUPPRESS' }),
    );
  }
  const client = new CognitoIdentityProviderClient({
    endpoint: rehearsal.cognitoEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 1,
  });
  let sent = 0;
  let served = 0;
  const calls: Promise<void>[] = [];
  const timer = setInterval(() => {
    sent++;
    calls.push(
      client
        .send(
          new AdminSetUserPasswordCommand({
            UserPoolId: poolId,
            Username: names[sent % names.length],
            Password: 'Neighbour-Passw0rd!',
            Permanent: true,
          }),
        )
        .then(
          () => void served++,
          () => undefined,
        ),
    );
  }, 1000 / rps);
  return {
    stop: async () => {
      clearInterval(timer);
      await Promise.all(calls);
      client.destroy();
      return { share: sent ? served / sent : 1, served };
    },
  };
}

function condition(s: Scenario): string {
  if (s.latencyMs) return `${s.latencyMs} ms a call`;
  if (s.neighbourRps) return `neighbour at ${s.neighbourRps}/s of the 30/s quota`;
  if (s.quotaScale) return `quotas at a third (10/s for passwords)`;
  return `${(s.randomThrottle ?? 0) * 100} % throttled at random`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function bundleFigures() {
  const file = path.join(root, 'assets', 'seed-handler', 'index.js');
  const requireMs = [1, 2, 3, 4, 5].map(() =>
    Number(
      execFileSync(
        process.execPath,
        [
          '-e',
          `const t=process.hrtime.bigint();require(${JSON.stringify(file)});console.log(Number(process.hrtime.bigint()-t)/1e6)`,
        ],
        {
          env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        },
      ).toString(),
    ),
  );
  return { bytes: fs.statSync(file).size, requireMs: median(requireMs) };
}

function synthFigures(n: number) {
  const runs = [1, 2, 3].map(() => {
    const started = Date.now();
    const out = spawnSync(
      process.execPath,
      [
        '-r',
        './rehearsal/quiet-sdk.js',
        'node_modules/ts-node/dist/bin.js',
        '--transpile-only',
        'rehearsal/bench-synth.ts',
        String(n),
      ],
      { cwd: root },
    );
    const line = JSON.parse(out.stdout.toString().trim().split('\n').pop() ?? '{}');
    return {
      wallMs: Date.now() - started,
      synthMs: line.synthMs as number,
      templateBytes: line.templateBytes as number,
    };
  });
  return {
    n,
    wallMs: median(runs.map((r) => r.wallMs)),
    synthMs: median(runs.map((r) => r.synthMs)),
    templateBytes: runs[0].templateBytes,
  };
}

async function main(): Promise<void> {
  console.log('cdk-cognito-seeder benchmark (loopback, default Cognito quotas enforced by a proxy)\n');
  const bundle = bundleFigures();
  console.log(`  bundle ${(bundle.bytes / 1024).toFixed(1)} KiB, require ${bundle.requireMs.toFixed(0)} ms`);
  const synth = (only === undefined ? [0, 1_000, 10_000] : []).map((n) => {
    const f = synthFigures(n);
    console.log(
      `  synth ${n} users: ${f.wallMs} ms (process), ${f.synthMs} ms (in-process), template ${f.templateBytes} bytes`,
    );
    return f;
  });
  const rows = [];
  for (const s of SCENARIOS.filter(selected)) {
    const row = await seed(s);
    console.log(
      `    ${row.status}: ${row.rate.toFixed(1)} users/s (${(row.ratio * 100).toFixed(0)}% of the bound, ${row.bound.toFixed(1)}/s), ${row.callsPerUser.toFixed(2)} calls/user, ${row.throttlesPer100.toFixed(1)} throttles/100 calls, ${row.invocations} invocation(s), ${row.failed} failed, ${row.maxRssMb} MB peak${row.neighbourServed === undefined ? '' : `, neighbour served ${(row.neighbourServed * 100).toFixed(0)}%`}`,
    );
    rows.push(row);
  }

  if (only !== undefined) {
    console.log('\n(selected rows only: BENCHMARKS.md left as it was)');
    return;
  }
  const md = [
    '# Benchmarks',
    '',
    'Regenerate with `npm run bench` (about 7 minutes: the 10,000-user row runs at the quota',
    'bound, 30 users a second). Measured on the project machine (2 cores), loopback only, with',
    'the synthesized handler asset run as Lambda runs it (rehearsal/harness.ts) behind a proxy',
    "that enforces Cognito's default quotas per category (AdminCreateUser 50/s;",
    'AdminSetUserPassword and AdminResetUserPassword 30/s; group, attribute and delete writes',
    '25/s; AdminGetUser 120/s), answering `TooManyRequestsException` past them.',
    '',
    `Generated ${new Date().toISOString().slice(0, 10)} by \`npm run bench\`.`,
    '',
    '## Seeding (one Create)',
    '',
    '| users | mode | backend | latency a call | users file | result | seconds | users/s | of quota bound | calls/user | throttles | failed users | peak memory |',
    '|---:|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows
      .filter((r) => !r.heapMb && !adapts(r))
      .map(
        (r) =>
          `| ${r.users.toLocaleString('en-US')} | ${r.mode} | ${r.backend} | ${r.latencyMs ?? 0} ms | ${r.usersFile} | ${r.status} | ${r.seconds.toFixed(1)} | ${r.rate.toFixed(1)} | ${(r.ratio * 100).toFixed(0)}% (${quotaBound(r.mode)}/s) | ${r.callsPerUser.toFixed(2)} | ${r.throttles} | ${r.failed} | ${r.maxRssMb} MB |`,
      ),
    '',
    '## Adaptation: the seeder at its default rates, Cognito not',
    '',
    'Each row seeds 1,000 PERMANENT users (the in-memory backend) with the seeder at its default',
    "rates while the account's Cognito differs: every call 300 or 500 ms slower; a neighbour",
    'calling AdminSetUserPassword at 15/s through the same 30/s quota; the quotas at a third of',
    'the defaults; 30 % of calls throttled at random on top of the quotas. The bound is what',
    'that Cognito allows (30/s; 15/s left by the neighbour; 10/s; 21/s of calls that are not',
    "thrown away), and the seeder's own throttles are counted per 100 of its calls.",
    '',
    '| condition | result | seconds | users/s | bound | of bound | throttles/100 calls | invocations | neighbour served | calls/user | failed users |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows
      .filter((r) => adapts(r))
      .map(
        (r) =>
          `| ${condition(r)} | ${r.status} | ${r.seconds.toFixed(1)} | ${r.rate.toFixed(1)} | ${r.bound.toFixed(1)}/s | ${(r.ratio * 100).toFixed(0)}% | ${r.throttlesPer100.toFixed(1)} | ${r.invocations} | ${r.neighbourServed === undefined ? '-' : `${(r.neighbourServed * 100).toFixed(0)}%`} | ${r.callsPerUser.toFixed(2)} | ${r.failed} |`,
      ),
    '',
    '## Memory probe',
    '',
    'Node collects lazily, so peak RSS above grows toward the heap cap whatever the handler',
    'needs. This row caps the heap far lower and lifts the quotas (memory does not depend on',
    'pace): if it succeeds, the handler needs less than that.',
    '',
    '| users | mode | heap cap | result | seconds | failed users | peak memory |',
    '|---:|---|---:|---|---:|---:|---:|',
    ...rows
      .filter((r) => r.heapMb)
      .map(
        (r) =>
          `| ${r.users.toLocaleString('en-US')} | ${r.mode} | ${r.heapMb} MB | ${r.status} | ${r.seconds.toFixed(1)} | ${r.failed} | ${r.maxRssMb} MB |`,
      ),
    '',
    '- Latency rows hold every Cognito call for 300 or 500 ms at the proxy (a Cognito far',
    '  from the function): the function opens more lanes (from 16 up to maxConcurrency, 64)',
    "  as the calls' latency requires, so latency does not cap the rate (Little's law).",
    '- Quota bound: PERMANENT needs one AdminCreateUser (50/s) and one AdminSetUserPassword',
    '  (30/s) per user, so 30 users/s; TEMPORARY needs only the AdminCreateUser, so 50/s.',
    '- calls/user counts the admin user calls that reached the backend (throttled ones not',
    '  included); the floor is 1 for TEMPORARY and 2 for PERMANENT, plus one per group.',
    '- backend `fake` is rehearsal/fake-cognito.ts, an in-memory stand-in answering the same',
    '  calls: cognito-local rewrites its whole JSON store on each write and slows',
    '  quadratically past about 2,000 users.',
    '- Each created user also costs three ledger writes (DynamoDB: `creating`, its `sub`,',
    '  `present`; no Cognito quota) and its share of the pre-flight look-up (one ListUsers',
    "  page per 60 users of a small pool, or one AdminGetUser). Rates are from the handler's",
    "  own start: the 100-user row pays a request's fixed cost (a fresh process's SDK",
    "  clients, the ledger's lock and request records, the pool description: about 0.8 s),",
    '  which 1,000 users and more amortise.',
    "- Peak memory is the handler process's high-water resident set (VmHWM; Node 20, heap",
    "  capped at 90% of the function's 256 MB as the harness runs it, 64 MB in the probe).",
    '',
    '## Bundle',
    '',
    '| bundle (assets/seed-handler/index.js) | require time (median of 5) |',
    '|---:|---:|',
    `| ${(bundle.bytes / 1024).toFixed(1)} KiB (${bundle.bytes.toLocaleString('en-US')} bytes) | ${bundle.requireMs.toFixed(0)} ms |`,
    '',
    'Nothing is installed at deploy: the AWS SDK clients are inside the bundle.',
    '',
    '## Synth',
    '',
    '| users | synth, whole process (median of 3) | synth, in-process | template |',
    '|---:|---:|---:|---:|',
    ...synth.map(
      (f) =>
        `| ${f.n.toLocaleString('en-US')} | ${f.wallMs} ms | ${f.synthMs} ms | ${f.templateBytes.toLocaleString('en-US')} bytes |`,
    ),
    '',
    `10,000 users synthesize in ${(synth[2].wallMs / synth[0].wallMs).toFixed(2)}x the time of an empty pool (whole process), ${(synth[2].synthMs / synth[0].synthMs).toFixed(2)}x in-process.`,
    '',
  ].join('\n');
  if (only === undefined) fs.writeFileSync(path.join(root, 'BENCHMARKS.md'), md);
  console.log(only === undefined ? '\nwrote BENCHMARKS.md' : '\n(one row only: BENCHMARKS.md left as it was)');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
