// What a repair finds wrong with a seeded user (lambda/drift.ts, pure): each kind of drift
// alone, a user re-made by hand, and what `passwords: 'always'` adds.
import { attributesToRestore, driftOf, DriftInput } from '../lambda/drift';
import type { AppliedSpec, UserRecord } from '../lambda/ledger';
import type { LiveUser } from '../lambda/plan';
import type { PoolDescription } from '../lambda/cognito';
import type { WriteAction } from '../lambda/plan';
import { attributeProblems } from '../lambda/preflight';
import type { UserSpec } from '../lambda/properties';
import { repairRefusal } from '../lambda/repair-request';

const APPLIED_AT = Date.parse('2026-12-01T10:00:00Z');
const record: UserRecord = {
  pool: 'eu-west-1_p',
  key: 'alice',
  owner: 'Seed',
  username: 'alice',
  sub: 'sub-1',
  origin: 'created',
  state: 'present',
  requestId: 'r',
  at: APPLIED_AT - 1000,
  appliedAt: APPLIED_AT,
};
const permanent: AppliedSpec = {
  mode: 'PERMANENT',
  attributes: { given_name: 'Alice' },
  groups: ['admins'],
  source: 'secretsmanager:arn#password',
  sourceVersion: 'v1',
};
const asApplied: LiveUser = {
  username: 'alice',
  sub: 'sub-1',
  status: 'CONFIRMED',
  enabled: true,
  modifiedAt: new Date(APPLIED_AT),
  attributes: { given_name: 'Alice', sub: 'sub-1' },
};
const input = (over: Partial<DriftInput> = {}): DriftInput => ({
  applied: permanent,
  record,
  live: asApplied,
  groups: ['admins'],
  sourceVersion: 'v1',
  passwords: 'changed',
  ...over,
});

test('a user as the seeder left it has drifted in no way', () => {
  expect(driftOf(input())).toEqual([]);
  // Modified within the clock tolerance of the seeder's own last write: still its own write.
  expect(driftOf(input({ live: { ...asApplied, modifiedAt: new Date(APPLIED_AT + 4_000) } }))).toEqual([]);
});

test.each<[string, Partial<DriftInput>, unknown]>([
  ['deleted', { live: undefined }, ['deleted']],
  ['disabled', { live: { ...asApplied, enabled: false } }, ['disabled']],
  ['a new version of its source', { sourceVersion: 'v2' }, ['password-source-changed']],
  [
    'modified after the seeder set it (a password change shows only so)',
    { live: { ...asApplied, modifiedAt: new Date(APPLIED_AT + 60_000) } },
    ['password-may-have-changed'],
  ],
  ['not CONFIRMED any more', { live: { ...asApplied, status: 'RESET_REQUIRED' } }, ['password-may-have-changed']],
  ['an attribute changed', { live: { ...asApplied, attributes: { given_name: 'Mallory' } } }, ['attributes']],
  ['an attribute removed', { live: { ...asApplied, attributes: {} } }, ['attributes']],
  ['taken out of a group', { groups: [] }, ['groups']],
  ['re-made by hand (another sub)', { live: { ...asApplied, sub: 'sub-2' } }, 'remade'],
])('%s', (_, over, expected) => {
  expect(driftOf(input(over))).toEqual(expected);
});

test("a group or attribute added by someone else is not the seeder's to take away", () => {
  expect(driftOf(input({ groups: ['admins', 'other'] }))).toEqual([]);
  expect(driftOf(input({ live: { ...asApplied, attributes: { ...asApplied.attributes, locale: 'fr' } } }))).toEqual([]);
});

test('TEMPORARY: confirmed by a sign-in is drift; a new source version is reported as that', () => {
  const temporary: AppliedSpec = { ...permanent, mode: 'TEMPORARY' };
  const live = { ...asApplied, status: 'FORCE_CHANGE_PASSWORD' };
  expect(driftOf(input({ applied: temporary, live }))).toEqual([]);
  expect(driftOf(input({ applied: temporary, live: { ...live, status: 'CONFIRMED' } }))).toEqual([
    'temporary-password-answered',
  ]);
  expect(driftOf(input({ applied: temporary, live, sourceVersion: 'v2' }))).toEqual(['password-source-changed']);
});

test('RESET_REQUIRED: a reset answered is drift; it has no source', () => {
  const reset: AppliedSpec = { mode: 'RESET_REQUIRED', attributes: {}, groups: [] };
  const live = { ...asApplied, status: 'RESET_REQUIRED', attributes: {} };
  expect(driftOf(input({ applied: reset, live, sourceVersion: undefined }))).toEqual([]);
  expect(driftOf(input({ applied: reset, live: { ...live, status: 'CONFIRMED' }, sourceVersion: undefined }))).toEqual([
    'reset-answered',
  ]);
});

test("passwords: 'always' sets every password again, whatever the pool says", () => {
  expect(driftOf(input({ passwords: 'always' }))).toEqual(['password-may-have-changed']);
  const temporary: AppliedSpec = { ...permanent, mode: 'TEMPORARY' };
  expect(
    driftOf(
      input({ applied: temporary, live: { ...asApplied, status: 'FORCE_CHANGE_PASSWORD' }, passwords: 'always' }),
    ),
  ).toEqual(['temporary-password-answered']);
});

test('attributesToRestore: only the applied attributes the pool has otherwise', () => {
  expect(
    attributesToRestore(
      { ...permanent, attributes: { given_name: 'Alice', email: 'a@example.com' } },
      {
        ...asApplied,
        attributes: { given_name: 'Mallory', email: 'a@example.com', locale: 'fr' },
      },
    ),
  ).toEqual({ given_name: 'Alice' });
});

describe('a repair request names no password, no source, no adoption', () => {
  test.each([
    [{ kind: 'repair', seeder: 'Seed', password: 'Mine-Passw0rd!' }, 'a repair takes no password'],
    [{ kind: 'repair', seeder: 'Seed', Users: [] }, 'a repair takes no Users'],
    [{ kind: 'repair', seeder: 'Seed', AdoptExistingUsers: 'true' }, 'a repair takes no AdoptExistingUsers'],
    [{ kind: 'repair', seeder: 'Seed', passwords: 'mine' }, "passwords must be 'always' or 'changed'"],
    [{ kind: 'repair', seeder: '../other' }, 'seeder must be the logical id'],
    [{ kind: 'repair', seeder: 'Seed', usernames: 'alice' }, 'usernames must be a list'],
    [{ kind: 'repair', seeder: 'Seed', dryRun: 'yes' }, 'dryRun must be true or false'],
  ])('refuses %j', (input, message) => {
    expect(repairRefusal(input as Record<string, unknown>)).toContain(message);
  });

  test('accepts what the testing module, the CLI and the rules send', () => {
    expect(repairRefusal({ kind: 'repair', seeder: 'Seed', waitSeconds: 0 })).toBeUndefined();
    expect(
      repairRefusal({ kind: 'repair', seeder: 'Seed', usernames: ['bob'], passwords: 'always', dryRun: false }),
    ).toBeUndefined();
  });
});

describe('attributes against the pool schema, at pre-flight (pure)', () => {
  const description = {
    passwordPolicy: {},
    usernameRule: { caseSensitive: true, usernameAttributes: ['email'] },
    estimatedUsers: 0,
    attributeNames: new Set(['sub', 'email', 'custom:tenant', 'family_name']),
    aliasAttributes: [],
    schema: new Map([
      ['sub', { required: true, mutable: false }],
      ['email', { required: true }],
      ['custom:tenant', { mutable: false }],
      ['family_name', { required: true }],
    ]),
  } as unknown as PoolDescription;
  const user = { username: 'a@example.com', mode: 'PERMANENT', attributes: {}, groups: [] } as unknown as UserSpec;

  test('a required attribute missing from a new user; the username stands for email in an email-username pool', () => {
    expect(attributeProblems({ kind: 'create', key: 'k', user } as unknown as WriteAction, description)).toEqual([
      "user 'a@example.com': the pool's schema requires attribute(s) family_name, which the user does not give: add them to its attributes",
    ]);
  });

  test('an Update that sets an immutable attribute is refused before any write', () => {
    const modify = { kind: 'modify', user, setAttributes: { 'custom:tenant': 'b' } } as unknown as WriteAction;
    expect(attributeProblems(modify, description)).toEqual([
      "user 'a@example.com': attribute custom:tenant cannot change once the user exists (the pool's schema makes it immutable), so the Update cannot set it: keep the value the user was seeded with, or remove the user and add it under another username",
    ]);
  });
});
