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
 * Where the rate settles: this share of the rate it was last throttled at (its ceiling).
 * A quota that allows a burst (Cognito's, like a token bucket) throttles only once the
 * burst is spent, so the ceiling is above what the quota has left, by more the faster the
 * rate rose to it; aiming under it leaves room for other callers of the quota.
 */
export const AIM = 0.9;

/**
 * A throttle this long after the last cut, at the aim, is the edge found again: the rate is
 * set to AIM of it. Otherwise a first throttle cuts the rate to FIRST_CUT of what it was,
 * and throttles that keep coming (within QUIET_MS of the last cut) to AGAIN_CUT: a quota
 * far under the rate, or throttling that is not the seeder's doing, is reached in a few
 * seconds. Except the first throttle after a cut to just under the edge: the quota's bucket
 * is still empty then, and it steps down AIM again, its aim unchanged.
 */
export const QUIET_MS = 10_000;
export const FIRST_CUT = 0.7;
export const AGAIN_CUT = 0.5;

/**
 * A quota's room may grow (a neighbour goes quiet): after PROBE_AFTER_MS at its aim with no
 * throttle, the rate probes upwards this slowly (a share of the configured rate per second,
 * so that a burst allowance is spent a little past the room, not far past it), until a
 * throttle gives a new ceiling or the rate passes the old one by PROBE_PAST (the room grew:
 * the ceiling is forgotten and the rate grows back at full speed).
 */
export const PROBE_AFTER_MS = 30_000;
export const PROBE_GROWTH_PER_SECOND = 0.001;
export const PROBE_PAST = 0.1;

/**
 * A limiter of a quota shared with callers it does not see (RateLimiterOptions.shared) must
 * find the room they leave it without taking from them on the way, and its own throttles
 * are all it sees of them. A quota's token bucket holds a burst (a second of the quota);
 * once it is spent, a caller spaced exactly like the refill (at the quota's rate, which is
 * the configured rate by default) finds a token every time and another caller none: the
 * bench's neighbour lost every call for seconds while the seeder, at 30/s, lost none and
 * so did not slow down. So a shared limiter:
 *
 * - sends at the configured rate for START_BURST_MS from its first call (the burst). A
 *   throttle then says the quota had no burst left for it (a busy neighbour, a quota far
 *   under the rate, or noise): from there it is a limiter like any other;
 * - then drops to SLOW_START of the configured rate and grows by START_GROWTH_PER_SECOND of
 *   it a second, until the first throttle (or the configured rate: then, like any other).
 *   Alone at its quota, it loses about 1.3 s of calls to this; starting at 70 % costs less,
 *   but rises to the quota's rate before the bucket is spent, where a neighbour on a steady
 *   timer can still lose every call (in the simulation: 91 % served in its first minute);
 * - cuts that rate to START_CUT: it rose past the room while the bucket emptied, by more
 *   the faster it rose, so the cut takes it under the room, and the bucket fills again;
 * - takes the next throttle (the bucket empty again) as a measure of the room: every token
 *   the quota gave between the two went to it or to the others, so the calls it was served
 *   in between, over the time between them, are the rate left to it. It settles at
 *   MEASURED_AIM of that (a measure holds no burst, so it aims closer than AIM of a rate it
 *   was throttled at), and goes on like any other limiter. A throttle sooner than
 *   MEASURE_MIN_MS after the last one is no measure: the cut was not under the room, or
 *   the throttles are noise; it cuts AGAIN_CUT and measures from there;
 * - sends each call at a random point of its slot (the slots keep the rate), so that it is
 *   never the caller spaced exactly like the refill.
 */
export const START_BURST_MS = 1_000;
export const SLOW_START = 0.5;
export const START_GROWTH_PER_SECOND = 0.1;
export const START_CUT = 0.5;
export const MEASURED_AIM = 0.95;
export const MEASURE_MIN_MS = 2_000;

/** The rate's floor, as a share of the configured rate: throttles never cut it lower. */
export const FLOOR = 0.1;

/**
 * Throttles that are not the seeder's doing (a service that throttles some share of calls
 * whatever their rate) must not hold it at its floor. A quota stops throttling a caller
 * that has slowed below it; such throttles do not stop. So at LOW_RATE of its configured
 * rate or less, once throttled there, the limiter neither cuts nor grows past it until
 * NOISE_MIN_CALLS of the calls it sent there have been answered. If MIN_NOISE to MAX_NOISE
 * of them were throttled, that share (or the share of the whole way down, if higher and
 * not above MAX_NOISE) is noise: the limiter forgets its ceiling, goes back to where the
 * first cut of the way down left it (those cuts were the noise's doing), grows, and cuts
 * only when more than that share (plus NOISE_MARGIN) of the calls it sent since the last
 * cut (PRESSURE_MIN_CALLS at least) are throttled, until the noise has not been seen for
 * NOISE_MEMORY_MS. A quota under half the configured rate is no noise: the rate falls under
 * it and its throttles stop (those of calls sent before, on the way down, do not count).
 * (A quota at LOW_RATE of the configured rate or less would be taken for noise: configure
 * rateLimits within five times the account's quotas.)
 */
export const LOW_RATE = 0.2;
export const NOISE_WINDOW_MS = 10_000;
export const NOISE_MIN_CALLS = 20;
export const PRESSURE_MIN_CALLS = 40;
export const MIN_NOISE = 0.1;
/** More than this share throttled, slow as it goes, is a quota far under the rates or an outage: not noise. */
export const MAX_NOISE = 0.5;
export const NOISE_MARGIN = 0.15;
export const NOISE_MEMORY_MS = 60_000;

/** How a limiter meets its quota. */
export interface RateLimiterOptions {
  /**
   * The quota is shared with callers this limiter does not see (Cognito's quotas are per
   * account and region): it starts slow, measures the room its first throttles show, and
   * sends each call at a random point of its slot (see START_BURST_MS).
   * @default false
   */
  readonly shared?: boolean;
  /** Where a shared limiter's random points come from. @default Math.random */
  readonly random?: () => number;
}

/**
 * Spaces calls evenly at `rate` per second. A throttle cuts the rate, at most once per
 * interval however many calls were throttled together, and remembers the rate it came at
 * (the ceiling). After a hold, the rate grows back with time (additively), not with each
 * success, up to AIM of the ceiling, and stays there: a quota shared with other callers is
 * met below the edge of throttling, so they keep what they use. A throttle at the aim after
 * a quiet while (a probe found the edge, or the room shrank a little) sets the rate to AIM
 * of the rate it came at (and the next throttle, soon after, as much again); a throttle
 * well below the aim cuts 30 %, and throttles that keep coming 50 % each, to no less than
 * the floor (a throttle of a call sent before the last cut counts for nothing). A quiet
 * half minute at the aim and it probes slowly for more room. Throttles that stay however
 * slow it goes are learnt as noise and tolerated (see LOW_RATE). A limiter of a shared
 * quota starts slow and measures the room first (see START_BURST_MS).
 */
export class RateLimiter {
  private next = 0;
  /** How many times the rate was cut: a slot taken before a cut is taken again. */
  private cuts = 0;
  private current: number;
  private lastCut = -Infinity;
  private lastGrowth: number;
  /** The rate at the last throttle (Infinity: none remembered). */
  private ceiling = Infinity;
  /** The last cut set the rate just under the edge (AIM of it, or of a measured room). */
  private underEdge = false;
  /** Outcomes of the last NOISE_WINDOW_MS, oldest first: when, when the call was sent, and whether throttled. */
  private readonly outcomes: { at: number; sent: number; throttled: boolean }[] = [];
  /** Since when the rate has been at LOW_RATE of the configured one or less (undefined: it is not). */
  private lowSince?: number;
  /** When throttles were last weighed against the noise. */
  private lastJudged = -Infinity;
  /** The rate before the first of the cuts that came one after another, and when that was. */
  private episodeRate: number;
  private episodeStart = -Infinity;
  /** The share of calls throttled whatever the rate, and when it was last seen. */
  private noise = 0;
  private noiseAt = -Infinity;
  /**
   * A shared limiter's start (see START_BURST_MS): 'waiting' for its first call (at
   * `startedAt`), in its 'burst', 'rising' to its first throttle, 'measuring' the room (from
   * `measure.since`, a call sent when the quota's bucket was empty, with `measure.served`
   * calls served since), or 'done': like any other limiter.
   */
  private start: 'waiting' | 'burst' | 'rising' | 'measuring' | 'done';
  private startedAt = 0;
  private measure = { since: 0, served: 0 };
  private readonly shared: boolean;
  private readonly random: () => number;

  constructor(
    private readonly configured: number,
    private readonly now: () => number = Date.now,
    options: RateLimiterOptions = {},
  ) {
    this.current = configured;
    this.episodeRate = configured;
    this.lastGrowth = now();
    this.shared = options.shared === true;
    this.random = options.random ?? Math.random;
    this.start = this.shared ? 'waiting' : 'done';
  }

  /** Calls per second allowed right now. */
  get rate(): number {
    return this.current;
  }

  /** The share of calls found throttled whatever the rate (0: none found, or forgotten). */
  get tolerated(): number {
    return this.now() - this.noiseAt < NOISE_MEMORY_MS ? this.noise : 0;
  }

  /** Waits for the next slot; resolves with the time the call may be sent (to pass to onThrottle or onSuccess). */
  async take(signal: StopSignal): Promise<number> {
    for (;;) {
      signal.throwIfStopped();
      const cuts = this.cuts;
      await signal.sleep(this.reserve() - this.now());
      signal.throwIfStopped();
      // A slot spaced at the rate before a cut would keep the old pace for as long as calls
      // wait (a lane each): take one at the new rate instead.
      if (this.cuts === cuts) return this.now();
    }
  }

  /** Takes the next slot without waiting for it: when the call may be sent. */
  reserve(): number {
    const now = this.now();
    this.starting(now);
    const interval = 1000 / this.current;
    const slot = Math.max(now, this.next);
    this.next = slot + interval;
    return this.shared ? slot + this.random() * interval : slot;
  }

  /** A call sent at `sentAt` was throttled. */
  onThrottle(sentAt: number = this.now()): void {
    const now = this.now();
    this.starting(now);
    this.record(now, sentAt, true);
    // A call sent before the last cut (or a burst within a second of it) says nothing of
    // the rate since.
    if (sentAt <= this.lastCut || now - this.lastCut < CUT_INTERVAL_MS) return;
    // Slow, and not enough calls sent slow to tell noise from a quota yet: wait for them.
    if (this.lowSince !== undefined && this.lowShare() === undefined) return;
    if (this.learnNoise(now)) return;
    const tolerated = this.tolerated;
    if (tolerated > 0) {
      // Judged once a second, on the calls since the last cut only (those before it were
      // at another rate), and enough of them that chance alone seldom passes the margin.
      if (now - this.lastJudged < CUT_INTERVAL_MS) return;
      this.lastJudged = now;
      const recent = this.outcomes.filter((o) => o.sent > this.lastCut);
      if (recent.length < PRESSURE_MIN_CALLS) return;
      const recentShare = recent.filter((o) => o.throttled).length / recent.length;
      if (recentShare <= tolerated + NOISE_MARGIN) {
        // Still what the noise looks like: remembered for another minute from now.
        if (recentShare >= MIN_NOISE) this.noiseAt = now;
        return;
      }
    }
    if (this.start === 'rising' && sentAt < this.startedAt + START_BURST_MS) {
      // Sent in the burst, at the configured rate: like any other limiter throttled there.
      this.start = 'burst';
      this.setRate(this.configured, now);
    }
    if (this.start === 'burst') this.start = 'done';
    if (this.start === 'rising' || this.start === 'measuring') {
      this.startThrottled(now, sentAt);
      return;
    }
    // After a quiet while at (or past) the aim, the edge is just above: settle under it.
    // Throttles that come well below the aim, or keep coming, are pressure: cut hard, and
    // grow back to the aim of this new ceiling.
    const quiet = now - this.lastCut >= QUIET_MS;
    const edge = quiet && this.current >= this.ceiling * AIM * 0.999;
    if (!quiet && this.underEdge) {
      // Just under the edge, the quota's bucket is still empty: a throttle now is the same
      // edge, not more pressure. Down as much again, for the bucket to fill; the aim stays.
      this.underEdge = false;
      this.cutTo(this.current * AIM, now);
      return;
    }
    const cut = edge ? AIM : quiet ? FIRST_CUT : AGAIN_CUT;
    if (quiet) {
      this.episodeRate = this.current;
      this.episodeStart = now;
    }
    this.ceiling = this.current;
    this.underEdge = edge;
    this.cutTo(this.current * cut, now);
  }

  /** A throttle of a shared limiter's slow start: the first cuts under the room, the next measures it. */
  private startThrottled(now: number, sentAt: number): void {
    const rate = this.current;
    const first = this.start === 'rising';
    if (first || sentAt - this.measure.since < MEASURE_MIN_MS) {
      // If throttles keep coming, they are judged from the first (see LOW_RATE).
      if (first) this.episodeStart = now;
      this.start = 'measuring';
      this.measure = { since: sentAt, served: 0 };
      this.ceiling = rate;
      this.cutTo(rate * (first ? START_CUT : AGAIN_CUT), now);
      return;
    }
    this.start = 'done';
    const room = (this.measure.served * 1000) / (sentAt - this.measure.since);
    // Its aim is MEASURED_AIM of the room; and no more than a first cut: the bucket is empty.
    this.ceiling = Math.min((room * MEASURED_AIM) / AIM, rate);
    this.cutTo(Math.min(this.ceiling * AIM, rate * FIRST_CUT), now);
    this.underEdge = true;
  }

  /** Cuts the rate now, to no less than the floor. */
  private cutTo(rate: number, now: number): void {
    this.lastCut = now;
    this.lastGrowth = now;
    this.setRate(Math.max(this.configured * FLOOR, rate), now);
    this.retake(now);
  }

  /** Slots already given out are taken again at the new rate, from one interval on. */
  private retake(now: number): void {
    this.cuts++;
    this.next = now + 1000 / this.current;
  }

  /** A shared limiter's start moves on with time: the burst from its first call, then the slow start. */
  private starting(now: number): void {
    if (this.start === 'waiting') {
      this.start = 'burst';
      this.startedAt = now;
    } else if (this.start === 'burst' && now - this.startedAt >= START_BURST_MS) {
      this.start = 'rising';
      this.lastGrowth = now;
      this.setRate(this.configured * SLOW_START, now);
      this.retake(now);
    }
  }

  /** A call sent at `sentAt` was answered. */
  onSuccess(sentAt: number = this.now()): void {
    const now = this.now();
    this.starting(now);
    this.record(now, sentAt, false);
    if (this.start === 'measuring' && sentAt >= this.measure.since) this.measure.served++;
    if (this.learnNoise(now)) return;
    const from = Math.max(this.lastGrowth, this.lastCut + HOLD_AFTER_CUT_MS);
    if (now <= from) return;
    let seconds = (now - from) / 1000;
    this.lastGrowth = now;
    const fast = this.configured * GROWTH_PER_SECOND;
    let rate = this.current;
    if (this.start === 'rising') {
      rate += this.configured * START_GROWTH_PER_SECOND * seconds;
      // At the configured rate, never throttled: nothing to measure.
      if (rate >= this.configured) this.start = 'done';
    } else if (this.ceiling === Infinity) {
      rate += fast * seconds;
    } else {
      // Quickly back to the aim; there, hold; after a quiet while, probe slowly.
      const aim = Math.min(this.configured, this.ceiling * AIM);
      if (rate < aim) {
        const spent = Math.min(seconds, (aim - rate) / fast);
        rate += fast * spent;
        seconds -= spent;
      }
      const probing = (now - Math.max(from, this.lastCut + PROBE_AFTER_MS)) / 1000;
      if (probing > 0) rate += this.configured * PROBE_GROWTH_PER_SECOND * Math.min(seconds, probing);
      // Well past the old ceiling with no throttle: the room grew.
      if (rate > this.ceiling * (1 + PROBE_PAST)) this.ceiling = Infinity;
    }
    // Throttled while slow, and too few calls yet to tell noise from a quota: stay slow.
    const low = this.configured * LOW_RATE;
    if (rate > low && this.lowSince !== undefined && this.lowShare() === undefined && this.throttledLow()) rate = low;
    this.setRate(Math.min(this.configured, rate), now);
  }

  /**
   * The share of the calls sent since the rate went low that were throttled; undefined
   * until NOISE_MIN_CALLS of them have been answered.
   */
  /**
   * Learns the noise when enough calls were sent slow and as many were throttled as noise
   * is (see LOW_RATE); says whether it did.
   */
  private learnNoise(now: number): boolean {
    const share = this.lowShare();
    if (share === undefined || share < MIN_NOISE || share > MAX_NOISE) return false;
    // Not this caller's doing, nor were the throttles of the way down, so its share is
    // measured on all of them (more calls, a closer figure). Learnt again (its figure was
    // low), it only grows.
    const episode = this.outcomes.filter((o) => o.sent >= this.episodeStart);
    const episodeShare = episode.filter((o) => o.throttled).length / episode.length;
    this.noise = Math.max(share, Math.min(episodeShare, MAX_NOISE), this.tolerated);
    this.noiseAt = now;
    this.start = 'done';
    this.underEdge = false;
    this.ceiling = Infinity;
    this.lastCut = -Infinity;
    this.lastGrowth = now;
    // The cuts on the way down were the noise's doing: back to where the first one left it.
    this.setRate(Math.max(this.current, this.episodeRate * FIRST_CUT), now);
    return true;
  }

  private throttledLow(): boolean {
    const since = this.lowSince ?? Infinity;
    return this.outcomes.some((o) => o.throttled && o.sent > since);
  }

  private lowShare(): number | undefined {
    const since = this.lowSince;
    if (since === undefined) return undefined;
    const low = this.outcomes.filter((o) => o.sent > since);
    if (low.length < NOISE_MIN_CALLS) return undefined;
    return low.filter((o) => o.throttled).length / low.length;
  }

  private setRate(rate: number, now: number): void {
    this.current = rate;
    if (rate > this.configured * LOW_RATE) this.lowSince = undefined;
    else this.lowSince ??= now;
  }

  /** Keeps the outcomes of the last NOISE_WINDOW_MS. */
  private record(at: number, sent: number, throttled: boolean): void {
    this.outcomes.push({ at, sent, throttled });
    while (this.outcomes[0].at < at - NOISE_WINDOW_MS) this.outcomes.shift();
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
    const sentAt = await limiter.take(signal);
    stats.calls++;
    try {
      const result = await call();
      limiter.onSuccess(sentAt);
      return result;
    } catch (error) {
      if (isThrottle(error)) {
        stats.throttles++;
        limiter.onThrottle(sentAt);
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
