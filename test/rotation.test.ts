// Rotation of generated passwords (SeedPassword.generate({ rotateAfter })): what the
// construct synthesizes for it, and the password generator the rotation uses.
// test/rotation.e2e.test.ts plays Secrets Manager's four steps against the function.
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { PasswordMode, SeedPassword, UserSeeder } from '../lib';
import { generatePassword, isRotationEvent } from '../lambda/rotation';

function setup(rotateAfter?: Duration, key?: (stack: Stack) => kms.IKey) {
  const stack = new Stack(new App(), 'Stack', { env: { account: '111111111111', region: 'eu-west-1' } });
  const seeder = new UserSeeder(stack, 'Seeder', {
    userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', 'eu-west-1_POOL'),
    secretsEncryptionKey: key?.(stack),
  });
  const shared = SeedPassword.generate({ id: 'Shared', rotateAfter });
  seeder.addUser({ username: 'a', mode: PasswordMode.PERMANENT, password: shared });
  seeder.addUser({ username: 'b', mode: PasswordMode.TEMPORARY, password: shared });
  return { stack, seeder, secret: seeder.node.findChild('Shared') as secretsmanager.Secret };
}

const logicalIdOf = (stack: Stack, c: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(c.node.defaultChild as never);

test('rotateAfter: a schedule that names the seeding function, never run during the deploy, once per secret', () => {
  const { stack, seeder, secret } = setup(Duration.days(30));
  const template = Template.fromStack(stack);
  const fn = stack.node.findChild('CognitoUserSeederFunction').node.findChild('Handler') as lambda.Function;

  template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 1);
  template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
    SecretId: { Ref: logicalIdOf(stack, secret) },
    RotationLambdaARN: { 'Fn::GetAtt': [logicalIdOf(stack, fn), 'Arn'] },
    RotationRules: { AutomaticallyAfterDays: 30 },
    RotateImmediatelyOnUpdate: false,
  });
  // Secrets Manager may invoke the function, from this account only
  template.resourceCountIs('AWS::Lambda::Permission', 1);
  template.hasResourceProperties('AWS::Lambda::Permission', {
    Action: 'lambda:InvokeFunction',
    Principal: 'secretsmanager.amazonaws.com',
    SourceAccount: { Ref: 'AWS::AccountId' },
    FunctionName: { 'Fn::GetAtt': [logicalIdOf(stack, fn), 'Arn'] },
  });
  // the steps' permissions on exactly this secret: no GetRandomPassword, no `*`
  template.hasResourceProperties('AWS::IAM::Policy', {
    PolicyName: Match.stringLikeRegexp('SeederPolicy'),
    PolicyDocument: {
      Statement: Match.arrayWith([
        {
          Effect: 'Allow',
          Action: [
            'secretsmanager:DescribeSecret',
            'secretsmanager:PutSecretValue',
            'secretsmanager:UpdateSecretVersionStage',
          ],
          Resource: { Ref: logicalIdOf(stack, secret) },
        },
      ]),
    },
  });
  const text = JSON.stringify(template.toJSON());
  expect(text).not.toContain('GetRandomPassword');
  // the schedule waits for the permission and the seeder's policy
  const [scheduleId] = Object.keys(template.findResources('AWS::SecretsManager::RotationSchedule'));
  const dependsOn = template.toJSON().Resources[scheduleId].DependsOn as string[];
  expect(dependsOn).toEqual(
    expect.arrayContaining([
      Object.keys(template.findResources('AWS::Lambda::Permission'))[0],
      stack.getLogicalId(seeder.node.findChild('Policy').node.defaultChild as never),
    ]),
  );
});

test('without rotateAfter: no schedule and no permission for Secrets Manager', () => {
  const { stack } = setup(undefined);
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
  template.resourceCountIs('AWS::Lambda::Permission', 0);
  expect(JSON.stringify(template.toJSON())).not.toContain('UpdateSecretVersionStage');
});

test('rotateAfter with secretsEncryptionKey: the function encrypts the new version with it through Secrets Manager only', () => {
  const { stack } = setup(Duration.days(7), (s) => new kms.Key(s, 'Key'));
  const key = stack.node.findChild('Key') as kms.Key;
  Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
    PolicyName: Match.stringLikeRegexp('SeederPolicy'),
    PolicyDocument: {
      Statement: Match.arrayWith([
        {
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: { 'Fn::GetAtt': [logicalIdOf(stack, key), 'Arn'] },
          Condition: {
            StringEquals: {
              'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
            },
          },
        },
      ]),
    },
  });
});

test.each([
  [Duration.hours(12), '12 hours'],
  [Duration.hours(36), '1 day 12 hours'],
  [Duration.days(1001), '1001 days'],
])('rotateAfter %s is refused at synth, naming the user, the range and the fix', (after, said) => {
  expect(() => setup(after)).toThrow(
    `Stack/Seeder: user 'a': SeedPassword.generate({ rotateAfter: ${said} }) must be whole days from 1 to 1,000 (Secrets Manager's rotation range): use Duration.days(n).`,
  );
});

test('generatePassword follows the secret template: length, every class, excluded characters never', () => {
  for (let i = 0; i < 200; i++) {
    const password = generatePassword({
      PasswordLength: '24',
      ExcludeCharacters: '"\'\\/@`',
      RequireEachIncludedType: 'true',
    });
    expect(password).toHaveLength(24);
    expect(password).toMatch(/[A-Z]/);
    expect(password).toMatch(/[a-z]/);
    expect(password).toMatch(/[0-9]/);
    expect(password).toMatch(/[^A-Za-z0-9]/);
    expect(password).not.toMatch(/["'\\/@` ]/);
  }
  expect(new Set(Array.from({ length: 50 }, () => generatePassword({ PasswordLength: 32 }))).size).toBe(50);
});

test('a rotation event is exactly the four fields Secrets Manager sends', () => {
  const event = { Step: 'createSecret', SecretId: 'arn', ClientRequestToken: 't' };
  expect(isRotationEvent(event)).toBe(true);
  expect(isRotationEvent({ ...event, RotationToken: 'r' })).toBe(true);
  expect(isRotationEvent({ ...event, kind: 'repair' })).toBe(false);
  expect(isRotationEvent({ RequestType: 'Create', ResponseURL: 'https://x' })).toBe(false);
});
