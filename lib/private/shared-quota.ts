/**
 * Cognito's quotas are per account and region. The seeders of one stack run one after
 * another, so each has them whole; stacks of one app in the same account and region may
 * still deploy at the same time (`cdk deploy --concurrency`, a pipeline wave), and then
 * their seeders share them. A pure module: stacks and seconds in, the note out.
 */
import type { CallCounts } from './time-budget';

/** What one seeder's Create and Delete take at its configured rates, in seconds. */
export interface SeederLoad {
  readonly path: string;
  /** Seconds per quota category of a Create (the categories are paced apart). */
  readonly create: CallCounts;
  /** Seconds of a Delete: one AdminDeleteUser per user, at the UserUpdate rate. */
  readonly delete: number;
}

/** A stack with seeders, in a known account and region. */
export interface StackLoad {
  readonly path: string;
  readonly account: string;
  readonly region: string;
  readonly seeders: readonly SeederLoad[];
  /** Paths of the stacks this one depends on, directly or not. */
  readonly dependsOn: ReadonlySet<string>;
}

/**
 * The note for `stack` when one of its seeders could overrun `budget` seconds because the
 * stacks that may deploy at the same time (same account and region, no dependency either
 * way) seed while it does; undefined when none could. Seeders that run together share a
 * quota about evenly (each slows down when throttled), so while a seeder runs, each other
 * stack takes at most as much of a quota category as the seeder itself needs, and never
 * more than its own seeding (its seeders run one after another).
 */
export function sharedQuotaNote(stack: StackLoad, stacks: readonly StackLoad[], budget: number): string | undefined {
  const others = stacks.filter(
    (o) =>
      o.path !== stack.path &&
      o.account === stack.account &&
      o.region === stack.region &&
      o.seeders.length > 0 &&
      !o.dependsOn.has(stack.path) &&
      !stack.dependsOn.has(o.path),
  );
  if (others.length === 0 || stack.seeders.length === 0) return undefined;
  const totals = others.map((o) => sum(o.seeders));
  // A seeder's own seconds, and each other stack's during them: no more than its own.
  const during = (own: number, theirs: number[]) => own + theirs.reduce((a, t) => a + Math.min(t, own), 0);
  const theirCreates = (c: keyof CallCounts) => totals.map((t) => t.create[c]);
  const theirDeletes = totals.map((t) => t.delete);
  let worst: { seeder: SeederLoad; seconds: number; what: string } | undefined;
  for (const seeder of stack.seeders) {
    const create = slowest(byCategory((c) => during(seeder.create[c], theirCreates(c))));
    const remove = during(seeder.delete, theirDeletes);
    for (const [what, seconds] of [
      ['create', create],
      ['delete', remove],
    ] as const) {
      if (seconds > budget && seconds > (worst?.seconds ?? 0)) worst = { seeder, seconds, what };
    }
  }
  if (!worst) return undefined;
  const all = [stack, ...others].sort((a, b) => a.path.localeCompare(b.path));
  const figures = all
    .map((s) => {
      const own = sum(s.seeders);
      return `${s.path}: ${round(slowest(own.create))} s / ${round(own.delete)} s`;
    })
    .join(', ');
  const total = sum(all.flatMap((s) => s.seeders));
  return (
    `${stack.path}: its seeders share Cognito's quotas (per account and region: ${stack.account}, ${stack.region}) with those of ${others.map((o) => o.path).join(', ')}, ` +
    `and if these stacks deploy at the same time (cdk deploy --concurrency, a pipeline wave) they seed together: about ${round(slowest(total.create))} s to create their users and ${round(total.delete)} s to delete them (${figures}). ` +
    `${worst.seeder.path} could then take about ${round(worst.seconds)} s to ${worst.what} its users, and CloudFormation waits 3,600 s for a seed resource (${round(budget)} s of it for the work): it would time out, and its rollback would share the quotas too. ` +
    `Deploy them one at a time (stack.addDependency() between them orders cdk deploy and a pipeline's stacks; stages of a pipeline go in separate waves), or raise rateLimits after a quota increase.`
  );
}

function sum(seeders: readonly SeederLoad[]): { create: CallCounts; delete: number } {
  return seeders.reduce((acc, s) => ({ create: add(acc.create, s.create), delete: acc.delete + s.delete }), {
    create: { create: 0, recovery: 0, write: 0 },
    delete: 0,
  });
}

function byCategory(f: (category: keyof CallCounts) => number): CallCounts {
  return { create: f('create'), recovery: f('recovery'), write: f('write') };
}

function add(a: CallCounts, b: CallCounts): CallCounts {
  return byCategory((c) => a[c] + b[c]);
}

function slowest(seconds: CallCounts): number {
  return Math.max(seconds.create, seconds.recovery, seconds.write);
}

function round(seconds: number): string {
  return Math.ceil(seconds).toLocaleString('en-US');
}
