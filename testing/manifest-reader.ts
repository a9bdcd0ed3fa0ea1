/**
 * Finds a seeder's manifest pointer in SSM and reads the body from the ledger table, as
 * testing/manifest-format.ts lays them out: the HEAD item, then the parts of its
 * generation, joined in sort-key order, checked against the HEAD's SHA-256 and parsed.
 */
import { createHash } from 'crypto';
import type { Aws, FlatItem } from './aws';
import { awsErrorParts, isAccessDenied, SeededUsersError } from './errors';
import {
  Manifest,
  MANIFEST_VERSION,
  manifestHeadKey,
  manifestParameterName,
  manifestParameterPath,
  manifestPartitionKey,
  manifestPartKey,
  manifestPartPrefix,
  ManifestPointer,
} from './manifest-format';

/** Where to look for a pointer: a stack (and seeder), or the parameter itself. */
export interface ManifestLocation {
  readonly stackName?: string;
  readonly seeder?: string;
  readonly parameterName?: string;
}

/** A pointer and the parameter it was read from. */
export interface FoundPointer {
  readonly parameterName: string;
  readonly pointer: ManifestPointer;
}

/** How often a read that met a generation being replaced starts again. */
const READ_ATTEMPTS = 3;

/** Finds the pointer of one seeder; the errors say which seeders there are and what to check. */
export async function findPointer(aws: Aws, location: ManifestLocation): Promise<FoundPointer> {
  if (location.parameterName !== undefined) {
    const parameterName = location.parameterName;
    let value: string | undefined;
    try {
      value = (await aws.parameter(parameterName)).value;
    } catch (error) {
      if (awsErrorParts(error).name === 'ParameterNotFound') {
        throw new SeededUsersError(
          'NO_MANIFEST',
          `No seeder manifest pointer ${parameterName} in ${await regionName(aws)}: check the parameter name (the seeder exposes it), that the stack is deployed, and the region`,
        );
      }
      throw ssmError(error, `reading the manifest pointer ${parameterName}`);
    }
    return { parameterName, pointer: parsePointer(value, parameterName) };
  }
  const stackName = location.stackName;
  if (!stackName) {
    throw new SeededUsersError('NO_MANIFEST', 'Pass stackName (the stack that has the seeder) or parameterName');
  }
  const path = manifestParameterPath(stackName);
  let found: { name: string; value?: string }[];
  try {
    found = await aws.parametersByPath(path);
  } catch (error) {
    throw ssmError(error, `listing the seeder manifests of stack '${stackName}' (GetParametersByPath ${path})`);
  }
  const seeders = found
    .map((p) => ({ ...p, seeder: p.name.slice(path.length + 1) }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  if (seeders.length === 0) {
    throw new SeededUsersError(
      'NO_MANIFEST',
      `No seeder manifest was found for stack '${stackName}' in ${await regionName(aws)} (no parameter under ${path}). ` +
        'Check that the stack is deployed, with a seeder of a cdk-cognito-seeder version that publishes manifests; ' +
        'that this is its region (pass region, or set AWS_REGION); and that the caller may read the manifest ' +
        '(seeder.grantReadManifest(role)).',
    );
  }
  const list = seeders.map((s) => `'${s.seeder}'`).join(', ');
  let chosen = seeders[0];
  if (location.seeder !== undefined) {
    const wanted = manifestParameterName(stackName, location.seeder.replace(/^\/+|\/+$/g, ''));
    const match = seeders.find((s) => s.name === wanted);
    if (!match) {
      throw new SeededUsersError(
        'SEEDER_AMBIGUOUS',
        `Stack '${stackName}' has no seeder '${location.seeder}'; its seeders are ${list}: pass one of them as seeder`,
      );
    }
    chosen = match;
  } else if (seeders.length > 1) {
    throw new SeededUsersError(
      'SEEDER_AMBIGUOUS',
      `Stack '${stackName}' has ${seeders.length} seeders (${list}): pass seeder: '<path>' to choose one, e.g. seeder: '${seeders[0].seeder}'`,
    );
  }
  return { parameterName: chosen.name, pointer: parsePointer(chosen.value, chosen.name) };
}

/** Parses and checks a pointer parameter's value. */
export function parsePointer(value: string | undefined, parameterName: string): ManifestPointer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value ?? '');
  } catch {
    throw new SeededUsersError('MANIFEST_UNREADABLE', `The manifest pointer ${parameterName} is not JSON`);
  }
  const p = (parsed ?? {}) as Record<string, unknown>;
  if (typeof p.version === 'number' && p.version > MANIFEST_VERSION) {
    throw new SeededUsersError(
      'MANIFEST_UNREADABLE',
      `The manifest pointer ${parameterName} has format version ${p.version}; this testing module reads version ${MANIFEST_VERSION}: upgrade cdk-cognito-seeder in the tests`,
    );
  }
  const missing = ['table', 'owner', 'userPoolId', 'region'].filter((k) => typeof p[k] !== 'string' || p[k] === '');
  if (
    p.version !== MANIFEST_VERSION ||
    missing.length > 0 ||
    (p.clientId !== undefined && typeof p.clientId !== 'string') ||
    (p.functionArn !== undefined && typeof p.functionArn !== 'string')
  ) {
    throw new SeededUsersError(
      'MANIFEST_UNREADABLE',
      `The manifest pointer ${parameterName} is not a version ${MANIFEST_VERSION} pointer${missing.length ? ` (missing ${missing.join(', ')})` : ''}`,
    );
  }
  return Object.freeze({
    version: p.version,
    table: p.table as string,
    owner: p.owner as string,
    userPoolId: p.userPoolId as string,
    region: p.region as string,
    ...(p.clientId !== undefined ? { clientId: p.clientId as string } : {}),
    ...(p.functionArn !== undefined ? { functionArn: p.functionArn as string } : {}),
  });
}

/**
 * Reads the body the pointer names. A deploy that replaces the manifest while this reads
 * (a new HEAD, the old generation's parts removed) makes the read start again.
 */
export async function readManifest(aws: Aws, pointer: ManifestPointer): Promise<Manifest> {
  const pk = manifestPartitionKey(pointer.owner);
  const where = `table ${pointer.table} (${pk})`;
  let last: SeededUsersError | undefined;
  for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
    const head = await readHead(aws, pointer, where);
    let parts: FlatItem[];
    try {
      parts = await aws.query(pointer.table, pk, {
        skPrefix: manifestPartPrefix(pointer.userPoolId, head.generation ?? ''),
      });
    } catch (error) {
      throw dynamodbError(error, pointer);
    }
    try {
      return assembleManifest(pointer, head, parts);
    } catch (error) {
      if (!(error instanceof SeededUsersError)) throw error;
      last = error;
      // Read again only if a deploy moved the HEAD on meanwhile; otherwise the body is bad.
      const now = await readHead(aws, pointer, where);
      if (now.generation === head.generation) throw error;
    }
  }
  throw last;
}

/**
 * Joins a generation's parts and checks them: every part from 000000 on, nothing more,
 * the SHA-256 of the joined text, then the JSON and its shape.
 */
export function assembleManifest(pointer: ManifestPointer, head: FlatItem, parts: readonly FlatItem[]): Manifest {
  const where = `the manifest of ${pointer.owner} in table ${pointer.table}`;
  const generation = head.generation ?? '';
  const expected = Number(head.parts);
  const unreadable = (why: string) => new SeededUsersError('MANIFEST_UNREADABLE', `${where} ${why}`);
  if (!Number.isInteger(expected) || expected < 1 || !/^[0-9a-f]{64}$/i.test(head.sha256 ?? '')) {
    throw unreadable(`has a HEAD without a part count and SHA-256`);
  }
  if (parts.length !== expected) {
    throw unreadable(
      `has ${parts.length} of the ${expected} parts of generation ${generation}: redeploy, or retry if a deploy is running`,
    );
  }
  parts.forEach((part, index) => {
    if (part.sk !== manifestPartKey(pointer.userPoolId, generation, index) || typeof part.body !== 'string') {
      throw unreadable(`has no part ${index} of generation ${generation}`);
    }
  });
  const text = parts.map((part) => part.body).join('');
  const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
  if (sha256 !== head.sha256!.toLowerCase()) {
    throw unreadable(`does not match its SHA-256 (generation ${generation}): the body is corrupt; redeploy the seeder`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw unreadable(`is not JSON`);
  }
  const manifest = parsed as Manifest;
  if (manifest?.version !== MANIFEST_VERSION || !Array.isArray(manifest.users) || !Array.isArray(manifest.sources)) {
    throw unreadable(`is not a version ${MANIFEST_VERSION} manifest`);
  }
  if (manifest.userPoolId !== pointer.userPoolId) {
    throw unreadable(`describes pool ${manifest.userPoolId}, not ${pointer.userPoolId}`);
  }
  // The pointer is CloudFormation's (SSM); the body is the ledger's, which more can write.
  if (manifest.region !== pointer.region) {
    throw unreadable(`names region ${manifest.region}, the pointer ${pointer.region}`);
  }
  if (manifest.clientId !== undefined && pointer.clientId !== undefined && manifest.clientId !== pointer.clientId) {
    throw unreadable(
      `names app client ${manifest.clientId}, the pointer (which CloudFormation wrote) ${pointer.clientId}: redeploy the seeder`,
    );
  }
  for (const user of manifest.users) {
    if (typeof user?.username !== 'string' || (user.password !== undefined && !manifest.sources[user.password])) {
      throw unreadable(`has a user without a username or with a password source it does not list`);
    }
  }
  return deepFreeze(manifest);
}

async function readHead(aws: Aws, pointer: ManifestPointer, where: string): Promise<FlatItem> {
  let items: FlatItem[];
  try {
    items = await aws.query(pointer.table, manifestPartitionKey(pointer.owner), {
      sk: manifestHeadKey(pointer.userPoolId),
    });
  } catch (error) {
    throw dynamodbError(error, pointer);
  }
  if (items.length === 0) {
    throw new SeededUsersError(
      'MANIFEST_UNREADABLE',
      `The manifest pointer names a body that is not in ${where}: the seeder has not finished a deploy since the pointer was made, or its stack is being deleted`,
    );
  }
  return items[0];
}

function dynamodbError(error: unknown, pointer: ManifestPointer): SeededUsersError {
  const { name, message } = awsErrorParts(error);
  if (isAccessDenied(error)) {
    return new SeededUsersError(
      'ACCESS_DENIED',
      `Access denied reading the manifest from table ${pointer.table} (${name}: ${message}): the test runner needs seeder.grantReadManifest(role)`,
    );
  }
  if (name === 'ResourceNotFoundException') {
    return new SeededUsersError(
      'MANIFEST_UNREADABLE',
      `The ledger table ${pointer.table} does not exist in ${pointer.region}: was the stack deleted?`,
    );
  }
  return new SeededUsersError(
    'MANIFEST_UNREADABLE',
    `Reading the manifest from table ${pointer.table} failed: ${name}: ${message}`,
  );
}

function ssmError(error: unknown, doing: string): SeededUsersError {
  const { name, message } = awsErrorParts(error);
  if (isAccessDenied(error)) {
    return new SeededUsersError(
      'ACCESS_DENIED',
      `Access denied ${doing} (${name}: ${message}): the test runner needs seeder.grantReadManifest(role)`,
    );
  }
  if (/region is missing/i.test(message)) {
    return new SeededUsersError(
      'INVALID_ARGUMENT',
      `No AWS region for ${doing}: pass region (the stack's), or set AWS_REGION or a profile's region`,
    );
  }
  return new SeededUsersError(
    'MANIFEST_UNREADABLE',
    `${doing[0].toUpperCase()}${doing.slice(1)} failed: ${name}: ${message}`,
  );
}

async function regionName(aws: Aws): Promise<string> {
  const region = await aws.region('ssm');
  return region ? `region ${region}` : 'the default region (none is configured: pass region, or set AWS_REGION)';
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
