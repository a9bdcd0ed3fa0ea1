import { ComposedError } from './log';

/**
 * Pacing for calls against Cognito's per-account quotas: a bounded worker pool, a rate
 * limiter per quota category that slows down when throttled, and retry with backoff.
 */

/** Thrown when the request's time is up; nothing new is started after it. */
export class AbortedError extends ComposedError {
  constructor() {
    super('stopped: the function is about to time out');
  }
}

/** A flag the timeout guard raises; sleeps wake up when it does. */
export class StopSignal {
  private stoppedFlag = false;
  private readonly waiters = new Set<() => void>();

  get stopped(): boolean {
    return this.stoppedFlag;
  }

  stop(): void {
    this.stoppedFlag = true;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  throwIfStopped(): void {
    if (this.stoppedFlag) throw new AbortedError();
  }

  /** Sleeps `ms`, or less if stopped meanwhile. */
  sleep(ms: number): Promise<void> {
    if (this.stoppedFlag || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waiters.add(wake);
    });
  }
}

/**
 * Spaces calls evenly at `rate` per second. A throttle cuts the rate (down to a tenth of
 * the configured one); each success wins a little of it back, so a shared quota that
 * other callers also use is met without a retry storm.
 */
export class RateLimiter {
  private next = 0;
  private current: number;

  constructor(
    private readonly configured: number,
    private readonly now: () => number = Date.now,
  ) {
    this.current = configured;
  }

  /** Calls per second allowed right now. */
  get rate(): number {
    return this.current;
  }

  async take(signal: StopSignal): Promise<void> {
    signal.throwIfStopped();
    const now = this.now();
    const slot = Math.max(now, this.next);
    this.next = slot + 1000 / this.current;
    await signal.sleep(slot - now);
    signal.throwIfStopped();
  }

  onThrottle(): void {
    this.current = Math.max(this.configured / 10, this.current * 0.7);
  }

  onSuccess(): void {
    this.current = Math.min(this.configured, this.current + this.configured * 0.02);
  }
}

/** Throttling error names that are retried, never surfaced while time remains. */
const THROTTLES = new Set(['TooManyRequestsException', 'ThrottlingException']);

export function isThrottle(error: unknown): boolean {
  return THROTTLES.has((error as { name?: string })?.name ?? '');
}

/** Backoff before retry `attempt` (1-based): full jitter, capped at 5 s. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(5000, 100 * 2 ** Math.min(attempt, 10));
  return Math.floor(random() * ceiling);
}

/** Counts shared by every paced call of a request. */
export interface PaceStats {
  calls: number;
  throttles: number;
}

/** Runs `call` at `limiter`'s pace, retrying throttles until `signal` stops. */
export async function paced<T>(
  limiter: RateLimiter,
  signal: StopSignal,
  stats: PaceStats,
  call: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    await limiter.take(signal);
    stats.calls++;
    try {
      const result = await call();
      limiter.onSuccess();
      return result;
    } catch (error) {
      if (!isThrottle(error)) throw error;
      stats.throttles++;
      limiter.onThrottle();
      await signal.sleep(backoffMs(attempt));
    }
  }
}

/**
 * Runs `worker` over `items` with at most `concurrency` in flight. After the first
 * failure (or a stop) no new item starts; the ones in flight finish. Returns the first
 * error, if any.
 */
export async function runBounded<T>(
  items: readonly T[],
  concurrency: number,
  signal: StopSignal,
  worker: (item: T) => Promise<void>,
): Promise<unknown> {
  let index = 0;
  let firstError: unknown;
  const lane = async (): Promise<void> => {
    while (firstError === undefined && !signal.stopped && index < items.length) {
      const item = items[index++];
      try {
        await worker(item);
      } catch (error) {
        firstError ??= error;
      }
    }
  };
  const lanes = Math.max(1, Math.min(Math.floor(concurrency), items.length));
  await Promise.all(Array.from({ length: lanes }, lane));
  if (firstError === undefined && signal.stopped && index < items.length) {
    return new AbortedError();
  }
  return firstError;
}
