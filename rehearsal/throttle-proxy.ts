/**
 * A loopback proxy in front of the emulator that answers a share of calls with
 * TooManyRequestsException, as Cognito does past its quotas, can fail chosen calls as a
 * Cognito-side fault, can lose a call's response after Cognito acted on it, and forwards
 * the rest. Which calls are throttled follows a fixed seed, so runs repeat.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

/** Cognito's default quotas (calls per second) and the operations that share each. */
export const DEFAULT_QUOTAS: Record<string, { rate: number; targets: string[] }> = {
  UserCreation: { rate: 50, targets: ['AdminCreateUser'] },
  UserAccountRecovery: { rate: 30, targets: ['AdminSetUserPassword', 'AdminResetUserPassword'] },
  UserUpdate: {
    rate: 25,
    targets: [
      'AdminAddUserToGroup',
      'AdminRemoveUserFromGroup',
      'AdminUpdateUserAttributes',
      'AdminDeleteUserAttributes',
      'AdminDeleteUser',
      'AdminEnableUser',
      'AdminDisableUser',
    ],
  },
  UserRead: { rate: 120, targets: ['AdminGetUser', 'AdminListGroupsForUser'] },
  UserList: { rate: 30, targets: ['ListUsers'] },
  UserPoolRead: { rate: 15, targets: ['DescribeUserPool'] },
  // 20 a second per account; 5 a second per pool, which is what one seeder meets.
  UserPoolResourceRead: { rate: 5, targets: ['GetGroup'] },
  UserAuthentication: { rate: 120, targets: ['AdminInitiateAuth', 'AdminRespondToAuthChallenge', 'InitiateAuth'] },
  UserResourceUpdate: {
    rate: 25,
    targets: ['AssociateSoftwareToken', 'VerifySoftwareToken', 'SetUserMFAPreference', 'AdminSetUserMFAPreference'],
  },
};

/** Writes to one user: Cognito allows 10 a second per user, whatever the category. */
const PER_USER_WRITES = 10;
const USER_WRITES = new Set([
  'AdminCreateUser',
  'AdminSetUserPassword',
  'AdminResetUserPassword',
  ...DEFAULT_QUOTAS.UserUpdate.targets,
  'AdminSetUserMFAPreference',
]);

/** A token bucket: `rate` a second, holding up to one second's worth. */
class Bucket {
  private tokens: number;
  private last = Date.now();
  constructor(private readonly rate: number) {
    this.tokens = rate;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class ThrottleProxy {
  /** Calls answered with TooManyRequestsException, and forwarded, by target. */
  readonly throttled: Record<string, number> = {};
  readonly forwarded: Record<string, number> = {};
  /** Calls forwarded (and so acted on) whose response was replaced with HTTP 500, by target. */
  readonly lost: Record<string, number> = {};
  private server?: http.Server;
  private seed = 0x2f6b1d;
  private readonly faults: { target: string; username: string; error: string }[] = [];
  private readonly losses: { target: string; username: string; times: number }[] = [];
  private readonly buckets = new Map<string, Bucket>();
  /** Cognito's 10 writes a second to one user, enforced with the quotas. */
  private perUser = false;
  private readonly userBuckets = new Map<string, Bucket>();

  /** Milliseconds every forwarded call waits before it is answered: Cognito's latency, far from here. */
  latencyMs = 0;

  constructor(
    private readonly upstream: string,
    private readonly share: number,
  ) {}

  /** Enforces per-category quotas as Cognito does: a call past its category's rate is throttled. */
  enforceQuotas(quotas: Record<string, { rate: number; targets: string[] }> = DEFAULT_QUOTAS): void {
    for (const { rate, targets } of Object.values(quotas)) {
      const bucket = new Bucket(rate);
      for (const target of targets) this.buckets.set(target, bucket);
    }
    this.perUser = true;
  }

  /** Called for every call the proxy forwards (lets a benchmark follow a rate over time). */
  onForwarded?: (target: string, username: string | undefined) => void;

  /** Called for every call the proxy answers with TooManyRequestsException. */
  onThrottled?: (target: string, username: string | undefined) => void;

  /** Answers every `target` call for `username` with `error` (a Cognito-side fault). */
  failOn(target: string, username: string, error = 'InternalErrorException'): void {
    this.faults.push({ target, username, error });
  }

  /**
   * Forwards the next `times` `target` calls for `username` (so Cognito acts on them) but
   * answers the client HTTP 500 InternalErrorException, as when a response is lost on the
   * way back: the SDK retries, and the retry meets what the first call did (for
   * AdminCreateUser, UsernameExistsException).
   */
  loseResponse(target: string, username: string, times = 1): void {
    this.losses.push({ target, username, times });
  }

  /**
   * Runs `hook` once, before the next `target` call for `username` is forwarded: what
   * someone else does at that very moment (another stack creating the same username).
   */
  before(target: string, username: string, hook: () => Promise<void>): void {
    this.hooks.push({ target, username, hook });
  }

  /** Never forwards or answers `target` calls for `username`: a call that is lost on the way there. */
  drop(target: string, username: string): void {
    this.dropped.push({ target, username });
  }

  private readonly hooks: { target: string; username: string; hook: () => Promise<void> }[] = [];
  private readonly dropped: { target: string; username: string }[] = [];

  async start(): Promise<void> {
    const upstream = new URL(this.upstream);
    this.server = http.createServer((req, res) => {
      const target =
        String(req.headers['x-amz-target'] ?? '')
          .split('.')
          .pop() ?? '';
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', async () => {
        const body = Buffer.concat(chunks).toString();
        const username = body ? (JSON.parse(body) as { Username?: string }).Username : undefined;
        if (this.dropped.some((d) => d.target === target && d.username === username)) return;
        const hook = this.hooks.findIndex((h) => h.target === target && h.username === username);
        if (hook >= 0) await this.hooks.splice(hook, 1)[0].hook();
        const fault = this.faults.find((f) => f.target === target && f.username === username);
        if (fault) {
          res
            .writeHead(500, { 'content-type': 'application/x-amz-json-1.1' })
            .end(JSON.stringify({ __type: fault.error, message: `injected by the rehearsal proxy` }));
          return;
        }
        const bucket = this.buckets.get(target);
        let userBucket: Bucket | undefined;
        if (this.perUser && username !== undefined && USER_WRITES.has(target)) {
          userBucket = this.userBuckets.get(username) ?? new Bucket(PER_USER_WRITES);
          this.userBuckets.set(username, userBucket);
        }
        if ((bucket && !bucket.take()) || (userBucket && !userBucket.take()) || this.next() < this.share) {
          this.throttled[target] = (this.throttled[target] ?? 0) + 1;
          this.onThrottled?.(target, username);
          res
            .writeHead(400, { 'content-type': 'application/x-amz-json-1.1' })
            .end(JSON.stringify({ __type: 'TooManyRequestsException', message: 'Too many requests' }));
          return;
        }
        this.forwarded[target] = (this.forwarded[target] ?? 0) + 1;
        this.onForwarded?.(target, username);
        if (this.latencyMs > 0) {
          setTimeout(() => this.forward(upstream, req, res, target, body, username), this.latencyMs);
          return;
        }
        this.forward(upstream, req, res, target, body, username);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  private forward(
    upstream: URL,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    target: string,
    body: string,
    username: string | undefined,
  ): void {
    const loss = this.losses.find((l) => l.target === target && l.username === username && l.times > 0);
    if (loss) loss.times--;
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        if (loss) {
          up.resume();
          up.on('end', () => {
            this.lost[target] = (this.lost[target] ?? 0) + 1;
            res.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' }).end(
              JSON.stringify({
                __type: 'InternalErrorException',
                message: 'response lost by the rehearsal proxy',
              }),
            );
          });
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => res.writeHead(502).end());
    forward.end(body);
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  get throttledTotal(): number {
    return Object.values(this.throttled).reduce((a, b) => a + b, 0);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }

  /** A small seeded PRNG (mulberry32): a repeatable sequence in [0, 1). */
  private next(): number {
    let t = (this.seed += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
