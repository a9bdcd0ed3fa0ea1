/**
 * Which events the seeding function acts on: only those its own stack's CloudFormation
 * sends for its own seed resources. Anyone allowed to invoke the function could otherwise
 * hand it a forged event (adopt an existing user, set its password) and a ResponseURL of
 * their choice. A refused event is neither acted on nor answered: its ResponseURL is not
 * trusted, so nothing is sent there.
 */
import type { Context } from 'aws-lambda';
import { ALLOW_LOOPBACK_ENV, SEED_RESOURCE_TYPE, STACK_ID_ENV } from '../lib/private/contract';

const REQUEST_TYPES = new Set(['Create', 'Update', 'Delete']);

/** The rule a ResponseURL that is not CloudFormation's breaks. */
export const RESPONSE_URL_RULE = "ResponseURL is not on CloudFormation's response bucket for the stack's region";

/**
 * Whether `url` is on CloudFormation's response bucket for `region`
 * (`cloudformation-custom-resource-response-<region without dashes>`), in S3's
 * virtual-hosted, regional, legacy dash-region or path style: no other bucket, no access
 * point, no other host whose name merely starts with `s3`.
 */
function onResponseBucket(url: URL, region: string): boolean {
  const escaped = region.replace(/[^a-z0-9-]/g, '');
  const bucket = `cloudformation-custom-resource-response-${escaped.replace(/-/g, '')}`;
  const suffix = region.startsWith('cn-') ? '\\.amazonaws\\.com\\.cn' : '\\.amazonaws\\.com';
  const s3 = `s3(?:[.-](?:${escaped}|external-1))?${suffix}`;
  if (new RegExp(`^${bucket}\\.${s3}$`).test(url.hostname)) return true;
  return new RegExp(`^${s3}$`).test(url.hostname) && url.pathname.startsWith(`/${bucket}/`);
}

/** The rule an event breaks, or undefined when it is one to act on. Never quotes the event. */
export function refusalOf(
  event: unknown,
  context: Partial<Context> | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const e = (event ?? {}) as Record<string, unknown>;
  if (typeof e !== 'object' || !REQUEST_TYPES.has(String(e.RequestType))) {
    return 'RequestType is not Create, Update or Delete';
  }
  if (e.ResourceType !== SEED_RESOURCE_TYPE) return `ResourceType is not ${SEED_RESOURCE_TYPE}`;
  if (typeof e.RequestId !== 'string' || e.RequestId === '') return 'the event has no RequestId';
  if (typeof e.LogicalResourceId !== 'string' || e.LogicalResourceId === '') {
    return 'the event has no LogicalResourceId';
  }
  const ownStack = env[STACK_ID_ENV];
  if (!ownStack) return `the function has no ${STACK_ID_ENV}, so it cannot tell its own stack's events`;
  if (e.StackId !== ownStack) return "StackId is not the function's own stack";
  const ownFunction = unqualified(context?.invokedFunctionArn) ?? env.AWS_LAMBDA_FUNCTION_NAME;
  if (!ownFunction) return 'the function cannot tell its own ARN';
  const token = unqualified(typeof e.ServiceToken === 'string' ? e.ServiceToken : undefined);
  const matches = ownFunction.startsWith('arn:') ? token === ownFunction : token?.split(':')[6] === ownFunction;
  if (!matches) return 'ServiceToken is not this function';
  const region = ownStack.split(':')[3] ?? '';
  if (!trustedResponseUrl(e.ResponseURL, region, env[ALLOW_LOOPBACK_ENV] === 'true')) return RESPONSE_URL_RULE;
  return undefined;
}

/** A Lambda function ARN without its version or alias; undefined for anything else. */
function unqualified(arn: string | undefined): string | undefined {
  const parts = arn?.split(':');
  if (!parts || parts.length < 7 || parts[0] !== 'arn' || parts[2] !== 'lambda' || parts[5] !== 'function') {
    return undefined;
  }
  return parts.slice(0, 7).join(':');
}

function trustedResponseUrl(value: unknown, region: string, allowLoopback: boolean): boolean {
  if (typeof value !== 'string') return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  if (url.protocol === 'https:' && url.port === '' && onResponseBucket(url, region)) return true;
  return allowLoopback && url.protocol === 'http:' && url.hostname === '127.0.0.1';
}
