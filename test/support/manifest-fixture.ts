// Writes seeder manifests the way testing/manifest-format.ts lays them out (the pointer in
// the stand-in's SSM, the HEAD and parts in a dynalite ledger table), so the testing
// module's tests can read them before the handler writes real ones.
import { createHash } from 'crypto';
import { AdminSetUserPasswordCommand } from '@aws-sdk/client-cognito-identity-provider';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { AwsStandIn } from '../../rehearsal/aws-stand-in';
import {
  Manifest,
  MANIFEST_VERSION,
  manifestHeadKey,
  manifestParameterName,
  manifestPartitionKey,
  manifestPartKey,
  ManifestPointer,
  ManifestSource,
  ManifestUser,
  splitManifestBody,
} from '../../testing/manifest-format';

/** Where manifests are written. */
export interface ManifestStores {
  readonly dynamodb: DynamoDBClient;
  readonly standIn: AwsStandIn;
}

/** A manifest as written: where its pointer is, and how many parts its body took. */
export interface WrittenManifest {
  readonly parameterName: string;
  readonly pointer: ManifestPointer;
  readonly generation: string;
  readonly parts: number;
}

/** Creates a ledger table (pk, sk), as the construct does, and waits until it is ACTIVE. */
export async function createLedgerTable(dynamodb: DynamoDBClient, name: string): Promise<void> {
  await dynamodb.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
  for (;;) {
    const out = await dynamodb.send(new DescribeTableCommand({ TableName: name }));
    if (out.Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A manifest body with the fields a test does not care about filled in. */
export function manifestOf(fields: {
  readonly owner: string;
  readonly userPoolId: string;
  readonly users: readonly ManifestUser[];
  readonly sources?: readonly ManifestSource[];
  readonly clientId?: string;
  readonly totpSecretArn?: string;
  readonly totpUserSecretPrefix?: string;
  readonly region?: string;
}): Manifest {
  return {
    version: MANIFEST_VERSION,
    stackId: 'arn:aws:cloudformation:us-east-1:111111111111:stack/Qa/1',
    requestId: 'request-1',
    region: fields.region ?? 'us-east-1',
    sources: [],
    ...fields,
  };
}

/** The seeding function a written pointer names, unless told otherwise. */
export const SEED_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:Qa-SeedFunction';

/**
 * Plays the seeding function's answer to a re-arm (a repair of one TEMPORARY user with
 * `passwords: 'always'`) on `cognito`: sets the user's seeded temporary password, as the
 * function does. Records every payload it was sent. The real function's repair is tested
 * end to end in test/repair.e2e.test.ts; this double tests the testing module's side.
 */
export function rearmDouble(
  standIn: { onInvoke?: (name: string, payload: string) => Promise<unknown> },
  cognito: { send(command: object): Promise<unknown> },
  userPoolId: string,
  temporaryPasswords: Readonly<Record<string, string>>,
): { readonly payloads: Record<string, unknown>[] } {
  const payloads: Record<string, unknown>[] = [];
  standIn.onInvoke = async (name, text) => {
    const payload = JSON.parse(text) as { kind: string; seeder: string; usernames?: string[] };
    payloads.push({ functionName: name, ...payload });
    const users = [];
    for (const username of payload.usernames ?? []) {
      await cognito.send(
        new AdminSetUserPasswordCommand({
          UserPoolId: userPoolId,
          Username: username,
          Password: temporaryPasswords[username],
          Permanent: false,
        }),
      );
      users.push({ username, found: ['temporary-password-answered'], done: ['password'] });
    }
    const report = {
      seeder: payload.seeder,
      dryRun: false,
      checked: users.length,
      users,
      more: 0,
      left: 0,
      calls: 2,
      seconds: 0,
    };
    return { status: 'SUCCEEDED', repairId: 'repair-double', report };
  };
  return { payloads };
}

/** Writes the parts, then the HEAD, then the pointer, as the handler will. */
export async function writeManifest(
  stores: ManifestStores,
  options: {
    readonly stackName: string;
    readonly seederPath: string;
    readonly table: string;
    readonly manifest: Manifest;
    readonly generation?: string;
    readonly partCharacters?: number;
    /** The seeding function the pointer names. @default SEED_FUNCTION_ARN */
    readonly functionArn?: string | null;
  },
): Promise<WrittenManifest> {
  const { manifest, table } = options;
  const generation = options.generation ?? manifest.requestId;
  const text = JSON.stringify(manifest);
  const parts = splitManifestBody(text, options.partCharacters);
  const pk = manifestPartitionKey(manifest.owner);
  for (const [index, body] of parts.entries()) {
    await stores.dynamodb.send(
      new PutItemCommand({
        TableName: table,
        Item: { pk: { S: pk }, sk: { S: manifestPartKey(manifest.userPoolId, generation, index) }, body: { S: body } },
      }),
    );
  }
  await stores.dynamodb.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        pk: { S: pk },
        sk: { S: manifestHeadKey(manifest.userPoolId) },
        generation: { S: generation },
        parts: { N: String(parts.length) },
        sha256: { S: createHash('sha256').update(text, 'utf8').digest('hex') },
      },
    }),
  );
  const pointer: ManifestPointer = {
    version: MANIFEST_VERSION,
    table,
    owner: manifest.owner,
    userPoolId: manifest.userPoolId,
    region: manifest.region,
    ...(manifest.clientId ? { clientId: manifest.clientId } : {}),
    ...(options.functionArn === null ? {} : { functionArn: options.functionArn ?? SEED_FUNCTION_ARN }),
  };
  const parameterName = manifestParameterName(options.stackName, options.seederPath);
  stores.standIn.parameters.set(parameterName, JSON.stringify(pointer));
  stores.standIn.parameterTypes.set(parameterName, 'String');
  return { parameterName, pointer, generation, parts: parts.length };
}

/** Changes one character of part `index`'s body (keeping its length): the SHA-256 no longer matches. */
export async function corruptPart(dynamodb: DynamoDBClient, written: WrittenManifest, index: number): Promise<void> {
  const { pointer, generation } = written;
  const key = {
    pk: { S: manifestPartitionKey(pointer.owner) },
    sk: { S: manifestPartKey(pointer.userPoolId, generation, index) },
  };
  const out = await dynamodb.send(new GetItemCommand({ TableName: pointer.table, Key: key }));
  const body = out.Item!.body.S!;
  // A digit in a username becomes another digit: still JSON, no longer the body that was hashed.
  const at = body.search(/[0-9]/);
  const changed = body.slice(0, at) + String((Number(body[at]) + 1) % 10) + body.slice(at + 1);
  await dynamodb.send(new PutItemCommand({ TableName: pointer.table, Item: { ...key, body: { S: changed } } }));
}
