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
