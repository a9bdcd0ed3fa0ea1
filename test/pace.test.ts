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

  test('slots given out before a cut are taken again at the new rate', async () => {
    // GIVEN three calls waiting for their slots at 10/s: 0, 100 and 200 ms from now
    let now = 10_000;
    const limiter = new RateLimiter(10, () => now);
    const signal = new StopSignal();
    const waits: { until: number; wake: () => void }[] = [];
    jest
      .spyOn(signal, 'sleep')
      .mockImplementation((ms) => new Promise<void>((wake) => waits.push({ until: now + ms, wake })));
    const sent: number[] = [];
    const calls = [0, 1, 2].map(() => limiter.take(signal).then(() => void sent.push(now)));

    // WHEN the rate is cut to 7/s before any of them is sent
    limiter.onThrottle();
    while (waits.length > 0) {
      waits.sort((a, b) => a.until - b.until);
      const wait = waits.shift()!;
      now = Math.max(now, wait.until);
      wait.wake();
      await new Promise(setImmediate);
    }
    await Promise.all(calls);

    // THEN they go at 7/s from one interval after the cut, not at the 10/s they were spaced at
    expect(sent.map((t) => Math.round(t - 10_000))).toEqual([143, 286, 429]);
  });

  test('a burst of throttles is one cut: at most once a second, 30 % then 50 % while they keep coming, to no less than a tenth', () => {
    let now = 10_000;
    const limiter = new RateLimiter(50, () => now);
    for (let i = 0; i < 16; i++) limiter.onThrottle();
    expect(limiter.rate).toBeCloseTo(35);
    now += 999;
    limiter.onThrottle();
    expect(limiter.rate).toBeCloseTo(35);
    now += 1;
    limiter.onThrottle();
    expect(limiter.rate).toBeCloseTo(17.5);
    // Every call throttled, a second apart and at the rate's pace: down to the floor.
    for (let i = 0; i < 2_000; i++) {
      now += 1000 / limiter.rate;
      limiter.onThrottle();
    }
    expect(limiter.rate).toBe(5);
  });

  test('a throttle of a call sent before the last cut says nothing of the rate since', () => {
    let now = 10_000;
    const limiter = new RateLimiter(30, () => now);
    limiter.onThrottle();
    now += 1_500;
    // In flight when the cut came: answered now, sent before.
    limiter.onThrottle(10_000 - 100);
    expect(limiter.rate).toBeCloseTo(21);
    limiter.onThrottle(now - 100);
    expect(limiter.rate).toBeCloseTo(10.5);
  });

  test('grows back with time, after a hold, not with each success, to 90 % of the rate it was throttled at', () => {
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
    // Up to its aim, 90 % of the 30/s it was throttled at, and no further for now.
    now += 10_000;
    limiter.onSuccess();
    expect(limiter.rate).toBeCloseTo(27);
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

describe('the limiter aims under the rate the quota left it, not at the edge of throttling', () => {
  test('it holds at 90 % of the rate it was throttled at; after a quiet half minute it probes slowly, and a throttle there sets it to 90 % of that rate', () => {
    let now = 10_000;
    const limiter = new RateLimiter(30, () => now);
    // GIVEN throttles at 30/s and, a second later, at 21/s (a neighbour takes the rest):
    // back to 90 % of 21/s
    limiter.onThrottle();
    now += 1_000;
    limiter.onThrottle();
    now += 20_000;
    limiter.onSuccess();
    expect(limiter.rate).toBeCloseTo(18.9);
    // WHEN it has held its aim for the half minute after the last cut
    now = 10_000 + 1_000 + 30_000;
    limiter.onSuccess();
    expect(limiter.rate).toBeCloseTo(18.9);
    // THEN it probes at 0.1 % of the configured rate a second: 0.03/s more a second
    now += 20_000;
    limiter.onSuccess();
    expect(limiter.rate).toBeCloseTo(19.5);
    // AND a throttle there is the edge found again: 90 % of the rate it came at
    limiter.onThrottle();
    expect(limiter.rate).toBeCloseTo(17.55);
    now += 60_000;
    limiter.onSuccess();
    expect(limiter.rate).toBeCloseTo(17.55 + 0.03 * 30, 1);
  });

  test('a first throttle cuts 30 %; throttles that keep coming (within 10 s of the last cut) cut 50 %, at the aim or not', () => {
    let now = 10_000;
    const limiter = new RateLimiter(30, () => now);
    limiter.onThrottle();
    expect(limiter.rate).toBeCloseTo(21);
    now += 6_000;
    limiter.onSuccess();
    expect(limiter.rate).toBeCloseTo(27);
    // Within ten seconds of the last cut: pressure, not the edge.
    limiter.onThrottle();
    expect(limiter.rate).toBeCloseTo(13.5);
  });

  test('a throttle soon after the edge was found again steps down as much again, and the aim stays: the bucket is still empty', () => {
    // GIVEN the edge found again at the aim (27/s, after a first throttle at 30/s): 90 % of it
    let now = 10_000;
    const limiter = new RateLimiter(30, () => now);
    limiter.onThrottle();
    now += 20_000;
    limiter.onSuccess();
    limiter.onThrottle();
    expect(limiter.rate).toBeCloseTo(24.3);

    // WHEN another throttle comes 3 s later
    now += 3_000;
    limiter.onThrottle();

    // THEN 90 % again, and back to the same aim after the hold
    expect(limiter.rate).toBeCloseTo(21.87);
    now += 10_000;
    limiter.onSuccess();
    expect(limiter.rate).toBeCloseTo(24.3);
  });

  test('throttles that keep coming after that are pressure: 50 %', () => {
    let now = 10_000;
    const limiter = new RateLimiter(30, () => now);
    limiter.onThrottle();
    now += 20_000;
    limiter.onSuccess();
    limiter.onThrottle();
    now += 3_000;
    limiter.onThrottle();
    now += 1_500;
    limiter.onThrottle();
    expect(limiter.rate).toBeCloseTo(21.87 / 2);
  });

  test('a probe well past the old ceiling with no throttle forgets it: the room grew (a neighbour went quiet)', () => {
    let now = 10_000;
    const limiter = new RateLimiter(30, () => now);
    limiter.onThrottle();
    now += 1_000;
    limiter.onThrottle();
    // Held at 18.9, then probing from 30 s after the cut: past 23.1 (the 21/s ceiling and 10 %) within 150 s.
    now += 30_000 + 150_000;
    limiter.onSuccess();
    expect(limiter.rate).toBeGreaterThan(23.1);
    now += 1_000;
    limiter.onSuccess();
    // Fast again: 1.5/s a second.
    expect(limiter.rate).toBeGreaterThan(24.5);
  });
});

describe('a limiter of a shared quota starts slow, measures the room it is left, and is never first to every token', () => {
  test('it sends at its configured rate for a second from its first call, then at half of it, growing by a tenth of it a second; at the configured rate, it goes on like any limiter', () => {
    let now = 10_000;
    const limiter = new RateLimiter(30, () => now, { shared: true });
    limiter.onSuccess();
    now += 999;
    limiter.onSuccess();
    expect(limiter.rate).toBe(30);
    now += 1;
    limiter.onSuccess();
    expect(limiter.rate).toBeCloseTo(15);
    now += 2_000;
    limiter.onSuccess();
    expect(limiter.rate).toBeCloseTo(21);
    now += 10_000;
    limiter.onSuccess();
    expect(limiter.rate).toBe(30);
    limiter.onThrottle();
    expect(limiter.rate).toBeCloseTo(21);
  });

  test('a throttle of a call sent in that first second says the quota had no burst left for it: like any limiter throttled at its configured rate', () => {
    let now = 10_000;
    const limiter = new RateLimiter(30, () => now, { shared: true });
    limiter.onSuccess();
    now += 1_200;
    limiter.onSuccess();
    expect(limiter.rate).toBeCloseTo(15);
    // Sent 900 ms after the first call, answered now.
    limiter.onThrottle(10_900);
    expect(limiter.rate).toBeCloseTo(21);
    now += 20_000;
    limiter.onSuccess();
    expect(limiter.rate).toBeCloseTo(27);
  });

  test('its first throttle cuts to half; the next, 2 s or more later, measures the room: the calls served in between over the time between, and it settles at 95 % of that', () => {
    // GIVEN a slow start up to 24/s, throttled there
    let now = 10_000;
    const limiter = new RateLimiter(30, () => now, { shared: true });
    limiter.onSuccess();
    now = 11_000;
    limiter.onSuccess();
    now = 14_000;
    limiter.onSuccess();
    limiter.onThrottle(now);
    expect(limiter.rate).toBeCloseTo(12);

    // WHEN 90 calls are served in the next 6 s (growing back to 18/s), and then one is throttled
    for (let i = 1; i <= 90; i++) {
      now = 14_000 + (i * 6_000) / 90;
      limiter.onSuccess(now);
    }
    expect(limiter.rate).toBeCloseTo(18);
    limiter.onThrottle(now);

    // THEN the room is 15/s: at once no more than a first cut (the bucket is empty), then 95 % of it
    expect(limiter.rate).toBeCloseTo(18 * 0.7);
    now += 10_000;
    limiter.onSuccess(now);
    expect(limiter.rate).toBeCloseTo(15 * 0.95);
    now += 18_000;
    limiter.onSuccess(now);
    expect(limiter.rate).toBeCloseTo(15 * 0.95);
  });

  test('a throttle sooner than 2 s after the last is no measure: it cuts 50 % and measures from there', () => {
    let now = 10_000;
    const limiter = new RateLimiter(100, () => now, { shared: true });
    limiter.onSuccess();
    now = 11_000;
    limiter.onSuccess();
    now = 15_000;
    limiter.onSuccess();
    limiter.onThrottle(now);
    expect(limiter.rate).toBeCloseTo(45);
    now = 16_500;
    limiter.onThrottle(now);
    expect(limiter.rate).toBeCloseTo(22.5);
    // 150 calls served in the 5 s from that throttle to the next: 30/s
    for (let i = 1; i <= 150; i++) {
      now = 16_500 + (i * 5_000) / 150;
      limiter.onSuccess(now);
    }
    expect(limiter.rate).toBeCloseTo(37.5);
    limiter.onThrottle(now);
    expect(limiter.rate).toBeCloseTo(37.5 * 0.7);
    now += 10_000;
    limiter.onSuccess(now);
    expect(limiter.rate).toBeCloseTo(30 * 0.95);
  });

  test('it sends each call at a random point of its slot; the slots keep the rate', async () => {
    const now = 0;
    const limiter = new RateLimiter(10, () => now, { shared: true, random: () => 0.5 });
    const signal = new StopSignal();
    const sleeps: number[] = [];
    jest.spyOn(signal, 'sleep').mockImplementation(async (ms) => void sleeps.push(ms));
    for (let i = 0; i < 4; i++) await limiter.take(signal);
    expect(sleeps).toEqual([50, 150, 250, 350]);
  });
});

/**
 * Drives a limiter configured at 30/s, made as the seeding function makes it (its quota
 * shared), for `seconds` of simulated time against a quota (a token bucket of `quota` a
 * second, one second of burst) that also throttles a share `random` of the calls it would
 * serve, at random, and that a neighbour shares: `neighbour` calls a second, never retried.
 * Arrivals jitter by up to 30 % of their spacing (a seeded generator: the same run every
 * time). Returns the calls served a second, the share throttled, the share the limiter
 * ended up tolerating, and minute by minute the seeder's served calls a second and the
 * share of the neighbour's calls served.
 */
function simulate(quota: number, random: number, seconds = 180, neighbour = 0) {
  let now = 10_000;
  const start = now;
  let seed = 42;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const jitter = (spacing: number) => spacing * (1 + 0.3 * (2 * next() - 1));
  const limiter = new RateLimiter(30, () => now, { shared: true, random: next });
  let tokens = quota;
  let refilled = now;
  const take = () => {
    tokens = Math.min(quota, tokens + ((now - refilled) * quota) / 1000);
    refilled = now;
    if (tokens < 1) return false;
    tokens--;
    return true;
  };
  let served = 0;
  let throttled = 0;
  const minutes: { seeder: number; sent: number; got: number }[] = [];
  const minute = () => (minutes[Math.floor((now - start) / 60_000)] ??= { seeder: 0, sent: 0, got: 0 });
  let seederAt = now;
  let neighbourAt = neighbour > 0 ? now + 1 : Infinity;
  const end = now + seconds * 1000;
  while (Math.min(seederAt, neighbourAt) < end) {
    if (neighbourAt < seederAt) {
      now = neighbourAt;
      neighbourAt += jitter(1000 / neighbour);
      minute().sent++;
      if (take()) minute().got++;
      continue;
    }
    now = seederAt;
    seederAt += jitter(1000 / limiter.rate);
    if (take() && next() >= random) {
      served++;
      minute().seeder++;
      limiter.onSuccess();
    } else {
      throttled++;
      limiter.onThrottle();
    }
  }
  return {
    served: served / seconds,
    throttled: throttled / (served + throttled),
    tolerated: limiter.tolerated,
    minutes: minutes.map((m) => ({ seeder: m.seeder / 60, neighbour: m.sent ? m.got / m.sent : 1 })),
  };
}

/**
 * The same quota and neighbour as simulate(), but every call when it would really go: the
 * seeder's when take() lets it (its slots, as the seeding function sends them, on as many
 * lanes as it needs), each answered `answerMs` later; the neighbour's on a timer whose
 * every interval drifts by up to 2 % (as setInterval's do). Both are spaced evenly, as in
 * the bench, where a seeder at the quota's rate is first to every token.
 */
async function simulateOnSlots(quota: number, seconds: number, neighbour = 0, answerMs = 0) {
  let now = 10_000;
  const start = now;
  const end = now + seconds * 1000;
  let seed = 42;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const limiter = new RateLimiter(30, () => now, { shared: true, random: next });
  let tokens = quota;
  let refilled = now;
  const take = () => {
    tokens = Math.min(quota, tokens + ((now - refilled) * quota) / 1000);
    refilled = now;
    if (tokens < 1) return false;
    tokens--;
    return true;
  };
  const events: { at: number; run: () => void }[] = [];
  const at = (when: number, run: () => void) => void events.push({ at: when, run });
  const signal = new StopSignal();
  jest.spyOn(signal, 'sleep').mockImplementation((ms) => new Promise<void>((wake) => at(now + Math.max(0, ms), wake)));
  let served = 0;
  let throttled = 0;
  const minutes: { seeder: number; sent: number; got: number }[] = [];
  const minute = () => (minutes[Math.floor((now - start) / 60_000)] ??= { seeder: 0, sent: 0, got: 0 });
  if (neighbour > 0) {
    const tick = () => {
      minute().sent++;
      if (take()) minute().got++;
      at(now + (1000 / neighbour) * (1 + 0.02 * (2 * next() - 1)), tick);
    };
    at(now + 1, tick);
  }
  void (async () => {
    for (;;) {
      const sentAt = await limiter.take(signal);
      const ok = take();
      if (ok) {
        served++;
        minute().seeder++;
      } else throttled++;
      at(now + answerMs, () => (ok ? limiter.onSuccess(sentAt) : limiter.onThrottle(sentAt)));
    }
  })();
  for (;;) {
    events.sort((a, b) => a.at - b.at);
    const event = events.shift();
    if (!event || event.at >= end) break;
    now = event.at;
    event.run();
    // The seeder's lane goes on to its next take().
    await new Promise(setImmediate);
  }
  return {
    served: served / seconds,
    throttled: throttled / (served + throttled),
    throttles: throttled,
    tolerated: limiter.tolerated,
    minutes: minutes.map((m) => ({ seeder: m.seeder / 60, neighbour: m.sent ? m.got / m.sent : 1 })),
  };
}

describe('the limiter keeps other callers of the quota whole for as long as it runs', () => {
  test.each([0, 100])(
    'a neighbour at 15/s from the start, every call evenly spaced (answers %i ms later): served 95 % or more in every minute, the first included, the seeder 90 % or more of the 15/s it leaves',
    async (answerMs) => {
      // GIVEN the seeder's calls on its own slots and the neighbour's on a timer, as in the
      // bench (where, starting at the quota's 30/s, it was first to every token and the
      // neighbour lost all its calls for seconds before the seeder saw a throttle)
      const run = await simulateOnSlots(30, 360, 15, answerMs);

      // THEN
      expect(run.minutes).toHaveLength(6);
      for (const m of run.minutes) {
        expect(m.neighbour).toBeGreaterThanOrEqual(0.95);
        expect(m.seeder).toBeGreaterThanOrEqual(0.9 * 15);
      }
      expect(run.tolerated).toBe(0);
    },
  );

  test('alone at its quota, on its own slots: 98 % of it or more over 10,000 users of calls, never throttled', async () => {
    const run = await simulateOnSlots(30, 10_000 / 30);
    expect(run.served).toBeGreaterThanOrEqual(0.98 * 30);
    expect(run.throttles).toBe(0);
  });

  test('a quota at a third of its rate, on its own slots: never learnt as noise, 90 % of it or more in every minute, few throttles', async () => {
    const run = await simulateOnSlots(10, 300);
    expect(run.tolerated).toBe(0);
    for (const m of run.minutes) expect(m.seeder).toBeGreaterThanOrEqual(0.9 * 10);
    expect(run.throttled).toBeLessThan(0.05);
  });

  test('a neighbour at 15/s of a 30/s quota for six minutes: served 95 % or more in every minute, the seeder 90 % or more of the 15/s it leaves', () => {
    const run = simulate(30, 0, 360, 15);
    expect(run.minutes).toHaveLength(6);
    for (const m of run.minutes) {
      expect(m.neighbour).toBeGreaterThanOrEqual(0.95);
      expect(m.seeder).toBeGreaterThanOrEqual(0.9 * 15);
    }
    expect(run.tolerated).toBe(0);
  });

  test('a quota at a third of its rate for five minutes: never learnt as noise, 90 % of it or more in every minute, few throttles', () => {
    const run = simulate(10, 0, 300);
    expect(run.tolerated).toBe(0);
    for (const m of run.minutes) expect(m.seeder).toBeGreaterThanOrEqual(0.9 * 10);
    expect(run.throttled).toBeLessThan(0.05);
  });
});

describe('the limiter tells throttling it causes from throttling it does not', () => {
  test('30 % of calls throttled at random whatever the rate: learnt as noise, it serves near the 21/s bound, not at its floor', () => {
    const run = simulate(30, 0.3);
    expect(run.tolerated).toBeGreaterThan(0.2);
    expect(run.served).toBeGreaterThan(0.85 * 21);
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

  test('a quota under half the rate: the throttles on the way down are not noise, and the rate stays under the ceiling it learnt', () => {
    // GIVEN a quota of 10/s whose throttles come in bursts: once it is spent, the next six
    // calls answered are throttled whatever the rate (they were on their way already)
    let now = 10_000;
    const limiter = new RateLimiter(30, () => now);
    let tokens = 10;
    let refilled = now;
    let burst = 0;
    let burstAt = 0;
    let highest = 0;
    const end = now + 300_000;
    while (now < end) {
      now += 1000 / limiter.rate;
      tokens = Math.min(10, tokens + ((now - refilled) * 10) / 1000);
      refilled = now;
      let served = tokens >= 1;
      let sent = now;
      if (served) tokens--;
      else if (burst === 0) {
        burst = 6;
        burstAt = now;
      }
      if (burst > 0) {
        burst--;
        served = false;
        // Already on their way when the quota ran out.
        sent = burstAt;
      }
      if (served) limiter.onSuccess(sent);
      else limiter.onThrottle(sent);
      // WHEN it has settled, after its first 20 s
      if (now > 30_000) highest = Math.max(highest, limiter.rate);
    }

    // THEN nothing was learnt as noise, and it never went far past the quota again
    expect(limiter.tolerated).toBe(0);
    expect(highest).toBeLessThan(11);
  });

  test('noise is learnt only at a fifth of the rate or less, tolerated up to its share plus a margin, judged on the calls since the last cut', () => {
    let now = 10_000;
    const limiter = new RateLimiter(30, () => now);
    const step = (throttled: boolean) => {
      now += 1000 / limiter.rate;
      if (throttled) limiter.onThrottle();
      else limiter.onSuccess();
    };
    // A third of the calls throttled whatever the rate: cut by 30 % a second, to 6/s or less.
    let i = 0;
    while (limiter.rate > 6 && i < 1_000) step(i++ % 3 === 0);
    expect(limiter.tolerated).toBe(0);
    // Two seconds there, still a third throttled: noise, and the rate is free to grow.
    const low = now;
    while (limiter.tolerated === 0 && i < 1_000) step(i++ % 3 === 0);
    expect(now - low).toBeGreaterThanOrEqual(2_000);
    expect(now - low).toBeLessThan(4_000);
    expect(limiter.tolerated).toBeCloseTo(1 / 3, 1);
    for (let j = 0; j < 300; j++) step(j % 3 === 0);
    expect(limiter.rate).toBeGreaterThan(20);
    // Twice as many throttles as the noise: pressure again, a cut.
    const learnt = limiter.rate;
    for (let j = 0; j < 300; j++) step(j % 3 !== 0);
    expect(limiter.rate).toBeLessThan(learnt * 0.75);
  });

  test('once the noise is learnt, the rate is back where the first cut of the way down left it', () => {
    let now = 10_000;
    const limiter = new RateLimiter(30, () => now);
    const step = (throttled: boolean) => {
      now += 1000 / limiter.rate;
      if (throttled) limiter.onThrottle();
      else limiter.onSuccess();
    };
    let i = 0;
    while (limiter.tolerated === 0 && i < 1_000) step(i++ % 3 === 0);
    expect(limiter.tolerated).toBeGreaterThan(0);
    expect(limiter.rate).toBeCloseTo(21);
  });

  test('every call throttled, however slow: not noise (an outage, or a quota far under the rates); the floor holds', () => {
    let now = 10_000;
    const limiter = new RateLimiter(30, () => now);
    for (let i = 0; i < 600; i++) {
      now += 1000 / limiter.rate;
      limiter.onThrottle();
    }
    expect(limiter.tolerated).toBe(0);
    expect(limiter.rate).toBe(3);
  });
});
