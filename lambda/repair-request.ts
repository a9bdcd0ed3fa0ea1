/**
 * A repair asked for outside CloudFormation (the testing module, the CLI, a schedule, a
 * password source that changed): checked, recorded in the ledger under the resource's
 * current fence, and run as an execution of the stack's state machine like any request.
 * It names no password, no source and no adoption: it can only put back what the ledger
 * says the seeder last applied. A CloudFormation request that arrives meanwhile moves the
 * fence and stops it; one that is running makes it wait its turn (refused, to ask again).
 */
import { randomUUID } from 'crypto';
import { STACK_ID_ENV } from '../lib/private/contract';
import { openLedger } from './clients';
import { templateProperties } from './cloudformation';
import type { RepairAnswer } from '../lib/private/contract';
import { executionName, startExecution } from './engine';
import type { RequestRecord } from './ledger';
import { describeError, Logger, Redactor } from './log';
import type { PasswordPolicy, RepairOptions } from './seed';

/** What an invocation of the function may ask for. */
export interface RepairInput {
  readonly kind: 'repair';
  /** The seed resource's logical id. */
  readonly seeder: string;
  /** Only these users (the seeded usernames); all the ledger holds when absent. */
  readonly usernames?: string[];
  readonly dryRun?: boolean;
  /** `always`: set every password again, even when nothing says it changed. */
  readonly passwords?: PasswordPolicy;
  /** How long to wait for the report before answering RUNNING (0 for an event). @default 50 */
  readonly waitSeconds?: number;
}

export interface RepairStatusInput {
  readonly kind: 'repair-status';
  readonly seeder: string;
  readonly repairId: string;
}

export type { RepairAnswer };

const FIELDS = new Set(['kind', 'seeder', 'usernames', 'dryRun', 'passwords', 'waitSeconds']);

/** Why a repair request is not one to act on; undefined when it is. */
export function repairRefusal(input: Record<string, unknown>): string | undefined {
  const extra = Object.keys(input).filter((k) => !FIELDS.has(k));
  if (extra.length > 0) return `a repair takes no ${extra.join(', ')}: it only puts back what the seeder applied`;
  if (typeof input.seeder !== 'string' || !/^[A-Za-z0-9]{1,255}$/.test(input.seeder)) {
    return 'seeder must be the logical id of a seed resource of this stack';
  }
  if (
    input.usernames !== undefined &&
    (!Array.isArray(input.usernames) || input.usernames.some((u) => typeof u !== 'string' || u === ''))
  ) {
    return 'usernames must be a list of seeded usernames';
  }
  if (input.dryRun !== undefined && typeof input.dryRun !== 'boolean') return 'dryRun must be true or false';
  if (input.passwords !== undefined && input.passwords !== 'always' && input.passwords !== 'changed') {
    return "passwords must be 'always' or 'changed'";
  }
  if (input.waitSeconds !== undefined && (typeof input.waitSeconds !== 'number' || input.waitSeconds < 0)) {
    return 'waitSeconds must be a number of seconds';
  }
  return undefined;
}

/** Checks, records and starts a repair, and waits a little for its report. */
export async function requestRepair(input: RepairInput, remainingMs: number): Promise<RepairAnswer> {
  const logger = new Logger();
  const refusal = repairRefusal(input as unknown as Record<string, unknown>);
  if (refusal) {
    logger.error({ outcome: 'refused-repair', rule: refusal });
    return { status: 'REFUSED', reason: refusal };
  }
  const ledger = openLedger();
  const owner = input.seeder;
  const applied = await ledger.lastApplied(owner);
  if (!applied) {
    return {
      status: 'REFUSED',
      reason: `seed resource ${owner} has applied nothing (it was never deployed, or not with this version): deploy it first`,
    };
  }
  const fence = await ledger.getFence(owner);
  const current = fence.requestId ? await ledger.getRequest(owner, fence.requestId) : undefined;
  if (current && !current.outcome) {
    return {
      status: 'REFUSED',
      reason: `a ${current.type} of seed resource ${owner} is running: ask again once it has finished (a repair never runs beside one)`,
    };
  }
  const spec = JSON.parse(applied) as Record<string, unknown>;
  const stackId = process.env[STACK_ID_ENV] ?? '';
  const skipped = await fillPlainText(spec, stackId, owner);
  const repairId = `repair-${randomUUID()}`;
  const options: RepairOptions = {
    usernames: input.usernames,
    dryRun: input.dryRun === true,
    passwords: input.passwords ?? 'changed',
    skipped,
  };
  const record: RequestRecord = {
    owner,
    requestId: repairId,
    type: 'Repair',
    since: Date.now(),
    stackId,
    properties: JSON.stringify(spec),
    fence: fence.fence,
    repair: options,
  };
  await ledger.recordRequest(record);
  try {
    await startExecution(String(spec.StateMachineArn), executionName(owner, repairId), {
      request: { owner, requestId: repairId, answerTo: '' },
      cursor: null,
      done: false,
      failure: null,
    });
  } catch (error) {
    const reason = `the repair could not be started on the stack's state machine (${describeError(error, new Redactor())})`;
    await ledger.updateRequest(owner, repairId, {
      outcome: { status: 'FAILED', physicalResourceId: '', reason },
      answered: true,
    });
    return { status: 'FAILED', repairId, reason };
  }
  logger.info({ outcome: 'repair-started', seeder: owner, repairId, dryRun: options.dryRun });
  const until = Date.now() + Math.min((input.waitSeconds ?? 50) * 1000, Math.max(0, remainingMs - 10_000));
  return waitForReport(owner, repairId, until);
}

/** Where a repair stands: its report once done. */
export async function repairStatus(input: RepairStatusInput): Promise<RepairAnswer> {
  if (typeof input.seeder !== 'string' || typeof input.repairId !== 'string' || !input.repairId.startsWith('repair-')) {
    return { status: 'REFUSED', reason: 'repair-status needs the seeder and the repairId a repair answered' };
  }
  return waitForReport(input.seeder, input.repairId, Date.now());
}

async function waitForReport(owner: string, repairId: string, until: number): Promise<RepairAnswer> {
  const ledger = openLedger();
  for (;;) {
    const record = await ledger.getRequest(owner, repairId);
    if (!record || record.type !== 'Repair') return { status: 'REFUSED', reason: `no repair ${repairId} of ${owner}` };
    const outcome = record.outcome;
    if (outcome && record.answered) {
      return {
        status: outcome.status === 'SUCCESS' ? 'SUCCEEDED' : 'FAILED',
        repairId,
        reason: outcome.reason,
        report: outcome.report,
      };
    }
    // A CloudFormation request of the seeder moved the fence: it stopped the repair's
    // execution, whose Answer may then never run.
    const fence = await ledger.getFence(owner);
    if (record.fence !== undefined && fence.fence > record.fence) {
      return {
        status: 'FAILED',
        repairId,
        reason: `a ${fence.requestId ? 'CloudFormation request' : 'newer request'} of seed resource ${owner} stopped the repair (a repair never runs beside a deploy): ask again once it has finished`,
      };
    }
    if (Date.now() >= until) return { status: 'RUNNING', repairId };
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/**
 * Puts back the plain-text passwords (unsafePlainText) the ledger does not keep, from the
 * template where they are; a user whose value is not there is left out of the repair.
 */
async function fillPlainText(spec: Record<string, unknown>, stackId: string, owner: string): Promise<string[]> {
  const users = spec.Users as { Username?: string; Password?: { Source?: string; Value?: unknown } }[] | undefined;
  if (!Array.isArray(users) || !users.some((u) => u?.Password?.Source === 'plaintext')) return [];
  const template = await templateProperties(stackId, owner).catch(() => ({ found: false, properties: undefined }));
  const given = new Map(
    (((template.properties as { Users?: unknown })?.Users ?? []) as typeof users).map((u) => [
      u?.Username,
      u?.Password?.Value,
    ]),
  );
  const skipped: string[] = [];
  spec.Users = users.flatMap((u) => {
    if (u?.Password?.Source !== 'plaintext') return [u];
    const value = given.get(u.Username);
    if (typeof value === 'string') return [{ ...u, Password: { Source: 'plaintext', Value: value } }];
    skipped.push(String(u.Username));
    return [];
  });
  return skipped;
}
