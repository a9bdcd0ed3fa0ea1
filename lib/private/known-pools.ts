import type * as cognito from 'aws-cdk-lib/aws-cognito';
import type { KnownPool } from './validation';

/**
 * What synth knows about pools this library created (SeededUserPool records its props
 * here), so any UserSeeder on such a pool can validate against its policy and schema.
 */
const known = new WeakMap<cognito.IUserPool, KnownPool>();

export function rememberPool(pool: cognito.IUserPool, facts: KnownPool): void {
  known.set(pool, facts);
}

export function knownPool(pool: cognito.IUserPool): KnownPool | undefined {
  return known.get(pool);
}
