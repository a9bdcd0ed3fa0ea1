import { backoffMs, isThrottle, isTransient, paced, RateLimiter, runBounded, StopSignal } from '../lambda/pace';

describe('RateLimiter', () => {
  test('spaces calls evenly at the configured rate', async () => {
    let now = 0;
    const limiter = new RateLimiter(10, () => now);
    const signal = new StopSignal();
    const sleeps: number[] = [];
    jest.spyOn(signal, 'sleep').mockImplementation(async (ms) => {
      sleeps.push(ms);
    });
    for (let i = 0; i < 4; i++) await limiter.take(signal);
    expect(sleeps).toEqual([0, 100, 200, 300]);
    now = 1000;
    await limiter.take(signal);
    expect(sleeps[4]).toBe(0);
  });

  test('a burst of throttles is one cut: at most once a second, by 30 %, to no less than a tenth', () => {
    let now = 10_000;
    const limiter = new RateLimiter(50, () => now);
    for (let i = 0; i < 16; i++) limiter.onThrottle();
    expect(limiter.rate).toBeCloseTo(35);
    now += 999;
    limiter.onThrottle();
    expect(limiter.rate).toBeCloseTo(35);
    for (let i = 0; i < 20; i++) {
      now += 1000;
      limiter.onThrottle();
    }
    expect(limiter.rate).toBe(5);
  });

  test('grows back with time, after a hold, not with each success', () => {
    let now = 10_000;
    const limiter = new RateLimiter(30, () => now);
    limiter.onThrottle();
    expect(limiter.rate).toBeCloseTo(21);
    // A thousand successes within the hold win nothing back.
    for (let i = 0; i < 1000; i++) limiter.onSuccess();
    expect(limiter.rate).toBeCloseTo(21);
    // Two seconds past the hold: 5 % of the configured rate per second.
    now += 2_000 + 2_000;
    limiter.onSuccess();
    expect(limiter.rate).toBeCloseTo(24);
    now += 60_000;
    limiter.onSuccess();
    expect(limiter.rate).toBe(30);
  });
});

describe('paced', () => {
  test('retries throttles and counts them; other errors surface at once', async () => {
    const stats = { calls: 0, throttles: 0 };
    const throttle = Object.assign(new Error('slow down'), { name: 'TooManyRequestsException' });
    const fn = jest.fn().mockRejectedValueOnce(throttle).mockResolvedValueOnce('ok');
    await expect(paced(new RateLimiter(1000), new StopSignal(), stats, fn)).resolves.toBe('ok');
    expect(stats).toEqual({ calls: 2, throttles: 1 });

    const boom = jest.fn().mockRejectedValue(new Error('boom'));
    await expect(paced(new RateLimiter(1000), new StopSignal(), stats, boom)).rejects.toThrow('boom');
    expect(boom).toHaveBeenCalledTimes(1);
  });

  test('transient faults are retried a few times, then surface; throttles do not use up those attempts', async () => {
    const stats = { calls: 0, throttles: 0 };
    const fault = Object.assign(new Error('boom'), {
      name: 'InternalErrorException',
      $metadata: { httpStatusCode: 500 },
    });
    const throttle = Object.assign(new Error('slow down'), { name: 'TooManyRequestsException' });
    const flaky = jest
      .fn()
      .mockRejectedValueOnce(fault)
      .mockRejectedValueOnce(throttle)
      .mockRejectedValueOnce(throttle)
      .mockRejectedValueOnce(fault)
      .mockResolvedValueOnce('ok');
    jest.spyOn(StopSignal.prototype, 'sleep').mockResolvedValue(undefined);
    await expect(paced(new RateLimiter(1000), new StopSignal(), stats, flaky)).resolves.toBe('ok');
    expect(stats).toEqual({ calls: 5, throttles: 2 });

    const broken = jest.fn().mockRejectedValue(fault);
    await expect(paced(new RateLimiter(1000), new StopSignal(), stats, broken)).rejects.toThrow('boom');
    expect(broken).toHaveBeenCalledTimes(3);
    jest.restoreAllMocks();
  });

  test('transient means a service fault or a network error, never a client error', () => {
    // (That every throttle reaches the pacer, with the SDK's retries off, is shown end to
    // end in test/e2e.test.ts: the handler counts exactly the throttles the proxy sent.)
    expect(isTransient({ name: 'InternalErrorException' })).toBe(true);
    expect(isTransient({ code: 'ECONNRESET' })).toBe(true);
    expect(isTransient({ name: 'NotAuthorizedException', $metadata: { httpStatusCode: 400 } })).toBe(false);
  });

  test('stops retrying once the signal is raised', async () => {
    const signal = new StopSignal();
    const throttle = Object.assign(new Error('slow down'), { name: 'TooManyRequestsException' });
    const fn = jest.fn().mockImplementation(async () => {
      signal.stop();
      throw throttle;
    });
    await expect(paced(new RateLimiter(1000), signal, { calls: 0, throttles: 0 }, fn)).rejects.toThrow(
      /about to time out/,
    );
  });
});

test('backoff grows with the attempt, with full jitter, capped at 5 s', () => {
  expect(backoffMs(1, () => 0.999)).toBe(199);
  expect(backoffMs(3, () => 0.5)).toBe(400);
  expect(backoffMs(30, () => 0.999)).toBe(4995);
  expect(backoffMs(30, () => 0)).toBe(0);
});

test('isThrottle knows the throttling errors only', () => {
  expect(isThrottle({ name: 'TooManyRequestsException' })).toBe(true);
  expect(isThrottle({ name: 'LimitExceededException' })).toBe(false);
});

describe('runBounded', () => {
  test('starts nothing new after the first failure and returns it', async () => {
    const seen: number[] = [];
    const error = await runBounded([1, 2, 3, 4, 5], 1, new StopSignal(), async (n) => {
      seen.push(n);
      if (n === 2) throw new Error('two');
    });
    expect((error as Error).message).toBe('two');
    expect(seen).toEqual([1, 2]);
  });

  test('returns an AbortedError when stopped with work left', async () => {
    const signal = new StopSignal();
    const error = await runBounded([1, 2, 3], 1, signal, async () => signal.stop());
    expect((error as Error).message).toMatch(/about to time out/);
  });
});

describe('runBounded with lanes that follow latency', () => {
  test('starts with `start` lanes, opens more as want() asks, never past the ceiling', async () => {
    let inFlight = 0;
    let most = 0;
    const seenAfterFirst: number[] = [];
    let finished = 0;
    const error = await runBounded(
      Array.from({ length: 40 }, (_, i) => i),
      6,
      new StopSignal(),
      async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        if (finished === 0) seenAfterFirst.push(inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight--;
        finished++;
      },
      { start: 2, want: () => (finished === 0 ? 2 : 50) },
    );
    expect(error).toBeUndefined();
    expect(Math.max(...seenAfterFirst)).toBe(2);
    expect(most).toBe(6);
    expect(finished).toBe(40);
  });

  test('opens no lane while want() asks for no more than are open', async () => {
    let inFlight = 0;
    let most = 0;
    await runBounded(
      Array.from({ length: 20 }, (_, i) => i),
      64,
      new StopSignal(),
      async () => {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inFlight--;
      },
      { start: 3, want: () => 1 },
    );
    expect(most).toBe(3);
  });
});

test('near the rate it was throttled at, the limiter grows slowly and cuts gently; far from it, fast', () => {
  let now = 10_000;
  const limiter = new RateLimiter(30, () => now);
  // GIVEN a throttle at the configured 30/s: a 30 % cut, and 30/s remembered
  limiter.onThrottle();
  expect(limiter.rate).toBeCloseTo(21);
  // WHEN it grows back past the hold: fast (1.5/s a second) up to 27, then 0.15/s a second
  now += 2_000 + 4_000;
  limiter.onSuccess();
  expect(limiter.rate).toBeCloseTo(27);
  now += 10_000;
  limiter.onSuccess();
  expect(limiter.rate).toBeCloseTo(28.5);
  // AND a throttle there is a probe answered: a 10 % cut
  limiter.onThrottle();
  expect(limiter.rate).toBeCloseTo(25.65);
  // AND a minute after the last cut the rate it met is forgotten: fast growth to the configured rate
  now += 62_000;
  limiter.onSuccess();
  expect(limiter.rate).toBe(30);
});

/**
 * Drives a limiter configured at 30/s for `seconds` of simulated time against a quota
 * (a token bucket of `quota` a second, one second of burst) that also throttles a share
 * `random` of the calls it would serve, at random (a seeded generator: the same run every
 * time). Returns the calls served a second, the share throttled, and the share the
 * limiter ended up tolerating.
 */
function simulate(quota: number, random: number, seconds = 180) {
  let now = 10_000;
  let seed = 42;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const limiter = new RateLimiter(30, () => now);
  let tokens = quota;
  let refilled = now;
  let served = 0;
  let throttled = 0;
  const end = now + seconds * 1000;
  while (now < end) {
    now += 1000 / limiter.rate;
    tokens = Math.min(quota, tokens + ((now - refilled) * quota) / 1000);
    refilled = now;
    const allowed = tokens >= 1;
    if (allowed) tokens--;
    if (allowed && next() >= random) {
      served++;
      limiter.onSuccess();
    } else {
      throttled++;
      limiter.onThrottle();
    }
  }
  return { served: served / seconds, throttled: throttled / (served + throttled), tolerated: limiter.tolerated };
}

describe('the limiter tells throttling it causes from throttling it does not', () => {
  test('30 % of calls throttled at random whatever the rate: learnt as noise, it serves near the 21/s bound, not at its floor', () => {
    const run = simulate(30, 0.3);
    expect(run.tolerated).toBeGreaterThan(0.2);
    expect(run.served).toBeGreaterThan(0.85 * 21);
  });

  test('a quota at a third of its rate: nothing learnt as noise; it settles at the quota with few throttles', () => {
    const run = simulate(10, 0);
    expect(run.tolerated).toBe(0);
    expect(run.served).toBeGreaterThan(0.9 * 10);
    expect(run.throttled).toBeLessThan(0.05);
  });

  test('half the quota left (a neighbour takes the rest): nothing learnt as noise, few throttles', () => {
    const run = simulate(15, 0);
    expect(run.tolerated).toBe(0);
    expect(run.served).toBeGreaterThan(0.9 * 15);
    expect(run.throttled).toBeLessThan(0.05);
  });

  test('a quota at a third and 30 % random throttles on top: it serves near the 7/s left, not at its floor', () => {
    const run = simulate(10, 0.3);
    expect(run.served).toBeGreaterThan(0.85 * 7);
  });

  test('noise is learnt only after a whole window at half the rate or less, and tolerated up to its share plus a margin', () => {
    let now = 10_000;
    const limiter = new RateLimiter(30, () => now);
    // Cut to 14.7/s (half the rate or less) by two throttles a second apart.
    limiter.onThrottle();
    now += 1_000;
    limiter.onThrottle();
    expect(limiter.rate).toBeCloseTo(14.7);
    // Three seconds there, a third of the calls throttled: not yet a whole window, so a cut.
    const step = (throttled: boolean) => {
      now += 1000 / limiter.rate;
      if (throttled) limiter.onThrottle();
      else limiter.onSuccess();
    };
    for (let i = 0; i < 30; i++) step(i % 3 === 0);
    expect(limiter.tolerated).toBe(0);
    expect(limiter.rate).toBeLessThan(14.7);
    // Past a whole window slow, still a third throttled: noise, and the rate is free to grow.
    for (let i = 0; i < 60; i++) step(i % 3 === 0);
    expect(limiter.tolerated).toBeCloseTo(1 / 3, 1);
    const learnt = limiter.rate;
    now += 5_000;
    limiter.onSuccess();
    expect(limiter.rate).toBeGreaterThan(learnt + 5);
    // Twice as many throttles as the noise: pressure again, a cut.
    for (let i = 0; i < 150; i++) step(i % 3 !== 0);
    expect(limiter.rate).toBeLessThan(learnt + 5);
  });
});
