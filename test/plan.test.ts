import { matchesSpec, passwordPolicyViolations, planCreate, planDelete, planUpdate } from '../lambda/plan';
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

  test('fails when a username is listed twice', () => {
    expect(() => parseProperties(raw([temp('a'), temp('a')]))).toThrow(PropertyError);
  });

  test('fails when a number is not positive', () => {
    expect(() => parseProperties(raw([], { MaxConcurrency: '0' }))).toThrow(/MaxConcurrency must be a positive number/);
  });
});

describe('planUpdate', () => {
  const spec = (users: object[], extra: object = {}) => parseProperties(raw(users, extra));

  test('an unchanged user gets no action at all', () => {
    expect(planUpdate(spec([temp('a')]), spec([temp('a')])).actions).toEqual([]);
  });

  test('added users are created, removed users deleted last', () => {
    const plan = planUpdate(spec([temp('a'), temp('b')]), spec([temp('c'), temp('a')]));
    expect(plan.actions.map((a) => `${a.kind}:${a.kind === 'delete' ? a.username : a.user.username}`)).toEqual([
      'create:c',
      'delete:b',
    ]);
  });

  test('removed users stay when retained', () => {
    expect(
      planUpdate(spec([temp('a')], { RemovalPolicy: 'retain' }), spec([], { RemovalPolicy: 'retain' })).actions,
    ).toEqual([]);
  });

  test('attribute and group changes become exact sets and deletes', () => {
    const before = temp('a', { Attributes: { given_name: 'A', email: 'a@x' }, Groups: ['g1', 'g2'] });
    const after = temp('a', { Attributes: { given_name: 'B', locale: 'en' }, Groups: ['g2', 'g3'] });
    expect(planUpdate(spec([before]), spec([after])).actions).toEqual([
      expect.objectContaining({
        kind: 'modify',
        setAttributes: { given_name: 'B', locale: 'en' },
        deleteAttributes: ['email'],
        addGroups: ['g3'],
        removeGroups: ['g1'],
        applyPassword: false,
      }),
    ]);
  });

  test.each([
    ['passwordRevision', { PasswordRevision: '2' }],
    ['mode', { Mode: 'PERMANENT' }],
    ['password source', { Password: { Source: 'ssm', ParameterName: '/other' } }],
  ])('a changed %s re-applies the password', (_what, change) => {
    const [action] = planUpdate(spec([temp('a')]), spec([temp('a', change)])).actions;
    expect(action).toMatchObject({ kind: 'modify', applyPassword: true });
  });

  test('a new pool creates everything there and nothing else', () => {
    const plan = planUpdate(
      spec([temp('a')]),
      parseProperties({ UserPoolId: 'pool-2', Users: [temp('a'), temp('b')] }),
    );
    expect(plan.poolChanged).toBe(true);
    expect(plan.actions.map((a) => a.kind)).toEqual(['create', 'create']);
  });
});

describe('planCreate and planDelete', () => {
  test('create creates every user; delete deletes every user unless retained', () => {
    const s = parseProperties(raw([temp('a'), temp('b')]));
    expect(planCreate(s).actions.map((a) => a.kind)).toEqual(['create', 'create']);
    expect(planDelete(s).actions).toEqual([
      { kind: 'delete', username: 'a' },
      { kind: 'delete', username: 'b' },
    ]);
    expect(planDelete(parseProperties(raw([temp('a')], { RemovalPolicy: 'retain' }))).actions).toEqual([]);
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

describe('matchesSpec', () => {
  const user = parseProperties(raw([temp('a', { Attributes: { email: 'a@x' }, Groups: ['g'] })])).users[0];

  test('true when the attributes (sub aside) and groups are exactly the spec', () => {
    expect(matchesSpec({ attributes: { sub: '1', email: 'a@x' }, groups: ['g'] }, user)).toBe(true);
  });

  test('false when an attribute differs, is extra, or a group is missing or extra', () => {
    expect(matchesSpec({ attributes: { email: 'b@x' }, groups: ['g'] }, user)).toBe(false);
    expect(matchesSpec({ attributes: { email: 'a@x', given_name: 'Someone' }, groups: ['g'] }, user)).toBe(false);
    expect(matchesSpec({ attributes: { email: 'a@x' }, groups: [] }, user)).toBe(false);
    expect(matchesSpec({ attributes: { email: 'a@x' }, groups: ['g', 'h'] }, user)).toBe(false);
  });
});
