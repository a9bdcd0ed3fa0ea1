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
import { monitorEventLoopDelay } from 'perf_hooks';
import { AdminCreateUserCommand, ListUsersCommand } from '@aws-sdk/client-cognito-identity-provider';
import { PasswordMode } from '../lib';
import { chainRow, chainSection } from './bench-chain';
import { Rehearsal, synthesize } from './harness';
import { NeighbourStats, startNeighbour } from './neighbour';
import { LIFTED_RATES, populationApp } from './population';
import { HotSpotProfile, profileHotSpots } from './profile';

/** The function's smallest configuration, where memory is measured: 256 MB, heap 160. */
const SMALLEST = { memorySize: 256 };
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
  /** Runs of the row, each reported (a pace that holds in one run may not in the next). @default 1 */
  runs?: number;
}

/**
 * The largest population one resource can create and then delete while CloudFormation
 * waits (3,600 s each), run `scale` times faster so it fits the machine: the proxy's
 * quotas and the seeder's rates are both multiplied by `scale`. The function keeps its
 * 15 minutes: each invocation's start (the users file, the ledger, the pre-flight) costs
 * this machine far more than Lambda and DynamoDB, and dividing the timeout would multiply
 * it; the Create and the Delete still span two invocations each.
 */
interface LargestScenario {
  users: number;
  mode: PasswordMode;
  scale: number;
}

const LARGEST: LargestScenario = { users: 80_000, mode: PasswordMode.PERMANENT, scale: 3 };
/** CloudFormation's wait for a custom resource, and Lambda's longest invocation, in seconds. */
const CFN_WAIT_S = 3_600;
const LAMBDA_TIMEOUT_S = 900;

const SCENARIOS: Scenario[] = [
  { users: 100, mode: PasswordMode.PERMANENT, backend: 'cognito-local' },
  { users: 1_000, mode: PasswordMode.PERMANENT, backend: 'cognito-local' },
  { users: 1_000, mode: PasswordMode.TEMPORARY, backend: 'cognito-local' },
  { users: 10_000, mode: PasswordMode.PERMANENT, backend: 'fake' },
  { users: 10_000, mode: PasswordMode.TEMPORARY, backend: 'fake' },
  { users: 10_000, mode: PasswordMode.PERMANENT, backend: 'fake', heapMb: 64 },
  { users: 1_000, mode: PasswordMode.PERMANENT, backend: 'fake', latencyMs: 300 },
  { users: 1_000, mode: PasswordMode.PERMANENT, backend: 'fake', latencyMs: 500 },
  // 6,000 users at the 15/s the neighbour leaves: more than 6 minutes, long enough for a
  // pace that slowly takes from the neighbour to show it, minute by minute.
  { users: 6_000, mode: PasswordMode.PERMANENT, backend: 'fake', neighbourRps: 15 },
  { users: 1_000, mode: PasswordMode.PERMANENT, backend: 'fake', quotaScale: 1 / 3, runs: 3 },
  { users: 1_000, mode: PasswordMode.PERMANENT, backend: 'fake', randomThrottle: 0.3 },
];

/** The adaptation rows: the seeder's rates are not the proxy's quotas. */
const adapts = (s: Scenario) =>
  s.latencyMs !== undefined ||
  s.quotaScale !== undefined ||
  s.neighbourRps !== undefined ||
  s.randomThrottle !== undefined;
/** The two-seeder row: this many users, by one seeder and by two of one stack with half each. */
const CHAIN_USERS = 2_000;
const root = path.join(__dirname, '..');
// `npm run bench -- 1000` runs the 1,000-user rows only (`-- 10000`, `-- 100` likewise),
// `-- lone` the 10,000-user PERMANENT row (a lone seeder at the quota), `-- probe` the memory
// probe only, `-- adapt` the adaptation rows only, `-- neighbour`, `-- third` and `-- random`
// one of them; each rewrites its own rows of BENCHMARKS.md in place (the neighbour its
// minute-by-minute section too). `-- two-seeders` runs the two-seeder section and rewrites
// it in place.
const only = process.argv[2];
// `-- largest` runs the largest create-and-delete row only; `-- largest:10000:5` a smaller
// population or another scale, for a trial.
const [largestUsers, largestScale] = only?.startsWith('largest') ? only.split(':').slice(1).map(Number) : [];
const runLargest = only === undefined || only.startsWith('largest');
// `-- cpu` runs the CPU profiles of the two formerly quadratic spots only.
const selected = (s: Scenario) =>
  only === undefined ||
  (only === 'probe'
    ? s.heapMb !== undefined
    : only === 'adapt'
      ? adapts(s)
      : only === 'neighbour'
        ? s.neighbourRps !== undefined
        : only === 'third'
          ? s.quotaScale !== undefined
          : only === 'random'
            ? s.randomThrottle !== undefined
            : only === 'lone'
              ? s.users === 10_000 && s.mode === PasswordMode.PERMANENT && !s.heapMb && !adapts(s)
              : s.users === Number(only) && !s.heapMb && !adapts(s));
/** Selectors whose rows are rewritten in place. */
const rowsOnly = only !== undefined && SCENARIOS.some(selected);
const runChain = only === undefined || only === 'two-seeders';

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
  // Memory is measured in the smallest configuration it must fit: 256 MB (heap 160).
  const { app, outdir } = populationApp(s.users, s.mode, { seeding: { seedingFunction: SMALLEST } });
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
    const loadBefore = os.loadavg();
    // The probe lifts the handler's own pacing too: memory, not pace, is what it measures.
    const neighbour = s.neighbourRps
      ? await startNeighbour(rehearsal, resource.properties.UserPoolId, s.neighbourRps)
      : undefined;
    // When the seeder's password calls were served: how long it takes to settle beside the neighbour.
    const served: number[] = [];
    rehearsal.proxy.onForwarded = (target, username) => {
      if (target === 'AdminSetUserPassword' && username?.startsWith('load-')) served.push(Date.now());
    };
    // And throttled, for the timeline of the seeder's start beside the neighbour.
    const throttledAt: number[] = [];
    rehearsal.proxy.onThrottled = (target, username) => {
      if (target === 'AdminSetUserPassword' && username?.startsWith('load-')) throttledAt.push(Date.now());
    };
    // The proxy, the neighbour and the stand-ins share this process: how late its event loop
    // ran, minute by minute, says how much the machine's load bent the neighbour's pace.
    const loop = neighbour ? new LoopDelay() : undefined;
    const invoked = Date.now();
    const result = await rehearsal.invoke({
      requestType: 'Create',
      resource: s.heapMb
        ? rehearsal.withProperties(resource, { ...resource.properties, Rates: LIFTED_RATES })
        : resource,
      heapMb: s.heapMb,
    });
    const neighbourStats = await neighbour?.stop();
    const loopP99 = loop?.stop();
    if (neighbourStats) printStart(neighbourStats, invoked, served, throttledAt);
    const neighbourServed = neighbourStats?.share;
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
      reason: result.response?.Reason,
      seconds,
      rate,
      ratio: rate / scenarioBound(s),
      bound: scenarioBound(s),
      invocations: result.invocations,
      throttlesPer100: summary?.calls ? (100 * (summary.throttles ?? 0)) / summary.calls : 0,
      neighbourServed,
      convergedAfter: s.neighbourRps ? convergence(served, invoked, scenarioBound(s)) : undefined,
      minutes: neighbourStats ? byMinute(neighbourStats, served, loopP99 ?? []) : undefined,
      load: neighbour ? { before: loadBefore, after: os.loadavg() } : undefined,
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

/** The small-population rows: users, and runs of each (the median is reported). */
const SMALL = { users: [1, 10], runs: 5 };

/**
 * From the event to the answer for a small population: the engine's fixed cost. Each
 * task (the delivery, each slice, the answer) runs in a fresh process here, as a cold
 * Lambda would.
 */
async function small(users: number) {
  const { app, outdir } = populationApp(users, PasswordMode.PERMANENT);
  const rehearsal = await Rehearsal.start({ backend: 'fake', quotas: true });
  try {
    const [resource] = await rehearsal.deploy(synthesize(app));
    const runs: { ms: number; status: string; invocations: number }[] = [];
    for (let i = 0; i < SMALL.runs; i++) {
      // A Create, then its Delete, so that each run starts from the same empty pool.
      const result = await rehearsal.invoke({ requestType: 'Create', resource });
      runs.push({
        ms: result.endedAt - result.startedAt,
        status: result.response?.Status ?? 'none',
        invocations: result.invocations,
      });
      await rehearsal.invoke({
        requestType: 'Delete',
        resource,
        physicalResourceId: result.response?.PhysicalResourceId,
      });
    }
    const row = {
      users,
      ms: median(runs.map((r) => r.ms)),
      min: Math.min(...runs.map((r) => r.ms)),
      max: Math.max(...runs.map((r) => r.ms)),
      status: runs.every((r) => r.status === 'SUCCESS') ? 'SUCCESS' : runs.map((r) => r.status).join(', '),
      slices: median(runs.map((r) => r.invocations)),
    };
    console.log(
      `    ${users} user(s): ${row.status}, event to answer ${row.ms} ms (median of ${SMALL.runs}; ${row.min} to ${row.max}), ${row.slices} slice(s)`,
    );
    return row;
  } finally {
    await rehearsal.stop();
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** The repair row: a population, and the share of it drifted between two deploys. */
const REPAIR = { users: 10_000, drifted: 0.01 };

/**
 * A repair of a 10,000-user seeder after 1 % drifted (half deleted by hand, half disabled),
 * at Cognito's quotas: its Cognito calls and seconds against the floor, the calls needed
 * to look at every user (one AdminGetUser each, at 120/s) plus those that put the drifted
 * ones back. The population is created with the quotas lifted (its pace is measured
 * elsewhere); the quotas are on for the repair.
 */
async function repairRow() {
  const { app, outdir } = populationApp(REPAIR.users, PasswordMode.PERMANENT, {
    seeding: { seedingFunction: SMALLEST },
  });
  const rehearsal = await Rehearsal.start({ backend: 'fake', quotas: false });
  try {
    const [deployed] = await rehearsal.deploy(synthesize(app));
    const poolId = String(deployed.properties.UserPoolId);
    // Created at lifted rates, then an Update back to the deployed rates: what the repair uses.
    const lifted = rehearsal.withProperties(deployed, { ...deployed.properties, Rates: LIFTED_RATES });
    const create = await rehearsal.invoke({ requestType: 'Create', resource: lifted });
    if (create.response?.Status !== 'SUCCESS')
      throw new Error(`repair row: the Create failed: ${create.response?.Reason}`);
    const resource = rehearsal.withProperties(deployed, deployed.properties);
    const update = await rehearsal.invoke({
      requestType: 'Update',
      resource,
      oldProperties: lifted.properties,
      physicalResourceId: create.response.PhysicalResourceId,
    });
    if (update.response?.Status !== 'SUCCESS')
      throw new Error(`repair row: the Update failed: ${update.response?.Reason}`);
    // Drift, past the repair's 5 s clock tolerance: every 100th user, half deleted, half disabled.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const drifted = Math.round(REPAIR.users * REPAIR.drifted);
    const { AdminDeleteUserCommand, AdminDisableUserCommand } =
      await import('@aws-sdk/client-cognito-identity-provider');
    for (let i = 0; i < drifted; i++) {
      const Username = `load-${i * Math.floor(1 / REPAIR.drifted)}`;
      await rehearsal.cognito.send(
        i % 2 === 0
          ? new AdminDeleteUserCommand({ UserPoolId: poolId, Username })
          : new AdminDisableUserCommand({ UserPoolId: poolId, Username }),
      );
    }
    rehearsal.proxy.enforceQuotas();
    const forwardedBefore = { ...rehearsal.proxy.forwarded };
    process.stdout.write(`  repairing ${REPAIR.users} PERMANENT users, ${drifted} drifted, at the quotas...\n`);
    const started = Date.now();
    const answer = (await rehearsal.invokeFunction(String(resource.properties.ServiceToken), {
      kind: 'repair',
      seeder: resource.logicalId,
      waitSeconds: 0,
    })) as { repairId?: string };
    let status: {
      status: string;
      report?: {
        checked: number;
        left: number;
        calls: number;
        users: { found: string[]; done: string[] }[];
        more: number;
      };
    };
    do {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      status = (await rehearsal.invokeFunction(String(resource.properties.ServiceToken), {
        kind: 'repair-status',
        seeder: resource.logicalId,
        repairId: answer.repairId,
      })) as typeof status;
    } while (status.status === 'RUNNING');
    const seconds = (Date.now() - started) / 1000;
    const calls = Object.entries(rehearsal.proxy.forwarded)
      .filter(([t]) => t.startsWith('Admin'))
      .reduce((sum, [t, c]) => sum + c - (forwardedBefore[t] ?? 0), 0);
    const report = status.report;
    // The floor: one look at each user; a deleted one made again (create, password); a
    // disabled one enabled, and its password set again (disabling modified it, so the pool
    // cannot say the password did not change).
    const fixes = (report?.users ?? []).reduce(
      (sum, u) => sum + u.done.reduce((n, d) => n + (d === 'created' ? 2 : 1), 0),
      0,
    );
    const floorCalls = (report?.checked ?? REPAIR.users) + fixes;
    const floorSeconds = REPAIR.users / DEFAULT_QUOTAS.UserRead.rate;
    const row = {
      users: REPAIR.users,
      drifted,
      status: status.status,
      reported: (report?.users.length ?? 0) + (report?.more ?? 0),
      left: report?.left,
      calls,
      floorCalls,
      seconds,
      floorSeconds,
      throttles: rehearsal.proxy.throttledTotal,
    };
    console.log(
      `    ${row.status}: ${row.reported} drifted users reported, ${row.left} left; ${calls} Cognito calls (floor ${floorCalls}), ${seconds.toFixed(1)} s (floor ${floorSeconds.toFixed(1)} s), ${row.throttles} throttles`,
    );
    return row;
  } finally {
    await rehearsal.stop();
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** BENCHMARKS.md's largest-population section (`-- largest` rewrites it alone). */
function largestSection(big: Awaited<ReturnType<typeof largest>>): string[] {
  return [
    '## The largest population: created and deleted by one resource',
    '',
    `${big.users.toLocaleString('en-US')} ${big.mode} users created by one Create and removed by the same resource's`,
    `Delete, next to a hand-made user in the pool that must survive. CloudFormation waits 3,600 s`,
    `for each; at Cognito's quotas the Create is bound by 30 users/s (AdminSetUserPassword) and`,
    `the Delete by 25 users/s (AdminDeleteUser, UserUpdate), so about 85,000 users is the`,
    `ceiling for one resource. To fit this machine the run is ${big.scale} times faster: the proxy's`,
    `quotas and the seeder's rateLimits are both ${big.scale}x Cognito's. The function keeps its 15 minutes`,
    `(each invocation's start-up, reading the users file and the ledger, costs this 2-core machine`,
    `and dynalite far more than Lambda and DynamoDB, so dividing the timeout would multiply it), and`,
    `each request still continues across invocations (at real quotas, in about ${big.scale} times as many`,
    `minutes, more of them). Rates are reported at real quotas (measured / ${big.scale}); "real seconds" is the measured time x`,
    `${big.scale}, against CloudFormation's 3,600 s. Peak memory is with the function's own heap cap`,
    `(memorySize: 256, so NODE_OPTIONS --max-old-space-size=160).`,
    '',
    'Each request runs as `Work` slices of the state machine (rehearsal/local-engine.ts runs the',
    'synthesized definition); "before first write" is what each slice spent reading the users file,',
    'the ledger and its cursor before its first Cognito write (the first slice / the others: median, max).',
    '',
    '| request | result | users/s (real quotas) | bound | of bound | real seconds (of 3,600) | slices (retries included) | before first write | throttles/100 calls | calls/user | peak memory | seeded users left | hand-made user |',
    '|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|',
    ...[big.create, big.remove].map(
      (p) =>
        `| ${p.requestType} | ${p.status} | ${p.rate.toFixed(1)} | ${p.requestType === 'Create' ? quotaBound(big.mode) : DEFAULT_QUOTAS.UserUpdate.rate}/s | ${(p.ratio * 100).toFixed(0)}% | ${p.realSeconds.toFixed(0)} | ${p.invocations} | ${firstWriteCell(p.firstWriteMs)} | ${p.throttlesPer100.toFixed(1)} | ${p.callsPerUser.toFixed(2)} | ${p.maxRssMb} MB | ${p.count.seeded.toLocaleString('en-US')} | ${p.count.others === 1 ? 'kept' : `${p.count.others} left`} |`,
    ),
    '',
    ...[big.create, big.remove]
      .filter((p) => p.status !== 'SUCCESS')
      .flatMap((p) => [`The ${p.requestType} answered ${p.status}: ${p.reason ?? 'no reason'}`, '']),
  ];
}

/** BENCHMARKS.md's small-population section (`-- small` rewrites it alone). */
function smallSection(smallRows: Awaited<ReturnType<typeof small>>[]): string[] {
  return [
    '## Small populations: from the event to the answer',
    '',
    `A PERMANENT Create of 1 and of 10 users, ${SMALL.runs} runs each (each followed by its Delete), from the`,
    "event's delivery to CloudFormation receiving the answer: the engine's fixed cost. Here every",
    'task (the delivery that starts the execution, each `Work` slice, the `Answer`) is a fresh',
    'Node process that loads the bundle, as a cold Lambda does; a warm function skips that.',
    'Before the engine (the self-invocation design), 1 user took about 340 ms from the event to',
    'the answer in one invocation (the figure issue 17 measured; that design is gone, so it is',
    'not re-run here).',
    '',
    '| users | result | event to answer (median) | min | max | slices |',
    '|---:|---|---:|---:|---:|---:|',
    ...smallRows.map((r) => `| ${r.users} | ${r.status} | ${r.ms} ms | ${r.min} ms | ${r.max} ms | ${r.slices} |`),
    '',
  ];
}

/**
 * Rewrites one section of BENCHMARKS.md in place (the other rows take an hour), or inserts
 * it before the CPU section when it is not there yet.
 */
function rewriteSection(title: string, lines: string[]): void {
  const file = path.join(root, 'BENCHMARKS.md');
  const old = fs.readFileSync(file, 'utf8');
  const section = lines.join('\n');
  const start = old.indexOf(title);
  const cpuAt = old.indexOf('## CPU: the two spots that were quadratic');
  if (cpuAt === -1) throw new Error('BENCHMARKS.md has no CPU section: run npm run bench');
  const next = start === -1 ? -1 : old.indexOf('\n## ', start + 1);
  const end = next === -1 ? cpuAt : next + 1;
  fs.writeFileSync(
    file,
    start === -1
      ? old.slice(0, cpuAt) + section + '\n' + old.slice(cpuAt)
      : old.slice(0, start) + section + '\n' + old.slice(end),
  );
  console.log(`\nrewrote "${title.replace(/^## /, '').trim()}" in BENCHMARKS.md`);
}

/** BENCHMARKS.md's repair section (`-- repair` rewrites it alone). */
function repairSection(r: Awaited<ReturnType<typeof repairRow>>): string[] {
  return [
    '## Repair: 10,000 users, 1 % drifted',
    '',
    `A seeder of ${r.users.toLocaleString('en-US')} PERMANENT users; between two deploys ${r.drifted} of them drift (half deleted by`,
    "hand, half disabled). A repair (users.repair(), through the seeding function) at Cognito's",
    'quotas, against the floor: one AdminGetUser a user to look (120/s), plus the calls that put',
    'the drifted ones back (a deleted user: AdminCreateUser and AdminSetUserPassword; a disabled',
    'one: AdminEnableUser, and AdminSetUserPassword, since disabling modified it and the pool',
    'cannot tell a password change apart).',
    '',
    '| users | drifted | result | drifted users reported | left | Cognito calls | floor | seconds | floor (reads at 120/s) | throttles |',
    '|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|',
    `| ${r.users.toLocaleString('en-US')} | ${r.drifted} | ${r.status} | ${r.reported} | ${r.left} | ${r.calls.toLocaleString('en-US')} | ${r.floorCalls.toLocaleString('en-US')} | ${r.seconds.toFixed(1)} | ${r.floorSeconds.toFixed(1)} | ${r.throttles} |`,
    '',
  ];
}

/** What each slice spent before its first write, from the slices' own log lines (ms). */
function firstWrites(output: string): number[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes('"firstWriteMs"'))
    .map((l) => Number(JSON.parse(l).firstWriteMs))
    .filter((ms) => Number.isFinite(ms));
}

/**
 * Minute by minute from the neighbour's start: the share of its calls served, and the
 * seeder's served password calls a second (the last minute may be partial).
 */
function byMinute(neighbour: NeighbourStats, seederServed: number[], loopP99: number[]) {
  return neighbour.minutes.map((m, i) => {
    const from = neighbour.startedAt + i * 60_000;
    const seconds = Math.min(60, (neighbour.stoppedAt - from) / 1000);
    const seeder = seederServed.filter((t) => t >= from && t < from + 60_000).length;
    return {
      minute: i + 1,
      seconds,
      neighbourShare: m.sent ? m.served / m.sent : 1,
      seederRate: seeder / seconds,
      loopP99Ms: loopP99[i],
    };
  });
}

/** The event loop's delay, its 99th percentile minute by minute (ms), from construction to stop(). */
class LoopDelay {
  private readonly histogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly minutes: number[] = [];
  private readonly timer: NodeJS.Timeout;
  constructor() {
    this.histogram.enable();
    this.timer = setInterval(() => this.take(), 60_000);
  }
  stop(): number[] {
    clearInterval(this.timer);
    this.take();
    this.histogram.disable();
    return this.minutes;
  }
  private take(): void {
    this.minutes.push(this.histogram.percentile(99) / 1e6);
    this.histogram.reset();
  }
}

/** The seeder's start beside the neighbour, 5 s at a time for its first 90 s (console only). */
function printStart(neighbour: NeighbourStats, invoked: number, served: number[], throttled: number[]): void {
  const from = neighbour.startedAt;
  const count = (times: number[], at: number) => times.filter((t) => t >= at && t < at + 5_000).length;
  console.log(`      the seeder was invoked ${((invoked - from) / 1000).toFixed(1)} s after the neighbour's start`);
  for (let at = from; at < Math.min(neighbour.stoppedAt, from + 90_000); at += 5_000) {
    const calls = neighbour.calls.filter((c) => c.at >= at && c.at < at + 5_000);
    console.log(
      `      ${String((at - from) / 1000).padStart(3)}-${String((at - from) / 1000 + 5).padEnd(3)} s: neighbour ${calls.filter((c) => c.served).length}/${calls.length}, seeder ${count(served, at)} served, ${count(throttled, at)} throttled`,
    );
  }
}

/** Seconds over which the seeder's served rate is judged, and how close to the bound it must stay. */
const CONVERGENCE_WINDOW_S = 5;
const CONVERGENCE_BAND = 0.15;

/**
 * Seconds from the start until the seeder's served password calls, over every sliding
 * 5-second window from then to the end of the run (the last window excluded: the run
 * winds down), stay within 15 % of `bound` calls a second.
 */
function convergence(served: number[], start: number, bound: number): number | undefined {
  if (served.length === 0) return undefined;
  const seconds = Math.floor((served[served.length - 1] - start) / 1000);
  const perSecond = new Array<number>(seconds + 1).fill(0);
  for (const t of served) perSecond[Math.min(seconds, Math.floor((t - start) / 1000))]++;
  const windowRate = (from: number) =>
    perSecond.slice(from, from + CONVERGENCE_WINDOW_S).reduce((a, b) => a + b, 0) / CONVERGENCE_WINDOW_S;
  const last = seconds - 2 * CONVERGENCE_WINDOW_S;
  let converged: number | undefined;
  for (let from = last; from >= 0; from--) {
    if (Math.abs(windowRate(from) - bound) > CONVERGENCE_BAND * bound) break;
    converged = from;
  }
  return converged;
}

/** Users in the pool (the emulator's own count, no proxy), those named `load-*` apart. */
async function countUsers(rehearsal: Rehearsal, poolId: string) {
  let seeded = 0;
  let others = 0;
  let token: string | undefined;
  do {
    const page = await rehearsal.cognito.send(new ListUsersCommand({ UserPoolId: poolId, PaginationToken: token }));
    for (const u of page.Users ?? []) {
      if (u.Username?.startsWith('load-')) seeded++;
      else others++;
    }
    token = page.PaginationToken;
  } while (token);
  return { seeded, others };
}

/**
 * Creates the largest population, then deletes it with the same resource's Delete, next
 * to a hand-made user that must survive; both at `scale` times Cognito's quotas, each
 * reported as a ratio to its bound (PERMANENT: 30 users/s; delete: 25/s).
 */
async function largest(s: LargestScenario) {
  const r = DEFAULT_QUOTAS;
  const { app, outdir } = populationApp(s.users, s.mode, {
    seeding: {
      seedingFunction: SMALLEST,
      rateLimits: {
        userCreation: r.UserCreation.rate * s.scale,
        accountRecovery: r.UserAccountRecovery.rate * s.scale,
        userWrites: r.UserUpdate.rate * s.scale,
        userReads: r.UserRead.rate * s.scale,
      },
    },
  });
  const rehearsal = await Rehearsal.start({ backend: 'fake', quotas: true, quotaScale: s.scale });
  try {
    const [resource] = await rehearsal.deploy(synthesize(app));
    const poolId = resource.properties.UserPoolId;
    await rehearsal.cognito.send(
      new AdminCreateUserCommand({ UserPoolId: poolId, Username: 'hand-made', MessageAction: 'SUPPRESS' }),
    );
    process.stdout.write(
      `  creating and deleting ${s.users} ${s.mode} users at ${s.scale}x the quotas and rates, ${LAMBDA_TIMEOUT_S} s an invocation...\n`,
    );
    const phase = async (requestType: 'Create' | 'Delete', physicalResourceId?: string) => {
      const throttledBefore = rehearsal.proxy.throttledTotal;
      const forwardedBefore = Object.values(rehearsal.proxy.forwarded).reduce((a, c) => a + c, 0);
      const result = await rehearsal.invoke({ requestType, resource, physicalResourceId });
      const throttled = rehearsal.proxy.throttledTotal - throttledBefore;
      const forwarded = Object.values(rehearsal.proxy.forwarded).reduce((a, c) => a + c, 0) - forwardedBefore;
      const seconds = result.ms / 1000;
      const bound = (requestType === 'Create' ? quotaBound(s.mode) : r.UserUpdate.rate) * s.scale;
      const row = {
        requestType,
        status: result.response?.Status ?? 'none',
        reason: result.response?.Reason,
        physicalResourceId: result.response?.PhysicalResourceId,
        seconds,
        rate: s.users / seconds / s.scale,
        ratio: s.users / seconds / bound,
        // What the same run takes at Cognito's real quotas, against CloudFormation's wait.
        realSeconds: seconds * s.scale,
        invocations: result.invocations,
        throttlesPer100: (100 * throttled) / (throttled + forwarded),
        callsPerUser: forwarded / s.users,
        maxRssMb: result.maxRssMb,
        firstWriteMs: firstWrites(result.output),
        count: await countUsers(rehearsal, poolId),
      };
      console.log(
        `    ${requestType} ${row.status}: ${row.rate.toFixed(1)} users/s at real quotas (${(row.ratio * 100).toFixed(0)}% of the bound), ${row.realSeconds.toFixed(0)} of ${CFN_WAIT_S} s, ${row.invocations} invocations, ${row.throttlesPer100.toFixed(1)} throttles/100 calls, ${row.callsPerUser.toFixed(2)} calls/user, ${row.maxRssMb} MB peak; pool: ${row.count.seeded} seeded, ${row.count.others} other${row.reason ? ` (${row.reason})` : ''}`,
      );
      return row;
    };
    const create = await phase('Create');
    const remove = await phase('Delete', create.physicalResourceId);
    return { ...s, create, remove };
  } finally {
    await rehearsal.stop();
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

function condition(s: Scenario): string {
  if (s.latencyMs) return `${s.latencyMs} ms a call`;
  if (s.neighbourRps)
    return `neighbour at ${s.neighbourRps}/s of the 30/s quota (${s.users.toLocaleString('en-US')} users)`;
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
  const runs = SCENARIOS.filter((x) => selected(x) && !only?.startsWith('largest') && only !== 'cpu').flatMap((s) =>
    Array.from({ length: s.runs ?? 1 }, (_, i) => ({ s, run: i + 1 })),
  );
  for (const { s, run } of runs) {
    const row = { ...(await seed(s)), run };
    console.log(
      `    ${row.status}: ${row.rate.toFixed(1)} users/s (${(row.ratio * 100).toFixed(0)}% of the bound, ${row.bound.toFixed(1)}/s), ${row.callsPerUser.toFixed(2)} calls/user, ${row.throttlesPer100.toFixed(1)} throttles/100 calls, ${row.invocations} invocation(s), ${row.failed} failed, ${row.maxRssMb} MB peak${row.neighbourServed === undefined ? '' : `, neighbour served ${(row.neighbourServed * 100).toFixed(0)}%, converged after ${row.convergedAfter ?? 'never'} s`}${(s.runs ?? 1) > 1 ? ` (run ${run} of ${s.runs})` : ''}${row.reason ? ` (${row.reason})` : ''}`,
    );
    for (const m of row.minutes ?? []) {
      console.log(
        `      minute ${m.minute}${m.seconds < 60 ? ` (${m.seconds.toFixed(0)} s)` : ''}: neighbour served ${(m.neighbourShare * 100).toFixed(1)}%, seeder ${m.seederRate.toFixed(1)} users/s${m.loopP99Ms === undefined ? '' : `, event loop p99 ${m.loopP99Ms.toFixed(0)} ms`}`,
      );
    }
    rows.push(row);
  }
  if (rowsOnly) {
    rewriteRows(rows);
    const neighbour = rows.find((r) => r.minutes);
    if (neighbour) rewriteSubsection('### The neighbour, minute by minute', neighbourSection(neighbour));
    return;
  }
  const repair = only === undefined || only === 'repair' ? await repairRow() : undefined;
  if (only === 'repair' && repair) {
    rewriteSection('## Repair: ', repairSection(repair));
    return;
  }
  const smallRows = [];
  if (only === undefined || only === 'small') {
    console.log('  small populations, from the event to the answer...');
    for (const users of SMALL.users) smallRows.push(await small(users));
  }
  if (only === 'small') {
    rewriteSection('## Small populations: ', smallSection(smallRows));
    return;
  }
  const chain = runChain
    ? await chainRow(CHAIN_USERS, PasswordMode.PERMANENT, { seedingFunction: SMALLEST })
    : undefined;

  if (only === 'two-seeders' && chain) {
    rewriteSection('## Two seeders of one stack', chainSection(chain, quotaBound(PasswordMode.PERMANENT)));
    return;
  }

  const cpu: HotSpotProfile | undefined = only === undefined || only === 'cpu' ? await profileHotSpots() : undefined;
  const big = runLargest
    ? await largest({ ...LARGEST, users: largestUsers || LARGEST.users, scale: largestScale || LARGEST.scale })
    : undefined;

  if (only === 'largest' && big) {
    rewriteSection('## The largest population', largestSection(big));
    return;
  }
  if (only === 'cpu' && cpu) {
    // The CPU section alone, in place: the other rows take an hour.
    const file = path.join(root, 'BENCHMARKS.md');
    const old = fs.readFileSync(file, 'utf8');
    const start = old.indexOf('## CPU: the two spots that were quadratic');
    const end = old.indexOf('\n## ', start + 1);
    if (start === -1 || end === -1) throw new Error('BENCHMARKS.md has no CPU section to replace: run npm run bench');
    fs.writeFileSync(file, old.slice(0, start) + cpuSection(cpu).join('\n') + old.slice(end));
    console.log('\nrewrote the CPU section of BENCHMARKS.md');
    return;
  }
  if (only !== undefined || !big || !cpu || !chain || !repair) {
    console.log('\n(selected rows only: BENCHMARKS.md left as it was)');
    return;
  }
  const md = [
    '# Benchmarks',
    '',
    'Regenerate with `npm run bench` (about an hour and a quarter: the 10,000-user rows run at',
    'the quota bound, the neighbour row over 6 minutes, and the largest population takes about 35',
    'minutes at 3 times the quotas; `npm run bench -- 1000`, `-- adapt`, `-- neighbour`, `-- third`,',
    '`-- random`, `-- lone`, `-- two-seeders`, `-- small`, `-- repair`, `-- probe`, `-- cpu` and `-- largest` run',
    'parts, and rewrite their own rows or section in place).',
    'Measured on the project machine (2 cores), loopback only, with the synthesized handler asset run as Lambda runs it (rehearsal/harness.ts) behind a proxy',
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
    ...rows.filter((r) => !r.heapMb && !adapts(r)).map((r) => tableRow(r).line),
    '',
    '## Adaptation: the seeder at its default rates, Cognito not',
    '',
    'Each row seeds PERMANENT users (the in-memory backend; 1,000, and 6,000 beside the',
    "neighbour) with the seeder at its default rates while the account's Cognito differs: every",
    'call 300 or 500 ms slower; a neighbour calling AdminSetUserPassword at 15/s through the',
    'same 30/s quota, never retrying; the quotas at a third of the defaults (three runs); 30 % of',
    'calls throttled at random on top of the quotas. The bound is what that Cognito allows',
    '(30/s; 15/s left by the neighbour; 10/s; 21/s of calls that are not thrown away), and the',
    'seeder\'s own throttles are counted per 100 of its calls. For the neighbour row, "converged',
    'after" is the time from the seeder\'s start until its served AdminSetUserPassword calls,',
    'over every 5-second window to the end of the run, stay within 15 % of the 15/s the',
    'neighbour leaves.',
    '',
    '| condition | result | seconds | users/s | bound | of bound | throttles/100 calls | invocations | neighbour served | converged after | calls/user | failed users |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.filter((r) => adapts(r)).map((r) => tableRow(r).line),
    '',
    ...neighbourSection(rows.find((r) => r.minutes)),
    ...chainSection(chain, quotaBound(PasswordMode.PERMANENT)),
    ...largestSection(big),
    ...smallSection(smallRows),
    ...repairSection(repair),
    ...cpuSection(cpu),
    '## Memory probe',
    '',
    'Node collects lazily, so peak RSS above grows toward the heap cap whatever the handler',
    'needs. This row caps the heap far lower and lifts the quotas (memory does not depend on',
    'pace): if it succeeds, the handler needs less than that.',
    '',
    '| users | mode | heap cap | result | seconds | failed users | peak memory |',
    '|---:|---|---:|---|---:|---:|---:|',
    ...rows.filter((r) => r.heapMb).map((r) => tableRow(r).line),
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
    "- Peak memory is the handler process's high-water resident set (VmHWM; Node 20), with",
    '  the function at `memorySize: 256` and so its heap capped at 160 MB (`NODE_OPTIONS`), 64 MB',
    '  in the probe. The default memory is 1,024 MB, for the CPU that comes with it.',
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

type Row = Awaited<ReturnType<typeof seed>> & { run: number };

/**
 * A scenario's line in its table of BENCHMARKS.md, and the start of that line that names
 * the row (a rewrite in place replaces the line that starts with it).
 */
function tableRow(r: Row): { key: string; line: string } {
  if (r.heapMb) {
    const key = `| ${r.users.toLocaleString('en-US')} | ${r.mode} | ${r.heapMb} MB |`;
    return { key, line: `${key} ${r.status} | ${r.seconds.toFixed(1)} | ${r.failed} | ${r.maxRssMb} MB |` };
  }
  if (adapts(r)) {
    const key = `| ${condition(r)}${(r.runs ?? 1) > 1 ? `, run ${r.run} of ${r.runs}` : ''} |`;
    return {
      key,
      line: `${key} ${r.status} | ${r.seconds.toFixed(1)} | ${r.rate.toFixed(1)} | ${r.bound.toFixed(1)}/s | ${(r.ratio * 100).toFixed(0)}% | ${r.throttlesPer100.toFixed(1)} | ${r.invocations} | ${r.neighbourServed === undefined ? '-' : `${(r.neighbourServed * 100).toFixed(0)}%`} | ${r.neighbourRps === undefined ? '-' : r.convergedAfter === undefined ? 'not within the run' : `${r.convergedAfter} s`} | ${r.callsPerUser.toFixed(2)} | ${r.failed} |`,
    };
  }
  const key = `| ${r.users.toLocaleString('en-US')} | ${r.mode} | ${r.backend} | ${r.latencyMs ?? 0} ms |`;
  return {
    key,
    line: `${key} ${r.usersFile} | ${r.status} | ${r.seconds.toFixed(1)} | ${r.rate.toFixed(1)} | ${(r.ratio * 100).toFixed(0)}% (${quotaBound(r.mode)}/s) | ${r.callsPerUser.toFixed(2)} | ${r.throttles} | ${r.failed} | ${r.maxRssMb} MB |`,
  };
}

/** Rewrites the rows of BENCHMARKS.md these runs measured, in place; every other line stays. */
function rewriteRows(rows: Row[]): void {
  const file = path.join(root, 'BENCHMARKS.md');
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (const { key, line } of rows.map(tableRow)) {
    const at = lines.filter((l) => l.startsWith(key));
    if (at.length !== 1) throw new Error(`BENCHMARKS.md has ${at.length} rows starting '${key}': run npm run bench`);
    lines[lines.indexOf(at[0])] = line;
  }
  fs.writeFileSync(file, lines.join('\n'));
  console.log(`\nrewrote ${rows.length} row(s) of BENCHMARKS.md in place`);
}

/** Rewrites a `###` section of BENCHMARKS.md in place, up to the next heading. */
function rewriteSubsection(title: string, lines: string[]): void {
  const file = path.join(root, 'BENCHMARKS.md');
  const old = fs.readFileSync(file, 'utf8');
  const start = old.indexOf(title);
  if (start === -1) throw new Error(`BENCHMARKS.md has no '${title}': run npm run bench`);
  const next = /\n##/.exec(old.slice(start + title.length));
  const end = next ? start + title.length + next.index + 1 : old.length;
  fs.writeFileSync(file, old.slice(0, start) + lines.join('\n') + '\n' + old.slice(end));
  console.log(`rewrote "${title.replace(/^#+ /, '')}" in BENCHMARKS.md`);
}

/** "the first slice / the others: median, max" of what each slice spent before its first write. */
function firstWriteCell(ms: number[]): string {
  if (ms.length === 0) return '-';
  const s = (x: number) => `${(x / 1000).toFixed(1)} s`;
  const rest = ms.slice(1);
  return rest.length === 0 ? s(ms[0]) : `${s(ms[0])} / ${s(median(rest))}, ${s(Math.max(...rest))}`;
}

/** The neighbour row minute by minute: what the neighbour was served, and what the seeder took of what it leaves. */
function neighbourSection(row?: Row): string[] {
  const minutes = row?.minutes ?? [];
  if (!row || minutes.length === 0) return [];
  const worst = Math.min(...minutes.map((m) => m.neighbourShare));
  const load = (l?: number[]) => (l ? l.map((x) => x.toFixed(2)).join(', ') : '-');
  const seconds = minutes.reduce((sum, m) => sum + m.seconds, 0);
  return [
    '### The neighbour, minute by minute',
    '',
    "The neighbour row from the neighbour's start: the share of its calls served in each minute",
    `(the worst: ${(worst * 100).toFixed(1)} %), and the seeder's served AdminSetUserPassword calls a second, against`,
    `the ${row.bound}/s the neighbour leaves (the first minute includes the seeder's start, the last`,
    `may be partial), over ${(seconds / 60).toFixed(1)} minutes${seconds < 300 ? ' (SHORTER than the 5 minutes the row must last)' : ''}. The proxy and the neighbour share the`,
    "bench's process with the stand-ins: its event loop's 99th-percentile delay says how much",
    `the machine's load bent the neighbour's pace. Measured ${new Date().toISOString().slice(0, 10)} by \`npm run bench${only ? ` -- ${only}` : ''}\`,`,
    `load average (1, 5, 15 min) ${load(row.load?.before)} before and ${load(row.load?.after)} after.`,
    '',
    `| minute | seconds | neighbour served | seeder users/s | of the ${row.bound}/s left | event loop p99 |`,
    '|---:|---:|---:|---:|---:|---:|',
    ...minutes.map(
      (m) =>
        `| ${m.minute} | ${m.seconds.toFixed(0)} | ${(m.neighbourShare * 100).toFixed(1)} % | ${m.seederRate.toFixed(1)} | ${((m.seederRate / row.bound) * 100).toFixed(0)} % | ${m.loopP99Ms === undefined ? '-' : `${m.loopP99Ms.toFixed(0)} ms`} |`,
    ),
    '',
  ];
}

/** BENCHMARKS.md's CPU section (`-- cpu` rewrites it alone). */
function cpuSection(cpu: HotSpotProfile): string[] {
  return [
    '## CPU: the two spots that were quadratic',
    '',
    `The same input on main before the fix (\`${cpu.beforeRef}\`) and on this tree (rehearsal/profile.ts):`,
    '',
    `- **Redactor**, a distinct password per user: ${cpu.users.toLocaleString('en-US')} passwords registered, then`,
    `  ${cpu.describedErrors.toLocaleString('en-US')} service errors described (half echo a password), in process. Before, each`,
    '  description sorted and searched every form of every password; now forms are indexed',
    '  by their first six characters, so a description costs the length of its text.',
    `  Both versions give the same ${cpu.redactor.before.digest === cpu.redactor.after.digest ? 'output (checked)' : 'output: NOT THE SAME (a bug)'}.`,
    `- **Pre-flight group lists**: a ${cpu.users.toLocaleString('en-US')}-user PERMANENT Create, every user in one group,`,
    '  through the rehearsal with the pace lifted, under `node --cpu-prof` (unminified bundles).',
    "  Before, each member copied its group's whole list (quadratic: 16 s at 50,000 in the",
    '  issue); now it appends.',
    '',
    '| spot | before | after |',
    '|---|---:|---:|',
    `| redactor: registering ${cpu.users.toLocaleString('en-US')} passwords | ${cpu.redactor.before.registerMs} ms | ${cpu.redactor.after.registerMs} ms |`,
    `| redactor: describing ${cpu.describedErrors.toLocaleString('en-US')} errors | ${cpu.redactor.before.describeMs} ms | ${cpu.redactor.after.describeMs} ms |`,
    `| handler: pre-flight's own CPU | ${cpu.handler.before.preflightSelfMs} ms | ${cpu.handler.after.preflightSelfMs} ms |`,
    `| handler: the Create's profiled time, idle excluded (${cpu.handler.before.status} / ${cpu.handler.after.status}) | ${cpu.handler.before.cpuMs} ms | ${cpu.handler.after.cpuMs} ms |`,
    '',
    'Where the Create spends its CPU (self time, top 5):',
    '',
    '| before | after |',
    '|---|---|',
    ...cpu.handler.before.top.map(
      (t, i) =>
        `| ${t.name} ${t.ms} ms | ${cpu.handler.after.top[i] ? `${cpu.handler.after.top[i].name} ${cpu.handler.after.top[i].ms} ms` : ''} |`,
    ),
    '',
  ];
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
