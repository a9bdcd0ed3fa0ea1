// What every sequence test checks of a rehearsal world (a pool, and the rehearsal that
// plays CloudFormation against it): one answer per request, and no canary anywhere.
import type { InvokeResult, Rehearsal, SeedResource } from '../../rehearsal/harness';

interface World {
  readonly r: Rehearsal;
  readonly poolId: string;
}

/** The physical id a seed resource answers for its pool. */
export const physicalIdOf = (w: World, resource: SeedResource) => `${w.poolId}/${resource.logicalId}`;

/** CloudFormation heard exactly once for each request. */
export function expectOneAnswer(w: World, ...results: InvokeResult[]): void {
  for (const result of results) {
    const requestId = String(result.event.RequestId);
    expect({ requestId, answers: w.r.responses.bodies.filter((b) => b.RequestId === requestId).length }).toEqual({
      requestId,
      answers: 1,
    });
  }
}

/** `canary` is in nothing the function printed or answered, for these requests or any other invocation. */
export function expectNoCanaryIn(w: World, canary: string, ...results: InvokeResult[]): void {
  const all = [
    ...results.flatMap((x) => [x.output, ...x.rawResponses]),
    ...w.r.invocationOutputs,
    JSON.stringify(w.r.responses.bodies),
  ].join('\n');
  expect(all).not.toContain(canary);
}
