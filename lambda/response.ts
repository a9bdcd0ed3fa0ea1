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
  const body = JSON.stringify(response);
  if (Buffer.byteLength(body) <= MAX_BODY_BYTES) return body;
  // Bytes are what CloudFormation counts; characters (code points) are what may be cut,
  // so multi-byte text is never broken. The longest prefix that fits wins.
  const chars = Array.from(response.Reason ?? '');
  const render = (n: number) => JSON.stringify({ ...response, Reason: `${chars.slice(0, n).join('')}${TRUNCATED}` });
  let low = 0;
  let high = chars.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (Buffer.byteLength(render(mid)) <= MAX_BODY_BYTES) low = mid;
    else high = mid - 1;
  }
  return render(low);
}

const TRUNCATED = ' ...(truncated)';

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

/**
 * One PUT that settles, whatever the socket does: a 2xx response read to its end
 * resolves; an error, a reset, a socket closed before the response ended (headers sent
 * then dropped, a half-sent body) or the overall deadline rejects. `timeoutMs` bounds the
 * whole exchange, not just idleness, so a server that trickles bytes cannot hold it open.
 */
function put(url: string, body: string, timeoutMs: number): Promise<void> {
  const target = new URL(url);
  const transport = target.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (error) {
        request.destroy();
        reject(error);
      } else {
        resolve();
      }
    };
    const request = transport.request(
      target,
      {
        method: 'PUT',
        headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) },
        timeout: timeoutMs,
      },
      (res) => {
        res.on('error', (e) => settle(e));
        res.on('aborted', () => settle(new Error('response PUT: the connection dropped mid-response')));
        res.on('close', () => {
          if (!res.complete) settle(new Error('response PUT: the connection closed before the response ended'));
        });
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) settle();
          else settle(new Error(`response PUT answered HTTP ${code}`));
        });
        res.resume();
      },
    );
    const deadline = setTimeout(() => settle(new Error('response PUT timed out')), timeoutMs);
    request.on('timeout', () => settle(new Error('response PUT timed out')));
    request.on('error', (e) => settle(e));
    request.on('close', () => settle(new Error('response PUT: the connection closed before a response')));
    request.end(body);
  });
}
