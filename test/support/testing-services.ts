// The local services the testing module's tests sign in against: cognito-local (Cognito),
// dynalite (the ledger table that holds manifests) and the stand-in (SSM and Secrets
// Manager), each on a free loopback port, reached through the standard
// AWS_ENDPOINT_URL_<SERVICE> variables, as a user's tests reach a local rehearsal.
import {
  AdminCreateUserCommand,
  AdminInitiateAuthCommand,
  AdminSetUserPasswordCommand,
  AssociateSoftwareTokenCommand,
  CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  ExplicitAuthFlowsType,
  SetUserMFAPreferenceCommand,
  VerifySoftwareTokenCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AwsStandIn } from '../../rehearsal/aws-stand-in';
import { Emulator, startEmulator } from '../../rehearsal/emulator';
import { LedgerDb, startLedgerDb } from '../../rehearsal/ledger-db';
import { totpCode } from '../../testing/totp';

/** The variables these tests set, restored by stop(). */
const ENV = [
  'AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_SSM',
  'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  'AWS_ENDPOINT_URL_LAMBDA',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
];

export const REGION = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

export interface TestingServices {
  readonly standIn: AwsStandIn;
  readonly dynamodb: DynamoDBClient;
  /** An admin client of the Cognito under test (cognito-local unless `cognitoEndpoint` was given). */
  readonly cognito: CognitoIdentityProviderClient;
  stop(): Promise<void>;
}

/**
 * Starts dynalite and the stand-in, and cognito-local unless `cognitoEndpoint` names
 * another Cognito (a test double), and points the AWS_ENDPOINT_URL_* variables at them.
 */
export async function startTestingServices(cognitoEndpoint?: string): Promise<TestingServices> {
  const saved = Object.fromEntries(ENV.map((name) => [name, process.env[name]]));
  const standIn = new AwsStandIn();
  let emulator: Emulator | undefined;
  let ledger: LedgerDb | undefined;
  await standIn.start();
  try {
    ledger = await startLedgerDb();
    if (!cognitoEndpoint) emulator = await startEmulator();
  } catch (error) {
    await standIn.stop();
    await ledger?.stop();
    throw error;
  }
  const cognitoUrl = cognitoEndpoint ?? emulator!.endpoint;
  process.env.AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER = cognitoUrl;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = ledger.endpoint;
  process.env.AWS_ENDPOINT_URL_SSM = standIn.endpoint;
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = standIn.endpoint;
  // repair() and rearm() invoke the seeding function: a test plays it with standIn.onInvoke.
  process.env.AWS_ENDPOINT_URL_LAMBDA = standIn.endpoint;
  process.env.AWS_REGION = REGION;
  process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
  const dynamodb = new DynamoDBClient({ endpoint: ledger.endpoint, region: REGION, credentials });
  const cognito = new CognitoIdentityProviderClient({ endpoint: cognitoUrl, region: REGION, credentials });
  return {
    standIn,
    dynamodb,
    cognito,
    async stop() {
      dynamodb.destroy();
      cognito.destroy();
      await Promise.all([standIn.stop(), ledger.stop(), emulator?.stop()]);
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    },
  };
}

/** A pool (MFA optional) and one public app client that allows `flows`. */
export async function createPoolAndClient(
  cognito: CognitoIdentityProviderClient,
  flows: ExplicitAuthFlowsType[] = ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
): Promise<{ userPoolId: string; clientId: string }> {
  // MFA OPTIONAL, as for a seeder that enrols TOTP users: those users are then asked for a code.
  const pool = await cognito.send(
    new CreateUserPoolCommand({ PoolName: `testing-${Date.now()}`, MfaConfiguration: 'OPTIONAL' }),
  );
  const userPoolId = pool.UserPool!.Id!;
  const client = await cognito.send(
    new CreateUserPoolClientCommand({ UserPoolId: userPoolId, ClientName: 'tests', ExplicitAuthFlows: flows }),
  );
  return { userPoolId, clientId: client.UserPoolClient!.ClientId! };
}

/** A user as the seeder leaves it: PERMANENT (CONFIRMED) or TEMPORARY (FORCE_CHANGE_PASSWORD). */
export async function createUser(
  cognito: CognitoIdentityProviderClient,
  userPoolId: string,
  username: string,
  password: string,
  mode: 'PERMANENT' | 'TEMPORARY',
): Promise<void> {
  await cognito.send(
    new AdminCreateUserCommand({
      UserPoolId: userPoolId,
      Username: username,
      MessageAction: 'SUPPRESS',
      ...(mode === 'TEMPORARY' ? { TemporaryPassword: password } : {}),
    }),
  );
  if (mode === 'PERMANENT') {
    await cognito.send(
      new AdminSetUserPasswordCommand({
        UserPoolId: userPoolId,
        Username: username,
        Password: password,
        Permanent: true,
      }),
    );
  }
}

/**
 * Enrols a software token for a PERMANENT user through its access token (the only path
 * cognito-local implements) and returns the token's base32 secret.
 */
export async function enrolTotp(
  cognito: CognitoIdentityProviderClient,
  userPoolId: string,
  clientId: string,
  username: string,
  password: string,
): Promise<string> {
  const auth = await cognito.send(
    new AdminInitiateAuthCommand({
      UserPoolId: userPoolId,
      ClientId: clientId,
      AuthFlow: 'ADMIN_USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: username, PASSWORD: password },
    }),
  );
  const accessToken = auth.AuthenticationResult!.AccessToken!;
  const { SecretCode } = await cognito.send(new AssociateSoftwareTokenCommand({ AccessToken: accessToken }));
  await cognito.send(
    new VerifySoftwareTokenCommand({ AccessToken: accessToken, UserCode: totpCode(SecretCode!, Date.now()) }),
  );
  await cognito.send(
    new SetUserMFAPreferenceCommand({
      AccessToken: accessToken,
      SoftwareTokenMfaSettings: { Enabled: true, PreferredMfa: true },
    }),
  );
  return SecretCode!;
}
