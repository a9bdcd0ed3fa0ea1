/**
 * The bench's two-seeder row: a population created by one seeder, and by two seeders of one
 * stack with half each, played as CloudFormation plays the template (the second once the
 * first is answered) and, for contrast, both at once (as CloudFormation ran them before
 * they were chained). Each in a fresh rehearsal: the same quotas, nothing left over.
 */
import * as fs from 'fs';
import { ListUsersCommand } from '@aws-sdk/client-cognito-identity-provider';
import { PasswordMode, SeedingOptions } from '../lib';
import { InvokeResult, Rehearsal, synthesize } from './harness';
import { populationApp } from './population';

export type ChainPlay = 'one seeder' | 'one after another' | 'at once';

export interface ChainVariant {
  readonly play: ChainPlay;
  readonly seeders: number;
  readonly statuses: string[];
  /** Each seeder's request, from its event to its answer. */
  readonly each: number[];
  /** From the first event to the last answer. */
  readonly seconds: number;
  readonly throttlesPer100: number;
  /** Seeded users not in the pool at the end. */
  readonly missing: number;
}

export interface ChainRow {
  readonly users: number;
  readonly mode: PasswordMode;
  readonly variants: ChainVariant[];
}

export async function chainRow(users: number, mode: PasswordMode, seeding: SeedingOptions): Promise<ChainRow> {
  const variants: ChainVariant[] = [];
  for (const play of ['one seeder', 'one after another', 'at once'] as const) {
    variants.push(await variant(users, mode, seeding, play));
  }
  return { users, mode, variants };
}

async function variant(
  users: number,
  mode: PasswordMode,
  seeding: SeedingOptions,
  play: ChainPlay,
): Promise<ChainVariant> {
  const seeders = play === 'one seeder' ? 1 : 2;
  const { app, outdir } = populationApp(users, mode, { seeding, seeders });
  const rehearsal = await Rehearsal.start({ backend: 'fake', quotas: true });
  try {
    const resources = await rehearsal.deploy(synthesize(app));
    process.stdout.write(`  ${users} ${mode} users, ${seeders} seeder(s) of one stack, ${play}...\n`);
    const results: InvokeResult[] =
      play === 'at once'
        ? await Promise.all(resources.map((resource) => rehearsal.invoke({ requestType: 'Create', resource })))
        : [...(await rehearsal.playInOrder('Create', resources)).values()];
    const started = Math.min(...results.map((r) => r.startedAt));
    const ended = Math.max(...results.map((r) => r.endedAt));
    const throttled = rehearsal.proxy.throttledTotal;
    const forwarded = Object.entries(rehearsal.proxy.forwarded)
      .filter(([t]) => t.startsWith('Admin'))
      .reduce((a, [, c]) => a + c, 0);
    const row: ChainVariant = {
      play,
      seeders,
      statuses: results.map((r) => r.response?.Status ?? 'none'),
      each: results.map((r) => (r.endedAt - r.startedAt) / 1000),
      seconds: (ended - started) / 1000,
      throttlesPer100: (100 * throttled) / Math.max(1, throttled + forwarded),
      missing: users - (await countSeeded(rehearsal, resources[0].properties.UserPoolId)),
    };
    console.log(
      `    ${row.statuses.join(', ')}: ${row.seconds.toFixed(1)} s in all (each ${row.each.map((s) => s.toFixed(1)).join(' s, ')} s), ${(users / row.seconds).toFixed(1)} users/s, ${row.throttlesPer100.toFixed(1)} throttles/100 calls, ${row.missing} missing`,
    );
    return row;
  } finally {
    await rehearsal.stop();
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

async function countSeeded(rehearsal: Rehearsal, poolId: string): Promise<number> {
  let seeded = 0;
  let token: string | undefined;
  do {
    const page = await rehearsal.cognito.send(new ListUsersCommand({ UserPoolId: poolId, PaginationToken: token }));
    seeded += (page.Users ?? []).filter((u) => u.Username?.startsWith('load-')).length;
    token = page.PaginationToken;
  } while (token);
  return seeded;
}

/** BENCHMARKS.md's section for the row. */
export function chainSection(row: ChainRow, bound: number): string[] {
  const one = row.variants.find((v) => v.play === 'one seeder')!;
  return [
    '## Two seeders of one stack',
    '',
    `${row.users.toLocaleString('en-US')} ${row.mode} users created by one seeder, then by two seeders of one stack with half`,
    'each (each seed resource depends on the one made before it), played as CloudFormation plays',
    "the template: the second's Create once the first's is answered. For contrast, the same two",
    'played at once, as CloudFormation ran them before the chain: they share the quotas, so each',
    'takes about as long as the whole population (and at 60,000 users each, both would overrun',
    "their 3,600 s). Seconds run from the first event to the last answer; each seeder's from its",
    `event to its answer. The bound is ${bound} users/s.`,
    '',
    '| played | seeders | result | seconds, each seeder | seconds in all | users/s | against one seeder | throttles/100 calls | missing users |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|',
    ...row.variants.map(
      (v) =>
        `| ${v.play} | ${v.seeders} | ${v.statuses.join(', ')} | ${v.each.map((s) => s.toFixed(1)).join(', ')} | ${v.seconds.toFixed(1)} | ${(row.users / v.seconds).toFixed(1)} | ${v === one ? '-' : `${v.seconds >= one.seconds ? '+' : ''}${((v.seconds / one.seconds - 1) * 100).toFixed(1)} %`} | ${v.throttlesPer100.toFixed(1)} | ${v.missing} |`,
    ),
    '',
  ];
}
