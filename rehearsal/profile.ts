/**
 * CPU profiles of the two spots issue 9 found quadratic, on the code before the fix
 * (`BEFORE_REF`, checked out into a temporary worktree) and on this tree, with the same
 * input:
 *
 * - the redactor, with a distinct password per user: 10,000 passwords registered, then
 *   service errors described (half of them echoing a password), in process;
 * - the pre-flight's group membership lists: a 10,000-user Create with every user in one
 *   group, through the rehearsal (quotas off), under `node --cpu-prof`.
 *
 * Both handler bundles are built unminified for the profile, so function names survive.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as esbuild from 'esbuild';
import { PasswordMode } from '../lib';
import { Rehearsal, synthesize } from './harness';
import { LIFTED_RATES, populationApp } from './population';

// scripts/bundle.js is plain JavaScript, run by npm scripts.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { handlerBuildOptions } = require('../scripts/bundle') as {
  handlerBuildOptions: (tree: string) => esbuild.BuildOptions;
};

/** main before the fixes: the redactor masked form by form, the pre-flight copied each group's list per member. */
export const BEFORE_REF = 'ec11478';
export const PROFILE_USERS = 10_000;
/** Errors described in the redactor profile (each one a service message; half echo a password). */
export const DESCRIBED_ERRORS = 1_000;

const root = path.join(__dirname, '..');

interface RedactorFigures {
  registerMs: number;
  describeMs: number;
  /** The described messages, to check that both versions mask the same. */
  digest: string;
}

interface HandlerFigures {
  status: string;
  seconds: number;
  cpuMs: number;
  /** CPU in the pre-flight itself (its own frames, not the calls it awaits). */
  preflightSelfMs: number;
  /** The functions with the most CPU of their own. */
  top: { name: string; ms: number }[];
}

export interface HotSpotProfile {
  users: number;
  describedErrors: number;
  beforeRef: string;
  redactor: { before: RedactorFigures; after: RedactorFigures };
  handler: { before: HandlerFigures; after: HandlerFigures };
}

export async function profileHotSpots(): Promise<HotSpotProfile> {
  const before = fs.mkdtempSync(path.join(os.tmpdir(), 'profile-before-'));
  fs.rmSync(before, { recursive: true });
  execFileSync('git', ['worktree', 'add', '--detach', before, BEFORE_REF], { cwd: root, stdio: 'ignore' });
  try {
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(before, 'node_modules'));
    const redactor = { before: profileRedactor(before), after: profileRedactor(root) };
    console.log(
      `  redactor, ${PROFILE_USERS} passwords, ${DESCRIBED_ERRORS} errors described: before ${redactor.before.describeMs} ms, after ${redactor.after.describeMs} ms${redactor.before.digest === redactor.after.digest ? ' (same output)' : ' (OUTPUT DIFFERS)'}`,
    );
    const handler = {
      before: await profileHandler(await unminifiedBundle(before)),
      after: await profileHandler(await unminifiedBundle(root)),
    };
    for (const [when, f] of Object.entries(handler)) {
      console.log(
        `  handler ${when}: ${f.status} in ${f.seconds.toFixed(1)} s, ${f.cpuMs} ms CPU, pre-flight ${f.preflightSelfMs} ms; top: ${f.top.map((t) => `${t.name} ${t.ms}`).join(', ')}`,
      );
    }
    return {
      users: PROFILE_USERS,
      describedErrors: DESCRIBED_ERRORS,
      beforeRef: BEFORE_REF,
      redactor,
      handler,
    };
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', before], { cwd: root, stdio: 'ignore' });
  }
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return Math.round((used.user + used.system) / 1000);
}

/** Registers a password per user, then describes service errors, with `tree`'s lambda/log.ts. */
function profileRedactor(tree: string): RedactorFigures {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const log = require(path.join(tree, 'lambda', 'log.ts')) as typeof import('../lambda/log');
  const passwords = Array.from({ length: PROFILE_USERS }, (_, i) => `Seed-${i.toString(36)}-Passw0rd!`);
  let started = process.cpuUsage();
  const redactor = new log.Redactor();
  for (const p of passwords) redactor.add(p);
  const registerMs = cpuMs(started);
  const described: string[] = [];
  started = process.cpuUsage();
  for (let i = 0; i < DESCRIBED_ERRORS; i++) {
    const error =
      i % 2 === 0
        ? Object.assign(new Error(`Password did not conform with policy: ${passwords[(i * 7) % PROFILE_USERS]}`), {
            name: 'InvalidPasswordException',
          })
        : Object.assign(new Error(`User load-${i} does not exist.`), { name: 'UserNotFoundException' });
    described.push(log.describeError(error, redactor));
  }
  const describeMs = cpuMs(started);
  if (described.some((d) => passwords.some((p) => d.includes(p)))) throw new Error('a password was not masked');
  return { registerMs, describeMs, digest: described.join('\n') };
}

/** `tree`'s handler, bundled as scripts/bundle.js does but not minified (function names survive). */
async function unminifiedBundle(tree: string): Promise<string> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'profile-bundle-'));
  await esbuild.build({
    ...handlerBuildOptions(tree),
    outfile: path.join(outdir, 'index.js'),
    minify: false,
    keepNames: true,
  });
  return outdir;
}

/** A 10,000-user Create, every user in one group, under --cpu-prof; the profile summed by function. */
async function profileHandler(asset: string): Promise<HandlerFigures> {
  const profiles = fs.mkdtempSync(path.join(os.tmpdir(), 'profile-cpu-'));
  const { app, outdir } = populationApp(PROFILE_USERS, PasswordMode.PERMANENT, { groups: ['testers'] });
  const rehearsal = await Rehearsal.start({ backend: 'fake' });
  try {
    const [resource] = await rehearsal.deploy(synthesize(app));
    // Pace lifted as in the memory probe: CPU, not pace, is what this measures.
    const result = await rehearsal.invoke({
      requestType: 'Create',
      resource: { ...rehearsal.withProperties(resource, { ...resource.properties, Rates: LIFTED_RATES }), asset },
      nodeOptions: ['--cpu-prof', `--cpu-prof-dir=${profiles}`],
    });
    const [file] = fs.readdirSync(profiles).filter((f) => f.endsWith('.cpuprofile'));
    return {
      status: result.response?.Status ?? 'none',
      seconds: result.ms / 1000,
      ...summarize(JSON.parse(fs.readFileSync(path.join(profiles, file), 'utf8'))),
    };
  } finally {
    await rehearsal.stop();
    for (const dir of [outdir, profiles, asset]) fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time by function (V8's sampled profile), without idle time. */
function summarize(profile: CpuProfile): Omit<HandlerFigures, 'status' | 'seconds'> {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const frame = byNode.get(id)?.callFrame;
    if (!frame || frame.functionName === '(idle)') return;
    const name = frame.functionName || '(anonymous)';
    self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const top = [...self.entries()]
    .filter(([name]) => name !== '(program)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([name, ms]) => ({ name, ms: Math.round(ms) }));
  return { cpuMs: Math.round(total), preflightSelfMs: Math.round(self.get('preflight') ?? 0), top };
}
