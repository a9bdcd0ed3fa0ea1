import { Token } from 'aws-cdk-lib';
import { PasswordMode } from '../password-mode';
import type { SeedUser } from '../seed-user';

/** Calls per second per quota category, as the seeder is configured. */
export interface Rates {
  readonly create: number;
  readonly recovery: number;
  readonly write: number;
}

/**
 * Counts the Cognito calls a Create of the seeder's users makes, per quota category, and
 * how long they take at the configured rates. The categories are paced independently,
 * so the slowest one sets the time.
 */
export class TimeBudget {
  private create = 0;
  private recovery = 0;
  private write = 0;

  constructor(
    private readonly rates: Rates,
    /** Seconds a request may spend on users: the function's timeout less its guard. */
    readonly budgetSeconds: number,
  ) {}

  add(user: SeedUser): void {
    this.create += 1;
    if (user.mode === PasswordMode.PERMANENT) this.recovery += 1;
    if (user.mode === PasswordMode.RESET_REQUIRED) this.recovery += 2;
    this.write += user.groups?.length ?? 0;
  }

  /** Seconds a Create needs, or undefined when a rate is a token. */
  get seconds(): number | undefined {
    const { create, recovery, write } = this.rates;
    if ([create, recovery, write].some((r) => Token.isUnresolved(r))) return undefined;
    return Math.max(this.create / create, this.recovery / recovery, this.write / write);
  }

  describe(): string {
    const { create, recovery, write } = this.rates;
    return `${this.create} AdminCreateUser at ${create}/s, ${this.recovery} password calls at ${recovery}/s, ${this.write} group writes at ${write}/s`;
  }
}
