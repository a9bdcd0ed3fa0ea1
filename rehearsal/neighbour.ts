/**
 * Another caller of the account's quota for `npm run bench`: AdminSetUserPassword on users
 * of its own, evenly spaced, through the same proxy as the seeder, never retried, so every
 * call the seeder's pace takes from it shows as one it was not served.
 */
import {
  AdminCreateUserCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
} from '@aws-sdk/client-cognito-identity-provider';
import type { Rehearsal } from './harness';

/** The share of a minute's calls served. */
export interface NeighbourMinute {
  readonly sent: number;
  readonly served: number;
}

export interface NeighbourStats {
  /** The share of all its calls served. */
  readonly share: number;
  readonly served: number;
  /** Minute by minute from its start (the last one may be partial). */
  readonly minutes: NeighbourMinute[];
  /** Every call: when it was sent, and whether it was served. */
  readonly calls: readonly { readonly at: number; readonly served: boolean }[];
  readonly startedAt: number;
  readonly stoppedAt: number;
}

/** Starts the neighbour at `rps` calls a second; `stop()` ends it and says what it was served. */
export async function startNeighbour(
  rehearsal: Rehearsal,
  poolId: string,
  rps: number,
): Promise<{ stop: () => Promise<NeighbourStats> }> {
  // Ten users of its own, in turn: one user takes 10 writes a second at most.
  const names = Array.from({ length: 10 }, (_, i) => `neighbour-${i}`);
  for (const Username of names) {
    await rehearsal.cognito.send(
      new AdminCreateUserCommand({ UserPoolId: poolId, Username, MessageAction: 'SUPPRESS' }),
    );
  }
  const client = new CognitoIdentityProviderClient({
    endpoint: rehearsal.cognitoEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 1,
  });
  const startedAt = Date.now();
  // When each call was sent, and whether it was served.
  const outcomes: { at: number; served: boolean }[] = [];
  const calls: Promise<void>[] = [];
  const timer = setInterval(() => {
    const outcome = { at: Date.now(), served: false };
    outcomes.push(outcome);
    calls.push(
      client
        .send(
          new AdminSetUserPasswordCommand({
            UserPoolId: poolId,
            Username: names[outcomes.length % names.length],
            Password: 'Neighbour-Passw0rd!',
            Permanent: true,
          }),
        )
        .then(
          () => void (outcome.served = true),
          () => undefined,
        ),
    );
  }, 1000 / rps);
  return {
    stop: async () => {
      clearInterval(timer);
      const stoppedAt = Date.now();
      await Promise.all(calls);
      client.destroy();
      const served = outcomes.filter((o) => o.served).length;
      const minutes: NeighbourMinute[] = [];
      for (const o of outcomes) {
        const m = Math.floor((o.at - startedAt) / 60_000);
        minutes[m] ??= { sent: 0, served: 0 };
        minutes[m] = { sent: minutes[m].sent + 1, served: minutes[m].served + (o.served ? 1 : 0) };
      }
      return {
        share: outcomes.length ? served / outcomes.length : 1,
        served,
        minutes,
        calls: outcomes,
        startedAt,
        stoppedAt,
      };
    },
  };
}
