import * as fs from 'fs';
import * as path from 'path';
import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { LEDGER_TABLE_ENV, STACK_ID_ENV } from './contract';

/** The singleton's id in its stack. A public contract: never change it. */
const SINGLETON_ID = 'CognitoUserSeederFunction';

/** How long the handler may run: Lambda's maximum, for large populations. */
export const SEED_FUNCTION_TIMEOUT = Duration.minutes(15);

/** The item operations the handler's ledger module makes, and no others. */
export const LEDGER_ACTIONS = ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'];

/**
 * The one seeding Lambda of a stack, with its own role, log group and ownership ledger
 * (a DynamoDB table of the users each seed resource created). Every seeder in the stack
 * shares them and adds its own policy to the role.
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
  /** The ownership ledger: the only thing that can authorise deleting a user. */
  public readonly ledger: dynamodb.Table;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: logs.RetentionDays.ONE_MONTH,
    });
    this.ledger = new dynamodb.Table(this, 'Ledger', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // Every seed resource depends on it, so it goes after the last of them has removed its users.
      removalPolicy: RemovalPolicy.DESTROY,
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
        Ledger: new iam.PolicyDocument({
          statements: [new iam.PolicyStatement({ actions: LEDGER_ACTIONS, resources: [this.ledger.tableArn] })],
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
      // The stack id lets the handler act only on events its own stack sends.
      environment: { [LEDGER_TABLE_ENV]: this.ledger.tableName, [STACK_ID_ENV]: Aws.STACK_ID },
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
