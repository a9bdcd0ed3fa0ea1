/**
 * The order in which the seed resources of a stack run. Cognito's quotas are per account
 * and region, so seeders that run together share them and each may overrun the 3,600 s
 * CloudFormation gives it.
 */
import { Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/** Not a construct: the order adds nothing to the construct tree, only dependencies. */
const QUEUES = new WeakMap<Stack, SeedQueue>();

/** The seed resources of one stack, in the order their seeders were made. */
export class SeedQueue {
  public static of(scope: Construct): SeedQueue {
    const stack = Stack.of(scope);
    let queue = QUEUES.get(stack);
    if (!queue) {
      queue = new SeedQueue();
      QUEUES.set(stack, queue);
    }
    return queue;
  }

  private last?: Construct;

  private constructor() {}

  /**
   * Makes `resource` wait for the seed resource queued before it. One after another, each
   * has the account's quotas whole and its own 3,600 s, which is what synth budgets;
   * CloudFormation then deletes them one after another too, in the reverse order.
   */
  public add(resource: Construct): void {
    if (this.last) resource.node.addDependency(this.last);
    this.last = resource;
  }
}
