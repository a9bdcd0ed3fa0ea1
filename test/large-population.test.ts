import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { PasswordMode, SeededUserPool, SeedPassword, UserSeeder } from '../lib';
import { INLINE_USERS_MAX_BYTES } from '../lib/private/contract';

function population(n: number, stack: Stack, pool: SeededUserPool): void {
  const shared = SeedPassword.generate();
  const group = new cognito.UserPoolGroup(stack, 'Load', { userPool: pool, groupName: 'load' });
  for (let i = 0; i < n; i++) {
    pool.addUser({
      username: `load-${String(i).padStart(5, '0')}`,
      mode: i % 2 ? PasswordMode.PERMANENT : PasswordMode.TEMPORARY,
      password: shared,
      groups: [group.groupName],
    });
  }
}

describe('large populations travel as a file asset', () => {
  test('a small population stays inline', () => {
    const stack = new Stack();
    const pool = new SeededUserPool(stack, 'Pool');
    population(10, stack, pool);

    Template.fromStack(stack).hasResourceProperties('Custom::CognitoUserSeed', {
      Users: Match.arrayWith([Match.objectLike({ Username: 'load-00000' })]),
      UsersFile: Match.absent(),
      Tokens: Match.absent(),
    });
  });

  test('past the threshold the properties carry only the location, hash and tokens; the file holds placeholders', () => {
    // GIVEN
    const app = new App();
    const stack = new Stack(app, 'Big');
    const pool = new SeededUserPool(stack, 'Pool');
    population(2000, stack, pool);

    // WHEN
    const assembly = app.synth();
    const template = Template.fromStack(stack);

    // THEN
    const seed = Object.values(template.findResources('Custom::CognitoUserSeed'))[0] as any;
    const props = seed.Properties;
    expect(props.Users).toBeUndefined();
    expect(props.UsersFile).toEqual({
      Bucket: { 'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}' },
      Key: expect.stringMatching(/^[0-9a-f]{64}\.json$/),
      ObjectArn: expect.anything(),
      Sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // The generated secret's ARN and the group's name are resolved by CloudFormation.
    expect(props.Tokens).toEqual([
      { Ref: expect.stringMatching(/GeneratedPassword/) },
      { Ref: expect.stringMatching(/^Load/) },
    ]);
    const file = path.join(assembly.directory, `asset.${props.UsersFile.Key}`);
    const text = fs.readFileSync(file, 'utf8');
    expect(crypto.createHash('sha256').update(text).digest('hex')).toBe(props.UsersFile.Sha256);
    const users = JSON.parse(text);
    expect(users).toHaveLength(2000);
    expect(users[1]).toEqual({
      Username: 'load-00001',
      Mode: 'PERMANENT',
      Password: { Source: 'secretsmanager', SecretArn: { $token: 0 } },
      Groups: [{ $token: 1 }],
    });
    expect(text).not.toContain('${Token');
    expect(JSON.stringify(template.toJSON()).length).toBeLessThan(INLINE_USERS_MAX_BYTES);
  });

  test('the function may read exactly the users object, and no earlier one: an update never needs the previous file', () => {
    const stack = new Stack();
    const pool = new SeededUserPool(stack, 'Pool');
    population(2000, stack, pool);

    const template = Template.fromStack(stack);
    const seedId = Object.keys(template.findResources('Custom::CognitoUserSeed'))[0];
    const objectArn = (Object.values(template.findResources('Custom::CognitoUserSeed'))[0] as any).Properties.UsersFile
      .ObjectArn;
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('PoolSeederPolicy'),
      PolicyDocument: {
        Statement: Match.arrayWith([{ Action: 's3:GetObject', Effect: 'Allow', Resource: objectArn }]),
      },
    });
    // The seeder's policy, and the engine policies of the function and of its failure answerer.
    template.resourceCountIs('AWS::IAM::Policy', 3);
    expect(JSON.stringify(template.toJSON())).not.toContain(
      JSON.stringify({ 'Fn::GetAtt': [seedId, 'UsersObjectArn'] }),
    );
  });
});

describe('time budget', () => {
  test('fails at synth, naming the user that tips the population past what one resource can create', () => {
    const stack = new Stack();
    const seeder = new UserSeeder(stack, 'Seeder', {
      userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', 'us-east-1_x'),
      rateLimits: { accountRecovery: 1 },
    });
    const password = SeedPassword.generate();
    const add = (i: number) => seeder.addUser({ username: `u${i}`, mode: PasswordMode.PERMANENT, password });
    for (let i = 0; i < 3240; i++) add(i);

    expect(() => add(3240)).toThrow(
      /Seeder: user 'u3240' takes the population past what one resource can create: 3241 AdminCreateUser at 50\/s, 3241 password calls at 1\/s, 0 group writes at 25\/s need about 3241 s, and CloudFormation waits 3240 s for it \(its ServiceTimeout, less the margins\)\. Raise rateLimits/,
    );
  });

  test('fails at synth when the Delete could not finish, though the Create could: deletes run at the UserUpdate quota', () => {
    // GIVEN creations and password calls fast enough, deletes at 2 a second
    const stack = new Stack();
    const seeder = new UserSeeder(stack, 'Seeder', {
      userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', 'us-east-1_x'),
      rateLimits: { userWrites: 2 },
    });
    const password = SeedPassword.generate();
    const add = (i: number) => seeder.addUser({ username: `u${i}`, mode: PasswordMode.TEMPORARY, password });
    for (let i = 0; i < 6480; i++) add(i);

    // THEN the user that tips the Delete past the budget is named, and the Delete blamed
    expect(() => add(6480)).toThrow(
      /Seeder: user 'u6480' takes the population past what one resource can delete: 6481 AdminDeleteUser at 2\/s \(userWrites\) need about 3241 s, and CloudFormation waits 3240 s for it/,
    );
  });

  test('81,000 TEMPORARY users fit one resource at default quotas (its Delete at 25/s bounds it); one more fails on the Delete', () => {
    const stack = new Stack();
    const seeder = new UserSeeder(stack, 'Seeder', {
      userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', 'us-east-1_x'),
    });
    const password = SeedPassword.generate();
    expect(() => {
      for (let i = 0; i < 81_000; i++) seeder.addUser({ username: `u${i}`, mode: PasswordMode.TEMPORARY, password });
    }).not.toThrow();
    expect(() => seeder.addUser({ username: 'one-more', mode: PasswordMode.TEMPORARY, password })).toThrow(
      /past what one resource can delete: 81001 AdminDeleteUser at 25\/s/,
    );
  });

  test('10,000 users fit at default quotas', () => {
    const stack = new Stack();
    expect(() => population(10_000, stack, new SeededUserPool(stack, 'Pool'))).not.toThrow();
  });
});

test('synth warns when a large population meets a function too small to hold a slice of it', () => {
  const warnings = (memorySize?: number) => {
    const stack = new Stack(new App(), 'Big');
    const pool = new SeededUserPool(stack, 'Pool', { seeding: { seedingFunction: { memorySize } } });
    population(40_001, stack, pool);
    return Annotations.fromStack(stack)
      .findWarning('*', Match.stringLikeRegexp('memorySize'))
      .map((w) => String(w.entry.data));
  };
  expect(warnings(256)).toEqual([
    expect.stringContaining(
      "Pool/Seeder: seeds 40001 users with seedingFunction.memorySize 256. A request's slice holds every user and ledger record at once: 80,000 users peaked at 277 MB (measured), past a 256 MB function. Give it 512 MB or more (the default is 1,024).",
    ),
  ]);
  expect(warnings()).toEqual([]);
});
