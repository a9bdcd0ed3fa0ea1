/**
 * A local rehearsal of a deploy's seeding step: synthesize an app, stand up its user
 * pools, groups and clients in the embedded Cognito, fill a loopback stand-in with its
 * secrets and parameters, resolve each seed resource's properties to those ids, and run
 * the synthesized handler asset as Lambda would (each invocation a fresh process) on the
 * synthesized state machine's own definition, answering to a loopback ResponseURL.
 * It sets fake credentials and explicit loopback endpoints, so it never reaches AWS.
 */
import { ChildProcess, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import {
  CognitoIdentityProviderClient,
  CreateGroupCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { CreateTableCommand, DynamoDBClient, ScanCommand, AttributeValue } from '@aws-sdk/client-dynamodb';
import type { App } from 'aws-cdk-lib';
import { AwsStandIn } from './aws-stand-in';
import { LedgerDb, startLedgerDb } from './ledger-db';
import { Emulator, startEmulator } from './emulator';
import { startFakeCognito } from './fake-cognito';
import { CfnResponseBody, ResponseServer } from './response-server';
import { PSEUDO, resolve } from './template';
import { DEFAULT_QUOTAS, ThrottleProxy } from './throttle-proxy';
import { LocalStepFunctions, taskError } from './local-engine';
import { CloudFormationStandIn } from './cloudformation-stand-in';
import { executionName } from '../lambda/engine';
import { generatePassword } from '../lambda/rotation';

export { fromCloudAssembly } from './cloud-assembly';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Template = { Resources: Record<string, { Type: string; Properties?: any; DependsOn?: unknown }> };

/** A synthesized stack: its template and the directory its assets were staged in. */
export interface Synthesized {
  readonly template: Template;
  readonly assemblyDir: string;
}

/** Synthesizes `app` and returns the template of `stackName` (or its only stack). */
export function synthesize(app: App, stackName?: string): Synthesized {
  const assembly = app.synth();
  const stacks = assembly.stacks.filter((s) => !stackName || s.stackName === stackName);
  if (stacks.length !== 1)
    throw new Error(`rehearsal: expected one stack${stackName ? ` named ${stackName}` : ''}, found ${stacks.length}`);
  return { template: stacks[0].template, assemblyDir: assembly.directory };
}

export interface RehearsalOptions {
  /** Values of SSM parameters the template only references, by name. */
  readonly parameters?: Record<string, string>;
  /** Values of secrets the template only references, by ARN. */
  readonly secrets?: Record<string, string>;
  /** The share of Cognito calls (0 to 1) the proxy in front of the emulator throttles. @default 0 */
  readonly throttle?: number;
  /** Have the proxy enforce Cognito's default per-category quotas. @default false */
  readonly quotas?: boolean;
  /** Milliseconds the proxy holds every Cognito call before forwarding it (a far-away Cognito). @default 0 */
  readonly latencyMs?: number;
  /** With `quotas`, the account's quotas as a share of Cognito's defaults (1/3: a third). @default 1 */
  readonly quotaScale?: number;
  /** `cognito-local`, or `fake`: an in-memory stand-in for scales cognito-local is slow at. @default 'cognito-local' */
  readonly backend?: 'cognito-local' | 'fake';
  /**
   * Multiplies the state machine's Retry intervals (1: the definition's own), so a test
   * of the answer's retries need not wait their real 30 s. @default 1
   */
  readonly retryScale?: number;
}

/** The function behind a state machine's tasks: its asset and settings. */
interface FunctionSettings {
  readonly asset: string;
  /** The export of `index.js` its `Handler` names. @default 'handler' */
  readonly exportName?: string;
  readonly environment: Record<string, string>;
  readonly timeoutMs: number;
  readonly memoryMb: number;
  readonly arn: string;
}

/** What Lambda does with a function's failed asynchronous invocations (its `AWS::Lambda::EventInvokeConfig`). */
interface AsyncInvokeConfig {
  /** Attempts after the first. */
  readonly retries: number;
  /** The function invoked with the invocation record after the last attempt failed. */
  readonly onFailure?: FunctionSettings;
}

/** Lambda's default for a function without an EventInvokeConfig: two retries, no destination. */
const DEFAULT_ASYNC_INVOKE: AsyncInvokeConfig = { retries: 2 };

/** What a request's invocations run with, set by `invoke`. */
interface RequestSettings {
  readonly timeoutMs?: number;
  readonly heapMb?: number;
  readonly nodeOptions?: string[];
  readonly onSlice?: (slice: number, child: ChildProcess) => void;
  readonly outputs: string[];
  readonly slices: { rssKb?: number; cpuMs: number }[];
}

/** One seed resource of a template, its properties resolved to the rehearsal's ids. */
export interface SeedResource {
  readonly logicalId: string;
  readonly properties: Record<string, any>;
  /** The directory of the handler asset, and the function's settings. */
  readonly asset: string;
  readonly environment: Record<string, string>;
  readonly timeoutMs: number;
  readonly memoryMb: number;
  /** The logical ids of the seed resources this one depends on (DependsOn): CloudFormation's order. */
  readonly dependsOn: readonly string[];
}

export interface InvokeRequest {
  readonly requestType: 'Create' | 'Update' | 'Delete';
  readonly resource: SeedResource;
  readonly oldProperties?: Record<string, any>;
  readonly physicalResourceId?: string;
  /** Reuse a request id to deliver the same event again. */
  readonly requestId?: string;
  /** Override the function's timeout (for timeout tests). */
  readonly timeoutMs?: number;
  /** Called once the handler process has started, e.g. to stop the emulator mid-run. */
  readonly onStart?: () => void;
  /**
   * Kill each delivery of the event once the request's execution exists: a function that
   * crashed (or timed out) after `StartExecution`, so Lambda retries it and then hands the
   * record to the failure destination while the execution runs.
   */
  readonly crashAfterStart?: boolean;
  /** Called as each `Work` slice of the request starts, with its process (to kill it, say). */
  readonly onSlice?: (slice: number, child: ChildProcess) => void;
  /** What CloudFormation shows while the event arrives, instead of what it would (forged events). */
  readonly cloudFormation?: { readonly resourceStatus?: string; readonly stackStatus?: string };
  /** Cap the handler's V8 heap at this many MB. @default the function's own NODE_OPTIONS cap, or 90% of its memory */
  readonly heapMb?: number;
  /** More options for the handler's node process (for example `--cpu-prof`). */
  readonly nodeOptions?: string[];
}

export interface InvokeResult {
  readonly response?: CfnResponseBody;
  /** How many times the event was delivered: 1, or more when deliveries failed and Lambda retried them. */
  readonly deliveries: number;
  /** Every response PUT this invocation made, raw. */
  readonly rawResponses: string[];
  /** Everything the handler printed (stdout and stderr). */
  readonly output: string;
  readonly exitCode: number | null;
  readonly ms: number;
  /** When the event was sent, and when the request's own execution had ended (epoch ms). */
  readonly startedAt: number;
  readonly endedAt: number;
  /** `Work` slices the request's execution ran (each a fresh invocation of the function). */
  readonly invocations: number;
  /** The handler process's peak resident memory, in MB. */
  readonly maxRssMb?: number;
  /** CPU time (user and system) the handler processes used, summed over invocations, in ms. */
  readonly cpuMs: number;
  readonly event: Record<string, unknown>;
}

export class Rehearsal {
  /** Starts the emulator, the stand-in, the ResponseURL server and, if asked, the throttling proxy. */
  static async start(options: RehearsalOptions = {}): Promise<Rehearsal> {
    const emulator = options.backend === 'fake' ? await startFakeCognito() : await startEmulator();
    const standIn = new AwsStandIn();
    await standIn.start();
    const responses = new ResponseServer();
    await responses.start();
    // The handler always reaches Cognito through the proxy, so tests can throttle or fail calls.
    const proxy = new ThrottleProxy(emulator.endpoint, options.throttle ?? 0);
    if (options.quotas) {
      const scale = options.quotaScale ?? 1;
      proxy.enforceQuotas(
        Object.fromEntries(Object.entries(DEFAULT_QUOTAS).map(([name, q]) => [name, { ...q, rate: q.rate * scale }])),
      );
    }
    proxy.latencyMs = options.latencyMs ?? 0;
    await proxy.start();
    for (const [name, value] of Object.entries(options.parameters ?? {})) standIn.parameters.set(name, value);
    for (const [arn, value] of Object.entries(options.secrets ?? {})) standIn.secrets.set(arn, value);
    const ledgerDb = await startLedgerDb();
    const engine = new LocalStepFunctions(options.retryScale ?? 1);
    await engine.start();
    const cloudFormation = new CloudFormationStandIn(PSEUDO['AWS::StackId']);
    await cloudFormation.start();
    const rehearsal = new Rehearsal(emulator, standIn, responses, proxy, ledgerDb, engine, cloudFormation);
    standIn.onInvoke = (name, payload) => rehearsal.invokeFunction(name, JSON.parse(payload || 'null'));
    return rehearsal;
  }

  /**
   * A direct invocation of a stack's function (a repair asked for by the testing module or
   * the CLI), in a fresh process: what it returned, or an error named by its type.
   */
  async invokeFunction(nameOrArn: string, payload: unknown): Promise<unknown> {
    const fn = [...this.functions.values()].find(
      (f) => f.arn === nameOrArn || f.arn.endsWith(`:function:${nameOrArn}`),
    );
    if (!fn) throw taskError('ResourceNotFoundException', `function ${nameOrArn} was not stood up by the rehearsal`);
    const run = await this.runHandler(fn, payload as Record<string, unknown>, {});
    this.invocationOutputs.push(run.output);
    if (run.outcome?.error) throw taskError(String(run.outcome.error.name));
    if (run.exitCode !== 0 || !run.outcome)
      throw taskError('Lambda.Unknown', `the invocation ended with code ${run.exitCode}`);
    return run.outcome.result;
  }

  /**
   * Plays Secrets Manager's RotateSecret of `secretArn` with `rotationFunction`: a new
   * `AWSPENDING` version with no value, then each step invoked as Secrets Manager invokes
   * it, in order (a step that throws ends the rotation, as it does there). Returns the token.
   */
  async rotateSecret(
    rotationFunction: string,
    secretArn: string,
    steps: readonly string[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'],
    token: string = crypto.randomUUID(),
  ): Promise<string> {
    if (!this.standIn.pendingVersions.has(secretArn)) this.standIn.startRotation(secretArn, token);
    for (const step of steps) {
      await this.invokeFunction(rotationFunction, { Step: step, SecretId: secretArn, ClientRequestToken: token });
    }
    return token;
  }

  /**
   * The environment a test runner (the testing module, the CLI, a repair's invoker) reads
   * the rehearsal's services with: the standard AWS_* variables, loopback endpoints only.
   */
  testingEnv(): Record<string, string> {
    return {
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'rehearsal',
      AWS_SECRET_ACCESS_KEY: 'rehearsal',
      AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: this.emulator.endpoint,
      AWS_ENDPOINT_URL_SSM: this.standIn.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: this.standIn.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: this.ledgerDb.endpoint,
      // repair() and rearm() invoke the seeding function: the rehearsal runs it.
      AWS_ENDPOINT_URL_LAMBDA: this.standIn.endpoint,
    };
  }

  /** What direct invocations of the functions printed. */
  readonly invocationOutputs: string[] = [];

  /** A client of the emulator itself, for setting up and checking the pool's state. */
  readonly cognito: CognitoIdentityProviderClient;
  /** A client of the embedded DynamoDB that holds the ledger. */
  readonly dynamodb: DynamoDBClient;
  private readonly tables = new Set<string>();
  /** The stacks' functions, by ARN: what a Lambda Invoke of one runs. */
  private readonly functions = new Map<string, FunctionSettings>();
  /** What Lambda does with each function's failed asynchronous invocations, by function ARN. */
  private readonly asyncInvoke = new Map<string, AsyncInvokeConfig>();
  /** The properties the latest template gives each seed resource (resolved), as JSON. */
  private readonly latestProperties = new Map<string, string>();
  /** Settings of each request's invocations, by execution name. */
  private readonly settings = new Map<string, RequestSettings>();
  private readonly refs = new Map<string, string>();
  private readonly attributes = new Map<string, string>();
  private requests = 0;

  private constructor(
    readonly emulator: Emulator,
    readonly standIn: AwsStandIn,
    readonly responses: ResponseServer,
    readonly proxy: ThrottleProxy,
    readonly ledgerDb: LedgerDb,
    /** The stacks' state machines, run from their synthesized definitions. */
    readonly engine: LocalStepFunctions,
    /** What CloudFormation says of the stack, for the function's check of each event. */
    readonly cloudFormation: CloudFormationStandIn,
  ) {
    this.cognito = new CognitoIdentityProviderClient({
      endpoint: emulator.endpoint,
      region: PSEUDO['AWS::Region'],
      credentials: { accessKeyId: 'rehearsal', secretAccessKey: 'rehearsal' },
    });
    this.dynamodb = new DynamoDBClient({
      endpoint: ledgerDb.endpoint,
      region: PSEUDO['AWS::Region'],
      credentials: { accessKeyId: 'rehearsal', secretAccessKey: 'rehearsal' },
    });
  }

  /** Every item of every ledger table the template created, flattened to plain values. */
  async ledgerItems(): Promise<Record<string, string | number | boolean>[]> {
    const items: Record<string, string | number | boolean>[] = [];
    for (const table of this.tables) {
      let start: Record<string, AttributeValue> | undefined;
      do {
        const out = await this.dynamodb.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
        for (const item of out.Items ?? []) {
          items.push(
            Object.fromEntries(
              Object.entries(item).map(([k, v]) => [k, v.S ?? (v.N !== undefined ? Number(v.N) : (v.BOOL ?? ''))]),
            ),
          );
        }
        start = out.LastEvaluatedKey;
      } while (start);
    }
    return items;
  }

  /** The names of the ledger tables the templates created. */
  get ledgerTables(): string[] {
    return [...this.tables];
  }

  /** The ledger's user records: who holds which user of which pool. */
  async ledgerUsers(): Promise<Record<string, string | number | boolean>[]> {
    return (await this.ledgerItems()).filter((i) => String(i.pk).startsWith('USER#'));
  }

  /** The endpoint the handler's Cognito client is pointed at: the proxy. */
  get cognitoEndpoint(): string {
    return this.proxy.endpoint;
  }

  /**
   * Stands up what the template's seed resources need: user pools (password policy and
   * custom attributes included), groups, clients and secrets (generated ones get a value
   * that meets their GenerateSecretString). Resources already stood up by an earlier
   * template of the same app keep their ids, as in a CloudFormation update.
   */
  async deploy(synthesized: Synthesized): Promise<SeedResource[]> {
    const { template } = synthesized;
    const ctx = { refs: this.refs, attributes: this.attributes };
    const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

    for (const [id, r] of ofType('AWS::Cognito::UserPool')) {
      if (this.refs.has(id)) continue;
      const p = r.Properties ?? {};
      const out = await this.cognito.send(
        new CreateUserPoolCommand({
          PoolName: p.UserPoolName ?? id,
          Policies: p.Policies,
          Schema: p.Schema,
          UsernameAttributes: p.UsernameAttributes,
          MfaConfiguration: p.MfaConfiguration,
        }),
      );
      const poolId = out.UserPool!.Id!;
      this.refs.set(id, poolId);
      this.attributes.set(
        `${id}.Arn`,
        `arn:aws:cognito-idp:${PSEUDO['AWS::Region']}:${PSEUDO['AWS::AccountId']}:userpool/${poolId}`,
      );
      this.attributes.set(`${id}.ProviderName`, `cognito-idp.${PSEUDO['AWS::Region']}.amazonaws.com/${poolId}`);
    }
    for (const [id, r] of ofType('AWS::Cognito::UserPoolGroup')) {
      if (this.refs.has(id)) continue;
      const p = resolve(r.Properties ?? {}, ctx) as any;
      const name = p.GroupName ?? `${id}-rehearsal`;
      await this.cognito.send(
        new CreateGroupCommand({ UserPoolId: p.UserPoolId, GroupName: name, Description: p.Description }),
      );
      this.refs.set(id, name);
    }
    for (const [id, r] of ofType('AWS::Cognito::UserPoolClient')) {
      if (this.refs.has(id)) continue;
      const p = resolve(r.Properties ?? {}, ctx) as any;
      const out = await this.cognito.send(
        new CreateUserPoolClientCommand({
          UserPoolId: p.UserPoolId,
          ClientName: p.ClientName ?? id,
          ExplicitAuthFlows: p.ExplicitAuthFlows,
        }),
      );
      this.refs.set(id, out.UserPoolClient!.ClientId!);
    }
    for (const [id, r] of ofType('AWS::SecretsManager::Secret')) {
      if (this.refs.has(id)) continue;
      const arn = `arn:aws:secretsmanager:${PSEUDO['AWS::Region']}:${PSEUDO['AWS::AccountId']}:secret:${id}-Rhrsl1`;
      this.refs.set(id, arn);
      const p = r.Properties ?? {};
      this.standIn.secrets.set(arn, p.SecretString ?? generateSecretString(p.GenerateSecretString ?? {}));
    }
    for (const [id, r] of ofType('AWS::DynamoDB::Table')) {
      if (this.refs.has(id)) continue;
      const p = r.Properties ?? {};
      const name = `rehearsal-${id}`;
      await this.dynamodb.send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: p.AttributeDefinitions,
          KeySchema: p.KeySchema,
        }),
      );
      this.tables.add(name);
      this.refs.set(id, name);
      this.attributes.set(
        `${id}.Arn`,
        `arn:aws:dynamodb:${PSEUDO['AWS::Region']}:${PSEUDO['AWS::AccountId']}:table/${name}`,
      );
    }
    for (const [id, r] of ofType('AWS::Logs::LogGroup')) {
      this.refs.set(id, r.Properties?.LogGroupName ?? `/rehearsal/${id}`);
    }
    for (const [id, r] of ofType('AWS::Lambda::Function')) {
      const name = r.Properties?.FunctionName ?? `rehearsal-${id}`;
      this.refs.set(id, name);
      this.attributes.set(
        `${id}.Arn`,
        `arn:aws:lambda:${PSEUDO['AWS::Region']}:${PSEUDO['AWS::AccountId']}:function:${name}`,
      );
    }
    for (const [, r] of ofType('AWS::Lambda::EventInvokeConfig')) {
      const p = r.Properties ?? {};
      const source = this.attributes.get(`${p.FunctionName?.Ref}.Arn`);
      if (!source) continue;
      const destination = resolve(p.DestinationConfig?.OnFailure?.Destination, ctx);
      this.asyncInvoke.set(source, {
        retries: Number(p.MaximumRetryAttempts ?? DEFAULT_ASYNC_INVOKE.retries),
        onFailure: destination ? this.functionSettings(synthesized, String(destination)) : undefined,
      });
    }
    for (const [id, r] of ofType('AWS::StepFunctions::StateMachine')) {
      const name = `rehearsal-${id}`;
      const arn = `arn:aws:states:${PSEUDO['AWS::Region']}:${PSEUDO['AWS::AccountId']}:stateMachine:${name}`;
      this.refs.set(id, arn);
      this.attributes.set(`${id}.Arn`, arn);
      this.attributes.set(`${id}.Name`, name);
      // The definition CloudFormation would create, with the function's ARN in it.
      const definition = JSON.parse(String(resolve(r.Properties.DefinitionString, ctx)));
      const functionArn = String(
        Object.values<{ Parameters?: { FunctionName?: string } }>(definition.States).find(
          (state) => state.Parameters?.FunctionName,
        )?.Parameters?.FunctionName,
      );
      const fn = this.functionSettings(synthesized, functionArn);
      this.functions.set(fn.arn, fn);
      this.engine.register(arn, definition, (payload, info) => this.runTask(fn, payload, info.executionName));
    }

    // Manifest pointers: in CloudFormation they follow the seed resource (DependsOn).
    for (const [id, r] of ofType('AWS::SSM::Parameter')) {
      const p = resolve(r.Properties ?? {}, ctx) as any;
      const name = String(p.Name ?? `/rehearsal/${id}`);
      this.refs.set(id, name);
      this.standIn.parameters.set(name, String(p.Value));
      this.standIn.parameterTypes.set(name, String(p.Type ?? 'String'));
    }

    // What CloudFormation shows of the stack: every resource stood up, and the template.
    for (const [id, r] of Object.entries(template.Resources)) {
      this.cloudFormation.templateResources.set(id, r);
      const known = this.cloudFormation.resources.get(id);
      if (r.Type === 'Custom::CognitoUserSeed') {
        if (!known) this.cloudFormation.resources.set(id, { type: r.Type, status: 'CREATE_IN_PROGRESS' });
      } else {
        this.cloudFormation.resources.set(id, {
          type: r.Type,
          status: 'CREATE_COMPLETE',
          physicalId: this.refs.get(id),
        });
      }
    }

    const seeds = new Set(ofType('Custom::CognitoUserSeed').map(([id]) => id));
    return ofType('Custom::CognitoUserSeed').map(([logicalId, r]) => {
      const properties = resolve(r.Properties, ctx) as Record<string, any>;
      if (properties.UsersFile) {
        // A file asset, staged beside the template as asset.<hash>.json: put it where the handler reads it.
        const { Bucket, Key } = properties.UsersFile;
        this.standIn.objects.set(
          `${Bucket}/${Key}`,
          fs.readFileSync(path.join(synthesized.assemblyDir, `asset.${Key}`)),
        );
      }
      const fn = this.functionSettings(synthesized, String(properties.ServiceToken));
      this.latestProperties.set(logicalId, JSON.stringify(properties));
      const dependsOn = ([] as string[]).concat((r.DependsOn as string | string[] | undefined) ?? []);
      return { logicalId, properties, ...fn, dependsOn: dependsOn.filter((id) => seeds.has(id)) };
    });
  }

  /** The asset and settings of the template's function whose ARN is `arn`. */
  private functionSettings(synthesized: Synthesized, arn: string): FunctionSettings {
    const { template } = synthesized;
    const ctx = { refs: this.refs, attributes: this.attributes };
    const found = Object.entries(template.Resources).find(
      ([id, r]) => r.Type === 'AWS::Lambda::Function' && this.attributes.get(`${id}.Arn`) === arn,
    );
    if (!found) throw new Error(`rehearsal: no function ${arn} in the template`);
    const fn = found[1].Properties;
    const hash = String(fn.Code.S3Key).replace(/\.zip$/, '');
    const asset = path.join(synthesized.assemblyDir, `asset.${hash}`);
    if (!fs.existsSync(path.join(asset, 'index.js'))) throw new Error(`rehearsal: no handler asset at ${asset}`);
    return {
      arn,
      asset,
      exportName: String(fn.Handler ?? 'index.handler').replace(/^index\./, ''),
      environment: (resolve(fn.Environment?.Variables ?? {}, ctx) as Record<string, string>) ?? {},
      timeoutMs: Number(fn.Timeout ?? 3) * 1000,
      memoryMb: Number(fn.MemorySize ?? 128),
    };
  }

  /**
   * The resource with other properties, as if the stack's template gave it those (the
   * rehearsal leaves out what the emulator cannot run): CloudFormation's view follows, so
   * the function's check of each event still holds.
   */
  withProperties(resource: SeedResource, properties: Record<string, any>): SeedResource {
    this.cloudFormation.templateResources.set(resource.logicalId, {
      Type: 'Custom::CognitoUserSeed',
      Properties: properties,
    });
    this.latestProperties.set(resource.logicalId, JSON.stringify(properties));
    return { ...resource, properties };
  }

  /** The id the rehearsal gave a resource of the template (what `Ref` resolves to). */
  ref(logicalId: string): string {
    const value = this.refs.get(logicalId);
    if (value === undefined) throw new Error(`rehearsal: ${logicalId} was not stood up`);
    return value;
  }

  /** The value the handler will read for a user's password source (for sign-in checks). */
  passwordOf(resource: SeedResource, username: string): string | undefined {
    const user = this.usersOf(resource).find((u) => u.Username === username);
    const source = user?.Password;
    if (!source) return undefined;
    if (source.Source === 'plaintext') return source.Value;
    if (source.Source === 'ssm') return this.standIn.parameters.get(source.ParameterName);
    const text = this.standIn.secrets.get(source.SecretArn);
    return source.JsonField && text !== undefined ? JSON.parse(text)[source.JsonField] : text;
  }

  /** The users of a seed resource, inline or from its users file (tokens resolved). */
  usersOf(resource: SeedResource): any[] {
    const { Users, UsersFile, Tokens } = resource.properties;
    if (!UsersFile) return Users ?? [];
    const text = this.standIn.objects.get(`${UsersFile.Bucket}/${UsersFile.Key}`)!.toString();
    return JSON.parse(text, (_k, v) => (v && typeof v === 'object' && '$token' in v ? Tokens[v.$token] : v));
  }

  /**
   * Sends one CloudFormation event to the resource's function, in a fresh process, as
   * CloudFormation does; the function starts the request's execution, whose slices and
   * answer each run in a fresh process too. Resolves once that execution has ended and
   * its last invocation has returned, with the answers CloudFormation got for the request.
   */
  async invoke(request: InvokeRequest): Promise<InvokeResult> {
    const { resource } = request;
    const event: Record<string, unknown> = {
      RequestType: request.requestType,
      ServiceToken: resource.properties.ServiceToken,
      ResponseURL: this.responses.url,
      StackId: PSEUDO['AWS::StackId'],
      RequestId: request.requestId ?? `rehearsal-${++this.requests}`,
      LogicalResourceId: resource.logicalId,
      ResourceType: 'Custom::CognitoUserSeed',
      ResourceProperties: stringifyScalars(resource.properties),
      ...(request.oldProperties ? { OldResourceProperties: stringifyScalars(request.oldProperties) } : {}),
      ...(request.physicalResourceId ? { PhysicalResourceId: request.physicalResourceId } : {}),
    };
    const started = Date.now();
    const before = this.responses.raw.length;
    const requestId = String(event.RequestId);
    const name = executionName(resource.logicalId, requestId);
    // A duplicate delivery shares its twin's settings and output.
    const settings = this.settings.get(name) ?? {
      timeoutMs: request.timeoutMs,
      heapMb: request.heapMb,
      nodeOptions: request.nodeOptions,
      onSlice: request.onSlice,
      outputs: [],
      slices: [],
    };
    this.settings.set(name, settings);
    const fn: FunctionSettings = { ...resource, arn: String(resource.properties.ServiceToken) };
    this.showInProgress(request);
    // CloudFormation invokes the function asynchronously: Lambda delivers a failed event
    // again (at once here, where Lambda waits a minute, then two), then hands the record of
    // the last attempt to the function's failure destination.
    const asyncInvoke = this.asyncInvoke.get(fn.arn) ?? DEFAULT_ASYNC_INVOKE;
    const crash = request.crashAfterStart ? (child: ChildProcess) => this.killOnceStarted(name, child) : undefined;
    let delivery = await this.runHandler(fn, event, settings, request.onStart, crash);
    settings.outputs.push(delivery.output);
    let deliveries = 1;
    while (failedInvocation(delivery) && deliveries <= asyncInvoke.retries) {
      delivery = await this.runHandler(fn, event, settings, undefined, crash);
      settings.outputs.push(delivery.output);
      deliveries++;
    }
    if (failedInvocation(delivery) && asyncInvoke.onFailure) {
      const record = invocationRecord(fn.arn, event, delivery, deliveries, timeoutOf(settings, fn));
      const answered = await this.runHandler(asyncInvoke.onFailure, record, {});
      settings.outputs.push(answered.output);
    }
    // The execution the delivery started (or its twin did), to its end and its last invocation's.
    await this.engine.execution(name)?.settled;
    const endedAt = Date.now();
    await this.engine.settle();
    this.showDone(
      request,
      this.responses.raw
        .slice(before)
        .map((raw) => JSON.parse(raw) as CfnResponseBody)
        .find((b) => b.RequestId === requestId),
    );
    const output = settings.outputs.join('');
    const rawResponses = this.responses.raw.slice(before).filter((raw) => JSON.parse(raw).RequestId === requestId);
    const last = rawResponses[rawResponses.length - 1];
    const rss = settings.slices.flatMap((x) => (x.rssKb === undefined ? [] : [x.rssKb]));
    return {
      response: last ? (JSON.parse(last) as CfnResponseBody) : undefined,
      rawResponses,
      maxRssMb: rss.length ? Math.round(Math.max(...rss) / 1024) : undefined,
      cpuMs: settings.slices.reduce((sum, x) => sum + x.cpuMs, 0),
      output,
      deliveries,
      exitCode: delivery.exitCode,
      ms: Date.now() - started,
      startedAt: started,
      endedAt,
      invocations: settings.slices.length,
      event,
    };
  }

  /**
   * What CloudFormation shows while it sends a request: the resource in progress; for an
   * Update with an earlier template's properties, a rollback; for a Delete of a physical id
   * the resource no longer has, a cleanup. `request.cloudFormation` overrides it.
   */
  private showInProgress(request: InvokeRequest): void {
    const cfn = this.cloudFormation;
    const id = request.resource.logicalId;
    const current = cfn.resources.get(id) ?? { type: 'Custom::CognitoUserSeed', status: 'CREATE_IN_PROGRESS' };
    cfn.resources.set(id, current);
    if (request.requestType === 'Create') {
      current.status = 'CREATE_IN_PROGRESS';
      cfn.stackStatus = 'CREATE_IN_PROGRESS';
    } else if (request.requestType === 'Update') {
      current.status = 'UPDATE_IN_PROGRESS';
      const forward = this.latestProperties.get(id) === JSON.stringify(request.resource.properties);
      cfn.stackStatus = forward ? 'UPDATE_IN_PROGRESS' : 'UPDATE_ROLLBACK_IN_PROGRESS';
    } else if (!current.physicalId || request.physicalResourceId === current.physicalId) {
      current.status = 'DELETE_IN_PROGRESS';
      cfn.stackStatus = 'DELETE_IN_PROGRESS';
    } else {
      cfn.stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    }
    if (request.cloudFormation?.resourceStatus) current.status = request.cloudFormation.resourceStatus;
    if (request.cloudFormation?.stackStatus) cfn.stackStatus = request.cloudFormation.stackStatus;
  }

  /** What CloudFormation shows once it has the answer. */
  private showDone(request: InvokeRequest, answer: CfnResponseBody | undefined): void {
    const current = this.cloudFormation.resources.get(request.resource.logicalId);
    if (!current || !answer) return;
    const replaced =
      request.requestType === 'Delete' && current.physicalId && request.physicalResourceId !== current.physicalId;
    if (replaced) return;
    const verb = request.requestType.toUpperCase();
    current.status = `${verb}_${answer.Status === 'SUCCESS' ? 'COMPLETE' : 'FAILED'}`;
    if (answer.Status === 'SUCCESS' && request.requestType !== 'Delete') current.physicalId = answer.PhysicalResourceId;
    if (request.requestType === 'Create' && answer.Status === 'FAILED') current.physicalId = answer.PhysicalResourceId;
  }

  /**
   * Plays one request on each seed resource in the order CloudFormation gives them: a Create
   * once the seed resources it depends on (DependsOn) have been answered, a Delete once
   * those that depend on it have; resources with no order between them at the same time.
   * Resolves with each request's result, by logical id.
   */
  async playInOrder(
    requestType: 'Create' | 'Delete',
    resources: readonly SeedResource[],
    physicalResourceIds: Readonly<Record<string, string>> = {},
  ): Promise<Map<string, InvokeResult>> {
    const played = new Map<string, Promise<InvokeResult>>();
    const before = (r: SeedResource) =>
      requestType === 'Create'
        ? resources.filter((o) => r.dependsOn.includes(o.logicalId))
        : resources.filter((o) => o.dependsOn.includes(r.logicalId));
    const play = (r: SeedResource): Promise<InvokeResult> => {
      let result = played.get(r.logicalId);
      if (!result) {
        result = Promise.all(before(r).map(play)).then(() =>
          this.invoke({ requestType, resource: r, physicalResourceId: physicalResourceIds[r.logicalId] }),
        );
        played.set(r.logicalId, result);
      }
      return result;
    };
    const results = await Promise.all(resources.map(play));
    return new Map(resources.map((r, i) => [r.logicalId, results[i]]));
  }

  /** Runs one task of an execution (a `Work` slice or the `Answer`) as a fresh invocation. */
  private async runTask(fn: FunctionSettings, payload: unknown, execution: string): Promise<unknown> {
    const settings = this.settings.get(execution) ?? { outputs: [], slices: [] };
    const isSlice = (payload as { kind?: string })?.kind === 'work';
    const slice = settings.slices.length + 1;
    const run = await this.runHandler(
      fn,
      payload as Record<string, unknown>,
      settings,
      undefined,
      isSlice && settings.onSlice ? (child) => settings.onSlice?.(slice, child) : undefined,
    );
    settings.outputs.push(run.output);
    if (isSlice) settings.slices.push({ rssKb: run.rssKb, cpuMs: run.cpuMs });
    // As Step Functions reports them: a function error by its type; a crash, a kill, an
    // out-of-memory or a timeout as Lambda.Unknown.
    if (run.outcome?.error) throw taskError(String(run.outcome.error.name));
    if (run.exitCode !== 0 || !run.outcome)
      throw taskError('Lambda.Unknown', `the invocation ended with code ${run.exitCode}`);
    return run.outcome.result;
  }

  async stop(): Promise<void> {
    await this.engine.settle().catch(() => undefined);
    await Promise.allSettled([
      this.engine.close(),
      this.cloudFormation.stop(),
      this.emulator.stop(),
      this.standIn.stop(),
      this.responses.stop(),
      this.proxy.stop(),
      this.ledgerDb.stop(),
    ]);
    this.cognito.destroy();
    this.dynamodb.destroy();
  }

  /**
   * Kills `child` (SIGKILL, as Lambda ends a crashed or timed-out invocation) as execution
   * `name` starts, before its StartExecution is answered; at once when it exists already.
   */
  private killOnceStarted(name: string, child: ChildProcess): void {
    if (this.engine.execution(name)) {
      child.kill('SIGKILL');
      return;
    }
    const listener = (started: string) => {
      if (started === name) child.kill('SIGKILL');
    };
    this.engine.startListeners.add(listener);
    child.on('exit', () => this.engine.startListeners.delete(listener));
  }

  private runHandler(
    fn: FunctionSettings,
    event: Record<string, unknown>,
    settings: Pick<RequestSettings, 'timeoutMs' | 'heapMb' | 'nodeOptions'>,
    onStart?: () => void,
    onChild?: (child: ChildProcess) => void,
  ): Promise<HandlerRun> {
    const timeoutMs = timeoutOf(settings, fn);
    // The heap the function sets itself (NODE_OPTIONS), or else 90 % of its memory.
    const own = /--max-old-space-size=(\d+)/.exec(fn.environment.NODE_OPTIONS ?? '');
    const heapMb = settings.heapMb ?? (own ? Number(own[1]) : Math.floor(fn.memoryMb * 0.9));
    // Only the function's environment and loopback endpoints: no AWS variable of this shell
    // reaches the handler, and any service without an endpoint here goes to a closed port.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      ...fn.environment,
      AWS_REGION: PSEUDO['AWS::Region'],
      AWS_DEFAULT_REGION: PSEUDO['AWS::Region'],
      AWS_ACCESS_KEY_ID: 'rehearsal',
      AWS_SECRET_ACCESS_KEY: 'rehearsal',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: this.cognitoEndpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: this.standIn.endpoint,
      AWS_ENDPOINT_URL_SSM: this.standIn.endpoint,
      AWS_ENDPOINT_URL_S3: this.standIn.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: this.ledgerDb.endpoint,
      AWS_ENDPOINT_URL_SFN: this.engine.endpoint,
      AWS_ENDPOINT_URL_CLOUDFORMATION: this.cloudFormation.endpoint,
      AWS_LAMBDA_FUNCTION_NAME: fn.arn.split(':').pop() ?? 'seed',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      // The loopback ResponseURL server is the rehearsal's CloudFormation: let the handler answer it.
      SEED_ALLOW_LOOPBACK_RESPONSE_URL: 'true',
      // Lambda runs nodejs24.x; this machine's Node 20 would otherwise print the SDK's notice.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...this.extraEnvironment,
    };
    return new Promise((resolvePromise, reject) => {
      const child = spawn(
        process.execPath,
        [`--max-old-space-size=${heapMb}`, ...(settings.nodeOptions ?? []), path.join(__dirname, 'invoke-runner.js')],
        { env, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] },
      );
      let output = '';
      let result = '';
      child.stdout!.on('data', (c) => (output += c));
      child.stderr!.on('data', (c) => (output += c));
      (child.stdio[3] as NodeJS.ReadableStream).on('data', (c) => (result += c));
      child.on('error', reject);
      child.on('close', (exitCode) => {
        const rss = /^\{"maxRssKb":(\d+)\}$/m.exec(output);
        const cpu = /^\{"cpuMs":(\d+)\}$/m.exec(output);
        resolvePromise({
          output,
          exitCode,
          outcome: result ? JSON.parse(result) : undefined,
          rssKb: rss ? Number(rss[1]) : undefined,
          cpuMs: cpu ? Number(cpu[1]) : 0,
        });
      });
      child.stdin!.end(
        JSON.stringify({ asset: fn.asset, exportName: fn.exportName, event, timeoutMs, functionArn: fn.arn }),
      );
      onStart?.();
      onChild?.(child);
    });
  }

  /** Environment variables every invocation gets besides the function's own (tests only). */
  extraEnvironment: Record<string, string> = {};
}

/** One invocation of a handler process, as `runHandler` reports it. */
interface HandlerRun {
  /** Everything the process printed. */
  readonly output: string;
  readonly exitCode: number | null;
  /** What the handler returned, or the type of the error it threw; absent when the process died first. */
  readonly outcome?: { result?: unknown; error?: { name: string } };
  readonly rssKb?: number;
  readonly cpuMs: number;
}

/** Whether Lambda counts the invocation as failed: a function error, a crash, a kill or a timeout. */
function failedInvocation(run: HandlerRun): boolean {
  return run.exitCode !== 0 || !run.outcome || run.outcome.error !== undefined;
}

/** The timeout an invocation runs with: the request's own, or the function's. */
function timeoutOf(settings: Pick<RequestSettings, 'timeoutMs'>, fn: FunctionSettings): number {
  return settings.timeoutMs ?? fn.timeoutMs;
}

/**
 * What Lambda hands a failure destination after the last attempt at an asynchronous
 * invocation: the request, and the last attempt's error as Lambda reports it (a timeout,
 * a runtime that exited, or the function error's type).
 */
function invocationRecord(
  functionArn: string,
  event: Record<string, unknown>,
  last: HandlerRun,
  attempts: number,
  timeoutMs: number,
): Record<string, unknown> {
  const requestId = crypto.randomUUID();
  const responsePayload = last.outcome?.error
    ? { errorType: last.outcome.error.name, errorMessage: last.outcome.error.name }
    : last.exitCode === 124
      ? { errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds` }
      : {
          errorType: 'Runtime.ExitError',
          errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: exit status ${last.exitCode}`,
        };
  return {
    version: '1.0',
    timestamp: new Date().toISOString(),
    requestContext: {
      requestId,
      functionArn: `${functionArn}:$LATEST`,
      condition: 'RetriesExhausted',
      approximateInvokeCount: attempts,
    },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload,
  };
}

/** CloudFormation hands a custom resource every scalar property as a string. */
export function stringifyScalars(value: unknown): any {
  if (Array.isArray(value)) return value.map(stringifyScalars);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stringifyScalars(v)]));
  }
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
}

/** A value that meets a GenerateSecretString, as Secrets Manager would make one. */
export function generateSecretString(spec: Record<string, any>): string {
  const value = generatePassword(spec);
  if (spec.SecretStringTemplate && spec.GenerateStringKey) {
    return JSON.stringify({ ...JSON.parse(spec.SecretStringTemplate), [spec.GenerateStringKey]: value });
  }
  return value;
}
