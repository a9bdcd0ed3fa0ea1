import { RemovalPolicy } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';

/**
 * Options for the one seeding function of a stack (`CognitoUserSeederFunction`), its log
 * group and its ownership ledger: what regulated accounts ask of every Lambda function.
 *
 * A stack has one seeding function, shared by all its seeders: every seeder in a stack
 * must pass the same options (share one object), or synth fails naming both seeders.
 *
 * The seeding function always has an asynchronous failure destination: a small function of
 * the construct's own (`CognitoUserSeederFunction/FailureAnswer`, the same bundle). When
 * every attempt of the seeding function at a CloudFormation event failed (a crash, an
 * out-of-memory, a timeout: Lambda tries three times), it answers CloudFormation instead:
 * FAILED for a Create or an Update, so the deploy rolls back at once rather than waiting out
 * the custom resource's hour; SUCCESS, changing no user, for a Delete and for a rollback's
 * Update, so a stack Delete or a rollback is never stuck on a broken function. Its reason
 * names the request and the seeding function's log group, never the ResponseURL or a
 * property. It is not an option: a destination of your choosing would receive the event,
 * ResponseURL included, and a stack that hangs for an hour is not a default anyone wants.
 * It runs where the seeding function runs (`vpc`, `vpcSubnets`, `securityGroups`,
 * `tracing`, `deadLetterQueue`, the log options, `customerManagedPolicies`), with a role
 * that may only write its own log group and read its stack's status.
 */
export interface SeedingFunctionOptions {
  /**
   * The function's memory, in MB (128 to 10,240). Lambda gives a function CPU in proportion
   * to its memory (1,769 MB is one vCPU), and the handler needs CPU more than memory: about
   * 10 ms of CPU per PERMANENT user created (its Cognito and DynamoDB calls, signed), so
   * keeping Cognito's 30 users a second takes about 0.3 vCPU and 50 TEMPORARY users a
   * second about 0.45. V8's heap is capped at 62.5 % of it (`NODE_OPTIONS`). A slice holds
   * every user and ledger record at once: 80,000 users peaked at 277 MB (measured with the
   * heap capped for 256 MB), so give populations that large 512 MB or more (synth warns past
   * 40,000 users under 512 MB); 256 MB also gives about 0.15 vCPU, half of what the default
   * pace needs.
   *
   * @default 1024
   */
  readonly memorySize?: number;

  /**
   * The VPC to run the function (and its failure answerer) in. The subnets need a route to
   * every AWS API the function calls: a NAT gateway, or these VPC endpoints (interface
   * endpoints with private DNS):
   *
   * - `cognito-idp` (interface): the pool's users, groups, passwords and TOTP enrolment;
   * - `secretsmanager` (interface): password secrets and the TOTP secrets;
   * - `ssm` (interface): SecureString passwords and the manifest's pointer parameters;
   * - `dynamodb` (gateway): the ownership ledger;
   * - `s3` (gateway): users files, and the answer to CloudFormation, a PUT to its response
   *   bucket (every request needs it);
   * - `states` (interface): starting, describing and stopping the stack's state machine's
   *   executions;
   * - `cloudformation` (interface): checking each event against the function's own stack.
   *
   * No `logs` endpoint (Lambda writes the function's logs itself), no `lambda` (the state
   * machine invokes the function, and Lambda itself its failure answerer) and no `kms`: the
   * function calls no KMS API, and a customer managed key is used by Secrets Manager, SSM
   * and S3 on its behalf. The failure answerer needs only `s3` (its answer) and
   * `cloudformation` (its stack's status).
   *
   * Each role (the function's and the answerer's) gets the network-interface permissions of
   * `AWSLambdaVPCAccessExecutionRole` as an inline policy (`Vpc`), not the managed policy.
   *
   * @default - not in a VPC
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Where in `vpc` to place the function and its failure answerer.
   *
   * @default - the VPC's private subnets (aws-cdk-lib's default for a Lambda function)
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Security groups of the function's (and its failure answerer's) network interfaces, with `vpc`.
   *
   * @default - a new security group for each, that allows all outbound traffic
   */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /**
   * A KMS key to encrypt the function's log group with (and its failure answerer's and its
   * state machine's). Its key policy must let CloudWatch Logs use it; for a `kms.Key` of
   * this app the construct adds that statement.
   *
   * @default - encrypted with CloudWatch Logs' own key
   */
  readonly logGroupEncryptionKey?: kms.IKey;

  /**
   * How long the function's log group (and its failure answerer's and its state machine's)
   * keeps its events.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * What happens to the function's log group (and its failure answerer's and its state
   * machine's) when it leaves the stack or the stack is deleted.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;

  /**
   * Concurrent executions reserved for the function (and its ceiling). One request runs
   * at a time per seed resource; a stack's seed resources may run in parallel. When set,
   * the failure answerer reserves one concurrent execution of its own (rule packs that ask
   * this of every function ask it of the answerer too).
   *
   * @default - no reservation: the function uses the account's unreserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;

  /**
   * X-Ray tracing of the function and its failure answerer. `ACTIVE` and `PASS_THROUGH` add
   * `xray:PutTraceSegments` and `xray:PutTelemetryRecords` on `*` to their roles (X-Ray has
   * no resource-level permissions). The stack's state machine is traced unless this is
   * `lambda.Tracing.DISABLED`.
   *
   * @default lambda.Tracing.DISABLED
   */
  readonly tracing?: lambda.Tracing;

  /**
   * A dead-letter queue for asynchronous invocations that fail, of the seeding function and
   * of its failure answerer. Not needed for CloudFormation: the handler answers it itself
   * and never throws back to Lambda, and an event every attempt at which crashed is answered
   * by the failure answerer; some rule packs (NIST 800-53 R5, HIPAA) ask for one on every
   * function. Should an event's delivery crash three times (out of memory before it was
   * recorded), the queue receives that event, CloudFormation's ResponseURL included, and
   * should the answerer fail three times too, its invocation record, which holds the same
   * event: encrypt the queue and let no one but its owner read it.
   *
   * @default - no dead-letter queue
   */
  readonly deadLetterQueue?: sqs.IQueue;

  /**
   * An AWS Backup plan to add the ownership ledger table to (one backup selection,
   * `CognitoUserSeederFunction/LedgerBackup`, with the backup role aws-cdk-lib creates for
   * it). The table always has point-in-time recovery.
   *
   * @default - the ledger is in no backup plan
   */
  readonly ledgerBackupPlan?: backup.IBackupPlan;

  /**
   * Put the seeding role's permissions in customer-managed policies
   * (`AWS::IAM::ManagedPolicy`, attached to the role only) instead of inline policies,
   * for rule packs that forbid inline policies (NIST 800-53 R5 and HIPAA
   * `IAMNoInlinePolicy`). The statements are the same, exact ones; only where they live
   * changes: one policy for the function's own needs (logs, ledger, stack, invoking its
   * failure answerer, VPC, tracing, queue), one for its state machine (`EnginePolicyManaged`),
   * and one per seeder; the state machine's own role and the failure answerer's role get one
   * each too.
   *
   * IAM attaches at most 10 managed policies to a role unless the account's quota is
   * raised (to 20 at most): with this option a stack holds at most 8 seeders (synth warns
   * above 10 policies and fails above 20).
   *
   * Changing it replaces the policies (their logical ids differ); the users stay.
   *
   * @default false - inline policies, none of them managed
   */
  readonly customerManagedPolicies?: boolean;
}
