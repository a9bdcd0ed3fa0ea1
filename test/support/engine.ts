// The stack's state machine for handler tests that run the function in-process: the
// definition a seeder synthesizes, run by the local engine, each task calling `handler`
// in this process (so the suite's SDK mocks apply), as Step Functions would call it.
import { App, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { handler } from '../../lambda';
import { PasswordMode, UserSeeder } from '../../lib';
import { LocalStepFunctions, taskError } from '../../rehearsal/local-engine';
import { resolve } from '../../rehearsal/template';
import { context, FUNCTION_ARN, STATE_MACHINE_ARN } from './cfn';

let definition: object | undefined;

/** The definition a seeder's stack synthesizes, with the test function's ARN in it. */
export function engineDefinition(): object {
  if (definition) return definition;
  const stack = new Stack(new App(), 'Definition');
  new UserSeeder(stack, 'Seeder', {
    userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', 'us-east-1_x'),
    users: [
      { username: 'x', mode: PasswordMode.RESET_REQUIRED, attributes: { email: 'x@x.com', email_verified: 'true' } },
    ],
  });
  const template = (stack.node.root as App).synth().getStackByName('Definition').template;
  const resources = Object.entries<{ Type: string; Properties: { DefinitionString: unknown; Handler?: string } }>(
    template.Resources,
  );
  const [, machine] = resources.find(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')!;
  // The seeding function (the stack's other function is its failure answerer, index.onFailure).
  const [fnId] = resources.find(
    ([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.Handler === 'index.handler',
  )!;
  definition = JSON.parse(
    String(
      resolve(machine.Properties.DefinitionString, {
        refs: new Map(),
        attributes: new Map([[`${fnId}.Arn`, FUNCTION_ARN]]),
      }),
    ),
  ) as object;
  return definition;
}

/** Runs each task in-process; `slices` counts the Work slices run. */
export class InProcessEngine {
  /** Retry intervals at a hundredth: the answer's 30 s retries take 0.3 s here. */
  readonly engine = new LocalStepFunctions(0.01);
  slices = 0;
  /** The remaining time each invocation's context starts with. */
  remainingMs = 900_000;

  async start(): Promise<void> {
    this.engine.register(STATE_MACHINE_ARN, engineDefinition(), async (payload) => {
      if ((payload as { kind?: string })?.kind === 'work') this.slices++;
      try {
        return (await handler(payload, context(this.remainingMs))) ?? null;
      } catch (error) {
        // A function error, reported by its type.
        throw taskError((error as Error)?.name || 'Error', (error as Error)?.message);
      }
    });
    await this.engine.start();
    process.env.AWS_ENDPOINT_URL_SFN = this.engine.endpoint;
  }

  async stop(): Promise<void> {
    await this.engine.settle();
    await this.engine.close();
  }
}
