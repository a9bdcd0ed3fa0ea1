import * as fs from 'fs';
import * as path from 'path';
import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The singleton's id in its stack. A public contract: never change it. */
const SINGLETON_ID = 'CognitoUserSeederFunction';

/** How long the handler may run: Lambda's maximum, for large populations. */
export const SEED_FUNCTION_TIMEOUT = Duration.minutes(15);

/**
 * The one seeding Lambda of a stack, with its own role and log group. Every seeder in
 * the stack shares it and adds its own policy to the role.
 */
export class SeedFunction extends Construct {
  /** The stack's seeding function, created on first use. */
  public static of(scope: Construct): SeedFunction {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(SINGLETON_ID);
    return (existing as SeedFunction | undefined) ?? new SeedFunction(stack, SINGLETON_ID);
  }

  public readonly function: lambda.Function;
  public readonly role: iam.Role;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: logs.RetentionDays.ONE_MONTH,
    });
    this.role = new iam.Role(this, 'ServiceRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Seeds Cognito users for cdk-cognito-seeder; each seeder adds a policy for its pool.',
      inlinePolicies: {
        Logs: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              resources: [logGroup.logGroupArn],
            }),
          ],
        }),
      },
    });
    this.function = new lambda.Function(this, 'Handler', {
      runtime: lambda.Runtime.NODEJS_LATEST,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(handlerAssetPath()),
      role: this.role,
      logGroup,
      timeout: SEED_FUNCTION_TIMEOUT,
      memorySize: 256,
      // CloudFormation is answered by the handler itself: a Lambda retry would only repeat it.
      retryAttempts: 0,
      description: 'cdk-cognito-seeder: seeds Cognito users for Custom::CognitoUserSeed',
    });
  }
}

/**
 * The handler bundle that `npm run build` (scripts/bundle.js) writes. Found from both the
 * TypeScript sources (lib/private) and the compiled package (dist/lib/private).
 */
function handlerAssetPath(): string {
  const candidates = [
    path.join(__dirname, '..', '..', 'assets', 'seed-handler'),
    path.join(__dirname, '..', '..', '..', 'assets', 'seed-handler'),
  ];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'index.js')));
  if (!found) {
    throw new Error(
      `cdk-cognito-seeder: the handler bundle is missing (looked in ${candidates.join(', ')}): run 'npm run build' in the library first.`,
    );
  }
  return found;
}
