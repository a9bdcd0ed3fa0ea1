// Stacks of one app in one account and region share Cognito's quotas when they deploy at
// the same time: synth notes it when their seeding together could overrun the hour.
import { Annotations as CdkAnnotations, App, Stack, Stage } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { PasswordMode, SeedPassword, SeedRateLimits, UserSeeder } from '../lib';
import { sharedQuotaNote, StackLoad } from '../lib/private/shared-quota';

const ENV = { account: '111111111111', region: 'eu-west-1' };
const NOTE = 'cdk-cognito-seeder:sharedQuota';

/**
 * A seeder of `users` PERMANENT users whose password calls run at 1 a second: `users`
 * seconds to create (deletes at 25/s take a 25th of that).
 */
function seeder(stack: Stack, id: string, users: number, rateLimits: SeedRateLimits = { accountRecovery: 1 }) {
  const password = SeedPassword.generate();
  return new UserSeeder(stack, id, {
    userPool: cognito.UserPool.fromUserPoolId(stack, `${id}Pool`, 'eu-west-1_abc'),
    rateLimits,
    users: Array.from({ length: users }, (_, i) => ({
      username: `${id}-${i}`,
      mode: PasswordMode.PERMANENT,
      password,
    })),
  });
}

const notes = (stack: Stack) => Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp(NOTE));

describe('stacks that may seed at the same time', () => {
  test('two stacks of one app in one account and region whose seeding together passes the hour: each gets the note', () => {
    // GIVEN two stacks that each fit the hour alone (1,700 s), 3,400 s together
    const app = new App();
    const a = new Stack(app, 'A', { env: ENV });
    const b = new Stack(app, 'B', { env: ENV });
    seeder(a, 'Seeder', 1_700);
    seeder(b, 'Seeder', 1_700);

    // THEN both say so: the total against CloudFormation's 3,600 s, and what to do
    for (const [stack, other] of [
      [a, 'B'],
      [b, 'A'],
    ] as const) {
      Annotations.fromStack(stack).hasWarning(
        `/${stack.node.path}`,
        Match.stringLikeRegexp(
          `^${stack.node.path}: its seeders share Cognito's quotas \\(per account and region: 111111111111, eu-west-1\\) with those of ${other}, .*about 3,400 s to create their users .*A: 1,700 s / 68 s, B: 1,700 s / 68 s.*could then take about 3,400 s to create its users, and CloudFormation waits 3,600 s for a seed resource \\(3,240 s of it for the work\\).*Deploy them one at a time .*or raise rateLimits after a quota increase\\. \\[ack: ${NOTE}\\]$`,
        ),
      );
    }
  });

  test('deletes count too: they run at the UserUpdate quota', () => {
    // GIVEN creations fast enough, deletes at 1 a second: 1,700 s each
    const app = new App();
    const a = new Stack(app, 'A', { env: ENV });
    const b = new Stack(app, 'B', { env: ENV });
    seeder(a, 'Seeder', 1_700, { userWrites: 1 });
    seeder(b, 'Seeder', 1_700, { userWrites: 1 });

    // THEN
    Annotations.fromStack(a).hasWarning(
      '/A',
      Match.stringLikeRegexp('could then take about 3,400 s to delete its users'),
    );
  });

  test('stacks in two stages of the app (a pipeline wave) share the quotas too', () => {
    const app = new App();
    const a = new Stack(new Stage(app, 'Qa'), 'Users', { env: ENV });
    const b = new Stack(new Stage(app, 'Staging'), 'Users', { env: ENV });
    seeder(a, 'Seeder', 1_700);
    seeder(b, 'Seeder', 1_700);

    Annotations.fromStack(a).hasWarning('/Qa/Users', Match.stringLikeRegexp('with those of Staging/Users'));
  });

  test('no note when the stacks fit the hour together', () => {
    const app = new App();
    const a = new Stack(app, 'A', { env: ENV });
    const b = new Stack(app, 'B', { env: ENV });
    seeder(a, 'Seeder', 1_600);
    seeder(b, 'Seeder', 1_600);

    expect(notes(a)).toEqual([]);
    expect(notes(b)).toEqual([]);
  });

  test('no note across accounts or regions, nor for a stack whose environment is not known at synth', () => {
    const app = new App();
    const a = new Stack(app, 'A', { env: ENV });
    const otherRegion = new Stack(app, 'OtherRegion', { env: { ...ENV, region: 'us-east-1' } });
    const otherAccount = new Stack(app, 'OtherAccount', { env: { ...ENV, account: '222222222222' } });
    const agnostic = new Stack(app, 'Agnostic');
    for (const stack of [a, otherRegion, otherAccount, agnostic]) seeder(stack, 'Seeder', 1_700);

    for (const stack of [a, otherRegion, otherAccount, agnostic]) expect(notes(stack)).toEqual([]);
  });

  test('no note once the stacks deploy one after another (a dependency between them)', () => {
    const app = new App();
    const a = new Stack(app, 'A', { env: ENV });
    const middle = new Stack(app, 'Middle', { env: ENV });
    const b = new Stack(app, 'B', { env: ENV });
    seeder(a, 'Seeder', 1_700);
    seeder(b, 'Seeder', 1_700);
    // B after A through a stack without seeders: the order holds all the same.
    middle.addDependency(a);
    b.addDependency(middle);

    expect(notes(a)).toEqual([]);
    expect(notes(b)).toEqual([]);
  });

  test("a stack's own seeders run one after another: beside a small stack, none of them could overrun", () => {
    // GIVEN a stack whose two seeders take 3,400 s in all (one after the other), and a small stack
    const app = new App();
    const big = new Stack(app, 'Big', { env: ENV });
    const small = new Stack(app, 'Small', { env: ENV });
    seeder(big, 'One', 1_700);
    seeder(big, 'Two', 1_700);
    seeder(small, 'Seeder', 100);

    // THEN the worst case for one of them is 1,800 s (the small stack's 100 s during its own), and
    // for the small stack's seeder 200 s (the big stack's seeding shares the quota evenly): no note
    expect(notes(big)).toEqual([]);
    expect(notes(small)).toEqual([]);
  });

  test('the note is a warning one can acknowledge by its id, for stacks deployed one at a time anyway', () => {
    const app = new App();
    const a = new Stack(app, 'A', { env: ENV });
    const b = new Stack(app, 'B', { env: ENV });
    seeder(a, 'Seeder', 1_700);
    seeder(b, 'Seeder', 1_700);
    CdkAnnotations.of(a).acknowledgeWarning(NOTE, 'our pipeline deploys A and B one after another');

    expect(notes(a)).toEqual([]);
    expect(notes(b)).toHaveLength(1);
  });
});

describe('sharedQuotaNote', () => {
  const stack = (path: string, seconds: number[], dependsOn: string[] = []): StackLoad => ({
    path,
    account: ENV.account,
    region: ENV.region,
    seeders: seconds.map((s, i) => ({
      path: `${path}/S${i}`,
      create: { create: s, recovery: 0, write: 0 },
      delete: 0,
    })),
    dependsOn: new Set(dependsOn),
  });

  test('a seeder meets every other stack that may deploy with its own, all of them at once', () => {
    // GIVEN three stacks: the worst case for A's seeder is B's and C's seeding during its own
    const a = stack('A', [1_200]);
    const b = stack('B', [1_100]);
    const c = stack('C', [1_000]);

    // THEN 3,300 s passes a 3,240 s budget; without C, 2,300 s does not
    expect(sharedQuotaNote(a, [a, b, c], 3_240)).toMatch(/A\/S0 could then take about 3,300 s to create/);
    expect(sharedQuotaNote(a, [a, b], 3_240)).toBeUndefined();
  });

  test('while a seeder runs, another stack takes no more of the quota than the seeder itself (they share it evenly)', () => {
    // GIVEN a short seeder beside a long one: the short one takes twice its own time, not the sum
    const short = stack('Short', [1_000]);
    const long = stack('Long', [3_000]);

    // THEN 2,000 s for the short one; the long one 4,000 s (its 3,000 s and the short one's 1,000 s)
    expect(sharedQuotaNote(short, [short, long], 3_240)).toBeUndefined();
    expect(sharedQuotaNote(long, [short, long], 3_240)).toMatch(/Long\/S0 could then take about 4,000 s/);
  });

  test('quota categories are paced apart: creations and password calls of two stacks do not add up', () => {
    const a: StackLoad = {
      ...stack('A', []),
      seeders: [{ path: 'A/S', create: { create: 2_000, recovery: 0, write: 0 }, delete: 0 }],
    };
    const b: StackLoad = {
      ...stack('B', []),
      seeders: [{ path: 'B/S', create: { create: 0, recovery: 2_000, write: 0 }, delete: 0 }],
    };

    expect(sharedQuotaNote(a, [a, b], 3_240)).toBeUndefined();
  });

  test('a stack that depends on another, or the other way round, never seeds with it', () => {
    const a = stack('A', [2_000]);
    const b = stack('B', [2_000], ['A']);

    expect(sharedQuotaNote(a, [a, b], 3_240)).toBeUndefined();
    expect(sharedQuotaNote(b, [a, b], 3_240)).toBeUndefined();
  });
});
