import type { UserRecord } from '../lambda/ledger';
import {
  CLOCK_SKEW_MS,
  DesiredUser,
  fingerprint,
  LiveUser,
  lookupsFor,
  passwordPolicyViolations,
  planCompensation,
  planRemoveAll,
  reconcile,
  ReconcileInput,
  usernameKey,
} from '../lambda/plan';
import { parseProperties, PropertyError } from '../lambda/properties';

const raw = (users: object[], extra: object = {}) => ({ UserPoolId: 'pool-1', Users: users, ...extra });
const temp = (Username: string, extra: object = {}) => ({
  Username,
  Mode: 'TEMPORARY',
  Password: { Source: 'ssm', ParameterName: '/p' },
  ...extra,
});

describe('parseProperties', () => {
  test('parses the strings CloudFormation sends back into numbers and booleans', () => {
    const spec = parseProperties(
      raw([temp('a')], {
        AdoptExistingUsers: 'true',
        MaxConcurrency: '7',
        RemovalPolicy: 'retain',
        Rates: { Create: '10' },
      }),
    );
    expect(spec).toMatchObject({ adoptExistingUsers: true, maxConcurrency: 7, retain: true });
    expect(spec.rates).toEqual({ create: 10, recovery: 30, write: 25, read: 120 });
  });

  test('accepts real booleans and numbers from a direct invoke', () => {
    const spec = parseProperties(raw([], { AdoptExistingUsers: false, MaxConcurrency: 2 }));
    expect(spec).toMatchObject({ adoptExistingUsers: false, maxConcurrency: 2, retain: false });
  });

  test('fails when a user has no password source and needs one', () => {
    expect(() => parseProperties(raw([{ Username: 'a', Mode: 'PERMANENT' }]))).toThrow(
      /user 'a': mode PERMANENT needs a password source/,
    );
  });

  test('fails when a password source has no reference, naming the user and the field', () => {
    expect(() =>
      parseProperties(raw([{ Username: 'a', Mode: 'PERMANENT', Password: { Source: 'secretsmanager' } }])),
    ).toThrow(
      /^user 'a': password source secretsmanager has no SecretArn: pass the password with SeedPassword\.fromSecret\(\)/,
    );
    expect(() =>
      parseProperties(raw([{ Username: 'b', Mode: 'TEMPORARY', Password: { Source: 'ssm', ParameterName: '' } }])),
    ).toThrow(/^user 'b': password source ssm has no ParameterName/);
  });

  test('fails when a username is listed twice', () => {
    expect(() => parseProperties(raw([temp('a'), temp('a')]))).toThrow(PropertyError);
  });

  test('fails when a number is not positive', () => {
    expect(() => parseProperties(raw([], { MaxConcurrency: '0' }))).toThrow(/MaxConcurrency must be a positive number/);
  });
});

// The decision table of the reconcile planner: (desired users, ledger records, pool view) -> actions.
// No mocks: every row is a pure function call.
const ME = 'SeederA';
const SIBLING = 'SeederB';
const POOL = 'pool-1';

const applied = (mode = 'TEMPORARY', extra: Partial<DesiredUser['applied']> = {}) => ({
  mode,
  attributes: {},
  groups: [] as string[],
  source: 'ssm:/p',
  sourceVersion: '1',
  ...extra,
});
const want = (username: string, spec = applied()): DesiredUser => ({
  key: username.toLowerCase(),
  user: {
    username,
    mode: spec.mode as 'TEMPORARY',
    attributes: spec.attributes,
    groups: spec.groups,
    password: { kind: 'ssm', parameterName: '/p' },
  },
  applied: spec,
});
const held = (username: string, extra: Partial<UserRecord> = {}): UserRecord => ({
  pool: POOL,
  key: username.toLowerCase(),
  owner: ME,
  username,
  cognitoUsername: username,
  sub: `sub-${username}`,
  origin: 'created',
  state: 'present',
  requestId: 'req-1',
  at: 1,
  applied: applied(),
  ...extra,
});
const live = (username: string): LiveUser => ({ username, sub: `live-${username}` });

function plan(input: Partial<ReconcileInput>) {
  return reconcile({
    owner: ME,
    desired: [],
    records: [],
    live: new Map(),
    siblings: new Map(),
    adoptExistingUsers: false,
    retain: false,
    ...input,
  });
}
const kinds = (p: ReturnType<typeof plan>) => [
  ...p.writes.map((w) => `${w.kind}:${w.key}`),
  ...p.removals.map((r) => `${r.kind}:${r.record.key}`),
];

describe('reconcile: users the spec lists', () => {
  test('free in the pool and in the ledger: create', () => {
    const p = plan({ desired: [want('alice')], live: new Map([['alice', null]]) });
    expect(kinds(p)).toEqual(['create:alice']);
    expect(p.conflicts).toEqual([]);
  });

  test('in the pool and held by nobody: a conflict that names the user and the fix, nothing planned', () => {
    const p = plan({
      desired: [want('alice'), want('bob')],
      live: new Map([
        ['alice', live('alice')],
        ['bob', null],
      ]),
    });
    expect(p.conflicts).toEqual([
      expect.stringMatching(
        /^user 'alice' already exists in the pool and was not created by this seeder: .*adoptExistingUsers: true/,
      ),
    ]);
  });

  test('in the pool and held by nobody, adoptExistingUsers: adopt', () => {
    const p = plan({ desired: [want('alice')], live: new Map([['alice', live('alice')]]), adoptExistingUsers: true });
    expect(kinds(p)).toEqual(['adopt:alice']);
  });

  test('held by this owner with the same fingerprint: unchanged, no action and no lookup', () => {
    const p = plan({ desired: [want('alice')], records: [held('alice')] });
    expect(kinds(p)).toEqual([]);
    expect(p.unchanged).toBe(1);
    expect(lookupsFor(ME, [want('alice')], [held('alice')])).toEqual([]);
  });

  test('held by this owner with another spec: modify exactly what changed', () => {
    const before = held('alice', {
      applied: applied('TEMPORARY', { attributes: { email: 'a@x', name: 'A' }, groups: ['g1'] }),
    });
    const after = want(
      'alice',
      applied('TEMPORARY', { attributes: { email: 'b@x', email_verified: 'true' }, groups: ['g2'] }),
    );
    const p = plan({ desired: [after], records: [before] });
    expect(p.writes).toEqual([
      expect.objectContaining({
        kind: 'modify',
        // Changing email resets email_verified unless the same call sets it: it travels with it.
        setAttributes: { email: 'b@x', email_verified: 'true' },
        deleteAttributes: ['name'],
        addGroups: ['g2'],
        removeGroups: ['g1'],
        applyPassword: false,
      }),
    ]);
  });

  test('a spec a cut-off request began writing (pending): the next plan undoes or finishes it from both specs', () => {
    const old = applied('TEMPORARY', { attributes: { given_name: 'Old' }, groups: ['admins'] });
    const next = applied('RESET_REQUIRED', {
      attributes: { given_name: 'New', family_name: 'Added' },
      groups: ['testers'],
    });
    const record = held('alice', { applied: old, pending: next });

    // The rollback to the old spec: everything the cut-off request may have written is undone.
    expect(plan({ desired: [want('alice', old)], records: [record] }).writes).toEqual([
      expect.objectContaining({
        kind: 'modify',
        setAttributes: { given_name: 'Old' },
        deleteAttributes: ['family_name'],
        addGroups: ['admins'],
        removeGroups: ['testers'],
        applyPassword: true,
      }),
    ]);
    // Its own spec again (the engine's next slice): what it may not have written yet is written.
    expect(plan({ desired: [want('alice', next)], records: [record] }).writes).toEqual([
      expect.objectContaining({
        kind: 'modify',
        setAttributes: { given_name: 'New', family_name: 'Added' },
        deleteAttributes: [],
        addGroups: ['testers'],
        removeGroups: ['admins'],
        applyPassword: true,
      }),
    ]);
    // Without a pending spec, the old spec is nothing to do.
    expect(plan({ desired: [want('alice', old)], records: [held('alice', { applied: old })] }).writes).toEqual([]);
  });

  test('a new secret version, source, mode or revision re-applies the password', () => {
    for (const change of [{ sourceVersion: '2' }, { source: 'ssm:/q' }, { mode: 'PERMANENT' }, { revision: '2' }]) {
      const p = plan({ desired: [want('alice', applied('TEMPORARY', change))], records: [held('alice')] });
      expect(p.writes).toEqual([expect.objectContaining({ kind: 'modify', applyPassword: true })]);
    }
  });

  test("a 'creating' record whose user was made inside its create's time: the answer was lost, complete it", () => {
    const records = [held('alice', { state: 'creating', sub: undefined, at: 10_000, until: 30_000 })];
    const madeAt = (ms: number) => new Map([['alice', { ...live('alice'), createdAt: new Date(ms) }]]);
    expect(lookupsFor(ME, [want('alice')], records)).toEqual(['alice']);
    expect(kinds(plan({ desired: [want('alice')], records, live: madeAt(20_000) }))).toEqual(['complete:alice']);
    // Within the clock's skew at either end
    expect(kinds(plan({ desired: [want('alice')], records, live: madeAt(10_000 - CLOCK_SKEW_MS) }))).toEqual([
      'complete:alice',
    ]);
    expect(kinds(plan({ desired: [want('alice')], records, live: madeAt(30_000 + CLOCK_SKEW_MS) }))).toEqual([
      'complete:alice',
    ]);
    expect(kinds(plan({ desired: [want('alice')], records, live: new Map([['alice', null]]) }))).toEqual([
      'create:alice',
    ]);
  });

  test("staleCreating: a 'creating' record whose user was made before or after its create's time is someone else's: a conflict, and the record goes", () => {
    const records = [held('alice', { state: 'creating', sub: undefined, at: 10_000, until: 30_000 })];
    for (const made of [10_000 - CLOCK_SKEW_MS - 1, 30_000 + CLOCK_SKEW_MS + 1]) {
      const p = plan({
        desired: [want('alice')],
        records,
        live: new Map([['alice', { ...live('alice'), createdAt: new Date(made) }]]),
      });
      expect(p.writes).toEqual([]);
      expect(p.stale).toEqual(records);
      expect(p.conflicts).toEqual([
        expect.stringMatching(
          /^user 'alice' is in the pool, but was made at .*, outside the time this seeder's interrupted create could have made it .*: someone else made it, so it is not this seeder's: remove it from the pool or drop it from the seeder$/,
        ),
      ]);
    }
    // A user that says nothing of when it was made is not claimed either.
    expect(plan({ desired: [want('alice')], records, live: new Map([['alice', live('alice')]]) }).stale).toEqual(
      records,
    );
  });

  test('adopted with deleteAdoptedUsers: recorded deletable; a failed request only releases it, a removal deletes it', () => {
    const p = plan({
      desired: [want('alice')],
      live: new Map([['alice', live('alice')]]),
      adoptExistingUsers: true,
      deleteAdoptedUsers: true,
    });
    expect(p.writes).toEqual([expect.objectContaining({ kind: 'adopt', deletable: true })]);
    const reclaimed = held('alice', { origin: 'reclaimed' });
    expect(planCompensation(ME, 'req-1', [reclaimed])).toEqual([{ kind: 'release', record: reclaimed }]);
    expect(plan({ desired: [], records: [reclaimed] }).removals).toEqual([{ kind: 'delete', record: reclaimed }]);
    expect(planRemoveAll(ME, [reclaimed], false)).toEqual([{ kind: 'delete', record: reclaimed }]);
  });

  test('held by a sibling seeder that no longer lists it: take it over, with its changes', () => {
    const records = [held('alice', { owner: SIBLING })];
    const p = plan({ desired: [want('alice')], records, siblings: new Map([[SIBLING, new Set<string>()]]) });
    expect(kinds(p)).toEqual(['takeover:alice']);
  });

  test('held by a sibling that still lists it, or by an owner not in this stack (a renamed seeder): a conflict', () => {
    const records = [held('alice', { owner: SIBLING })];
    const listed = plan({ desired: [want('alice')], records, siblings: new Map([[SIBLING, new Set(['alice'])]]) });
    expect(listed.conflicts).toEqual([
      expect.stringMatching(/held by seed resource SeederB of this stack, which still lists it/),
    ]);
    const renamed = plan({ desired: [want('alice')], records });
    expect(renamed.conflicts).toEqual([expect.stringMatching(/^user 'alice' is held by seed resource SeederB/)]);
    expect(kinds(renamed)).toEqual([]);
  });
});

describe('reconcile: users the spec no longer lists', () => {
  test('created by this owner: delete; adopted: release; RETAIN: release', () => {
    const records = [held('made'), held('adopted', { origin: 'adopted' })];
    expect(kinds(plan({ records }))).toEqual(['delete:made', 'release:adopted']);
    expect(kinds(plan({ records, retain: true }))).toEqual(['release:made', 'release:adopted']);
  });

  test("another owner's records, and users the ledger does not hold, are never touched", () => {
    const p = plan({
      records: [held('theirs', { owner: SIBLING })],
      live: new Map([['hand-made', live('hand-made')]]),
    });
    expect(kinds(p)).toEqual([]);
  });

  test('now listed by a sibling: handed over, not deleted', () => {
    const p = plan({ records: [held('alice')], siblings: new Map([[SIBLING, new Set(['alice'])]]) });
    expect(p.removals).toEqual([expect.objectContaining({ kind: 'handover', to: SIBLING })]);
  });

  test('a rollback to an older spec: what the failed update added goes, what it kept stays', () => {
    // The failed update created bob; the rollback's spec is the old one, alice only.
    const records = [held('alice'), held('bob', { requestId: 'req-failed' })];
    expect(kinds(plan({ desired: [want('alice')], records }))).toEqual(['delete:bob']);
  });
});

describe('planRemoveAll and planCompensation', () => {
  test('a Delete removes only this owner’s records: created deleted, adopted released', () => {
    const records = [held('a'), held('b', { origin: 'adopted' }), held('c', { owner: SIBLING })];
    expect(planRemoveAll(ME, records, false).map((r) => `${r.kind}:${r.record.key}`)).toEqual([
      'delete:a',
      'release:b',
    ]);
    expect(planRemoveAll(ME, records, true).map((r) => r.kind)).toEqual(['release', 'release']);
  });

  test('a failed request undoes exactly what it did: its creations deleted, adoptions released, takeovers handed back', () => {
    const records = [
      held('old'),
      held('new', { requestId: 'req-2' }),
      held('adopted', { requestId: 'req-2', origin: 'adopted' }),
      held('taken', { requestId: 'req-2', previousOwner: SIBLING }),
    ];
    expect(planCompensation(ME, 'req-2', records).map((r) => `${r.kind}:${r.record.key}`)).toEqual([
      'delete:new',
      'release:adopted',
      'handover:taken',
    ]);
  });
});

describe('usernameKey and fingerprint', () => {
  test('case-insensitive pools and email aliases compare without case; case-sensitive pools with it', () => {
    expect(usernameKey('Carol', { caseSensitive: false, usernameAttributes: [] })).toBe('carol');
    expect(usernameKey('Carol@X.com', { caseSensitive: true, usernameAttributes: ['email'] })).toBe('carol@x.com');
    expect(usernameKey('Carol', { caseSensitive: true, usernameAttributes: [] })).toBe('Carol');
  });

  test('a case-only rename in a case-insensitive pool is the same user: unchanged', () => {
    const rule = { caseSensitive: false, usernameAttributes: [] };
    const desired = { ...want('carol'), key: usernameKey('carol', rule) };
    const p = plan({ desired: [desired], records: [held('Carol', { key: usernameKey('Carol', rule) })] });
    expect(p.unchanged).toBe(1);
    expect(kinds(p)).toEqual([]);
  });

  test('the fingerprint ignores the order of attributes and groups, and never holds a value', () => {
    const a = applied('PERMANENT', { attributes: { a: '1', b: '2' }, groups: ['x', 'y'] });
    const b = applied('PERMANENT', { attributes: { b: '2', a: '1' }, groups: ['y', 'x'] });
    expect(fingerprint(a)).toBe(fingerprint(b));
  });
});

describe('passwordPolicyViolations', () => {
  const strict = {
    minimumLength: 12,
    requireUppercase: true,
    requireLowercase: true,
    requireNumbers: true,
    requireSymbols: true,
  };

  test('names each broken rule', () => {
    expect(passwordPolicyViolations('abc', strict)).toEqual([
      'at least 12 characters',
      'an uppercase letter',
      'a number',
      'a symbol',
    ]);
  });

  test('accepts a conforming password, and every Secrets Manager punctuation mark as a symbol', () => {
    for (const symbol of '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~') {
      expect(passwordPolicyViolations(`Abcdefghij1${symbol}`, strict)).toEqual([]);
    }
  });
});
