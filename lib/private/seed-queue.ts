/**
 * The order in which the seed resources of a stack run, and the note for stacks that may
 * seed at the same time. Cognito's quotas are per account and region, so seeders that run
 * together share them and each may overrun the 3,600 s CloudFormation gives it.
 */
import { Annotations, Aspects, Stack, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { SeederLoad, sharedQuotaNote, StackLoad } from './shared-quota';
import { SEED_BUDGET_SECONDS } from './time-budget';

/** The id of the synth warning for stacks that may seed at the same time (acknowledge it by this id). */
export const SHARED_QUOTA_WARNING = 'cdk-cognito-seeder:sharedQuota';

interface Queued {
  readonly resource: Construct;
  /** Undefined while the rates are tokens: nothing can be estimated. */
  readonly load: () => SeederLoad | undefined;
}

/** Not a construct: the order adds nothing to the construct tree, only dependencies. */
const QUEUES = new WeakMap<Stack, SeedQueue>();

/** The seed resources of one stack, in the order their seeders were made. */
export class SeedQueue {
  public static of(scope: Construct): SeedQueue {
    const stack = Stack.of(scope);
    let queue = QUEUES.get(stack);
    if (!queue) {
      queue = new SeedQueue(stack);
      QUEUES.set(stack, queue);
    }
    return queue;
  }

  private readonly queued: Queued[] = [];

  private constructor(private readonly stack: Stack) {
    Aspects.of(stack).add({ visit: (node) => node === stack && this.noteSharedQuota() });
  }

  /**
   * Makes `resource` wait for the seed resource queued before it. One after another, each
   * has the account's quotas whole and its own 3,600 s, which is what synth budgets;
   * CloudFormation then deletes them one after another too, in the reverse order.
   */
  public add(resource: Construct, load: () => SeederLoad | undefined): void {
    const previous = this.queued[this.queued.length - 1];
    if (previous) resource.node.addDependency(previous.resource);
    this.queued.push({ resource, load });
  }

  /** The stack's seeding, where its account and region are known. */
  private stackLoad(): StackLoad | undefined {
    const { account, region } = this.stack;
    if (Token.isUnresolved(account) || Token.isUnresolved(region)) return undefined;
    const seeders = this.queued.flatMap((q) => q.load() ?? []);
    return { path: this.stack.node.path, account, region, seeders, dependsOn: dependencies(this.stack) };
  }

  /** Warns (once per stack) when stacks of the app that may deploy with this one could seed past the budget together. */
  private noteSharedQuota(): void {
    const mine = this.stackLoad();
    if (!mine) return;
    const all = this.stack.node.root.node
      .findAll()
      .filter((c): c is Stack => Stack.isStack(c))
      .flatMap((s) => QUEUES.get(s)?.stackLoad() ?? []);
    const note = sharedQuotaNote(mine, all, SEED_BUDGET_SECONDS);
    // A warning, not an info: stacks that do deploy together time out, and their rollbacks
    // share the quotas too. Whoever deploys them one at a time anyway acknowledges it by id.
    if (note) Annotations.of(this.stack).addWarningV2(SHARED_QUOTA_WARNING, note);
  }
}

/** The paths of the stacks `stack` depends on, directly or through others. */
function dependencies(stack: Stack): Set<string> {
  const seen = new Set<string>();
  const visit = (s: Stack): void => {
    for (const d of s.dependencies) {
      if (seen.has(d.node.path)) continue;
      seen.add(d.node.path);
      visit(d);
    }
  };
  visit(stack);
  return seen;
}
