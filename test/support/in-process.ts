// What every test that runs the handler in-process needs, set up once per suite: the
// loopback ResponseURL server, a real in-memory ledger with a fresh table per test, the
// stack's state machine run locally from its synthesized definition (each task calling
// the handler in this process), the test's own SDK mocks, and the handler's output
// captured per test.
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { handler } from '../../lambda';
import { CapturedOutput, context, ResponseServer } from './cfn';
import { InProcessEngine } from './engine';
import { TestLedger } from './ledger';
import { cloudFormationSends } from './mocks';

export interface InProcessHandler {
  readonly server: ResponseServer;
  readonly ledger: TestLedger;
  readonly output: CapturedOutput;
  readonly engine: InProcessEngine;
  /**
   * Delivers a CloudFormation event as Lambda does and waits until its execution has ended
   * (its slices and its answer each invoke the handler, with `ctx`'s time left).
   */
  readonly deliver: (event: CloudFormationCustomResourceEvent, ctx?: Parameters<typeof handler>[1]) => Promise<void>;
}

/**
 * Registers the suite's hooks and returns the objects they manage (the same objects for
 * every test). `mocks` runs before each test, after the table is fresh: set the SDK mocks.
 */
export function inProcessHandler(mocks: () => void): InProcessHandler {
  const engine = new InProcessEngine();
  const fixture: InProcessHandler = {
    server: new ResponseServer(),
    ledger: new TestLedger(),
    output: new CapturedOutput(),
    engine,
    deliver: async (event, ctx = context()) => {
      engine.remainingMs = ctx?.getRemainingTimeInMillis?.() ?? 900_000;
      cloudFormationSends(event);
      await handler(event, ctx);
      await engine.engine.settle();
    },
  };
  beforeAll(async () => {
    await fixture.server.start();
    // Before the handler's first invocation: it creates its clients once.
    await fixture.ledger.start();
    await engine.start();
  });
  afterAll(async () => {
    await engine.stop();
    await fixture.server.stop();
    await fixture.ledger.stop();
  });
  beforeEach(async () => {
    fixture.server.reset();
    engine.slices = 0;
    await fixture.ledger.freshTable();
    mocks();
    fixture.output.start();
  });
  afterEach(() => fixture.output.restore());
  return fixture;
}
