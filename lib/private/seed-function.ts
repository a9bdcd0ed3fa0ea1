import * as fs from 'fs';
import * as path from 'path';
import { Annotations, ArnFormat, Aws, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { SeedingFunctionOptions } from '../seeding-function-options';
import { acknowledgeNagRule } from './nag';
import {
  ANSWER_NOT_DELIVERED_ERROR,
  ANSWER_TASK,
  LEDGER_TABLE_ENV,
  REQUEST_NOT_READY_ERROR,
  SEED_LOG_GROUP_ENV,
  STACK_ID_ENV,
  WORK_TASK,
} from './contract';

/** The singleton's id in its stack. A public contract: never change it. */
const SINGLETON_ID = 'CognitoUserSeederFunction';

/** How long the handler may run: Lambda's maximum, for large populations. */
export const SEED_FUNCTION_TIMEOUT = Duration.minutes(15);

/**
 * The function's memory by default: CPU comes with it (1,769 MB is one vCPU), and keeping
 * Cognito's quotas takes about 0.3 to 0.45 vCPU.
 */
export const SEED_FUNCTION_MEMORY_MB = 1024;
/** The share of the function's memory V8's heap may use (the rest: code, buffers, sockets). */
export const SEED_FUNCTION_HEAP_SHARE = 0.625;

/**
 * The failure answerer's limits: one PUT to CloudFormation (retried for about a minute) and,
 * for an Update, one read of the stack's status.
 */
export const FAILURE_ANSWER_TIMEOUT = Duration.minutes(2);
export const FAILURE_ANSWER_MEMORY_MB = 256;

/** The item operations the handler's ledger module makes, and no others. */
export const LEDGER_ACTIONS = [
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
];

/**
 * The longest an execution may run: CloudFormation's hour for the work, then the answer's
 * retries; a backstop that never cuts a request CloudFormation still waits for.
 */
export const ENGINE_TIMEOUT = Duration.hours(2);

/** What Step Functions needs on the engine's role to deliver its logs (no resource-level permissions). */
const ENGINE_LOG_DELIVERY_ACTIONS = [
  'logs:CreateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:DescribeLogGroups',
  'logs:DescribeResourcePolicies',
  'logs:GetLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:UpdateLogDelivery',
];

/** What a traced state machine's role needs (X-Ray has no resource-level permissions). */
const ENGINE_TRACE_ACTIONS = [
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'xray:PutTelemetryRecords',
  'xray:PutTraceSegments',
];

/** What the function may read of its own stack, to check that an event is CloudFormation's. */
export const STACK_READ_ACTIONS = [
  'cloudformation:DescribeStacks',
  'cloudformation:GetTemplate',
  'cloudformation:ListStackResources',
];

/**
 * The one seeding Lambda of a stack, with its own role, log group and ownership ledger
 * (a DynamoDB table of the users each seed resource created). Every seeder in the stack
 * shares them and adds its own policy to the role.
 */
export class SeedFunction extends Construct {
  /**
   * The stack's seeding function, created on first use with `options`. Every later
   * caller must pass the same options: one function cannot be configured two ways.
   */
  public static of(scope: Construct, options: SeedingFunctionOptions = {}): SeedFunction {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(SINGLETON_ID) as SeedFunction | undefined;
    if (!existing) return new SeedFunction(stack, SINGLETON_ID, options, scope.node.path);
    const differing = differingOptions(existing.options, options);
    if (differing.length > 0) {
      throw new Error(
        `${scope.node.path}: seedingFunction differs from what ${existing.configuredBy} gave (${differing.join(', ')}): the stack has one seeding function (${existing.node.path}), shared by every seeder in it, so every seeder in the stack must pass the same seedingFunction options. Pass one SeedingFunctionOptions object to each of them.`,
      );
    }
    return existing;
  }

  /**
   * Lets Secrets Manager invoke the function, as the rotation function of the stack's
   * generated passwords that rotate: from this account only (the function checks each
   * rotation event's secret with CloudFormation). Made once, with the first such password.
   */
  public allowRotation(): lambda.CfnPermission {
    this.rotationPermission ??= new lambda.CfnPermission(this, 'RotationPermission', {
      action: 'lambda:InvokeFunction',
      functionName: this.function.functionArn,
      principal: 'secretsmanager.amazonaws.com',
      sourceAccount: Aws.ACCOUNT_ID,
    });
    return this.rotationPermission;
  }

  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  private rotationPermission?: lambda.CfnPermission;
  /**
   * The function's asynchronous failure destination, a function of its own from the same
   * bundle (`index.onFailure`): when every attempt of the function at a CloudFormation event
   * failed, it answers CloudFormation for it (see `failureAnswerer`).
   */
  public readonly failureAnswer: lambda.Function;
  /** The ownership ledger: the only thing that can authorise deleting a user. */
  public readonly ledger: dynamodb.Table;
  /**
   * The engine: a Standard state machine that runs each request's work in slices of the
   * function, retries a slice that crashed, and answers CloudFormation once.
   */
  public readonly stateMachine: sfn.StateMachine;
  /**
   * Lets the function start executions of exactly its state machine and describe or stop
   * them. A policy of its own, not in the role's default policy: the machine's definition
   * names the function, so the function must not depend on the machine; the seed
   * resources depend on this policy instead.
   */
  public readonly enginePolicy: SeedPolicy;
  /**
   * The failure answerer's DescribeExecution on the state machine's executions; the seed
   * resources depend on it, as on `enginePolicy`.
   */
  public readonly failureAnswerEnginePolicy: SeedPolicy;

  /** The options the function was created with, and the seeder that gave them. */
  private readonly options: SeedingFunctionOptions;

  /** The function's memory in MB, as configured (a token when unresolved). */
  public get memorySize(): number {
    return this.options.memorySize ?? SEED_FUNCTION_MEMORY_MB;
  }
  private readonly configuredBy: string;

  private constructor(scope: Construct, id: string, options: SeedingFunctionOptions, configuredBy: string) {
    super(scope, id);
    const memorySize = options.memorySize ?? SEED_FUNCTION_MEMORY_MB;
    if (!Token.isUnresolved(memorySize) && (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10_240)) {
      throw new Error(
        `${configuredBy}: seedingFunction.memorySize is ${memorySize}, and Lambda takes a whole number of MB from 128 to 10,240: pass one in that range (the default, ${SEED_FUNCTION_MEMORY_MB}, keeps Cognito's default pace).`,
      );
    }
    this.options = options;
    this.configuredBy = configuredBy;
    const logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: options.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: options.logGroupEncryptionKey,
      removalPolicy: options.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    // CloudWatch Logs encrypts with the key on its own behalf; a key of this app says so.
    options.logGroupEncryptionKey?.grantEncryptDecrypt(new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`));
    this.ledger = new dynamodb.Table(this, 'Ledger', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // Every seed resource depends on it, so it goes after the last of them has removed its users.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const code = lambda.Code.fromAsset(handlerAssetPath());
    this.failureAnswer = this.failureAnswerer(options, logGroup, code);
    const logsStatement = new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    });
    const ledgerStatement = new iam.PolicyStatement({ actions: LEDGER_ACTIONS, resources: [this.ledger.tableArn] });
    // Its own stack only: the stack id is an ARN unique to this stack.
    const stackStatement = new iam.PolicyStatement({ actions: STACK_READ_ACTIONS, resources: [Aws.STACK_ID] });
    // Lambda invokes a failure destination with the source function's role: exactly the
    // answerer, not its versions and aliases (`grantInvoke` would add `<arn>:*`).
    const invokeStatement = new iam.PolicyStatement({
      actions: ['lambda:InvokeFunction'],
      resources: [this.failureAnswer.functionArn],
    });
    const vpcAccess = options.vpc ? vpcAccessStatements(this) : [];
    const own = [logsStatement, ledgerStatement, stackStatement, invokeStatement, ...vpcAccess];
    const description = 'Seeds Cognito users for cdk-cognito-seeder; each seeder adds a policy for its pool.';
    this.role = options.customerManagedPolicies
      ? managedPoliciesRole(this, 'ServiceRole', new iam.ServicePrincipal('lambda.amazonaws.com'), own, {
          description,
          what: 'the seeding function’s logs, ledger, stack, failure answerer and network',
        })
      : new iam.Role(this, 'ServiceRole', {
          assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
          description,
          inlinePolicies: {
            Logs: new iam.PolicyDocument({ statements: [logsStatement] }),
            Ledger: new iam.PolicyDocument({ statements: [ledgerStatement] }),
            Stack: new iam.PolicyDocument({ statements: [stackStatement] }),
            FailureAnswer: new iam.PolicyDocument({ statements: [invokeStatement] }),
            ...(options.vpc ? { Vpc: new iam.PolicyDocument({ statements: vpcAccess }) } : {}),
          },
        });
    if (options.ledgerBackupPlan) {
      new backup.BackupSelection(this, 'LedgerBackup', {
        backupPlan: options.ledgerBackupPlan,
        resources: [backup.BackupResource.fromDynamoDbTable(this.ledger)],
      });
    }
    this.function = new lambda.Function(this, 'Handler', {
      runtime: lambda.Runtime.NODEJS_LATEST,
      handler: 'index.handler',
      code,
      role: this.role,
      logGroup,
      timeout: SEED_FUNCTION_TIMEOUT,
      memorySize,
      // Lambda retries an event whose delivery crashed; a delivery is idempotent (the
      // execution's name comes from the request), so a retry starts nothing twice.
      retryAttempts: 2,
      // After the last retry, the answerer answers CloudFormation instead of the crashed
      // function: the event, ResponseURL included, goes to no destination but the stack's own.
      onFailure: { bind: () => ({ destination: this.failureAnswer.functionArn }) },
      environment: {
        // The stack id lets the handler act only on events its own stack sends.
        [LEDGER_TABLE_ENV]: this.ledger.tableName,
        [STACK_ID_ENV]: Aws.STACK_ID,
        // V8 collects before its heap nears the function's memory: 80,000 users live in about
        // 100 MB, and a heap of 90 % grew the process past 256 MB before collecting.
        NODE_OPTIONS: `--max-old-space-size=${Math.floor(memorySize * SEED_FUNCTION_HEAP_SHARE)}`,
      },
      description: 'cdk-cognito-seeder: seeds Cognito users for Custom::CognitoUserSeed',
      vpc: options.vpc,
      vpcSubnets: options.vpcSubnets,
      securityGroups: options.securityGroups,
      reservedConcurrentExecutions: options.reservedConcurrentExecutions,
      tracing: options.tracing,
      deadLetterQueue: options.deadLetterQueue,
    });
    this.acknowledgeRoleFindings(this.role, options);
    this.acknowledgeBackupFindings();
    this.stateMachine = this.engine(options);
    this.enginePolicy = this.policy(this, 'EnginePolicy', [
      new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [this.stateMachine.stateMachineArn] }),
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [this.executionsArn()],
      }),
    ]);
    // Execution names come from CloudFormation's request ids, known only at deploy: the
    // wildcard stays inside this state machine's executions.
    acknowledgeNagRule(
      this.enginePolicy,
      `AwsSolutions-IAM5[Resource::${executionsNagPattern(this.stateMachine)}]`,
      'DescribeExecution and StopExecution act on executions whose names come from CloudFormation request ids, known only at deploy; the resource is limited to the executions of this stack’s own state machine.',
    );
    // The answerer leaves a request whose execution an attempt started to that execution's
    // Answer. A policy of its own that the answerer does not depend on: the state machine
    // names the seeding function, whose role names the answerer.
    const answerRole = this.failureAnswer.role as iam.Role;
    const answerStatement = new iam.PolicyStatement({
      actions: ['states:DescribeExecution'],
      resources: [this.executionsArn()],
    });
    this.failureAnswerEnginePolicy = options.customerManagedPolicies
      ? new iam.ManagedPolicy(this, 'FailureAnswerEnginePolicyManaged', {
          description: 'cdk-cognito-seeder: the failure answerer reads the executions of the stack’s state machine',
          roles: [answerRole],
          statements: [answerStatement],
        })
      : new iam.Policy(this, 'FailureAnswerEnginePolicy', { roles: [answerRole], statements: [answerStatement] });
    acknowledgeNagRule(
      this.failureAnswerEnginePolicy,
      `AwsSolutions-IAM5[Resource::${executionsNagPattern(this.stateMachine)}]`,
      'DescribeExecution acts on the execution a request’s attempt may have started, whose name comes from the CloudFormation request id, known only at deploy; the resource is limited to the executions of this stack’s own state machine.',
    );
    this.node.addValidation({ validate: () => this.validateManagedPolicies() });
  }

  /**
   * The stack's state machine: `Work` slices of the function until one says the request
   * is done, then `Answer`, which is also where every failure goes. A slice that crashed,
   * ran out of memory or timed out (`Lambda.Unknown`) is run again; so is a throttled or
   * failed invoke. Only names of errors travel to `Answer`, never their text.
   */
  private engine(options: SeedingFunctionOptions): sfn.StateMachine {
    const work = new tasks.LambdaInvoke(this, 'Work', {
      lambdaFunction: this.function,
      payload: sfn.TaskInput.fromObject({
        kind: WORK_TASK,
        request: sfn.JsonPath.objectAt('$.request'),
        cursor: sfn.JsonPath.objectAt('$.cursor'),
      }),
      // The slice returns the next state itself: the request, its cursor, done.
      outputPath: '$.Payload',
      retryOnServiceExceptions: true,
    });
    work.addRetry({
      errors: ['Lambda.TooManyRequestsException'],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 8,
    });
    work.addRetry({ errors: ['Lambda.Unknown'], interval: Duration.seconds(2), backoffRate: 2, maxAttempts: 3 });
    work.addRetry({ errors: [REQUEST_NOT_READY_ERROR], interval: Duration.seconds(1), backoffRate: 2, maxAttempts: 6 });
    const answer = new tasks.LambdaInvoke(this, 'Answer', {
      lambdaFunction: this.function,
      payload: sfn.TaskInput.fromObject({
        kind: ANSWER_TASK,
        request: sfn.JsonPath.objectAt('$.request'),
        failure: sfn.JsonPath.stringAt('$.failure'),
      }),
      outputPath: '$.Payload',
      retryOnServiceExceptions: true,
    });
    answer.addRetry({
      errors: ['Lambda.TooManyRequestsException', 'Lambda.Unknown'],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 8,
    });
    // Each attempt PUTs for about a minute; the function stops asking once CloudFormation
    // no longer waits, so these cover its hour.
    answer.addRetry({
      errors: [ANSWER_NOT_DELIVERED_ERROR],
      interval: Duration.seconds(30),
      backoffRate: 1.5,
      maxAttempts: 11,
    });
    const failed = new sfn.Pass(this, 'Failed', {
      parameters: { 'request.$': '$.request', 'failure.$': '$.failure.Error' },
    });
    work.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.failure' });
    failed.next(answer);
    const finished = new sfn.Choice(this, 'Finished')
      .when(sfn.Condition.booleanEquals('$.done', true), answer)
      .otherwise(work);

    const logGroup = new logs.LogGroup(this, 'EngineLogGroup', {
      retention: options.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: options.logGroupEncryptionKey,
      removalPolicy: options.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    const traced = options.tracing !== lambda.Tracing.DISABLED;
    // The engine's permissions, spelled out: invoke exactly the function (the task would
    // add every version and alias, `<arn>:*`); CloudWatch Logs' log-delivery actions and
    // X-Ray's trace actions have no resource-level permissions, so they are on `*`.
    const statements = [
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.function.functionArn] }),
      new iam.PolicyStatement({ actions: ENGINE_LOG_DELIVERY_ACTIONS, resources: ['*'] }),
      ...(traced ? [new iam.PolicyStatement({ actions: ENGINE_TRACE_ACTIONS, resources: ['*'] })] : []),
    ];
    const assumedBy = new iam.ServicePrincipal('states.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
    });
    const description = 'The cdk-cognito-seeder state machine: invokes the seeding function, logs, traces.';
    const role = options.customerManagedPolicies
      ? managedPoliciesRole(this, 'EngineRole', assumedBy, statements, {
          what: 'the engine’s invoke, logs and tracing',
          description,
        })
      : new iam.Role(this, 'EngineRole', {
          assumedBy,
          description,
          inlinePolicies: {
            Invoke: new iam.PolicyDocument({ statements: [statements[0]] }),
            Logs: new iam.PolicyDocument({ statements: [statements[1]] }),
            ...(traced ? { Trace: new iam.PolicyDocument({ statements: [statements[2]] }) } : {}),
          },
        });
    acknowledgeNagRule(
      role instanceof ManagedPoliciesRole && role.own ? role.own : role,
      'AwsSolutions-IAM5[Resource::*]',
      'Step Functions needs the CloudWatch Logs log-delivery actions (and, when traced, the X-Ray trace actions) on its role to log to its own log group; neither service offers resource-level permissions for them.',
    );
    const machine = new sfn.StateMachine(this, 'Engine', {
      definitionBody: sfn.DefinitionBody.fromChainable(work.next(finished)),
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment: 'cdk-cognito-seeder: the work and the answer of each Custom::CognitoUserSeed request',
      timeout: ENGINE_TIMEOUT,
      // The role's statements are the ones above: nothing is added to it.
      role: role.withoutPolicyUpdates(),
      // Every event, never its data: a state's input and output stay out of the log.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: traced,
    });
    machine.node.addDependency(role);
    return machine;
  }

  /**
   * The seeding function's asynchronous failure destination: a function of its own, from
   * the same bundle (`index.onFailure`), with its own role and log group. Lambda invokes it
   * with the record of an event every attempt at which failed; for a CloudFormation event of
   * the stack's seed resources it answers CloudFormation as the seeding function answers a
   * request it could not start (FAILED for a Create or a forward Update; SUCCESS, changing
   * nothing, for a Delete or a rollback Update), so the stack does not wait out the custom
   * resource's hour. Always there: a destination of the user's choosing would receive the
   * event, ResponseURL included, and without one a crash costs an hour's wait.
   *
   * Its role may write its own log group, read its own stack's status (to tell a
   * rollback Update) and, in a policy added with the state machine, describe the state
   * machine's executions (to leave a request an attempt started to its execution); it reads
   * no password and touches no pool. It runs where the seeding
   * function runs (the same VPC, tracing and dead-letter queue), and reserves one concurrent
   * execution when the seeding function reserves any.
   */
  private failureAnswerer(
    options: SeedingFunctionOptions,
    seedLogGroup: logs.ILogGroup,
    code: lambda.Code,
  ): lambda.Function {
    const logGroup = new logs.LogGroup(this, 'FailureAnswerLogGroup', {
      retention: options.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: options.logGroupEncryptionKey,
      removalPolicy: options.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    const logsStatement = new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    });
    // Whether an Update is a rollback: the status of its own stack only.
    const stackStatement = new iam.PolicyStatement({
      actions: ['cloudformation:DescribeStacks'],
      resources: [Aws.STACK_ID],
    });
    const vpcAccess = options.vpc ? vpcAccessStatements(this) : [];
    const assumedBy = new iam.ServicePrincipal('lambda.amazonaws.com');
    const description =
      'The cdk-cognito-seeder failure answerer: answers CloudFormation for an event every attempt of the seeding function failed at.';
    const role = options.customerManagedPolicies
      ? managedPoliciesRole(this, 'FailureAnswerRole', assumedBy, [logsStatement, stackStatement, ...vpcAccess], {
          description,
          what: 'the failure answerer’s logs, stack status and network',
        })
      : new iam.Role(this, 'FailureAnswerRole', {
          assumedBy,
          description,
          inlinePolicies: {
            Logs: new iam.PolicyDocument({ statements: [logsStatement] }),
            Stack: new iam.PolicyDocument({ statements: [stackStatement] }),
            ...(options.vpc ? { Vpc: new iam.PolicyDocument({ statements: vpcAccess }) } : {}),
          },
        });
    const answerer = new lambda.Function(this, 'FailureAnswer', {
      runtime: lambda.Runtime.NODEJS_LATEST,
      handler: 'index.onFailure',
      code,
      role,
      logGroup,
      timeout: FAILURE_ANSWER_TIMEOUT,
      memorySize: FAILURE_ANSWER_MEMORY_MB,
      environment: {
        [STACK_ID_ENV]: Aws.STACK_ID,
        [SEED_LOG_GROUP_ENV]: seedLogGroup.logGroupName,
      },
      description: 'cdk-cognito-seeder: answers CloudFormation when every attempt of the seeding function failed',
      vpc: options.vpc,
      vpcSubnets: options.vpcSubnets,
      securityGroups: options.securityGroups,
      reservedConcurrentExecutions: options.reservedConcurrentExecutions === undefined ? undefined : 1,
      tracing: options.tracing,
      deadLetterQueue: options.deadLetterQueue,
    });
    this.acknowledgeRoleFindings(role, options);
    return answerer;
  }

  /**
   * The findings of rule packs on a function's role that no option can answer, each with its
   * reason, recorded in the assembly: what EC2 and X-Ray allow on no narrower resource.
   */
  private acknowledgeRoleFindings(role: iam.Role, options: SeedingFunctionOptions): void {
    const stack = Stack.of(this);
    const own = role instanceof ManagedPoliciesRole && role.own ? role.own : role;
    if (options.vpc) {
      acknowledgeNagRule(
        own,
        'AwsSolutions-IAM5[Resource::*]',
        'ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets, which Lambda needs to place the function in its VPC, have no resource-level permissions.',
      );
      for (const resource of ['network-interface', 'subnet', 'security-group']) {
        acknowledgeNagRule(
          own,
          `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${nagRegion(stack)}:${nagAccount(stack)}:${resource}/*]`,
          'Lambda creates and deletes the function’s network interfaces with its role; their ids are known only then. The actions are limited to this account and region.',
        );
      }
    }
    if (options.tracing === lambda.Tracing.ACTIVE || options.tracing === lambda.Tracing.PASS_THROUGH) {
      const traced = role instanceof ManagedPoliciesRole ? own : role.node.tryFindChild('DefaultPolicy');
      if (traced) {
        acknowledgeNagRule(
          traced,
          'AwsSolutions-IAM5[Resource::*]',
          'xray:PutTraceSegments and xray:PutTelemetryRecords, which Lambda adds for tracing, have no resource-level permissions.',
        );
      }
    }
  }

  /** AWS Backup's own service policy, on the role only AWS Backup assumes, with its reason. */
  private acknowledgeBackupFindings(): void {
    const backupRole = this.node.tryFindChild('LedgerBackup')?.node.tryFindChild('Role');
    if (backupRole) {
      acknowledgeNagRule(
        backupRole,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
        'AWS Backup’s documented service policy for backup jobs, on a role only AWS Backup assumes, for the ledger table selected here.',
      );
    }
  }

  /** The ARN of every execution of the stack's state machine. */
  private executionsArn(): string {
    return Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${this.stateMachine.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /**
   * A policy of the role, of the kind the options ask for: inline (`AWS::IAM::Policy`,
   * the default) or customer-managed (`AWS::IAM::ManagedPolicy`, named `<id>Managed` so
   * that switching replaces it instead of changing a resource's type).
   */
  public policy(scope: Construct, id: string, statements: iam.PolicyStatement[]): SeedPolicy {
    if (!this.options.customerManagedPolicies) return new iam.Policy(scope, id, { roles: [this.role], statements });
    const policy = new iam.ManagedPolicy(scope, `${id}Managed`, {
      description: `cdk-cognito-seeder: ${scope.node.path}`,
      roles: [this.role],
      statements,
    });
    this.managedPolicies.push(policy);
    return policy;
  }

  private readonly managedPolicies: iam.ManagedPolicy[] = [];

  /** IAM's quota of managed policies per role: 10, raised on request to 20 at most. */
  private validateManagedPolicies(): string[] {
    if (!this.options.customerManagedPolicies) return [];
    const count = this.managedPolicies.length + 1;
    const why = `with customerManagedPolicies the role has one managed policy of its own, one for the engine and one per seeder`;
    const fix = 'split the seeders across stacks, or leave customerManagedPolicies unset (inline policies)';
    if (count > MAX_MANAGED_POLICIES_RAISED) {
      return [
        `${this.node.path}: the seeding role would have ${count} managed policies (${why}), and IAM attaches at most ${MAX_MANAGED_POLICIES_RAISED} to a role even with a raised quota: ${fix}.`,
      ];
    }
    if (count > MAX_MANAGED_POLICIES_DEFAULT) {
      Annotations.of(this).addWarningV2(
        'cdk-cognito-seeder:managedPolicyQuota',
        `${this.node.path}: the seeding role has ${count} managed policies (${why}); IAM attaches ${MAX_MANAGED_POLICIES_DEFAULT} to a role unless the account's quota "Managed policies per role" is raised (to ${MAX_MANAGED_POLICIES_RAISED} at most): raise it before deploying, or ${fix}.`,
      );
    }
    return [];
  }
}

/** A policy of the seeding role: inline or customer-managed (see `customerManagedPolicies`). */
export type SeedPolicy = iam.Policy | iam.ManagedPolicy;

/** IAM's managed policies per role: the default quota, and the most it can be raised to. */
export const MAX_MANAGED_POLICIES_DEFAULT = 10;
export const MAX_MANAGED_POLICIES_RAISED = 20;

/**
 * The seeding role with `customerManagedPolicies`: what aws-cdk-lib adds to a role's
 * inline `DefaultPolicy` (tracing, a dead-letter queue, grants to the seeder) goes to the
 * role's own managed policy instead.
 */
class ManagedPoliciesRole extends iam.Role {
  public own?: iam.ManagedPolicy;

  public addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    if (!this.own) return super.addToPrincipalPolicy(statement);
    this.own.addStatements(statement);
    return { statementAdded: true, policyDependable: this.own };
  }
}

/**
 * A role whose own permissions (`statements`, and whatever aws-cdk-lib adds later) live in
 * one customer-managed policy, `<id>/FunctionPolicy`: a child of the role, so whatever
 * depends on the role depends on these permissions too.
 */
function managedPoliciesRole(
  scope: Construct,
  id: string,
  assumedBy: iam.IPrincipal,
  statements: iam.PolicyStatement[],
  options: { readonly what: string; readonly description?: string },
): ManagedPoliciesRole {
  const role = new ManagedPoliciesRole(scope, id, { assumedBy, description: options.description });
  role.own = new iam.ManagedPolicy(role, 'FunctionPolicy', {
    description: `cdk-cognito-seeder: ${options.what}`,
    roles: [role],
    statements,
  });
  return role;
}

/**
 * How cdk-nag names a resource ARN with tokens: `<AWS::Partition>` for pseudo parameters,
 * `<LogicalId.Attribute>` for attributes.
 */
function executionsNagPattern(machine: sfn.StateMachine): string {
  const stack = Stack.of(machine);
  const id = stack.getLogicalId(machine.node.defaultChild as sfn.CfnStateMachine);
  return `arn:<AWS::Partition>:states:${nagRegion(stack)}:${nagAccount(stack)}:execution:<${id}.Name>:*`;
}

/** The stack's region as cdk-nag writes it in a finding: the name, or the pseudo parameter. */
function nagRegion(stack: Stack): string {
  return Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
}

/** The stack's account as cdk-nag writes it in a finding. */
function nagAccount(stack: Stack): string {
  return Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
}

/**
 * What `AWSLambdaVPCAccessExecutionRole` grants, inline and as narrow as EC2 allows: Lambda
 * manages the function's network interfaces with its role. The two Describe actions have
 * no resource-level permissions, so they alone are on `*`.
 */
function vpcAccessStatements(scope: Construct): iam.PolicyStatement[] {
  const arn = (resource: string) => Stack.of(scope).formatArn({ service: 'ec2', resource, resourceName: '*' });
  return [
    new iam.PolicyStatement({
      actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      actions: ['ec2:CreateNetworkInterface'],
      resources: [arn('network-interface'), arn('subnet'), arn('security-group')],
    }),
    new iam.PolicyStatement({
      actions: ['ec2:AssignPrivateIpAddresses', 'ec2:DeleteNetworkInterface', 'ec2:UnassignPrivateIpAddresses'],
      resources: [arn('network-interface')],
    }),
  ];
}

/** The names of the options that differ: constructs by identity, values and lists by content. */
function differingOptions(a: SeedingFunctionOptions, b: SeedingFunctionOptions): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof SeedingFunctionOptions)[]);
  return [...keys].filter((key) => !same(a[key], b[key])).sort();
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => same(v, b[i]));
  const plain = (v: unknown) => !!v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
  if (!plain(a) || !plain(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
  return [...keys].every((k) => same(x[k], y[k]));
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
