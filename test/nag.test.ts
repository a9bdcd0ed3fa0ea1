// cdk-nag's AwsSolutions pack (v3, as a policy-validation plugin) must find nothing on the
// seeder's role, policies, function, log group or custom resource, with no acknowledgement.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks } from 'cdk-nag';
import { PasswordMode, SeedMfa, SeededUserPool, SeedPassword, UserSeeder } from '../lib';

interface Finding {
  rule: string;
  path: string;
}

function synthWithNag(build: (stack: Stack) => void): { findings: Finding[]; threw: boolean } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nag-'));
  const app = new App({ outdir });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  build(new Stack(app, 'S'));
  let threw = false;
  try {
    app.synth();
  } catch {
    threw = true;
  }
  const reportFile = path.join(outdir, 'validation-report.json');
  const report = fs.existsSync(reportFile) ? JSON.parse(fs.readFileSync(reportFile, 'utf8')) : { pluginReports: [] };
  fs.rmSync(outdir, { recursive: true, force: true });
  const findings: Finding[] = [];
  for (const plugin of report.pluginReports) {
    for (const violation of plugin.violations ?? []) {
      for (const construct of violation.violatingConstructs)
        findings.push({ rule: violation.ruleName, path: construct.constructPath });
    }
  }
  return { findings, threw };
}

const isSeederResource = (p: string) => /^S\/(Pool\/Seeder|Seeder|CognitoUserSeederFunction)\//.test(p);

test('Compliance: an imported pool seeded from a secret, a parameter and RESET_REQUIRED draws no finding at all', () => {
  const { findings, threw } = synthWithNag((stack) => {
    new UserSeeder(stack, 'Seeder', {
      userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', 'us-east-1_abc'),
      users: [
        {
          username: 'a',
          mode: PasswordMode.PERMANENT,
          password: SeedPassword.fromSecret(secretsmanager.Secret.fromSecretNameV2(stack, 'Secret', 'seed/a')),
        },
        {
          username: 'b',
          mode: PasswordMode.TEMPORARY,
          password: SeedPassword.fromSsmParameter(
            ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Param', { parameterName: '/seed/b' }),
          ),
        },
        { username: 'c', mode: PasswordMode.RESET_REQUIRED, attributes: { email: 'c@x.com', email_verified: 'true' } },
      ],
    });
  });

  expect(findings).toEqual([]);
  expect(threw).toBe(false);
});

test('Compliance: on a SeededUserPool the seeder adds no finding but the generated secret SMG4, left visible to the user', () => {
  const { findings, threw } = synthWithNag((stack) => {
    new SeededUserPool(stack, 'Pool', {
      users: [{ username: 'a', mode: PasswordMode.PERMANENT, password: SeedPassword.generate() }],
    });
  });

  // The pool's own findings (its MFA, feature plan...) belong to the user's pool settings.
  expect(threw).toBe(true);
  expect(findings.filter((f) => isSeederResource(f.path))).toEqual([
    { rule: 'AwsSolutions-SMG4', path: 'S/Pool/Seeder/GeneratedPassword/Resource' },
  ]);
});

test('Compliance: a TOTP user adds no finding: its TOTP secret carries the reason it is not rotated', () => {
  const { findings } = synthWithNag((stack) => {
    new UserSeeder(stack, 'Seeder', {
      userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', 'us-east-1_abc'),
      users: [
        {
          username: 'carol',
          mode: PasswordMode.PERMANENT,
          password: SeedPassword.fromSecret(secretsmanager.Secret.fromSecretNameV2(stack, 'Secret', 'seed/c')),
          mfa: SeedMfa.TOTP,
        },
      ],
    });
  });

  expect(findings.filter((f) => isSeederResource(f.path))).toEqual([]);
});

test('Compliance: the TOTP secret carries the same reason as cdk_nag metadata, the form cdk-nag v2 reads', () => {
  const stack = new Stack(new App(), 'S');
  new UserSeeder(stack, 'Seeder', {
    userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', 'us-east-1_abc'),
    users: [{ username: 'carol', mode: PasswordMode.PERMANENT, password: SeedPassword.generate(), mfa: SeedMfa.TOTP }],
  });

  // cdk-nag v3 needs aws-cdk-lib 2.257.0; with an older one, cdk-nag v2 runs, and it reads only this.
  Template.fromStack(stack).hasResource('AWS::SecretsManager::Secret', {
    Properties: { Description: Match.stringLikeRegexp('^TOTP secrets') },
    Metadata: {
      cdk_nag: {
        // The same reason for each pack's rotation rule.
        rules_to_suppress: [
          { id: 'AwsSolutions-SMG4', reason: Match.stringLikeRegexp('rotating it would break') },
          ...['HIPAA.Security', 'NIST.800.53.R5'].map((pack) => ({
            id: `${pack}-SecretsManagerRotationEnabled`,
            reason: Match.stringLikeRegexp('rotating it would break'),
          })),
        ],
      },
    },
  });
});

test("Compliance: the Serverless pack's asynchronous failure destination rule holds on the seeding function, acknowledged nowhere", () => {
  // GIVEN the Serverless pack, on a seeder with the defaults and on one with options set
  for (const seedingFunction of [undefined, { tracing: lambda.Tracing.ACTIVE, customerManagedPolicies: true }]) {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nag-async-'));
    const app = new App({ outdir });
    Validations.of(app).addPlugins(new ServerlessChecks(app));
    const stack = new Stack(app, 'S');
    new UserSeeder(stack, 'Seeder', {
      userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', 'us-east-1_abc'),
      users: [
        { username: 'c', mode: PasswordMode.RESET_REQUIRED, attributes: { email: 'c@x.com', email_verified: 'true' } },
      ],
      seedingFunction,
    });

    // WHEN
    try {
      app.synth();
    } catch {
      // Other Serverless findings (an untraced function) fail the synth; the report says which.
    }

    // THEN the rule finds nothing, and nothing in the assembly acknowledges it
    const read = (file: string) => fs.readFileSync(path.join(outdir, file), 'utf8');
    const report = JSON.parse(read('validation-report.json'));
    const assembly = fs
      .readdirSync(outdir)
      .filter((f) => f.endsWith('.json') && f !== 'validation-report.json')
      .map(read)
      .join('\n');
    const template = Template.fromJSON(JSON.parse(read('S.template.json')));
    fs.rmSync(outdir, { recursive: true, force: true });
    const rules: string[] = report.pluginReports.flatMap((p: any) =>
      (p.violations ?? []).map((v: { ruleName: string }) => v.ruleName),
    );
    expect(rules.filter((r) => /AsyncFailureDestination/.test(r))).toEqual([]);
    expect(assembly).not.toContain('AsyncFailureDestination');
    // because the seeding function's failure destination is the stack's answerer
    const [answererId] = Object.keys(
      template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.onFailure' } }),
    );
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [answererId, 'Arn'] } } },
    });
  }
});

test('Compliance: five packs on a seeder with generated and TOTP users and every option set, rotateAfter included, find nothing on the seeder', () => {
  // GIVEN every option a regulated account would set
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nag5-'));
  const app = new App({ outdir });
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app),
    new HIPAASecurityChecks(app),
    new NIST80053R5Checks(app),
    new PCIDSS321Checks(app),
    new ServerlessChecks(app),
  );
  const stack = new Stack(app, 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    natGateways: 0,
    subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
  new UserSeeder(stack, 'Seeder', {
    userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', 'eu-west-1_POOL'),
    secretsEncryptionKey: key,
    seedingFunction: {
      vpc,
      logGroupEncryptionKey: key,
      deadLetterQueue: new sqs.Queue(stack, 'Dlq', { encryptionMasterKey: key, enforceSSL: true }),
      reservedConcurrentExecutions: 2,
      tracing: lambda.Tracing.ACTIVE,
      ledgerBackupPlan: backup.BackupPlan.daily35DayRetention(stack, 'Plan'),
      logRetention: logs.RetentionDays.ONE_YEAR,
      customerManagedPolicies: true,
    },
    users: [
      {
        username: 'g',
        mode: PasswordMode.PERMANENT,
        password: SeedPassword.generate({ rotateAfter: Duration.days(30) }),
      },
      {
        username: 't',
        mode: PasswordMode.PERMANENT,
        password: SeedPassword.generate({ id: 'T', rotateAfter: Duration.days(30) }),
        mfa: SeedMfa.TOTP,
      },
    ],
  });

  // WHEN
  try {
    app.synth();
  } catch {
    // The findings are in the report.
  }
  const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
  const template = Template.fromJSON(JSON.parse(fs.readFileSync(path.join(outdir, 'S.template.json'), 'utf8')));
  fs.rmSync(outdir, { recursive: true, force: true });
  const findings: string[] = [];
  for (const plugin of report.pluginReports) {
    for (const violation of plugin.violations ?? []) {
      for (const c of violation.violatingConstructs) findings.push(`${violation.ruleName} ${c.constructPath}`);
    }
  }

  // THEN nothing on the seeder: the generated secrets rotate, through the seeding function;
  // the secrets are encrypted with the key
  const seeder = findings.filter((f) => !/ S\/(Vpc|Dlq|Key|Plan)\//.test(f)).sort();
  expect(seeder).toEqual([]);
  template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 2);
  const keyRef = { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] };
  for (const id of ['GeneratedPassword', 'T', 'TotpSecrets']) {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: id === 'TotpSecrets' ? Match.stringLikeRegexp('TOTP') : Match.stringLikeRegexp('generated'),
      KmsKeyId: keyRef,
    });
  }
});
