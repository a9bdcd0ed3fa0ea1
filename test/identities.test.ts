// The construct side of the test identities: `seeder.users`, the manifest's pointer, TOTP
// users' synth-time rules, and the stage guard at synth (accounts and stages, props and
// context keys, and the deliberate override).
import { App, Stack, Stage } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { PasswordMode, SeedMfa, SeededUserPool, SeedPassword, UserSeeder } from '../lib';

const importedPool = (stack: Stack) => cognito.UserPool.fromUserPoolId(stack, 'Pool', 'eu-west-1_POOL');
const perm = (username: string, extra = {}) => ({
  username,
  mode: PasswordMode.PERMANENT,
  password: SeedPassword.generate(),
  ...extra,
});

describe('seeder.users and the manifest pointer', () => {
  test('users lists the usernames seeded so far, in order, those added later included', () => {
    const stack = new Stack();
    const seeder = new UserSeeder(stack, 'Seeder', { userPool: importedPool(stack), users: [perm('b'), perm('a')] });
    seeder.addUser(perm('c'));
    expect(seeder.users).toEqual(['b', 'a', 'c']);
  });

  test('the pointer parameter is named from the stack and the seeder path, and follows the seed resource', () => {
    const app = new App();
    const stack = new Stack(app, 'Qa');
    const pool = new SeededUserPool(stack, 'Users', { users: [perm('alice')] });
    const client = pool.addClient('Web', { authFlows: { userPassword: true } });
    const seeder = new UserSeeder(stack, 'Other', { userPool: pool, users: [perm('bob')], signInClient: client });

    expect(pool.seeder.manifestParameterName).toBe('/cdk-cognito-seeder/Qa/Users/Seeder');
    expect(seeder.manifestParameterName).toBe('/cdk-cognito-seeder/Qa/Other');
    const template = Template.fromStack(stack);
    const params = template.findResources('AWS::SSM::Parameter');
    const other = Object.values(params).find((p: any) => p.Properties.Name === '/cdk-cognito-seeder/Qa/Other') as any;
    expect(other.Properties.Type).toBe('String');
    expect(other.DependsOn).toEqual([stack.getLogicalId(seeder.node.findChild('Resource').node.defaultChild as any)]);
    // the client id travels in the pointer and in the seed resource (for the manifest)
    expect(JSON.stringify(other.Properties.Value)).toContain(stack.getLogicalId(client.node.defaultChild as any));
    template.hasResourceProperties('Custom::CognitoUserSeed', {
      ClientId: { Ref: stack.getLogicalId(client.node.defaultChild as any) },
    });
  });

  test('construct ids with characters SSM does not allow become _ in the pointer name', () => {
    const stack = new Stack(new App(), 'Qa');
    const seeder = new UserSeeder(stack, 'Seed users (QA)', { userPool: importedPool(stack) });
    expect(seeder.manifestParameterName).toBe('/cdk-cognito-seeder/Qa/Seed_users__QA_');
  });
});

describe('TOTP users at synth', () => {
  test('fails when a TOTP user is not PERMANENT', () => {
    const stack = new Stack();
    expect(
      () =>
        new UserSeeder(stack, 'Seeder', {
          userPool: importedPool(stack),
          users: [
            { username: 't', mode: PasswordMode.TEMPORARY, password: SeedPassword.generate(), mfa: SeedMfa.TOTP },
          ],
        }),
    ).toThrow(
      "Seeder: user 't': mfa TOTP needs mode PERMANENT: a TEMPORARY user cannot sign in to enrol a token. Make the user PERMANENT, or drop mfa.",
    );
  });

  test('fails when the SeededUserPool has MFA off, or no TOTP second factor, and leaves nothing behind', () => {
    const stack = new Stack();
    expect(() => new SeededUserPool(stack, 'Off', { users: [perm('c', { mfa: SeedMfa.TOTP })] })).toThrow(
      "Off: user 'c': mfa TOTP needs a pool with MFA OPTIONAL or REQUIRED and TOTP as a second factor, and this pool has MFA off: set mfa: cognito.Mfa.OPTIONAL (or REQUIRED) and mfaSecondFactor: { otp: true, sms: false } on the pool, or drop mfa from the user.",
    );
    expect(
      () =>
        new SeededUserPool(stack, 'SmsOnly', {
          mfa: cognito.Mfa.REQUIRED,
          mfaSecondFactor: { sms: true, otp: false },
          users: [perm('c', { mfa: SeedMfa.TOTP })],
        }),
    ).toThrow(/this pool has no TOTP second factor/);
    expect(stack.node.children).toHaveLength(0);
  });

  test('a pool with MFA required and TOTP seeds a TOTP user', () => {
    const stack = new Stack();
    const pool = new SeededUserPool(stack, 'Pool', {
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      users: [perm('c', { mfa: SeedMfa.TOTP })],
    });
    Template.fromStack(stack).hasResourceProperties('Custom::CognitoUserSeed', {
      Users: [{ Username: 'c', Mode: 'PERMANENT', Password: { Source: 'secretsmanager' }, Mfa: 'TOTP' }],
    });
    expect(pool.seeder.users).toEqual(['c']);
  });

  test('fails past 500 TOTP users in one seeder, naming the user', () => {
    const stack = new Stack();
    const password = SeedPassword.generate();
    const seeder = new UserSeeder(stack, 'Seeder', { userPool: importedPool(stack) });
    for (let i = 0; i < 500; i++) {
      seeder.addUser({ username: `u${i}`, mode: PasswordMode.PERMANENT, password, mfa: SeedMfa.TOTP });
    }
    expect(() =>
      seeder.addUser({ username: 'u500', mode: PasswordMode.PERMANENT, password, mfa: SeedMfa.TOTP }),
    ).toThrow(
      "Seeder: user 'u500' is TOTP user number 501, and one seeder keeps at most 500 TOTP secrets (one Secrets Manager secret of 64 KB): split TOTP users across seeders.",
    );
  });
});

describe('the stage guard at synth', () => {
  const seed = (stack: Stack, props = {}) =>
    new UserSeeder(stack, 'Seeder', { userPool: importedPool(stack), users: [perm('a')], ...props });

  test('fails in a forbidden account named by the prop, and says how to allow it', () => {
    const stack = new Stack(new App(), 'Prod', { env: { account: '111111111111', region: 'eu-west-1' } });
    expect(() => seed(stack, { forbiddenAccounts: ['111111111111'] })).toThrow(
      'Prod/Seeder: seeding is forbidden in account 111111111111 (the stage guard: forbiddenAccounts or the context key cdk-cognito-seeder:forbiddenAccounts). Remove the seeder from this stack. To seed it deliberately, pass -c cdk-cognito-seeder:allowSeedingIn=111111111111',
    );
  });

  test('fails in a forbidden account named by the context key (a list, or a JSON string from -c)', () => {
    for (const value of [['111111111111'], '["222222222222","111111111111"]', '333333333333, 111111111111']) {
      const app = new App({ context: { 'cdk-cognito-seeder:forbiddenAccounts': value } });
      const stack = new Stack(app, 'Prod', { env: { account: '111111111111', region: 'eu-west-1' } });
      expect(() => seed(stack)).toThrow(/seeding is forbidden in account 111111111111/);
    }
  });

  test('fails in a forbidden stage, by prop or context, in any enclosing stage', () => {
    const app = new App({ context: { 'cdk-cognito-seeder:forbiddenStages': ['Prod'] } });
    const stack = new Stack(new Stage(new Stage(app, 'Prod'), 'Blue'), 'Auth');
    expect(() => seed(stack)).toThrow(
      "Prod/Blue/Auth/Seeder: seeding is forbidden in stage 'Prod' (the stage guard: forbiddenStages or the context key cdk-cognito-seeder:forbiddenStages). Remove the seeder from this stage. To seed it deliberately, pass -c cdk-cognito-seeder:allowSeedingIn=Prod",
    );
    const other = new Stack(new Stage(new App(), 'Qa'), 'Auth');
    expect(() => seed(other, { forbiddenStages: ['Qa'] })).toThrow(/seeding is forbidden in stage 'Qa'/);
  });

  test('allowSeedingIn lets a named account or stage through deliberately; other stages seed as before', () => {
    const app = new App({
      context: {
        'cdk-cognito-seeder:forbiddenAccounts': ['111111111111'],
        'cdk-cognito-seeder:forbiddenStages': ['Prod'],
        'cdk-cognito-seeder:allowSeedingIn': '111111111111,Prod',
      },
    });
    const stack = new Stack(new Stage(app, 'Prod'), 'Auth', { env: { account: '111111111111', region: 'eu-west-1' } });
    expect(() => seed(stack)).not.toThrow();
    // allowed: so the function is not told to refuse it at deploy
    expect(JSON.stringify(Template.fromStack(stack).toJSON())).not.toContain('ForbiddenAccounts');
    const qa = new Stack(new Stage(app, 'Qa'), 'Auth');
    expect(() => seed(qa)).not.toThrow();
  });

  test('an environment-agnostic stack is checked at deploy: the function is told the forbidden accounts', () => {
    const stack = new Stack(new App(), 'Any');
    seed(stack, { forbiddenAccounts: ['111111111111', ' 222222222222 '] });
    Template.fromStack(stack).hasResourceProperties('Custom::CognitoUserSeed', {
      ForbiddenAccounts: ['111111111111', '222222222222'],
    });
  });
});

describe('what seeding costs', () => {
  test('synth notes the monthly active users above the free tier, and says nothing below it', () => {
    const stack = new Stack();
    const password = SeedPassword.generate();
    const many = Array.from({ length: 10_001 }, (_, i) => ({
      username: `u${i}`,
      mode: PasswordMode.TEMPORARY,
      password,
    }));
    new UserSeeder(stack, 'Many', { userPool: importedPool(stack), users: many });
    new UserSeeder(stack, 'Few', {
      userPool: cognito.UserPool.fromUserPoolId(stack, 'Other', 'eu-west-1_OTHER'),
      users: many.slice(0, 3),
    });

    const infos = Annotations.fromStack(stack).findInfo('*', Match.stringLikeRegexp('monthly active user'));
    expect(infos.map((i) => [i.id, i.entry.data])).toEqual([
      [
        '/Default/Many',
        'Default/Many: seeds 10001 users. Each counts as a monthly active user (MAU) in every month it is seeded, updated or signed in as; Cognito\'s Lite and Essentials plans include 10,000 MAUs a month per account, and Plus none. See the README\'s "What seeding costs".',
      ],
    ]);
  });
});

test('useSignInClient records a client made after the pool, once', () => {
  const stack = new Stack(new App(), 'Qa');
  const pool = new SeededUserPool(stack, 'Users', { users: [perm('alice')] });
  const client = pool.addClient('Web', { authFlows: { userPassword: true } });
  pool.seeder.useSignInClient(client);
  pool.seeder.useSignInClient(client);

  const clientRef = { Ref: stack.getLogicalId(client.node.defaultChild as any) };
  Template.fromStack(stack).hasResourceProperties('Custom::CognitoUserSeed', { ClientId: clientRef });
  const other = pool.addClient('Other');
  expect(() => pool.seeder.useSignInClient(other)).toThrow(
    'Qa/Users/Seeder: a sign-in client is set already (Qa/Users/Web): a seeder records one; set it once.',
  );
});
