/**
 * Every AWS call of `cdk-cognito-seeder/testing`, and nothing else. The SDK clients are
 * loaded and created on first use (a test that only reads the manifest never loads the
 * Cognito client), each with the module's `maxAttempts` and region; clients the caller
 * passes in are used as they are. Endpoints come from the SDK's own configuration, which
 * honours `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_SSM`, `AWS_ENDPOINT_URL_DYNAMODB`,
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER`, `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER` and
 * `AWS_ENDPOINT_URL_LAMBDA`.
 *
 * Calls return plain data and throw the SDK's errors unchanged: the caller knows what it
 * was doing and turns them into {@link SeededUsersError}s.
 */
import type {
  InitiateAuthCommandOutput,
  RespondToAuthChallengeCommandOutput,
} from '@aws-sdk/client-cognito-identity-provider';
import type { QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import type { InvokeCommandOutput } from '@aws-sdk/client-lambda';
import type { GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import type { GetParameterCommandOutput, GetParametersByPathCommandOutput } from '@aws-sdk/client-ssm';

/**
 * An AWS SDK for JavaScript v3 client, as {@link SeededUsersClients} takes it: only its
 * `send` is called, with the commands of this module's own copy of the SDK.
 */
export interface AwsSdkClient {
  send(command: object): Promise<unknown>;
}

/**
 * Clients to use instead of the ones the module creates, e.g. with other credentials
 * (a role the test runner assumes) or endpoints. Each must be the client of its service.
 */
export interface SeededUsersClients {
  /** An `SSMClient`: the manifest pointer, and passwords kept in SSM parameters. */
  readonly ssm?: AwsSdkClient;
  /** A `DynamoDBClient`: the manifest body in the ledger table. */
  readonly dynamodb?: AwsSdkClient;
  /** A `SecretsManagerClient`: passwords and TOTP secrets kept in Secrets Manager. */
  readonly secretsManager?: AwsSdkClient;
  /** A `CognitoIdentityProviderClient`: sign-in. */
  readonly cognito?: AwsSdkClient;
  /** A `LambdaClient`: `repair` and `rearm`, which the seeding function carries out. */
  readonly lambda?: AwsSdkClient;
}

/** How {@link Aws} makes its clients. */
export interface AwsOptions {
  /** @default - the SDK's: `AWS_REGION`, then the profile */
  readonly region?: string;
  readonly maxAttempts: number;
  readonly clients: SeededUsersClients;
}

/** A parameter as GetParametersByPath and GetParameter return it. */
export interface ParameterValue {
  readonly name: string;
  readonly value?: string;
  readonly type?: string;
}

/** One step of a sign-in: tokens, or the next challenge. */
export interface AuthStep {
  readonly challengeName?: string;
  readonly challengeParameters: Readonly<Record<string, string>>;
  readonly session?: string;
  readonly authenticationResult?: {
    readonly idToken?: string;
    readonly accessToken?: string;
    readonly refreshToken?: string;
    readonly expiresIn?: number;
    readonly tokenType?: string;
  };
}

/** A DynamoDB item with its string and number attributes as strings. */
export type FlatItem = Readonly<Record<string, string>>;

type Service = keyof SeededUsersClients;

export class Aws {
  private readonly created = new Map<Service, Promise<AwsSdkClient & { destroy?: () => void }>>();

  constructor(readonly options: AwsOptions) {}

  /** The region calls go to, as the client resolves it; `undefined` when none is configured. */
  async region(service: Service): Promise<string | undefined> {
    const config = (await this.client(service)) as { config?: { region?: unknown } };
    const region = config.config?.region;
    try {
      const value = typeof region === 'function' ? await (region as () => Promise<unknown>)() : region;
      return typeof value === 'string' ? value : undefined;
    } catch {
      // The SDK throws "Region is missing" from this provider; the caller says so itself.
      return undefined;
    }
  }

  /** Every parameter under `path`, recursively, all pages. */
  async parametersByPath(path: string): Promise<ParameterValue[]> {
    const { GetParametersByPathCommand } = await import('@aws-sdk/client-ssm');
    const ssm = await this.client('ssm');
    const found: ParameterValue[] = [];
    let nextToken: string | undefined;
    do {
      const out = (await ssm.send(
        new GetParametersByPathCommand({ Path: path, Recursive: true, NextToken: nextToken }),
      )) as GetParametersByPathCommandOutput;
      for (const p of out.Parameters ?? []) {
        if (p.Name) found.push({ name: p.Name, value: p.Value, type: p.Type });
      }
      nextToken = out.NextToken;
    } while (nextToken);
    return found;
  }

  /** One parameter, decrypted when it is a SecureString. */
  async parameter(name: string): Promise<ParameterValue> {
    const { GetParameterCommand } = await import('@aws-sdk/client-ssm');
    const ssm = await this.client('ssm');
    const out = (await ssm.send(
      new GetParameterCommand({ Name: name, WithDecryption: true }),
    )) as GetParameterCommandOutput;
    return { name, value: out.Parameter?.Value, type: out.Parameter?.Type };
  }

  /**
   * The items of partition `pk` whose sort key is `sk` (exactly) or starts with `skPrefix`,
   * in sort-key order, all pages, read consistently.
   */
  async query(
    table: string,
    pk: string,
    sort: { readonly sk: string } | { readonly skPrefix: string },
  ): Promise<FlatItem[]> {
    const { QueryCommand } = await import('@aws-sdk/client-dynamodb');
    const dynamodb = await this.client('dynamodb');
    const exact = 'sk' in sort;
    const items: FlatItem[] = [];
    let start: QueryCommandOutput['LastEvaluatedKey'];
    do {
      const out = (await dynamodb.send(
        new QueryCommand({
          TableName: table,
          ConsistentRead: true,
          KeyConditionExpression: exact ? 'pk = :pk AND sk = :sk' : 'pk = :pk AND begins_with(sk, :sk)',
          ExpressionAttributeValues: { ':pk': { S: pk }, ':sk': { S: exact ? sort.sk : sort.skPrefix } },
          ExclusiveStartKey: start,
        }),
      )) as QueryCommandOutput;
      for (const item of out.Items ?? []) {
        const flat: Record<string, string> = {};
        for (const [name, value] of Object.entries(item)) {
          const scalar = value.S ?? value.N;
          if (scalar !== undefined) flat[name] = scalar;
        }
        items.push(flat);
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** The `SecretString` of a secret's current version. */
  async secretString(secretId: string): Promise<string | undefined> {
    const { GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    const secrets = await this.client('secretsManager');
    const out = (await secrets.send(new GetSecretValueCommand({ SecretId: secretId }))) as GetSecretValueCommandOutput;
    return out.SecretString;
  }

  /** InitiateAuth: a public client's first sign-in step (no AWS credentials needed). */
  async initiateAuth(
    clientId: string,
    authFlow: string,
    parameters: Record<string, string>,
    clientMetadata?: Readonly<Record<string, string>>,
  ): Promise<AuthStep> {
    const { InitiateAuthCommand } = await import('@aws-sdk/client-cognito-identity-provider');
    const cognito = await this.client('cognito');
    const out = (await cognito.send(
      new InitiateAuthCommand({
        ClientId: clientId,
        AuthFlow: authFlow as never,
        AuthParameters: parameters,
        ClientMetadata: clientMetadata && { ...clientMetadata },
      }),
    )) as InitiateAuthCommandOutput;
    return authStep(out);
  }

  /** RespondToAuthChallenge: the answer to one challenge. */
  async respondToAuthChallenge(
    clientId: string,
    challengeName: string,
    session: string | undefined,
    responses: Record<string, string>,
    clientMetadata?: Readonly<Record<string, string>>,
  ): Promise<AuthStep> {
    const { RespondToAuthChallengeCommand } = await import('@aws-sdk/client-cognito-identity-provider');
    const cognito = await this.client('cognito');
    const out = (await cognito.send(
      new RespondToAuthChallengeCommand({
        ClientId: clientId,
        ChallengeName: challengeName as never,
        Session: session,
        ChallengeResponses: responses,
        ClientMetadata: clientMetadata && { ...clientMetadata },
      }),
    )) as RespondToAuthChallengeCommandOutput;
    return authStep(out);
  }

  /**
   * A synchronous Invoke of a function: what it returned (parsed JSON). A function error
   * is thrown as an error named by its type.
   */
  async invoke(functionArn: string, payload: unknown): Promise<unknown> {
    const { InvokeCommand } = await import('@aws-sdk/client-lambda');
    const lambda = await this.client('lambda');
    const out = (await lambda.send(
      new InvokeCommand({ FunctionName: functionArn, Payload: new TextEncoder().encode(JSON.stringify(payload)) }),
    )) as InvokeCommandOutput;
    const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
    const result: unknown = text ? JSON.parse(text) : undefined;
    if (out.FunctionError) {
      const e = (result ?? {}) as { errorType?: unknown; errorMessage?: unknown };
      throw Object.assign(new Error(typeof e.errorMessage === 'string' ? e.errorMessage : out.FunctionError), {
        name: typeof e.errorType === 'string' ? e.errorType : 'FunctionError',
      });
    }
    return result;
  }

  /** Closes the clients this object created (their sockets); clients passed in are left to their owner. */
  destroy(): void {
    for (const [service, client] of this.created) {
      if (this.options.clients[service]) continue;
      void client.then((c) => c.destroy?.()).catch(() => undefined);
    }
    this.created.clear();
  }

  private client(service: Service): Promise<AwsSdkClient & { destroy?: () => void }> {
    let client = this.created.get(service);
    if (!client) {
      const given = this.options.clients[service];
      client = given ? Promise.resolve(given) : this.create(service);
      this.created.set(service, client);
    }
    return client;
  }

  private async create(service: Service): Promise<AwsSdkClient & { destroy(): void }> {
    const config = {
      maxAttempts: this.options.maxAttempts,
      ...(this.options.region ? { region: this.options.region } : {}),
    };
    switch (service) {
      case 'ssm':
        return new (await import('@aws-sdk/client-ssm')).SSMClient(config);
      case 'dynamodb':
        return new (await import('@aws-sdk/client-dynamodb')).DynamoDBClient(config);
      case 'secretsManager':
        return new (await import('@aws-sdk/client-secrets-manager')).SecretsManagerClient(config);
      case 'cognito':
        return new (await import('@aws-sdk/client-cognito-identity-provider')).CognitoIdentityProviderClient(config);
      case 'lambda':
        return new (await import('@aws-sdk/client-lambda')).LambdaClient(config);
    }
  }
}

function authStep(out: InitiateAuthCommandOutput | RespondToAuthChallengeCommandOutput): AuthStep {
  const result = out.AuthenticationResult;
  return {
    challengeName: out.ChallengeName,
    challengeParameters: out.ChallengeParameters ?? {},
    session: out.Session,
    authenticationResult: result
      ? {
          idToken: result.IdToken,
          accessToken: result.AccessToken,
          refreshToken: result.RefreshToken,
          expiresIn: result.ExpiresIn,
          tokenType: result.TokenType,
        }
      : undefined,
  };
}
