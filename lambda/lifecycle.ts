/**
 * A request's lifecycle on one seed resource, kept in the ledger: it is recorded at its
 * first delivery and takes the next fence number; each slice of its work first takes the
 * resource (one request's work at a time), and lets go once the request is done or
 * superseded. A newer request moves the fence: the older one's running slice sees it within
 * seconds (`FenceWatch`), lets its calls land and lets go; the newer one waits for exactly
 * that, or for the older execution to have ended, never for a clock.
 */
import { randomBytes } from 'crypto';
import { executionArn, executionName, executionStatus, stopExecution } from './engine';
import type { Fence, Ledger, RequestRecord, RequestType } from './ledger';
import type { Logger } from './log';
import type { StopSignal } from './pace';

/** What CloudFormation sent, as the lifecycle needs it. */
export interface Delivery {
  readonly owner: string;
  readonly requestId: string;
  readonly type: RequestType;
  readonly stackId: string;
  readonly properties: unknown;
  readonly physicalResourceId?: string;
  /** A rollback or a cleanup (see RequestRecord.settling). */
  readonly settling?: boolean;
}

/**
 * Records a delivery's request (once, whichever delivery is first) and gives it the next
 * fence number (once). Returns the request as recorded; a later delivery gets the same.
 */
export async function admit(ledger: Ledger, delivery: Delivery, now: number): Promise<RequestRecord> {
  const { owner, requestId } = delivery;
  let record = await ledger.getRequest(owner, requestId);
  if (!record) {
    await ledger.recordRequest({
      owner,
      requestId,
      type: delivery.type,
      since: now,
      stackId: delivery.stackId,
      properties: JSON.stringify(delivery.properties ?? {}),
      physicalResourceId: delivery.physicalResourceId,
      settling: delivery.settling,
      key: randomBytes(32).toString('base64'),
    });
    record = (await ledger.getRequest(owner, requestId)) as RequestRecord;
  }
  if (record.fence !== undefined) return record;
  let fence: Fence;
  for (;;) {
    fence = await ledger.getFence(owner);
    // A twin delivery took it first.
    if (fence.requestId === requestId) break;
    if (await ledger.bumpFence(owner, fence.fence, requestId)) {
      fence = { fence: fence.fence + 1, requestId };
      break;
    }
  }
  await ledger.updateRequest(owner, requestId, { fence: fence.fence });
  return { ...record, fence: fence.fence };
}

/** How long a slice of the function can outlive the execution that a person stopped by hand. */
export const SLICE_MAX_MS = 15 * 60 * 1000 + 60 * 1000;

/** How often a waiting slice looks again, and a working slice reads the fence. */
export const POLL_MS = 1_000;

export type SliceStart = 'own' | 'superseded' | 'waiting';

/**
 * Takes the resource's work for the request: 'own' once it holds it, 'superseded' when a
 * newer request moved the fence, 'waiting' when an older request still holds it at
 * `until`. An older holder whose execution has ended (so has its last slice) is let go of
 * here; one that is still running lets go itself once it sees the fence. A holder whose
 * execution a person stopped by hand is let go of once its slice cannot be running any more.
 */
export async function takeResource(
  ledger: Ledger,
  record: RequestRecord,
  machineArn: string,
  until: number,
  logger: Logger,
): Promise<SliceStart> {
  const { owner, requestId } = record;
  let waitedFor: string | undefined;
  for (;;) {
    if ((await ledger.getFence(owner)).fence !== record.fence) {
      await ledger.releaseSlice(owner, requestId);
      return 'superseded';
    }
    const holder = await ledger.takeSlice(owner, requestId, Date.now());
    if (!holder) {
      // Taken: the fence is read again after, so a newer request that moved it before we
      // took the resource is seen now, and one that moves it later waits for us.
      if ((await ledger.getFence(owner)).fence !== record.fence) {
        await ledger.releaseSlice(owner, requestId);
        return 'superseded';
      }
      if (waitedFor) await stopOlder(machineArn, owner, waitedFor, requestId, logger);
      return 'own';
    }
    if (holder.requestId === '') continue;
    waitedFor = holder.requestId;
    const status = await executionStatus(executionArn(machineArn, executionName(owner, holder.requestId)));
    const ended = status !== 'RUNNING' && status !== 'ABORTED';
    const abortedLongAgo = status === 'ABORTED' && Date.now() > holder.since + SLICE_MAX_MS;
    if (ended || abortedLongAgo) {
      logger.info({
        request: requestId,
        outcome: 'took-over-resource',
        from: holder.requestId,
        status: status ?? 'none',
      });
      await ledger.breakSlice(owner, holder);
      continue;
    }
    if (Date.now() + POLL_MS >= until) return 'waiting';
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Stops the execution of a request this one superseded, once its slice has let go: it
 * schedules no slice or retry after that. It was not answered: CloudFormation sends a
 * newer request on a resource only once it no longer waits for the older one.
 */
async function stopOlder(machineArn: string, owner: string, older: string, by: string, logger: Logger): Promise<void> {
  const arn = executionArn(machineArn, executionName(owner, older));
  try {
    if ((await executionStatus(arn)) !== 'RUNNING') return;
    await stopExecution(arn, `superseded by request ${by} on the same resource`);
    logger.info({ request: by, outcome: 'stopped-older-execution', older });
  } catch (error) {
    // Its slices stop by themselves at the fence; stopping it only saves their retries.
    logger.info({ request: by, outcome: 'older-execution-not-stopped', older, error: (error as Error)?.name });
  }
}

/**
 * Reads the fence every POLL_MS while a slice works; when a newer request has moved it,
 * raises the signals (no new call starts, what is in flight lands) and says so.
 */
export class FenceWatch {
  private timer?: NodeJS.Timeout;
  private movedFlag = false;

  constructor(
    private readonly ledger: Ledger,
    private readonly owner: string,
    private readonly fence: number,
    private readonly signals: readonly StopSignal[],
  ) {}

  get moved(): boolean {
    return this.movedFlag;
  }

  start(): this {
    const look = async (): Promise<void> => {
      try {
        if ((await this.ledger.getFence(this.owner)).fence !== this.fence) {
          this.movedFlag = true;
          for (const s of this.signals) s.stop();
          return;
        }
      } catch {
        // A read that failed is tried again at the next look.
      }
      if (this.timer !== undefined) this.timer = setTimeout(look, POLL_MS);
    };
    this.timer = setTimeout(look, POLL_MS);
    return this;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
