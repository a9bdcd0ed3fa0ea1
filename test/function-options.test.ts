// Options for the stack's one seeding function, for accounts whose policies ask them of
// every Lambda function: each reaches the template, conflicting ones fail, and with them
// the NIST 800-53 R5 and HIPAA packs are clean on the seeder's resources but for the
// inline policies the design uses (see the README's "Regulated accounts").
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { HIPAASecurityChecks, NIST80053R5Checks } from 'cdk-nag';
import { PasswordMode, SeededUserPool, SeedingFunctionOptions, SeedPassword, UserSeeder } from '../lib';

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

  test('by default: no VPC, 30-day logs retained on delete, no reservation, tracing, queue or backup', () => {
    const stack = new Stack(new App(), 'S');
    seeder(stack, 'Seeder');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
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

  test('seeders of one stack that share one options object share the function', () => {
    const stack = new Stack(new App(), 'S');
    const options = regulatedOptions(stack);
    seeder(stack, 'One', options);
    seeder(stack, 'Two', { ...options });
    Template.fromStack(stack).resourceCountIs('AWS::Lambda::Function', 1);
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

describe('NIST 800-53 R5 and HIPAA packs with the options set', () => {
  test('find nothing on the seeder resources but IAMNoInlinePolicy on the inline policies of the design', () => {
    // GIVEN
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nag-regulated-'));
    const app = new App({ outdir });
    Validations.of(app).addPlugins(new NIST80053R5Checks(app), new HIPAASecurityChecks(app));
    const stack = new Stack(app, 'S');

    // WHEN
    seeder(stack, 'Seeder', regulatedOptions(stack));
    try {
      app.synth();
    } catch {
      // findings fail the synth; the report says which
    }

    // THEN
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
    // Options cannot clear IAMNoInlinePolicy: the design gives the role inline policies (its
    // own, one per seeder, the function's continuation policy, and aws-cdk-lib's
    // DefaultPolicy for tracing and the queue).
    expect(findings.filter((f) => !/-IAMNoInlinePolicy /.test(f))).toEqual([]);
    expect(findings.sort()).toEqual(
      ['HIPAA.Security', 'NIST.800.53.R5'].flatMap((pack) =>
        [
          'S/CognitoUserSeederFunction/ContinuePolicy/Resource',
          'S/CognitoUserSeederFunction/ServiceRole/DefaultPolicy/Resource',
          'S/CognitoUserSeederFunction/ServiceRole/Resource',
          'S/Seeder/Policy/Resource',
        ].map((p) => `${pack}-IAMNoInlinePolicy ${p}`),
      ),
    );
  });
});
