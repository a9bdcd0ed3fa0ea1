/**
 * The seeding function. It only dispatches on what arrives: a CloudFormation event (check
 * it, record it, start its execution: lambda/protocol.ts), a `Work` slice of a request
 * (lambda/work.ts) or its `Answer` (lambda/protocol.ts), both from the stack's state machine;
 * a repair asked for by a test runner, a schedule or a changed password source
 * (lambda/repair-request.ts); a step of a generated password's rotation, from Secrets
 * Manager (lambda/rotation.ts).
 *
 * The same bundle is also the seeding function's asynchronous failure destination, a
 * function of its own whose handler is `index.onFailure` (lambda/failure-answer.ts): it
 * answers CloudFormation for an event every attempt of the seeding function failed at.
 */
import type { Context } from 'aws-lambda';
import { ANSWER_TASK, WORK_TASK } from '../lib/private/contract';
import { AnswerInput, answerTask, receive } from './protocol';
import { RepairInput, repairStatus, RepairStatusInput, requestRepair } from './repair-request';
import { isRotationEvent, rotate } from './rotation';
import { WorkInput, workTask } from './work';

export { onFailure } from './failure-answer';

export async function handler(event: unknown, context?: Partial<Context>): Promise<unknown> {
  const kind = (event as { kind?: unknown } | null)?.kind;
  if (kind === WORK_TASK) return workTask(event as WorkInput, context);
  if (kind === ANSWER_TASK) return answerTask(event as AnswerInput);
  if (kind === 'repair') return requestRepair(event as RepairInput, context?.getRemainingTimeInMillis?.() ?? 60_000);
  if (kind === 'repair-status') return repairStatus(event as RepairStatusInput);
  if (isRotationEvent(event)) return rotate(event, context?.getRemainingTimeInMillis?.() ?? 60_000);
  return receive(event, context);
}
