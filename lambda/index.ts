/**
 * The seeding Lambda. CloudFormation invokes it with a custom resource event; it answers
 * by PUT to the event's ResponseURL, always: on success, on any error, and from a guard
 * shortly before its own timeout. It never throws back to Lambda.
 */
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { CognitoPool } from './cognito';
import { describeError, Logger, Redactor } from './log';
import { StopSignal } from './pace';
import { PasswordReader } from './passwords';
import { parseProperties, SeedSpec } from './properties';
import { renderResponse, sendResponse } from './response';
import { UsersFileReader } from './users-file';
import { failedCreateId, onCreate, onDelete, onUpdate, physicalId, SeedDeps, SeedFailure, SeedResult } from './seed';

// SDK defaults throughout, so AWS_ENDPOINT_URL_* can point the clients at loopback.
const cognito = new CognitoIdentityProviderClient({});
const secretsManager = new SecretsManagerClient({});
const ssm = new SSMClient({});
// Path-style only when an endpoint override (a local rehearsal) cannot take bucket subdomains.
const usersFiles = new UsersFileReader(new S3Client({ forcePathStyle: !!process.env.AWS_ENDPOINT_URL_S3 }));

/** Time kept back from the function's timeout: stop new work, then answer. */
export function guardTimes(remainingMs: number): { stopAt: number; answerAt: number } {
  return {
    stopAt: Math.max(0, remainingMs - Math.min(60_000, remainingMs * 0.25)),
    answerAt: Math.max(0, remainingMs - Math.min(5_000, remainingMs * 0.1)),
  };
}

export async function handler(event: CloudFormationCustomResourceEvent, context?: Partial<Context>): Promise<void> {
  const started = Date.now();
  const redactor = new Redactor();
  redactor.add(event?.ResponseURL);
  const logger = new Logger(redactor);
  const signal = new StopSignal();
  const cleanupSignal = new StopSignal();
  const created = new Set<string>();
  let answered = false;

  const answer = async (status: 'SUCCESS' | 'FAILED', id: string, reason?: string, data?: Record<string, string>) => {
    if (answered) return;
    answered = true;
    const body = renderResponse({
      Status: status,
      Reason: reason === undefined ? undefined : redactor.redact(reason),
      PhysicalResourceId: id,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
      Data: data,
    });
    const delivered = await sendResponse(event.ResponseURL, body);
    logger.info({ response: status, delivered, physicalResourceId: id });
  };

  let spec: SeedSpec | undefined;
  const fallbackId = (): string => {
    if (event?.RequestType !== 'Create') return (event as { PhysicalResourceId?: string }).PhysicalResourceId ?? '';
    // Users left behind by an interrupted Create: keep an id whose Delete removes them.
    return spec && created.size > 0
      ? physicalId(spec.userPoolId, event.LogicalResourceId)
      : failedCreateId(event.RequestId);
  };

  const remaining = context?.getRemainingTimeInMillis?.() ?? 15 * 60 * 1000;
  const { stopAt, answerAt } = guardTimes(remaining);
  const stopTimer = setTimeout(() => signal.stop(), stopAt);
  const stopDeadline = Date.now() + stopAt;
  let answerTimer: NodeJS.Timeout | undefined;
  // Resolves once the guard has answered, so a call that never returns cannot hold the
  // invocation open until Lambda kills it.
  const guard = new Promise<void>((resolve) => {
    answerTimer = setTimeout(() => {
      cleanupSignal.stop();
      signal.stop();
      logger.error({ requestType: event?.RequestType, outcome: 'timeout', ms: Date.now() - started });
      answer(
        'FAILED',
        fallbackId(),
        `${event?.RequestType} did not finish before the function's timeout (${created.size} user(s) created by it not yet removed): raise the seeding rates or split the users across seeders`,
      ).finally(resolve);
    }, answerAt);
  });

  const work = async (): Promise<void> => {
    try {
      const deps: SeedDeps = {
        pool: (userPoolId, rates) => new CognitoPool(cognito, userPoolId, rates, signal),
        passwords: new PasswordReader(redactor, secretsManager, ssm),
        logger,
        redactor,
        signal,
        cleanupSignal,
        created,
        remainingMs: () => stopDeadline - Date.now(),
      };
      let result: SeedResult;
      switch (event.RequestType) {
        case 'Create':
          spec = parseProperties(await usersFiles.inline(event.ResourceProperties));
          result = await onCreate(spec, event.LogicalResourceId, event.RequestId, deps);
          break;
        case 'Update':
          spec = parseProperties(await usersFiles.inline(event.ResourceProperties));
          result = await onUpdate(
            parseProperties(await usersFiles.inline(event.OldResourceProperties)),
            spec,
            event.LogicalResourceId,
            event.PhysicalResourceId,
            deps,
          );
          break;
        case 'Delete':
          result = await deleteRequest(event.ResourceProperties, event.PhysicalResourceId, deps, logger, redactor);
          break;
        default:
          throw new Error(`unknown request type '${(event as { RequestType?: string })?.RequestType}'`);
      }
      const ms = Date.now() - started;
      logger.info({
        requestType: event.RequestType,
        outcome: 'SUCCESS',
        users: spec?.users.length,
        ...result.counts,
        ms,
        usersPerSecond: Math.round(((spec?.users.length ?? 0) / Math.max(ms, 1)) * 100_000) / 100,
      });
      const usersFile = (event.ResourceProperties as { UsersFile?: { ObjectArn?: string } }).UsersFile;
      await answer('SUCCESS', result.physicalResourceId, undefined, {
        UserPoolId: spec?.userPoolId ?? '',
        UserCount: String(spec?.users.length ?? 0),
        ...(usersFile?.ObjectArn ? { UsersObjectArn: usersFile.ObjectArn } : {}),
      });
    } catch (error) {
      const reason = describeError(error, redactor);
      logger.error({ requestType: event?.RequestType, outcome: 'FAILED', error: reason, ms: Date.now() - started });
      const id = error instanceof SeedFailure ? error.physicalResourceId : fallbackId();
      await answer(
        'FAILED',
        id || failedCreateId(event?.RequestId ?? 'unknown'),
        `${event?.RequestType} failed: ${reason}`,
      ).catch(() => undefined);
    }
  };

  try {
    await Promise.race([work(), guard]);
  } finally {
    clearTimeout(stopTimer);
    clearTimeout(answerTimer);
  }
}

/**
 * A Delete must not leave the stack stuck on properties it cannot read, or on a Create
 * that failed and was compensated: both are done with nothing to delete.
 */
async function deleteRequest(
  raw: unknown,
  currentId: string,
  deps: SeedDeps,
  logger: Logger,
  redactor: Redactor,
): Promise<SeedResult> {
  let spec: SeedSpec;
  try {
    spec = parseProperties(await usersFiles.inline(raw));
  } catch (error) {
    logger.error({ requestType: 'Delete', outcome: 'skipped', error: describeError(error, redactor) });
    return { physicalResourceId: currentId, counts: {} };
  }
  return onDelete(spec, currentId, deps);
}
