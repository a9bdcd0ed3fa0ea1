/**
 * The answer to CloudFormation: a PUT of the response JSON to the event's pre-signed
 * ResponseURL, retried if it fails. The URL itself is never logged.
 */
import * as http from 'http';
import * as https from 'https';

export interface CfnResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly NoEcho?: boolean;
  readonly Data?: Record<string, string>;
}

/** CloudFormation rejects a response body over 4,096 bytes; the Reason gives way. */
const MAX_BODY_BYTES = 4096;

export function renderResponse(response: CfnResponse): string {
  let body = JSON.stringify(response);
  if (Buffer.byteLength(body) <= MAX_BODY_BYTES) return body;
  const reason = response.Reason ?? '';
  const excess = Buffer.byteLength(body) - MAX_BODY_BYTES + 20;
  const kept = reason.slice(0, Math.max(0, reason.length - excess));
  body = JSON.stringify({ ...response, Reason: `${kept} ...(truncated)` });
  return body;
}

export interface SendOptions {
  readonly attempts?: number;
  readonly baseDelayMs?: number;
  readonly timeoutMs?: number;
}

/** PUTs `body` to `url`, retrying with backoff; resolves true once CloudFormation took it. */
export async function sendResponse(url: string, body: string, options: SendOptions = {}): Promise<boolean> {
  const attempts = options.attempts ?? 5;
  const baseDelay = options.baseDelayMs ?? 200;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      await put(url, body, options.timeoutMs ?? 10_000);
      return true;
    } catch {
      // The URL is pre-signed and must not be logged; the caller logs the outcome only.
      if (attempt < attempts) await new Promise((r) => setTimeout(r, baseDelay * 2 ** (attempt - 1)));
    }
  }
  return false;
}

function put(url: string, body: string, timeoutMs: number): Promise<void> {
  const target = new URL(url);
  const transport = target.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      target,
      {
        method: 'PUT',
        headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) resolve();
          else reject(new Error(`response PUT answered HTTP ${code}`));
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('response PUT timed out')));
    request.on('error', reject);
    request.end(body);
  });
}
