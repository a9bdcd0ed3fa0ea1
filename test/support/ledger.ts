// The ownership ledger for handler tests: a real in-memory DynamoDB (dynalite), a fresh
// table per test, and readers that show what the ledger records.
import { AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { LedgerDb, startLedgerDb } from '../../rehearsal/ledger-db';
import type { AppliedSpec } from '../../lambda/ledger';
import { createLedgerTable } from './manifest-fixture';

/** A user record as the ledger holds it (`USER#<pool>` items). */
export interface LedgerUser {
  readonly pool: string;
  readonly key: string;
  readonly owner: string;
  readonly username: string;
  readonly cognitoUsername?: string;
  readonly sub?: string;
  readonly origin: string;
  readonly state: string;
  readonly requestId: string;
  readonly applied?: AppliedSpec;
  readonly previousOwner?: string;
  readonly totp?: string;
}

/** A request record (`OWNER#<owner>` / `REQUEST#<id>`) with its outcome. */
export interface LedgerRequest {
  readonly owner: string;
  readonly requestId: string;
  readonly status: string;
  readonly physicalResourceId: string;
  readonly answered: boolean;
}

type Item = Record<string, string | number | boolean>;

const ENV = [
  'LEDGER_TABLE_NAME',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
];

export class TestLedger {
  private tables = 0;
  private table = '';

  private db?: LedgerDb;
  private client?: DynamoDBClient;
  private savedEnv: Record<string, string | undefined> = {};

  /**
   * Starts the database and points the handler at it. Call before the handler's first
   * invocation: it creates its DynamoDB client once, from these variables.
   */
  async start(): Promise<void> {
    this.db = await startLedgerDb();
    this.savedEnv = Object.fromEntries(ENV.map((name) => [name, process.env[name]]));
    process.env.AWS_ENDPOINT_URL_DYNAMODB = this.db.endpoint;
    process.env.AWS_REGION = 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    this.client = new DynamoDBClient({
      endpoint: this.db.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  }

  private get dynamodb(): DynamoDBClient {
    if (!this.client) throw new Error('TestLedger: start() it first');
    return this.client;
  }

  /** Creates an empty table, as the construct does, and makes it the handler's ledger. */
  async freshTable(): Promise<string> {
    const name = `ledger-${++this.tables}`;
    await createLedgerTable(this.dynamodb, name);
    this.table = name;
    process.env.LEDGER_TABLE_NAME = name;
    return name;
  }

  /** Every item of the current table, flattened to plain values. */
  async items(): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.dynamodb.send(new ScanCommand({ TableName: this.table, ExclusiveStartKey: start }));
      for (const item of out.Items ?? []) {
        items.push(
          Object.fromEntries(
            Object.entries(item).map(([k, v]) => [k, v.S ?? (v.N !== undefined ? Number(v.N) : (v.BOOL ?? ''))]),
          ),
        );
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** The user records: who holds which user of which pool, and how. */
  async users(): Promise<LedgerUser[]> {
    return (await this.items())
      .filter((i) => String(i.pk).startsWith('USER#'))
      .map((i) => ({
        pool: String(i.pool),
        key: String(i.sk),
        owner: String(i.owner),
        username: String(i.username),
        cognitoUsername: i.cognitoUsername === undefined ? undefined : String(i.cognitoUsername),
        sub: i.sub === undefined ? undefined : String(i.sub),
        origin: String(i.origin),
        state: String(i.state),
        requestId: String(i.requestId),
        applied: i.applied === undefined ? undefined : (JSON.parse(String(i.applied)) as AppliedSpec),
        previousOwner: i.previousOwner === undefined ? undefined : String(i.previousOwner),
        totp: i.totp === undefined ? undefined : String(i.totp),
      }))
      .sort((a, b) => `${a.pool}/${a.key}`.localeCompare(`${b.pool}/${b.key}`));
  }

  /** The usernames the ledger holds, `<pool>/<username>` when `withPool`. */
  async usernames(withPool = false): Promise<string[]> {
    return (await this.users()).map((u) => (withPool ? `${u.pool}/${u.username}` : u.username));
  }

  /** The requests the ledger records, with their outcomes and whether they were answered. */
  async requests(): Promise<LedgerRequest[]> {
    return (await this.items())
      .filter((i) => String(i.sk).startsWith('REQUEST#'))
      .map((i) => {
        const outcome = i.outcome === undefined ? undefined : (JSON.parse(String(i.outcome)) as Record<string, string>);
        return {
          owner: String(i.pk).slice('OWNER#'.length),
          requestId: String(i.sk).slice('REQUEST#'.length),
          status: outcome?.status ?? '',
          physicalResourceId: outcome?.physicalResourceId ?? '',
          answered: i.answered === true,
        };
      });
  }

  /** Pools where a failed request left users for the next request to remove. */
  async pending(): Promise<{ owner: string; pool: string; requestId: string }[]> {
    return (await this.items())
      .filter((i) => String(i.sk).startsWith('PENDING#'))
      .map((i) => ({
        owner: String(i.pk).slice('OWNER#'.length),
        pool: String(i.pool),
        requestId: String(i.requestId),
      }));
  }

  async stop(): Promise<void> {
    this.client?.destroy();
    await this.db?.stop();
    for (const [name, value] of Object.entries(this.savedEnv)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
