// Grants give a test runner exactly the passwords it needs, statement by statement, and
// the seeding role exactly what the construct was told about customer managed keys.
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { PasswordMode, SeedMfa, SeedPassword, UserSeeder } from '../lib';
import { totpUserSecretName } from '../lib/private/totp-names';

function setup() {
  const stack = new Stack(new App(), 'Stack', { env: { account: '111111111111', region: 'eu-west-1' } });
  const userPool = cognito.UserPool.fromUserPoolId(stack, 'Pool', 'eu-west-1_POOL');
  const runner = new iam.Role(stack, 'Runner', { assumedBy: new iam.AccountRootPrincipal() });
  const seeder = new UserSeeder(stack, 'Seeder', { userPool });
  return { stack, seeder, runner };
}

/** The statements of the runner's policy, in order. */
function runnerStatements(stack: Stack): unknown[] {
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^Runner') }] },
  });
  return Object.values(policies).flatMap((p) => (p as any).Properties.PolicyDocument.Statement);
}

const logicalIdOf = (stack: Stack, c: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(c.node.defaultChild as any);

/** What reading the manifest takes: the pointer, the stack's path, and the seeder's manifest items only. */
function manifestStatements(stack: Stack, seeder: UserSeeder): unknown[] {
  const parameter = seeder.node.findChild('Manifest') as ssm.StringParameter;
  const owner = logicalIdOf(stack, seeder.node.findChild('Resource') as any);
  return [
    {
      Effect: 'Allow',
      Action: 'ssm:GetParameter',
      Resource: {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':ssm:eu-west-1:111111111111:parameter',
            { Ref: logicalIdOf(stack, parameter) },
          ],
        ],
      },
    },
    {
      Effect: 'Allow',
      Action: 'ssm:GetParametersByPath',
      Resource: {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':ssm:eu-west-1:111111111111:parameter/cdk-cognito-seeder/Stack'],
        ],
      },
    },
    {
      Effect: 'Allow',
      Action: 'dynamodb:Query',
      Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CognitoUserSeederFunctionLedger'), 'Arn'] },
      Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [`MANIFEST#${owner}`] } },
    },
  ];
}

/** `expected` with its matchers, as Template assertions see them. */
function expectStatements(stack: Stack, expected: unknown[]): void {
  Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
    Roles: [{ Ref: Match.stringLikeRegexp('^Runner') }],
    PolicyDocument: { Statement: Match.exact(expected) },
  });
}

const via = (service: string) => ({
  StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', [`${service}.`, { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
});
const viaSsm = via('ssm');
const viaSecretsManager = via('secretsmanager');

test('grantReadPassword grants one user: GetSecretValue only, kms:Decrypt only via Secrets Manager', () => {
  // GIVEN
  const { stack, seeder, runner } = setup();
  const key = new kms.Key(stack, 'Key');
  const mine = new secretsmanager.Secret(stack, 'Mine', { encryptionKey: key });
  const other = new secretsmanager.Secret(stack, 'Other');
  seeder.addUser({ username: 'alice', mode: PasswordMode.PERMANENT, password: SeedPassword.fromSecret(mine) });
  seeder.addUser({ username: 'bob', mode: PasswordMode.PERMANENT, password: SeedPassword.fromSecret(other) });

  // WHEN
  seeder.grantReadPassword('alice', runner);

  // THEN
  const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as any);
  expectStatements(stack, [
    { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: logicalId(mine) } },
    {
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: { 'Fn::GetAtt': [logicalId(key), 'Arn'] },
      Condition: viaSecretsManager,
    },
    ...manifestStatements(stack, seeder),
  ]);
});

test('grantReadPassword on an SSM parameter: GetParameter only, no history, kms:Decrypt via SSM for a told key', () => {
  // GIVEN
  const { stack, seeder, runner } = setup();
  const key = kms.Key.fromKeyArn(stack, 'Cmk', 'arn:aws:kms:eu-west-1:111111111111:key/abc');
  const parameter = ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'P', { parameterName: '/seed/bob' });
  seeder.addUser({
    username: 'bob',
    mode: PasswordMode.TEMPORARY,
    password: SeedPassword.fromSsmParameter(parameter, { encryptionKey: key }),
  });

  // WHEN
  seeder.grantReadPassword('bob', runner);

  // THEN
  expectStatements(stack, [
    {
      Effect: 'Allow',
      Action: 'ssm:GetParameter',
      Resource: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:eu-west-1:111111111111:parameter/seed/bob']],
      },
    },
    {
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: 'arn:aws:kms:eu-west-1:111111111111:key/abc',
      Condition: viaSsm,
    },
    ...manifestStatements(stack, seeder),
  ]);
});

test('the seeding role may decrypt a SecureString under the key it was told, only via SSM', () => {
  // GIVEN
  const { stack, seeder } = setup();
  const key = kms.Key.fromKeyArn(stack, 'Cmk', 'arn:aws:kms:eu-west-1:111111111111:key/abc');
  const parameter = ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'P', { parameterName: '/seed/bob' });

  // WHEN
  seeder.addUser({
    username: 'bob',
    mode: PasswordMode.TEMPORARY,
    password: SeedPassword.fromSsmParameter(parameter, { encryptionKey: key }),
  });

  // THEN
  Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
    PolicyName: Match.stringLikeRegexp('SeederPolicy'),
    PolicyDocument: {
      Statement: Match.arrayWith([
        {
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: 'arn:aws:kms:eu-west-1:111111111111:key/abc',
          Condition: viaSsm,
        },
      ]),
    },
  });
});

test('grantReadPasswords covers users added after the call, each store once, and nothing else', () => {
  // GIVEN
  const { stack, seeder, runner } = setup();
  const shared = SeedPassword.generate();
  seeder.addUser({ username: 'a', mode: PasswordMode.PERMANENT, password: shared });

  // WHEN the grant comes first, then more users
  seeder.grantReadPasswords(runner);
  seeder.addUser({ username: 'b', mode: PasswordMode.PERMANENT, password: shared });
  const later = ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Later', { parameterName: '/later' });
  seeder.addUser({ username: 'c', mode: PasswordMode.TEMPORARY, password: SeedPassword.fromSsmParameter(later) });
  seeder.addUser({
    username: 'd',
    mode: PasswordMode.RESET_REQUIRED,
    attributes: { email: 'd@x.io', email_verified: 'true' },
  });

  // THEN
  const statements = runnerStatements(stack) as { Action: string }[];
  expect(statements.map((s) => s.Action)).toEqual([
    'secretsmanager:GetSecretValue',
    // the manifest
    'ssm:GetParameter',
    'ssm:GetParametersByPath',
    'dynamodb:Query',
    // user c, added after the grant
    'ssm:GetParameter',
  ]);
  expect(JSON.stringify(statements)).not.toMatch(/DescribeSecret|GetParameterHistory|GetParameters"|kms:\*/);
});

test('a password in one JSON field grants the whole secret, and synth says so', () => {
  // GIVEN
  const { stack, seeder, runner } = setup();
  const db = secretsmanager.Secret.fromSecretCompleteArn(
    stack,
    'Db',
    'arn:aws:secretsmanager:eu-west-1:111111111111:secret:db-AbCdEf',
  );
  seeder.addUser({ username: 'a', mode: PasswordMode.PERMANENT, password: SeedPassword.fromSecret(db, 'password') });

  // WHEN
  seeder.grantReadPassword('a', runner);

  // THEN
  Annotations.fromStack(stack).hasWarning(
    '/Stack/Seeder',
    Match.stringLikeRegexp("field 'password' of a secret is granted as the whole secret"),
  );
});

test('the seeding role is exposed as an IGrantable for what the construct cannot know', () => {
  // GIVEN
  const { stack, seeder } = setup();
  const key = new kms.Key(stack, 'AssetsKey');

  // WHEN
  key.grantDecrypt(seeder);

  // THEN
  expect(seeder.seedingRole).toBe(seeder.grantPrincipal);
  Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
    Roles: [{ Ref: Match.stringLikeRegexp('CognitoUserSeederFunctionServiceRole') }],
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'kms:Decrypt' })]) },
  });
});

test('fails when grantReadPassword names a user with no stored password', () => {
  const { seeder, runner } = setup();
  seeder.addUser({
    username: 'p',
    mode: PasswordMode.TEMPORARY,
    password: SeedPassword.unsafePlainText('Plain-Passw0rd!'),
  });
  expect(() => seeder.grantReadPassword('p', runner)).toThrow(
    "Stack/Seeder: user 'p' has no stored password to grant (mode TEMPORARY, unsafePlainText): only users with SeedPassword.fromSecret(), fromSsmParameter() or generate() have one.",
  );
  expect(() => seeder.grantReadPassword('nobody', runner)).toThrow(/no seeded user 'nobody' \(users: p\)/);
});

test("grantReadManifest grants the pointer, the stack path and this seeder's manifest items, nothing more", () => {
  // GIVEN
  const { stack, seeder, runner } = setup();
  seeder.addUser({ username: 'a', mode: PasswordMode.PERMANENT, password: SeedPassword.generate() });

  // WHEN
  seeder.grantReadManifest(runner);

  // THEN
  expectStatements(stack, manifestStatements(stack, seeder));
  expect(seeder.manifestParameterName).toBe('/cdk-cognito-seeder/Stack/Seeder');
});

/** Invoking the stack's seeding function: what a repair (and a re-arm) takes. */
function invokeStatement(stack: Stack): unknown {
  const seed = Object.values(Template.fromStack(stack).findResources('Custom::CognitoUserSeed'))[0] as any;
  return { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: seed.Properties.ServiceToken };
}

test("grantRearm: invoking the seeding function, the TEMPORARY users' passwords (later ones too), the manifest; nothing on the pool", () => {
  // GIVEN
  const { stack, seeder, runner } = setup();
  const temporary = new secretsmanager.Secret(stack, 'Temporary');
  const permanent = new secretsmanager.Secret(stack, 'Permanent');
  seeder.addUser({ username: 'p', mode: PasswordMode.PERMANENT, password: SeedPassword.fromSecret(permanent) });

  // WHEN the grant comes first, then a TEMPORARY user
  seeder.grantRearm(runner);
  seeder.addUser({ username: 't', mode: PasswordMode.TEMPORARY, password: SeedPassword.fromSecret(temporary) });

  // THEN
  expectStatements(stack, [
    invokeStatement(stack),
    ...manifestStatements(stack, seeder),
    { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: logicalIdOf(stack, temporary) } },
  ]);
  // A test runner with it cannot set a password of its choice: no Cognito action at all.
  expect(JSON.stringify(runnerStatements(stack))).not.toContain('cognito-idp');
});

test('grantRepair: invoking the seeding function and reading the manifest, nothing on the pool or any password', () => {
  // GIVEN
  const { stack, seeder, runner } = setup();
  const secret = new secretsmanager.Secret(stack, 'Pw');
  seeder.addUser({ username: 'a', mode: PasswordMode.PERMANENT, password: SeedPassword.fromSecret(secret) });

  // WHEN
  seeder.grantRepair(runner);

  // THEN
  expectStatements(stack, [invokeStatement(stack), ...manifestStatements(stack, seeder)]);
  expect(JSON.stringify(runnerStatements(stack))).not.toMatch(/cognito-idp|secretsmanager|kms/);
});

/** A secret's ARN in the test stack, as the template renders it, from the name and suffix given. */
const secretArnLike = (name: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:secretsmanager:eu-west-1:111111111111:secret:${name}`]],
});

test("a TOTP user: the seeding role may write exactly its TOTP secrets; grantReadPassword adds reading that user's own", () => {
  // GIVEN
  const { stack, seeder, runner } = setup();
  const secret = new secretsmanager.Secret(stack, 'Pw');

  // WHEN
  seeder.addUser({
    username: 'carol',
    mode: PasswordMode.PERMANENT,
    password: SeedPassword.fromSecret(secret),
    mfa: SeedMfa.TOTP,
  });
  seeder.grantReadPassword('carol', runner);

  // THEN
  const totp = seeder.node.findChild('TotpSecrets') as secretsmanager.Secret;
  const client = seeder.node.findChild('TotpEnrolmentClient') as cognito.UserPoolClient;
  const template = Template.fromStack(stack);
  const prefix = `cdk-cognito-seeder/totp/Stack/${seeder.node.addr}`;
  template.hasResourceProperties('AWS::IAM::Policy', {
    PolicyName: Match.stringLikeRegexp('SeederPolicy'),
    PolicyDocument: {
      Statement: Match.arrayWith([
        {
          Effect: 'Allow',
          Action: ['cognito-idp:AdminInitiateAuth', 'cognito-idp:AdminRespondToAuthChallenge'],
          Resource: stack.resolve(seeder.userPool.userPoolArn),
        },
        {
          Effect: 'Allow',
          Action: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
          Resource: { Ref: logicalIdOf(stack, totp) },
        },
        {
          Effect: 'Allow',
          Action: [
            'secretsmanager:CreateSecret',
            'secretsmanager:DeleteSecret',
            'secretsmanager:GetSecretValue',
            'secretsmanager:PutSecretValue',
            'secretsmanager:RestoreSecret',
          ],
          // Exactly the names of this seeder's prefix and hash length: no `*`.
          Resource: secretArnLike(`${prefix}/${'?'.repeat(32)}-??????`),
        },
      ]),
    },
  });
  template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
    UserPoolId: 'eu-west-1_POOL',
    ExplicitAuthFlows: ['ALLOW_ADMIN_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
    GenerateSecret: false,
  });
  template.hasResourceProperties('Custom::CognitoUserSeed', {
    Users: [Match.objectLike({ Username: 'carol', Mfa: 'TOTP' })],
    Totp: {
      SecretArn: { Ref: logicalIdOf(stack, totp) },
      ClientId: { Ref: logicalIdOf(stack, client) },
      UserSecretPrefix: prefix,
    },
  });
  // carol's own TOTP secret only, not the secret that holds every TOTP user's seed
  expectStatements(stack, [
    { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: logicalIdOf(stack, secret) } },
    ...manifestStatements(stack, seeder),
    {
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: secretArnLike(`${totpUserSecretName(prefix, 'carol')}-??????`),
    },
  ]);
});

test("grantReadPassword of one TOTP user reads no other TOTP user's seed; grantReadPasswords reads them all in one secret", () => {
  // GIVEN two TOTP users
  const { stack, seeder, runner } = setup();
  const other = new iam.Role(stack, 'Other', { assumedBy: new iam.AccountRootPrincipal() });
  for (const username of ['carol', 'dave']) {
    seeder.addUser({ username, mode: PasswordMode.PERMANENT, password: SeedPassword.generate(), mfa: SeedMfa.TOTP });
  }

  // WHEN
  seeder.grantReadPassword('carol', runner);
  seeder.grantReadPasswords(other);

  // THEN the runner may read carol's own secret and not dave's, nor the seeder's TOTP secret
  const prefix = `cdk-cognito-seeder/totp/Stack/${seeder.node.addr}`;
  const totp = seeder.node.findChild('TotpSecrets') as secretsmanager.Secret;
  const text = (role: iam.Role) =>
    JSON.stringify(
      Template.fromStack(stack).findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: logicalIdOf(stack, role) }] },
      }),
    );
  expect(text(runner)).toContain(totpUserSecretName(prefix, 'carol'));
  expect(text(runner)).not.toContain(totpUserSecretName(prefix, 'dave'));
  expect(text(runner)).not.toContain(logicalIdOf(stack, totp));
  // and the other reads the seeder's TOTP secret, every user's seed in one call
  expect(text(other)).toContain(logicalIdOf(stack, totp));
  expect(text(other)).not.toContain('cdk-cognito-seeder/totp');
});

test('no TOTP user, no TOTP secret, client or enrolment permission', () => {
  const { stack, seeder } = setup();
  seeder.addUser({ username: 'a', mode: PasswordMode.PERMANENT, password: SeedPassword.generate() });
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::Cognito::UserPoolClient', 0);
  expect(JSON.stringify(template.toJSON())).not.toMatch(/AdminInitiateAuth|PutSecretValue|"Totp"/);
});

test('assetsBucketKey: a users file in a bucket under a customer managed key may be decrypted, through S3 only', () => {
  // GIVEN a population large enough to travel as a users file
  const stack = new Stack(new App(), 'Stack', { env: { account: '111111111111', region: 'eu-west-1' } });
  const key = kms.Key.fromKeyArn(stack, 'AssetsKey', 'arn:aws:kms:eu-west-1:111111111111:key/assets');
  const password = SeedPassword.generate();
  const users = Array.from({ length: 2000 }, (_, i) => ({
    username: `load-${i}`,
    mode: PasswordMode.PERMANENT,
    password,
  }));

  // WHEN
  new UserSeeder(stack, 'Seeder', {
    userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', 'eu-west-1_POOL'),
    users,
    assetsBucketKey: key,
  });

  // THEN
  const template = Template.fromStack(stack);
  template.hasResourceProperties('Custom::CognitoUserSeed', { UsersFile: Match.objectLike({}) });
  template.hasResourceProperties('AWS::IAM::Policy', {
    PolicyName: Match.stringLikeRegexp('SeederPolicy'),
    PolicyDocument: {
      Statement: Match.arrayWith([
        {
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: 'arn:aws:kms:eu-west-1:111111111111:key/assets',
          Condition: via('s3'),
        },
      ]),
    },
  });
});

test('assetsBucketKey grants nothing while the users travel inline', () => {
  const { stack } = setup();
  const key = kms.Key.fromKeyArn(stack, 'AssetsKey', 'arn:aws:kms:eu-west-1:111111111111:key/assets');
  new UserSeeder(stack, 'Small', {
    userPool: cognito.UserPool.fromUserPoolId(stack, 'P2', 'eu-west-1_POOL'),
    users: [{ username: 'a', mode: PasswordMode.PERMANENT, password: SeedPassword.generate() }],
    assetsBucketKey: key,
  });
  expect(JSON.stringify(Template.fromStack(stack).toJSON())).not.toContain('key/assets');
});

test('secretsEncryptionKey: the generated and TOTP secrets use it; the function and the grantees decrypt through Secrets Manager only', () => {
  // GIVEN
  const stack = new Stack(new App(), 'Stack', { env: { account: '111111111111', region: 'eu-west-1' } });
  const key = new kms.Key(stack, 'Key');
  const runner = new iam.Role(stack, 'Runner', { assumedBy: new iam.AccountRootPrincipal() });
  const seeder = new UserSeeder(stack, 'Seeder', {
    userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', 'eu-west-1_POOL'),
    secretsEncryptionKey: key,
  });

  // WHEN a generated TOTP user, and a grant of its password
  seeder.addUser({ username: 'g', mode: PasswordMode.PERMANENT, password: SeedPassword.generate(), mfa: SeedMfa.TOTP });
  seeder.grantReadPassword('g', runner);

  // THEN
  const template = Template.fromStack(stack);
  const keyArn = { 'Fn::GetAtt': [logicalIdOf(stack, key), 'Arn'] };
  template.allResourcesProperties('AWS::SecretsManager::Secret', { KmsKeyId: keyArn });
  // and the per-user TOTP secrets the function creates are made with it too
  template.hasResourceProperties('Custom::CognitoUserSeed', { Totp: Match.objectLike({ KmsKeyId: keyArn }) });
  template.resourceCountIs('AWS::SecretsManager::Secret', 2);
  const viaSm = viaSecretsManager;
  template.hasResourceProperties('AWS::IAM::Policy', {
    PolicyName: Match.stringLikeRegexp('SeederPolicy'),
    PolicyDocument: {
      Statement: Match.arrayWith([
        { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: keyArn, Condition: viaSm },
      ]),
    },
  });
  const runnerText = JSON.stringify(runnerStatements(stack));
  expect(runnerText).toContain('"kms:Decrypt"');
  expect(runnerText).not.toMatch(/GenerateDataKey|kms:Encrypt/);
  expect(
    runnerStatements(stack)
      .filter((s: any) => s.Action === 'kms:Decrypt')
      .every((s: any) => s.Condition !== undefined),
  ).toBe(true);
});
