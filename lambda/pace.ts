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

/** A burst of throttles within this window is one signal: the rate is cut once. */
export const CUT_INTERVAL_MS = 1_000;

/** After a cut, the rate holds this long before it grows back. */
export const HOLD_AFTER_CUT_MS = 2_000;

/** How fast the rate grows back: this share of the configured rate per second. */
export const GROWTH_PER_SECOND = 0.05;

/**
 * Near the rate where it was last throttled (from 90 % of it), the rate grows this much
 * slower and a throttle cuts it by 10 %, not 30 %: a quota shared with a steady neighbour
 * is probed gently instead of taken from it in bursts.
 */
export const NEAR_CEILING = 0.9;
export const SLOW_GROWTH_PER_SECOND = 0.005;

/** The rate where the limiter was last throttled is forgotten this long after the cut. */
export const CEILING_MEMORY_MS = 60_000;

/**
 * Throttles that are not the seeder's doing (a service that throttles some share of calls
 * whatever their rate) must not hold it at its floor. A quota stops throttling a caller
 * that has slowed well below it; such throttles do not stop. So when the limiter has run
 * at no more than LOW_RATE of its configured rate for a whole NOISE_WINDOW_MS, and still
 * at least MIN_NOISE of its calls (NOISE_MIN_CALLS at least) were throttled, that share is
 * noise: the limiter forgets the rate it was throttled at, grows back, and cuts only when
 * more than that share (plus NOISE_MARGIN) of its calls are throttled, until the noise has
 * not been seen for CEILING_MEMORY_MS.
 */
export const LOW_RATE = 0.5;
export const NOISE_WINDOW_MS = 5_000;
export const NOISE_MIN_CALLS = 10;
export const MIN_NOISE = 0.1;
export const NOISE_MARGIN = 0.15;

/**
 * Spaces calls evenly at `rate` per second. A throttle cuts the rate by 30 % (to no less
 * than a tenth of the configured one), at most once per interval however many calls were
 * throttled together; after a hold, the rate grows back with time (additively), not with
 * each success, so a quota other callers share is met without a retry storm and without
 * jumping back at the first success. It remembers the rate it was throttled at: below 90 %
 * of it the rate grows back quickly, above it slowly, and a throttle there cuts only 10 %;
 * so a seeder settles just under what other callers leave it. Throttles that stay however
 * slow it goes are learnt as noise and tolerated (see LOW_RATE).
 */
export class RateLimiter {
  private next = 0;
  private current: number;
  private lastCut = -Infinity;
  private lastGrowth: number;
  /** The rate at the last throttle (Infinity: none remembered). */
  private ceiling = Infinity;
  /** Outcomes of the last NOISE_WINDOW_MS, oldest first: when, and whether throttled. */
  private readonly outcomes: { at: number; throttled: boolean }[] = [];
  private throttlesKept = 0;
  /** Since when the rate has been at most LOW_RATE of the configured one (undefined: it is not). */
  private lowSince?: number;
  /** The share of calls throttled whatever the rate, and when it was learnt. */
  private noise = 0;
  private noiseAt = -Infinity;

  constructor(
    private readonly configured: number,
    private readonly now: () => number = Date.now,
  ) {
    this.current = configured;
    this.lastGrowth = now();
  }

  /** Calls per second allowed right now. */
  get rate(): number {
    return this.current;
  }

  /** The share of calls found throttled whatever the rate (0: none found, or forgotten). */
  get tolerated(): number {
    return this.now() - this.noiseAt < CEILING_MEMORY_MS ? this.noise : 0;
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
    const now = this.now();
    this.record(now, true);
    if (now - this.lastCut < CUT_INTERVAL_MS) return;
    const calls = this.outcomes.length;
    const share = calls >= NOISE_MIN_CALLS ? this.throttlesKept / calls : 0;
    if (this.lowSince !== undefined && now - this.lowSince >= NOISE_WINDOW_MS && share >= MIN_NOISE) {
      // Slow for a whole window and still throttled as much: not this caller's doing.
      this.noise = share;
      this.noiseAt = now;
      this.ceiling = Infinity;
      this.lastCut = -Infinity;
      this.lastGrowth = now;
      return;
    }
    const tolerated = this.tolerated;
    if (tolerated > 0 && share <= tolerated + NOISE_MARGIN) {
      // Still what the noise looks like: remembered for another minute from now.
      if (share >= MIN_NOISE) this.noiseAt = now;
      return;
    }
    const probing = now - this.lastCut < CEILING_MEMORY_MS && this.current >= this.ceiling * NEAR_CEILING;
    this.ceiling = this.current;
    this.lastCut = now;
    this.lastGrowth = now;
    this.setRate(Math.max(this.configured / 10, this.current * (probing ? 0.9 : 0.7)), now);
  }

  onSuccess(): void {
    const now = this.now();
    this.record(now, false);
    if (now - this.lastCut < HOLD_AFTER_CUT_MS) return;
    let seconds = (now - Math.max(this.lastGrowth, this.lastCut + HOLD_AFTER_CUT_MS)) / 1000;
    this.lastGrowth = now;
    if (seconds <= 0) return;
    // Quickly back to just under the rate last throttled at, slowly past it; a minute after
    // the last throttle (other callers may have left), quickly again.
    const remembered = now - this.lastCut < CEILING_MEMORY_MS;
    const fastUpTo = remembered ? Math.min(this.configured, this.ceiling * NEAR_CEILING) : this.configured;
    const fast = this.configured * GROWTH_PER_SECOND;
    let rate = this.current;
    if (rate < fastUpTo) {
      const spent = Math.min(seconds, (fastUpTo - rate) / fast);
      rate += fast * spent;
      seconds -= spent;
    }
    if (seconds > 0) rate += this.configured * (remembered ? SLOW_GROWTH_PER_SECOND : GROWTH_PER_SECOND) * seconds;
    this.setRate(Math.min(this.configured, rate), now);
  }

  private setRate(rate: number, now: number): void {
    this.current = rate;
    if (rate > this.configured * LOW_RATE) this.lowSince = undefined;
    else this.lowSince ??= now;
  }

  /** Keeps the outcomes of the last NOISE_WINDOW_MS, and how many of them were throttles. */
  private record(at: number, throttled: boolean): void {
    this.outcomes.push({ at, throttled });
    if (throttled) this.throttlesKept++;
    while (this.outcomes[0].at < at - NOISE_WINDOW_MS) {
      if (this.outcomes.shift()?.throttled) this.throttlesKept--;
    }
  }
}

/** Throttling error names that are retried, never surfaced while time remains. */
const THROTTLES = new Set(['TooManyRequestsException', 'ThrottlingException']);

export function isThrottle(error: unknown): boolean {
  return THROTTLES.has((error as { name?: string })?.name ?? '');
}

/** Network errors that mean the call may not have reached the service. */
const NETWORK_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNREFUSED', 'EAI_AGAIN']);

/**
 * A service-side fault or a network error: worth a few retries. (The SDK's own retries are
 * off for Cognito, so that every throttle reaches the pacer; these take their place.)
 */
export function isTransient(error: unknown): boolean {
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e?.name === 'InternalErrorException' ||
    e?.name === 'ServiceUnavailableException' ||
    (e?.$metadata?.httpStatusCode ?? 0) >= 500 ||
    NETWORK_CODES.has(e?.code ?? '')
  );
}

/** Attempts of a call that fails transiently (throttles are retried while time remains). */
export const TRANSIENT_ATTEMPTS = 3;

/** Backoff before retry `attempt` (1-based): full jitter, capped at 5 s. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(5000, 100 * 2 ** Math.min(attempt, 10));
  return Math.floor(random() * ceiling);
}

/** Counts shared by every paced call of a request. */
export interface PaceStats {
  calls: number;
  throttles: number;
  /** Milliseconds spent waiting for answers (not for the pace), summed over calls. */
  callMs?: number;
}

/**
 * Runs `call` at `limiter`'s pace, retrying throttles until `signal` stops and transient
 * faults up to TRANSIENT_ATTEMPTS times.
 */
export async function paced<T>(
  limiter: RateLimiter,
  signal: StopSignal,
  stats: PaceStats,
  call: () => Promise<T>,
): Promise<T> {
  let faults = 0;
  for (let attempt = 1; ; attempt++) {
    await limiter.take(signal);
    stats.calls++;
    try {
      const result = await call();
      limiter.onSuccess();
      return result;
    } catch (error) {
      if (isThrottle(error)) {
        stats.throttles++;
        limiter.onThrottle();
      } else if (!isTransient(error) || ++faults >= TRANSIENT_ATTEMPTS) {
        throw error;
      }
      await signal.sleep(backoffMs(attempt));
    }
  }
}

/**
 * How many items to work on at once, when it should follow the work's latency: start with
 * `start` lanes and, as items finish, open more (up to the ceiling) while `want()` asks for
 * more. So a rate is not capped by latency (Little's law: 30 users a second whose calls
 * take 1 s need 30 in flight).
 */
export interface Lanes {
  readonly start: number;
  readonly want: () => number;
}

/**
 * Runs `worker` over `items` with at most `concurrency` in flight. After the first
 * failure (or a stop) no new item starts; the ones in flight finish. Returns the first
 * error, if any. With `lanes`, it starts with fewer and opens more as latency requires.
 */
export async function runBounded<T>(
  items: readonly T[],
  concurrency: number,
  signal: StopSignal,
  worker: (item: T) => Promise<void>,
  lanes?: Lanes,
): Promise<unknown> {
  let index = 0;
  let firstError: unknown;
  const ceiling = Math.max(1, Math.min(Math.floor(concurrency), items.length));
  const running: Promise<void>[] = [];
  const open = (): void => {
    running.push(lane());
  };
  const lane = async (): Promise<void> => {
    while (firstError === undefined && !signal.stopped && index < items.length) {
      const item = items[index++];
      try {
        await worker(item);
      } catch (error) {
        firstError ??= error;
      }
      if (lanes && running.length < ceiling && index < items.length) {
        const wanted = Math.min(ceiling, Math.ceil(lanes.want()));
        while (running.length < wanted) open();
      }
    }
  };
  const initial = lanes ? Math.max(1, Math.min(Math.floor(lanes.start), ceiling)) : ceiling;
  for (let i = 0; i < initial; i++) open();
  // Lanes opened while others run join the list: wait until no new one appeared.
  for (let awaited = 0; awaited < running.length;) {
    const batch = running.slice(awaited);
    awaited = running.length;
    await Promise.all(batch);
  }
  if (firstError === undefined && signal.stopped && index < items.length) {
    return new AbortedError();
  }
  return firstError;
}
