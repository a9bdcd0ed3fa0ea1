/**
 * The function's AWS clients, made once per process. SDK defaults throughout, so
 * AWS_ENDPOINT_URL_* can point them at loopback; every one has a request timeout, so a
 * call that gets no answer fails and is retried instead of holding a slice until Lambda
 * kills it.
 */
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { COGNITO_REQUEST_TIMEOUT_ENV, COGNITO_REQUEST_TIMEOUT_MS, LEDGER_TABLE_ENV } from '../lib/private/contract';
import { Ledger } from './ledger';
import { UsersFileReader } from './users-file';

/** Seconds an AWS call other than Cognito's may wait for its answer. */
const REQUEST_TIMEOUT_MS = 10_000;
const timeouts = { requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS, connectionTimeout: 5_000 } };

let made:
  | {
      cognito: CognitoIdentityProviderClient;
      secretsManager: SecretsManagerClient;
      ssm: SSMClient;
      usersFiles: UsersFileReader;
      dynamodb: DynamoDBClient;
    }
  | undefined;

export function clients(): NonNullable<typeof made> {
  made ??= {
    // No SDK retries for Cognito: the pacer must see every throttle to share the quota, and
    // it retries throttles and transient faults itself (lambda/pace.ts).
    cognito: new CognitoIdentityProviderClient({
      maxAttempts: 1,
      requestHandler: {
        requestTimeout: Number(process.env[COGNITO_REQUEST_TIMEOUT_ENV]) || COGNITO_REQUEST_TIMEOUT_MS,
        connectionTimeout: 5_000,
      },
    }),
    secretsManager: new SecretsManagerClient(timeouts),
    ssm: new SSMClient(timeouts),
    // Path-style only when an endpoint override (a local rehearsal) cannot take bucket subdomains.
    usersFiles: new UsersFileReader(new S3Client({ ...timeouts, forcePathStyle: !!process.env.AWS_ENDPOINT_URL_S3 })),
    dynamodb: new DynamoDBClient(timeouts),
  };
  return made;
}

/** The name of the ledger table, from the function's environment. */
export function ledgerTable(): string {
  const table = process.env[LEDGER_TABLE_ENV];
  if (!table) {
    throw new Error(
      `the seeding function has no ${LEDGER_TABLE_ENV}: it finds its ownership ledger through it; redeploy the stack with this library's construct`,
    );
  }
  return table;
}

export function openLedger(): Ledger {
  return new Ledger(clients().dynamodb, ledgerTable());
}
