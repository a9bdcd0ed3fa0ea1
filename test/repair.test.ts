// The repair's entry points in the template: a schedule and a password source's change
// each invoke the stack's seeding function with a repair request of this seeder (and
// nothing else: no password, no source), and match only this seeder's sources' events.
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as events from 'aws-cdk-lib/aws-events';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { PasswordMode, SeedPassword, UserSeeder } from '../lib';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:qa-admin-AbCdEf';
const PARAMETER = '/qa/temporary-password';

function setup(options: { repairSchedule?: events.Schedule; repairOnPasswordChange?: boolean }) {
  const stack = new Stack(new App(), 'Stack', { env: { account: '111111111111', region: 'eu-west-1' } });
  const userPool = cognito.UserPool.fromUserPoolId(stack, 'Pool', 'eu-west-1_POOL');
  const seeder = new UserSeeder(stack, 'Seeder', { userPool, ...options });
  const secret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Admin', SECRET_ARN);
  const parameter = ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Temp', {
    parameterName: PARAMETER,
  });
  seeder.addUser({ username: 'admin', mode: PasswordMode.PERMANENT, password: SeedPassword.fromSecret(secret) });
  // Added after construction: the rules still cover its source.
  seeder.addUser({ username: 'bob', mode: PasswordMode.TEMPORARY, password: SeedPassword.fromSsmParameter(parameter) });
  const template = Template.fromStack(stack);
  const [[seedId, seed]] = Object.entries(template.findResources('Custom::CognitoUserSeed')) as [string, any][];
  return { stack, template, seedId, serviceToken: seed.Properties.ServiceToken };
}

/** The target every repair rule has: the seeding function, with a repair request of this seeder. */
const repairTarget = (serviceToken: unknown, seedId: string) => [
  Match.objectLike({
    Arn: serviceToken,
    Input: JSON.stringify({ kind: 'repair', seeder: seedId, waitSeconds: 0 }),
    RetryPolicy: { MaximumRetryAttempts: 2 },
  }),
];

test('no repair rule unless asked for', () => {
  const { template } = setup({});
  template.resourceCountIs('AWS::Events::Rule', 0);
  template.resourceCountIs('AWS::Lambda::Permission', 0);
});

test('repairSchedule: a rule on that schedule invokes the function with a repair of this seeder', () => {
  const { template, seedId, serviceToken } = setup({
    repairSchedule: events.Schedule.cron({ hour: '5', minute: '0' }),
  });
  template.resourceCountIs('AWS::Events::Rule', 1);
  template.hasResourceProperties('AWS::Events::Rule', {
    ScheduleExpression: 'cron(0 5 * * ? *)',
    State: 'ENABLED',
    Targets: repairTarget(serviceToken, seedId),
  });
  // EventBridge may invoke exactly this function, from exactly this rule.
  template.hasResourceProperties('AWS::Lambda::Permission', {
    Action: 'lambda:InvokeFunction',
    FunctionName: serviceToken,
    Principal: 'events.amazonaws.com',
    SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('RepairSchedule'), 'Arn'] },
  });
});

test("repairOnPasswordChange: Parameter Store changes of the users' parameters, and CloudTrail's Secrets Manager writes and rotations of their secrets", () => {
  const { template, seedId, serviceToken } = setup({ repairOnPasswordChange: true });
  template.resourceCountIs('AWS::Events::Rule', 2);
  template.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: {
      source: ['aws.ssm'],
      'detail-type': ['Parameter Store Change'],
      detail: { name: [PARAMETER], operation: ['Create', 'Update'] },
    },
    Targets: repairTarget(serviceToken, seedId),
  });
  template.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: {
      source: ['aws.secretsmanager'],
      detail: {
        eventSource: ['secretsmanager.amazonaws.com'],
        eventName: ['PutSecretValue', 'UpdateSecret', 'RotationSucceeded'],
        $or: [
          { requestParameters: { secretId: [SECRET_ARN, 'qa-admin'] } },
          { additionalEventData: { SecretId: [SECRET_ARN] } },
        ],
      },
    },
    Targets: repairTarget(serviceToken, seedId),
  });
});

test('the events each rule matches: its own sources only', () => {
  const { template } = setup({ repairOnPasswordChange: true });
  const rules = Object.values(template.findResources('AWS::Events::Rule')).map((r: any) => r.Properties.EventPattern);
  const ssmRule = rules.find((p) => p.source[0] === 'aws.ssm');
  const secretsRule = rules.find((p) => p.source[0] === 'aws.secretsmanager');
  // A minimal matcher for the pattern shapes used here: lists of values, nested objects, $or.
  const matches = (pattern: any, event: any): boolean =>
    Object.entries(pattern).every(([key, want]) => {
      if (key === '$or') return (want as any[]).some((alt) => matches(alt, event));
      const got = event?.[key];
      if (Array.isArray(want)) return want.includes(got);
      return matches(want, got);
    });
  const parameterChange = (name: string, operation = 'Update') => ({
    source: 'aws.ssm',
    'detail-type': 'Parameter Store Change',
    detail: { name, operation, type: 'SecureString' },
  });
  expect(matches(ssmRule, parameterChange(PARAMETER))).toBe(true);
  expect(matches(ssmRule, parameterChange(PARAMETER, 'Delete'))).toBe(false);
  expect(matches(ssmRule, parameterChange('/other/parameter'))).toBe(false);
  const trail = (eventName: string, detail: object) => ({
    source: 'aws.secretsmanager',
    'detail-type': 'AWS API Call via CloudTrail',
    detail: { eventSource: 'secretsmanager.amazonaws.com', eventName, ...detail },
  });
  expect(matches(secretsRule, trail('PutSecretValue', { requestParameters: { secretId: SECRET_ARN } }))).toBe(true);
  expect(matches(secretsRule, trail('UpdateSecret', { requestParameters: { secretId: 'qa-admin' } }))).toBe(true);
  expect(matches(secretsRule, trail('RotationSucceeded', { additionalEventData: { SecretId: SECRET_ARN } }))).toBe(
    true,
  );
  expect(matches(secretsRule, trail('GetSecretValue', { requestParameters: { secretId: SECRET_ARN } }))).toBe(false);
  expect(matches(secretsRule, trail('PutSecretValue', { requestParameters: { secretId: 'someone-else' } }))).toBe(
    false,
  );
});
