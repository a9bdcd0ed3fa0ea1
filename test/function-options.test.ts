// Options for the stack's one seeding function, for accounts whose policies ask them of
// every Lambda function: each reaches the template, conflicting ones fail, and with them
// the NIST 800-53 R5 and HIPAA packs are clean on the seeder's resources: but for the
// inline policies of the default, and entirely with customerManagedPolicies (see the
// README's "Regulated accounts").
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { HIPAASecurityChecks, NIST80053R5Checks } from 'cdk-nag';
import { PasswordMode, SeededUserPool, SeedingFunctionOptions, SeedMfa, SeedPassword, UserSeeder } from '../lib';

function regulatedOptions(stack: Stack): SeedingFunctionOptions {
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  return {
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    securityGroups: [new ec2.SecurityGroup(stack, 'SeederSg', { vpc, allowAllOutbound: true })],
    logGroupEncryptionKey: new kms.Key(stack, 'LogKey', { enableKeyRotation: true }),
    logRetention: logs.RetentionDays.ONE_YEAR,
    logRemovalPolicy: RemovalPolicy.DESTROY,
    reservedConcurrentExecutions: 2,
    tracing: lambda.Tracing.ACTIVE,
    deadLetterQueue: sqs.Queue.fromQueueArn(stack, 'Dlq', 'arn:aws:sqs:us-east-1:111111111111:seeder-dlq'),
    ledgerBackupPlan: backup.BackupPlan.daily35DayRetention(stack, 'Backups'),
  };
}

function seeder(stack: Stack, id: string, seedingFunction?: SeedingFunctionOptions): UserSeeder {
  return new UserSeeder(stack, id, {
    userPool: cognito.UserPool.fromUserPoolId(stack, `${id}Pool`, `us-east-1_${id}`),
    users: [
      { username: 'a', mode: PasswordMode.RESET_REQUIRED, attributes: { email: 'a@x.com', email_verified: 'true' } },
    ],
    seedingFunction,
  });
}

describe('seedingFunction', () => {
  test('every option reaches the function, its log group, its role and its ledger', () => {
    // GIVEN
    const stack = new Stack(new App(), 'S');
    const options = regulatedOptions(stack);

    // WHEN
    seeder(stack, 'Seeder', options);

    // THEN
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('cdk-cognito-seeder'),
      VpcConfig: {
        SubnetIds: Match.arrayWith([{ Ref: Match.stringLikeRegexp('VpcPrivateSubnet1') }]),
        SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('SeederSg'), 'GroupId'] }],
      },
      ReservedConcurrentExecutions: 2,
      TracingConfig: { Mode: 'Active' },
      DeadLetterConfig: { TargetArn: 'arn:aws:sqs:us-east-1:111111111111:seeder-dlq' },
    });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 365, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('LogKey'), 'Arn'] } },
      DeletionPolicy: 'Delete',
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::Backup::BackupSelection', {
      BackupSelection: {
        Resources: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('CognitoUserSeederFunctionLedger'), 'Arn'] }],
      },
    });
    // The ENI permissions are inline; the seeding role has no managed policy.
    const roles = template.findResources('AWS::IAM::Role', {
      Properties: { Description: Match.stringLikeRegexp('cdk-cognito-seeder') },
    });
    const [role] = Object.values(roles) as any[];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const vpcPolicy = role.Properties.Policies.find((p: any) => p.PolicyName === 'Vpc');
    expect(vpcPolicy.PolicyDocument.Statement.map((s: any) => s.Action)).toEqual([
      ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
      'ec2:CreateNetworkInterface',
      ['ec2:AssignPrivateIpAddresses', 'ec2:DeleteNetworkInterface', 'ec2:UnassignPrivateIpAddresses'],
    ]);
  });

  test('the failure answerer runs where the seeding function runs: its VPC, tracing, queue and log options, one reserved execution', () => {
    // GIVEN
    const stack = new Stack(new App(), 'S');

    // WHEN
    seeder(stack, 'Seeder', regulatedOptions(stack));

    // THEN
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.onFailure',
      VpcConfig: {
        SubnetIds: Match.arrayWith([{ Ref: Match.stringLikeRegexp('VpcPrivateSubnet1') }]),
        SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('SeederSg'), 'GroupId'] }],
      },
      ReservedConcurrentExecutions: 1,
      TracingConfig: { Mode: 'Active' },
      DeadLetterConfig: { TargetArn: 'arn:aws:sqs:us-east-1:111111111111:seeder-dlq' },
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('CognitoUserSeederFunctionFailureAnswerLogGroup') } },
    });
    // Its own log group, beside the seeding function's, with the same options.
    const groups = Object.keys(
      template.findResources('AWS::Logs::LogGroup', {
        Properties: { RetentionInDays: 365, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('LogKey'), 'Arn'] } },
        DeletionPolicy: 'Delete',
      }),
    );
    expect(groups.filter((id) => /^CognitoUserSeederFunctionFailureAnswerLogGroup/.test(id))).toHaveLength(1);
    const [role] = Object.values(
      template.findResources('AWS::IAM::Role', {
        Properties: { Description: Match.stringLikeRegexp('failure answerer') },
      }),
    ) as any[];
    expect(role.Properties.Policies.map((p: any) => p.PolicyName)).toEqual(['Logs', 'Stack', 'Vpc']);
  });

  test('by default: no VPC, 30-day logs retained on delete, no reservation, tracing, queue or backup', () => {
    const stack = new Stack(new App(), 'S');
    seeder(stack, 'Seeder');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      // CPU for Cognito's default pace, and V8's heap capped well inside the memory.
      MemorySize: 1024,
      Environment: { Variables: Match.objectLike({ NODE_OPTIONS: '--max-old-space-size=640' }) },
      VpcConfig: Match.absent(),
      ReservedConcurrentExecutions: Match.absent(),
      TracingConfig: Match.absent(),
      DeadLetterConfig: Match.absent(),
    });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 30, KmsKeyId: Match.absent() },
      DeletionPolicy: 'Retain',
    });
    template.resourceCountIs('AWS::Backup::BackupSelection', 0);
  });

  test('memorySize sets the memory and the heap cap with it (62.5 %)', () => {
    const stack = new Stack(new App(), 'S');
    seeder(stack, 'Seeder', { memorySize: 256 });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 256,
      Environment: { Variables: Match.objectLike({ NODE_OPTIONS: '--max-old-space-size=160' }) },
    });
  });

  test.each([100, 10_241, 512.5])('fails when memorySize is %s, naming the range', (memorySize) => {
    const stack = new Stack(new App(), 'S');
    expect(() => seeder(stack, 'Seeder', { memorySize })).toThrow(
      new RegExp(
        `^S/Seeder: seedingFunction.memorySize is ${memorySize}, and Lambda takes a whole number of MB from 128 to 10,240`,
      ),
    );
  });

  test('seeders of one stack that share one options object share the function', () => {
    const stack = new Stack(new App(), 'S');
    const options = regulatedOptions(stack);
    seeder(stack, 'One', options);
    seeder(stack, 'Two', { ...options });
    const template = Template.fromStack(stack);
    // One seeding function, and its one failure answerer.
    template.resourcePropertiesCountIs('AWS::Lambda::Function', { Handler: 'index.handler' }, 1);
    template.resourcePropertiesCountIs('AWS::Lambda::Function', { Handler: 'index.onFailure' }, 1);
    template.resourceCountIs('AWS::Lambda::Function', 2);
  });

  test('fails when two seeders of one stack pass different options, naming both and the options', () => {
    const stack = new Stack(new App(), 'S');
    seeder(stack, 'One', { reservedConcurrentExecutions: 2 });
    expect(() => seeder(stack, 'Two', { reservedConcurrentExecutions: 3, tracing: lambda.Tracing.ACTIVE })).toThrow(
      /^S\/Two: seedingFunction differs from what S\/One gave \(reservedConcurrentExecutions, tracing\): the stack has one seeding function \(S\/CognitoUserSeederFunction\).*same seedingFunction/,
    );
  });

  test('fails when one seeder of a stack passes options and another none', () => {
    const stack = new Stack(new App(), 'S');
    const pool = new SeededUserPool(stack, 'Pool', {
      seeding: { seedingFunction: { logRetention: logs.RetentionDays.ONE_YEAR } },
    });
    pool.addUser({ username: 'a', mode: PasswordMode.PERMANENT, password: SeedPassword.generate() });
    expect(() => seeder(stack, 'Other')).toThrow(
      /^S\/Other: seedingFunction differs from what S\/Pool\/Seeder gave \(logRetention\)/,
    );
  });
});

/** What the NIST 800-53 R5 and HIPAA packs find on the seeder's resources, as `rule path`. */
function regulatedFindings(extra: Partial<SeedingFunctionOptions> = {}): string[] {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nag-regulated-'));
  const app = new App({ outdir });
  Validations.of(app).addPlugins(new NIST80053R5Checks(app), new HIPAASecurityChecks(app));
  const stack = new Stack(app, 'S');
  seeder(stack, 'Seeder', { ...regulatedOptions(stack), ...extra });
  try {
    app.synth();
  } catch {
    // findings fail the synth; the report says which
  }
  const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
  fs.rmSync(outdir, { recursive: true, force: true });
  const findings: string[] = [];
  for (const plugin of report.pluginReports) {
    for (const violation of plugin.violations ?? []) {
      for (const c of violation.violatingConstructs) {
        if (/^S\/(Seeder|CognitoUserSeederFunction)\//.test(c.constructPath))
          findings.push(`${violation.ruleName} ${c.constructPath}`);
      }
    }
  }
  return findings.sort();
}

describe('NIST 800-53 R5 and HIPAA packs with the options set', () => {
  test('by default find nothing on the seeder resources but IAMNoInlinePolicy on its inline policies', () => {
    const findings = regulatedFindings();

    expect(findings.filter((f) => !/-IAMNoInlinePolicy /.test(f))).toEqual([]);
    expect(findings).toEqual(
      ['HIPAA.Security', 'NIST.800.53.R5'].flatMap((pack) =>
        [
          'S/CognitoUserSeederFunction/EnginePolicy/Resource',
          'S/CognitoUserSeederFunction/EngineRole/Resource',
          'S/CognitoUserSeederFunction/FailureAnswerEnginePolicy/Resource',
          'S/CognitoUserSeederFunction/FailureAnswerRole/DefaultPolicy/Resource',
          'S/CognitoUserSeederFunction/FailureAnswerRole/Resource',
          'S/CognitoUserSeederFunction/ServiceRole/DefaultPolicy/Resource',
          'S/CognitoUserSeederFunction/ServiceRole/Resource',
          'S/Seeder/Policy/Resource',
        ].map((p) => `${pack}-IAMNoInlinePolicy ${p}`),
      ),
    );
  });

  test('with customerManagedPolicies find nothing at all on the seeder resources', () => {
    expect(regulatedFindings({ customerManagedPolicies: true })).toEqual([]);
  });
});

describe('customerManagedPolicies', () => {
  function managedStack(seeders = 1): { stack: Stack; template: Template } {
    const stack = new Stack(new App(), 'S', { env: { account: '111111111111', region: 'us-east-1' } });
    const options: SeedingFunctionOptions = {
      ...regulatedOptions(stack),
      customerManagedPolicies: true,
    };
    for (let i = 0; i < seeders; i++) {
      const pool = new SeededUserPool(stack, `Pool${i}`, {
        mfa: cognito.Mfa.OPTIONAL,
        mfaSecondFactor: { otp: true, sms: false },
        seeding: { seedingFunction: options },
      });
      pool.addUser({ username: 'alice', mode: PasswordMode.PERMANENT, password: SeedPassword.generate() });
      pool.addUser({
        username: 'tom',
        mode: PasswordMode.PERMANENT,
        password: SeedPassword.generate(),
        mfa: SeedMfa.TOTP,
      });
    }
    return { stack, template: Template.fromStack(stack) };
  }

  test('every permission moves to managed policies attached to the seeding role (or the engine role, or the answerer role) only: the same statements, none inline', () => {
    // WHEN
    const { template } = managedStack();

    // THEN
    template.resourceCountIs('AWS::IAM::Policy', 0);
    const roleOf = (description: string) =>
      Object.entries(
        template.findResources('AWS::IAM::Role', {
          Properties: { Description: Match.stringLikeRegexp(description) },
        }),
      )[0] as [string, any];
    const role = roleOf('^Seeds Cognito users');
    const engineRole = roleOf('state machine');
    const answerRole = roleOf('failure answerer');
    for (const r of [role, engineRole, answerRole]) {
      expect(r[1].Properties.Policies).toBeUndefined();
      expect(r[1].Properties.ManagedPolicyArns).toBeUndefined();
    }
    const managed = Object.entries(template.findResources('AWS::IAM::ManagedPolicy')) as [string, any][];
    for (const [id, policy] of managed) {
      const owner = /EngineRole/.test(id) ? engineRole : /FailureAnswer/.test(id) ? answerRole : role;
      expect(policy.Properties.Roles).toEqual([{ Ref: owner[0] }]);
    }
    const actions = (id: RegExp) => {
      const found = managed.filter(([logicalId]) => id.test(logicalId));
      expect(found).toHaveLength(1);
      return found[0][1].Properties.PolicyDocument.Statement.flatMap((s: any) => [s.Action].flat());
    };
    // The function's own: logs, ledger, network, tracing and the queue (aws-cdk-lib's DefaultPolicy otherwise).
    expect(actions(/ServiceRoleFunctionPolicy/)).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'cloudformation:DescribeStacks',
      'cloudformation:GetTemplate',
      'cloudformation:ListStackResources',
      'lambda:InvokeFunction',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:CreateNetworkInterface',
      'ec2:AssignPrivateIpAddresses',
      'ec2:DeleteNetworkInterface',
      'ec2:UnassignPrivateIpAddresses',
      'sqs:SendMessage',
      'xray:PutTraceSegments',
      'xray:PutTelemetryRecords',
    ]);
    // The answerer's: its logs, its stack's status, network, tracing and the queue.
    expect(actions(/FailureAnswerRoleFunctionPolicy/)).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'cloudformation:DescribeStacks',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:CreateNetworkInterface',
      'ec2:AssignPrivateIpAddresses',
      'ec2:DeleteNetworkInterface',
      'ec2:UnassignPrivateIpAddresses',
      'sqs:SendMessage',
      'xray:PutTraceSegments',
      'xray:PutTelemetryRecords',
    ]);
    // The answerer's read of the executions, in a policy it does not depend on.
    expect(actions(/FailureAnswerEnginePolicyManaged/)).toEqual(['states:DescribeExecution']);
    expect(actions(/FunctionEnginePolicyManaged/)).toEqual([
      'states:StartExecution',
      'states:DescribeExecution',
      'states:StopExecution',
    ]);
    expect(actions(/EngineRoleFunctionPolicy/)).toEqual([
      'lambda:InvokeFunction',
      'logs:CreateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:DescribeLogGroups',
      'logs:DescribeResourcePolicies',
      'logs:GetLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:UpdateLogDelivery',
      'xray:GetSamplingRules',
      'xray:GetSamplingTargets',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
    const seederActions = actions(/Pool0SeederPolicyManaged/);
    expect(seederActions).toEqual(
      expect.arrayContaining([
        'cognito-idp:AdminCreateUser',
        'cognito-idp:AdminDeleteUser',
        'cognito-idp:AdminInitiateAuth',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
      ]),
    );
    expect(managed).toHaveLength(6);
  });

  test('the seed resource depends on its managed policy and the engine policy; the function on neither of them but its own', () => {
    const { template } = managedStack();
    const [[, seed]] = Object.entries(template.findResources('Custom::CognitoUserSeed')) as [string, any][];
    expect(seed.DependsOn).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Pool0SeederPolicyManaged/),
        expect.stringMatching(/^CognitoUserSeederFunctionEnginePolicyManaged/),
        expect.stringMatching(/^CognitoUserSeederFunctionFailureAnswerEnginePolicyManaged/),
      ]),
    );
    const [[, fn]] = Object.entries(
      template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } }),
    ) as [string, any][];
    const dependsOn: string[] = fn.DependsOn ?? [];
    expect(dependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/ServiceRoleFunctionPolicy/)]));
    expect(dependsOn.filter((d) => /EnginePolicy|SeederPolicy/.test(d))).toEqual([]);
  });

  test("warns above IAM's default 10 managed policies per role, naming the quota", () => {
    const { stack } = managedStack(9);
    Annotations.fromStack(stack).hasWarning(
      '/S/CognitoUserSeederFunction',
      Match.stringLikeRegexp('has 11 managed policies .* "Managed policies per role" is raised \\(to 20 at most\\)'),
    );
  });

  test('fails when the role would have more than 20 managed policies, naming the count and the fix', () => {
    expect(() => managedStack(19)).toThrow(
      /S\/CognitoUserSeederFunction: the seeding role would have 21 managed policies .*at most 20 .*split the seeders across stacks, or leave customerManagedPolicies unset/,
    );
  });
});
