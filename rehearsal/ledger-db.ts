/**
 * An embedded DynamoDB (dynalite, pinned in devDependencies) for the ownership ledger:
 * in memory, on a free loopback port, its conditional writes behaving as DynamoDB's.
 */
import type { AddressInfo } from 'net';

export interface LedgerDb {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  stop(): Promise<void>;
}

interface DynaliteServer {
  listen(port: number, host: string, callback: () => void): void;
  address(): AddressInfo;
  close(callback: () => void): void;
}

export async function startLedgerDb(): Promise<LedgerDb> {
  // dynalite ships no types; it is a plain http.Server factory.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require('dynalite') as (options: Record<string, number>) => DynaliteServer;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    stop: () => (stopped ??= new Promise<void>((resolve) => server.close(() => resolve()))),
  };
}
