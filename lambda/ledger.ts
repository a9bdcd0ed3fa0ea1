/**
 * The ownership ledger: the only module that reads or writes the stack's DynamoDB table.
 * It records every user a seed resource created or adopted, the requests it applied, and
 * the order of the requests on each seed resource. Writes that can race are conditional.
 *
 * Items (pk / sk):
 * - `USER#<poolId>` / `<key>`: a user held by one owner (the key is the username as the
 *   pool compares it);
 * - `OWNER#<owner>` / `POOL#<poolId>`: a pool where the owner holds users;
 * - `OWNER#<owner>` / `REQUEST#<requestId>`: a request: what CloudFormation asked, its
 *   fence, its progress and its outcome (its properties and sealing key only until it is
 *   answered);
 * - `OWNER#<owner>` / `FENCE`: the fence number and request that may write now: a newer
 *   request takes the next number, and every older one stops;
 * - `OWNER#<owner>` / `SLICE`: the request whose work holds the resource (one at a time);
 * - `OWNER#<owner>` / `APPLIED`: digests of the properties the last successful requests
 *   applied (a rollback's properties are an earlier template's: these vouch for them). Kept
 *   after a Delete: a cleanup Delete shares the owner (the logical id) with the live
 *   resource, and the table goes with the stack;
 * - `MANIFEST#<owner>` / `<poolId>#HEAD` and `<poolId>#PART#…`: the manifest of what the
 *   owner seeded into a pool, for the tests that sign in as its users (format:
 *   testing/manifest-format.ts). It holds no password.
 */
import {
  AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { createHash } from 'crypto';
import {
  manifestHeadKey,
  manifestPartitionKey,
  manifestPartKey,
  manifestPartPrefix,
  splitManifestBody,
} from '../lib/private/manifest-format';
import type { RepairReport } from './drift';
import type { RepairOptions } from './seed';

/** What a seeder applied to a user: never a password, only where it came from. */
export interface AppliedSpec {
  readonly mode: string;
  readonly attributes: { readonly [name: string]: string };
  readonly groups: readonly string[];
  /** `secretsmanager:<arn>#<field>`, `ssm:<name>`, `plaintext:<sha256>`, or absent. */
  readonly source?: string;
  /** The secret or parameter version the password was read from. */
  readonly sourceVersion?: string;
  readonly revision?: string;
}

export type UserState = 'creating' | 'present';
/**
 * `created` by this seeder; `adopted`: taken over, released but never deleted; `reclaimed`:
 * taken over with `deleteAdoptedUsers` (after a ledger loss), deleted like a created one.
 */
export type Origin = 'created' | 'adopted' | 'reclaimed';

/** One user held by one owner in one pool. */
export interface UserRecord {
  readonly pool: string;
  /** The username as the pool compares it (lower-cased in case-insensitive pools). */
  readonly key: string;
  readonly owner: string;
  /** The username as seeded (the alias in email or phone username pools). */
  readonly username: string;
  /** The pool's own username for the user (a UUID in alias pools), once known. */
  readonly cognitoUsername?: string;
  readonly sub?: string;
  readonly origin: Origin;
  readonly state: UserState;
  /** The request that created or adopted it. */
  readonly requestId: string;
  /** When the record was written (ms since epoch): bounds when a `creating` user appeared. */
  readonly at: number;
  /**
   * For `creating`: the latest a create that did not answer could have landed (the end of
   * the invocation that made it); a user made after it is someone else's.
   */
  readonly until?: number;
  readonly applied?: AppliedSpec;
  /** When `applied` was last applied (ms since epoch): a change in the pool after it is drift. */
  readonly appliedAt?: number;
  /**
   * The spec a request began writing over `applied` and has not recorded as applied: its
   * writes may have landed in part (a killed slice, a superseded request), so the next plan
   * brings the user to its spec from both (lambda/plan.ts).
   */
  readonly pending?: AppliedSpec;
  /** The owner a user was taken over from, to hand it back if this request fails. */
  readonly previousOwner?: string;
  /** `enrolled` once the seeder enrolled a TOTP software token for the user (its secret is in the TOTP secret). */
  readonly totp?: 'enrolled';
}

/** CloudFormation's request types, and a repair. */
export type RequestType = 'Create' | 'Update' | 'Delete' | 'Repair';

/** How a request ended: what its answer says. */
export interface Outcome {
  readonly status: 'SUCCESS' | 'FAILED';
  readonly physicalResourceId: string;
  readonly reason?: string;
  readonly data?: Record<string, string>;
  /** A repair's report. */
  readonly report?: RepairReport;
}

/** What a request's work has established so far, for the slices after the first. */
export interface Progress {
  /** Pre-flight passed: the next slices plan from the ledger without looking users up again. */
  readonly preflight?: boolean;
  /** The password sources' versions pre-flight read, by a digest of the source. */
  readonly versions?: Record<string, string>;
  /** The request failed (this reason) and is undoing what it did. */
  readonly failed?: string;
  /** What earlier slices undid of it so far. */
  readonly undone?: { readonly deleted: number; readonly released: number };
  /** Slices run so far. */
  readonly slices?: number;
  /** The Cognito call a slice still waited on when its time ran out. */
  readonly stuck?: string;
}

/** A request on one seed resource, as the ledger keeps it. */
export interface RequestRecord {
  readonly owner: string;
  readonly requestId: string;
  readonly type: RequestType;
  /** When the first delivery arrived (ms since epoch): CloudFormation's hour counts from about then. */
  readonly since: number;
  readonly stackId: string;
  /** The event's properties, as JSON; dropped once answered. */
  readonly properties?: string;
  /** The physical id the event names (Update, Delete). */
  readonly physicalResourceId?: string;
  /** The key that opens the sealed ResponseURL the execution carries; dropped once answered. */
  readonly key?: string;
  /** The request's fence number, once it has one. */
  readonly fence?: number;
  /**
   * A rollback or a cleanup (CloudFormation sent an earlier template's properties, or a
   * Delete): it leaves what it cannot prove the seeder's as it is, rather than fail.
   */
  readonly settling?: boolean;
  readonly progress?: Progress;
  readonly outcome?: Outcome;
  readonly answered?: boolean;
  /** A repair's options. */
  readonly repair?: RepairOptions;
}

/** The fence of a seed resource: the request that may write now. */
export interface Fence {
  readonly fence: number;
  readonly requestId?: string;
}

/** Who holds a seed resource's work. */
export interface SliceHolder {
  readonly requestId: string;
  /** When it took the resource (ms since epoch). */
  readonly since: number;
}

const userPk = (pool: string) => `USER#${pool}`;
const ownerPk = (owner: string) => `OWNER#${owner}`;

const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(value) });

function str(item: Record<string, AttributeValue>, name: string): string | undefined {
  return item[name]?.S;
}

export function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as { name?: string })?.name === 'ConditionalCheckFailedException'
  );
}

export class Ledger {
  constructor(
    private readonly client: DynamoDBClient,
    /** The ledger table's name, for messages that point at it. */
    readonly table: string,
  ) {}

  /** Every user record of a pool, whoever holds it. */
  async poolRecords(pool: string): Promise<UserRecord[]> {
    // Converted page by page: 80,000 items in the SDK's attribute-value form would hold the
    // heap (160 MB at the function's smallest memory) twice over beside the converted ones.
    return this.queryAll(userPk(pool), toUserRecord);
  }

  /**
   * Records that `record.owner` is about to create a user. Fails (false) when anyone else
   * holds the key; an owner's own `creating` record is taken over (an interrupted create).
   */
  async beginCreate(record: UserRecord): Promise<boolean> {
    return this.putUser(
      record,
      'attribute_not_exists(pk) OR (#owner = :owner AND #state = :creating)',
      { ':owner': s(record.owner), ':creating': s('creating') },
      { '#owner': 'owner', '#state': 'state' },
    );
  }

  /** Writes a record the owner already holds (or, with `from`, takes it over from `from`). */
  async save(record: UserRecord, from: string = record.owner): Promise<boolean> {
    return this.putUser(record, '#owner = :from', { ':from': s(from) }, { '#owner': 'owner' });
  }

  /** Records an adopted user; fails when anyone holds the key. */
  async adopt(record: UserRecord): Promise<boolean> {
    return this.putUser(record, 'attribute_not_exists(pk)', {}, {});
  }

  /** Drops a record the owner holds. False when it does not hold it (any more). */
  async drop(record: Pick<UserRecord, 'pool' | 'key' | 'owner'>): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: { pk: s(userPk(record.pool)), sk: s(record.key) },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': s(record.owner) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Notes that `owner` holds users in `pool`, so a later request can find them. */
  async notePool(owner: string, pool: string): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: { pk: s(ownerPk(owner)), sk: s(`POOL#${pool}`), pool: s(pool) },
      }),
    );
  }

  async forgetPool(owner: string, pool: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({ TableName: this.table, Key: { pk: s(ownerPk(owner)), sk: s(`POOL#${pool}`) } }),
    );
  }

  /** The pools where `owner` has held users. */
  async ownerPools(owner: string): Promise<string[]> {
    const pools = await this.queryAll(ownerPk(owner), (item) => str(item, 'pool') ?? '', 'POOL#');
    return pools.filter((p) => p !== '');
  }

  /** Notes that a failed request left users behind in a pool, for the next request to remove. */
  async notePending(owner: string, pool: string, requestId: string): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: {
          pk: s(ownerPk(owner)),
          sk: s(`PENDING#${pool}#${requestId}`),
          pool: s(pool),
          requestId: s(requestId),
        },
      }),
    );
  }

  async pendingCompensations(owner: string): Promise<{ pool: string; requestId: string }[]> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': s(ownerPk(owner)), ':prefix': s('PENDING#') },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map((item) => ({
      pool: str(item, 'pool') ?? '',
      requestId: str(item, 'requestId') ?? '',
    }));
  }

  async clearPending(owner: string, pool: string, requestId: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({
        TableName: this.table,
        Key: { pk: s(ownerPk(owner)), sk: s(`PENDING#${pool}#${requestId}`) },
      }),
    );
  }

  /** Records a request as first delivered; false when a delivery recorded it already. */
  async recordRequest(request: RequestRecord): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: requestItem(request),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async getRequest(owner: string, requestId: string): Promise<RequestRecord | undefined> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { pk: s(ownerPk(owner)), sk: s(`REQUEST#${requestId}`) },
        ConsistentRead: true,
      }),
    );
    return out.Item ? toRequest(out.Item) : undefined;
  }

  /** Sets fields of a request record (those given; `undefined` removes one). */
  async updateRequest(
    owner: string,
    requestId: string,
    fields: Partial<Pick<RequestRecord, 'fence' | 'progress' | 'outcome' | 'answered' | 'properties' | 'key'>>,
  ): Promise<void> {
    const sets: string[] = [];
    const removes: string[] = [];
    const names: Record<string, string> = {};
    const values: Record<string, AttributeValue> = {};
    for (const [name, value] of Object.entries(fields)) {
      names[`#${name}`] = name;
      if (value === undefined) {
        removes.push(`#${name}`);
        continue;
      }
      sets.push(`#${name} = :${name}`);
      values[`:${name}`] =
        typeof value === 'number'
          ? n(value)
          : typeof value === 'boolean'
            ? { BOOL: value }
            : s(typeof value === 'string' ? value : JSON.stringify(value));
    }
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { pk: s(ownerPk(owner)), sk: s(`REQUEST#${requestId}`) },
        UpdateExpression: [
          sets.length ? `SET ${sets.join(', ')}` : '',
          removes.length ? `REMOVE ${removes.join(', ')}` : '',
        ]
          .filter((e) => e !== '')
          .join(' '),
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: Object.keys(values).length > 0 ? values : undefined,
      }),
    );
  }

  async getFence(owner: string): Promise<Fence> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { pk: s(ownerPk(owner)), sk: s('FENCE') },
        ConsistentRead: true,
      }),
    );
    return { fence: Number(out.Item?.fence?.N ?? 0), requestId: str(out.Item ?? {}, 'requestId') };
  }

  /** Moves the fence from `from` to the next number, for `requestId`; false when it moved meanwhile. */
  async bumpFence(owner: string, from: number, requestId: string): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: { pk: s(ownerPk(owner)), sk: s('FENCE'), fence: n(from + 1), requestId: s(requestId) },
          ConditionExpression: from === 0 ? 'attribute_not_exists(pk)' : 'fence = :from',
          ExpressionAttributeValues: from === 0 ? undefined : { ':from': n(from) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Takes the resource's work for `requestId`: when nobody holds it, or `requestId` does
   * already (a slice after the first, or one run again after a crash). Otherwise, who holds it.
   */
  async takeSlice(owner: string, requestId: string, now: number): Promise<SliceHolder | undefined> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: { pk: s(ownerPk(owner)), sk: s('SLICE'), requestId: s(requestId), since: n(now) },
          ConditionExpression: 'attribute_not_exists(pk) OR requestId = :me',
          ExpressionAttributeValues: { ':me': s(requestId) },
        }),
      );
      return undefined;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { pk: s(ownerPk(owner)), sk: s('SLICE') },
        ConsistentRead: true,
      }),
    );
    // Released meanwhile: say so by holding nothing, and the caller takes it again.
    if (!out.Item) return { requestId: '', since: 0 };
    return { requestId: str(out.Item, 'requestId') ?? '', since: Number(out.Item.since?.N ?? 0) };
  }

  /** Digests of the properties of the last requests that succeeded on `owner` (newest last). */
  async appliedProperties(owner: string): Promise<string[]> {
    return (await this.applied(owner)).digests;
  }

  /**
   * The properties the last successful request on `owner` applied, with no plain-text
   * password in them (a repair reads those from the template); undefined when none did.
   */
  async lastApplied(owner: string): Promise<string | undefined> {
    return (await this.applied(owner)).spec;
  }

  private async applied(owner: string): Promise<{ digests: string[]; spec?: string }> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { pk: s(ownerPk(owner)), sk: s('APPLIED') },
        ConsistentRead: true,
      }),
    );
    return {
      digests: JSON.parse(str(out.Item ?? {}, 'digests') ?? '[]') as string[],
      spec: str(out.Item ?? {}, 'spec'),
    };
  }

  /**
   * Records that properties with `digest` were applied on `owner` (keeping the last `keep`
   * digests), and `spec`, those properties without plain-text passwords, as the last applied.
   */
  async noteAppliedProperties(owner: string, digest: string, spec: string, keep = 10): Promise<void> {
    const digests = (await this.appliedProperties(owner)).filter((d) => d !== digest);
    digests.push(digest);
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: {
          pk: s(ownerPk(owner)),
          sk: s('APPLIED'),
          digests: s(JSON.stringify(digests.slice(-keep))),
          spec: s(spec),
        },
      }),
    );
  }

  /** Lets go of the resource's work for a holder whose slice cannot be running (its execution ended). */
  async breakSlice(owner: string, holder: SliceHolder): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: { pk: s(ownerPk(owner)), sk: s('SLICE') },
          ConditionExpression: 'requestId = :holder AND since = :since',
          ExpressionAttributeValues: { ':holder': s(holder.requestId), ':since': n(holder.since) },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Lets go of the resource's work if `requestId` holds it. */
  async releaseSlice(owner: string, requestId: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: { pk: s(ownerPk(owner)), sk: s('SLICE') },
          ConditionExpression: 'requestId = :holder',
          ExpressionAttributeValues: { ':holder': s(requestId) },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * Publishes a manifest body: its parts under a new generation, then the HEAD that points
   * at them (a reader sees the old manifest or the new one, never a mix), then the parts of
   * older generations are removed.
   */
  async putManifest(owner: string, pool: string, generation: string, body: string): Promise<void> {
    const pk = s(manifestPartitionKey(owner));
    const parts = splitManifestBody(body);
    for (const [index, part] of parts.entries()) {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: { pk, sk: s(manifestPartKey(pool, generation, index)), body: s(part) },
        }),
      );
    }
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: {
          pk,
          sk: s(manifestHeadKey(pool)),
          generation: s(generation),
          parts: n(parts.length),
          sha256: s(createHash('sha256').update(body).digest('hex')),
        },
      }),
    );
    const current = manifestPartPrefix(pool, generation);
    for (const sk of await this.manifestKeys(owner, `${pool}#PART#`)) {
      if (!sk.startsWith(current)) await this.deleteKey(pk, sk);
    }
  }

  /** Removes the manifest of what `owner` seeded into `pool` (its HEAD first, then its parts). */
  async deleteManifest(owner: string, pool: string): Promise<void> {
    const pk = s(manifestPartitionKey(owner));
    await this.deleteKey(pk, manifestHeadKey(pool));
    for (const sk of await this.manifestKeys(owner, `${pool}#PART#`)) await this.deleteKey(pk, sk);
  }

  private async manifestKeys(owner: string, prefix: string): Promise<string[]> {
    const keys = await this.queryAll(manifestPartitionKey(owner), (item) => str(item, 'sk') ?? '', prefix, 'sk');
    return keys.filter((k) => k !== '');
  }

  /** Every item of partition `pk` (whose sort key starts with `prefix`), read consistently and mapped page by page. */
  private async queryAll<T>(
    pk: string,
    map: (item: Record<string, AttributeValue>) => T,
    prefix?: string,
    projection?: string,
  ): Promise<T[]> {
    const items: T[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: prefix === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': s(pk), ...(prefix === undefined ? {} : { ':prefix': s(prefix) }) },
          ProjectionExpression: projection,
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      for (const item of out.Items ?? []) items.push(map(item));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  private async deleteKey(pk: AttributeValue, sk: string): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: { pk, sk: s(sk) } }));
  }

  private async putUser(
    record: UserRecord,
    condition: string,
    values: Record<string, AttributeValue>,
    names: Record<string, string>,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: toItem(record),
          ConditionExpression: condition,
          ExpressionAttributeValues: Object.keys(values).length > 0 ? values : undefined,
          ExpressionAttributeNames: Object.keys(names).length > 0 ? names : undefined,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

function toItem(r: UserRecord): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    pk: s(userPk(r.pool)),
    sk: s(r.key),
    pool: s(r.pool),
    owner: s(r.owner),
    username: s(r.username),
    origin: s(r.origin),
    state: s(r.state),
    requestId: s(r.requestId),
    at: n(r.at),
  };
  if (r.cognitoUsername) item.cognitoUsername = s(r.cognitoUsername);
  if (r.sub) item.sub = s(r.sub);
  if (r.until !== undefined) item.until = n(r.until);
  if (r.applied) item.applied = s(JSON.stringify(r.applied));
  if (r.appliedAt !== undefined) item.appliedAt = n(r.appliedAt);
  if (r.pending) item.pending = s(JSON.stringify(r.pending));
  if (r.previousOwner) item.previousOwner = s(r.previousOwner);
  if (r.totp) item.totp = s(r.totp);
  return item;
}

function toUserRecord(item: Record<string, AttributeValue>): UserRecord {
  const applied = str(item, 'applied');
  const pending = str(item, 'pending');
  return {
    pool: str(item, 'pool') ?? '',
    key: str(item, 'sk') ?? '',
    owner: str(item, 'owner') ?? '',
    username: str(item, 'username') ?? '',
    cognitoUsername: str(item, 'cognitoUsername'),
    sub: str(item, 'sub'),
    origin: (str(item, 'origin') as Origin) ?? 'created',
    state: (str(item, 'state') as UserState) ?? 'present',
    requestId: str(item, 'requestId') ?? '',
    at: Number(item.at?.N ?? 0),
    until: item.until?.N === undefined ? undefined : Number(item.until.N),
    applied: applied ? (JSON.parse(applied) as AppliedSpec) : undefined,
    appliedAt: item.appliedAt?.N === undefined ? undefined : Number(item.appliedAt.N),
    pending: pending ? (JSON.parse(pending) as AppliedSpec) : undefined,
    previousOwner: str(item, 'previousOwner'),
    totp: str(item, 'totp') === 'enrolled' ? 'enrolled' : undefined,
  };
}

function requestItem(r: RequestRecord): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    pk: s(ownerPk(r.owner)),
    sk: s(`REQUEST#${r.requestId}`),
    type: s(r.type),
    since: n(r.since),
    stackId: s(r.stackId),
  };
  if (r.properties !== undefined) item.properties = s(r.properties);
  if (r.physicalResourceId !== undefined) item.physicalResourceId = s(r.physicalResourceId);
  if (r.key !== undefined) item.key = s(r.key);
  if (r.fence !== undefined) item.fence = n(r.fence);
  if (r.settling) item.settling = { BOOL: true };
  if (r.repair) item.repair = s(JSON.stringify(r.repair));
  return item;
}

function toRequest(item: Record<string, AttributeValue>): RequestRecord {
  const json = <T>(name: string): T | undefined => {
    const text = str(item, name);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  };
  return {
    owner: (str(item, 'pk') ?? '').slice('OWNER#'.length),
    requestId: (str(item, 'sk') ?? '').slice('REQUEST#'.length),
    type: (str(item, 'type') ?? 'Create') as RequestType,
    since: Number(item.since?.N ?? 0),
    stackId: str(item, 'stackId') ?? '',
    properties: str(item, 'properties'),
    physicalResourceId: str(item, 'physicalResourceId'),
    key: str(item, 'key'),
    fence: item.fence?.N === undefined ? undefined : Number(item.fence.N),
    progress: json<Progress>('progress'),
    outcome: json<Outcome>('outcome'),
    answered: item.answered?.BOOL === true,
    settling: item.settling?.BOOL === true,
    repair: json<RepairOptions>('repair'),
  };
}
