// What every test that runs the handler in-process needs, set up once per suite: the
// loopback ResponseURL server, a real in-memory ledger with a fresh table per test, the
// test's own SDK mocks, and the handler's output captured per test.
import { CapturedOutput, ResponseServer } from './cfn';
import { TestLedger } from './ledger';

export interface InProcessHandler {
  readonly server: ResponseServer;
  readonly ledger: TestLedger;
  readonly output: CapturedOutput;
}

/**
 * Registers the suite's hooks and returns the objects they manage (the same objects for
 * every test). `mocks` runs before each test, after the table is fresh: set the SDK mocks.
 */
export function inProcessHandler(mocks: () => void): InProcessHandler {
  const fixture = { server: new ResponseServer(), ledger: new TestLedger(), output: new CapturedOutput() };
  beforeAll(async () => {
    await fixture.server.start();
    // Before the handler's first invocation: it creates its DynamoDB client once.
    await fixture.ledger.start();
  });
  afterAll(async () => {
    await fixture.server.stop();
    await fixture.ledger.stop();
  });
  beforeEach(async () => {
    fixture.server.reset();
    await fixture.ledger.freshTable();
    mocks();
    fixture.output.start();
  });
  afterEach(() => fixture.output.restore());
  return fixture;
}
