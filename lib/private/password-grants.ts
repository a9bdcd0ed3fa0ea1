// The IAM statements and grants that read a stored password: for the seeding function's
// role (statements) and for a test runner (grants). Not exported from the package root.
import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as ssm from 'aws-cdk-lib/aws-ssm';
import type { SeedPasswordBinding } from '../seed-password';

/** The ARN to name in a policy: a partial ARN matches its six-character suffix. */
function secretPolicyArn(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? `${secret.secretArn}-??????`;
}

/** `secretsmanager:GetSecretValue` on exactly the secret, and `kms:Decrypt` on its key only via Secrets Manager. */
export function readSecretStatements(secret: secretsmanager.ISecret): iam.PolicyStatement[] {
  const statements = [
    new iam.PolicyStatement({
      actions: ['secretsmanager:GetSecretValue'],
      resources: [secretPolicyArn(secret)],
    }),
  ];
  if (secret.encryptionKey) {
    // Decrypt only on behalf of Secrets Manager, as Secret.grantRead does.
    statements.push(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [secret.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com` } },
      }),
    );
  }
  return statements;
}

/**
 * What a grantee needs to read one stored password: `GetSecretValue` (never
 * `DescribeSecret`) or `GetParameter` (never its history) on exactly its store, and
 * `kms:Decrypt` on a key the construct knows only through the owning service.
 */
export function passwordReadGrants(binding: SeedPasswordBinding): Omit<iam.GrantOnPrincipalOptions, 'grantee'>[] {
  const grants: Omit<iam.GrantOnPrincipalOptions, 'grantee'>[] = [];
  const decryptVia = (key: kms.IKey, service: string) =>
    grants.push({
      actions: ['kms:Decrypt'],
      resourceArns: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `${service}.${Aws.REGION}.amazonaws.com` } },
    });
  if (binding.secret) {
    grants.push({ actions: ['secretsmanager:GetSecretValue'], resourceArns: [secretPolicyArn(binding.secret)] });
    if (binding.secret.encryptionKey) decryptVia(binding.secret.encryptionKey, 'secretsmanager');
  }
  if (binding.parameter) {
    grants.push({ actions: ['ssm:GetParameter'], resourceArns: [binding.parameter.parameterArn] });
    if (binding.encryptionKey) decryptVia(binding.encryptionKey, 'ssm');
  }
  return grants;
}

/** `ssm:GetParameter` on exactly the parameter, and `kms:Decrypt` on its key only via SSM. */
export function readParameterStatements(parameter: ssm.IParameter, key?: kms.IKey): iam.PolicyStatement[] {
  const statements = [new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [parameter.parameterArn] })];
  if (key) {
    statements.push(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `ssm.${Aws.REGION}.amazonaws.com` } },
      }),
    );
  }
  return statements;
}
