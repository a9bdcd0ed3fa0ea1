// cdk-nag's AwsSolutions pack (v3, as a policy-validation plugin) must find nothing on the
// seeder's role, policies, function, log group or custom resource, with no acknowledgement.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { AwsSolutionsChecks } from 'cdk-nag';
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
        rules_to_suppress: [{ id: 'AwsSolutions-SMG4', reason: Match.stringLikeRegexp('rotating it would break') }],
      },
    },
  });
});
