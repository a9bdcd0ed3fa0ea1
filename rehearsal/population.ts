/**
 * The load populations of `npm run bench` and its CPU profile: one stack, one
 * SeededUserPool of users `load-0` … `load-<n-1>` sharing one generated password (split
 * across more seeders of the pool when asked).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { PasswordMode, SeededUserPool, SeedingOptions, SeedPassword, UserSeeder } from '../lib';

/** The pace lifted (as a resource's `Rates`): for runs that measure memory or CPU, not pace. */
export const LIFTED_RATES = { Create: '5000', Recovery: '5000', Write: '5000', Read: '5000' };

export interface PopulationOptions {
  readonly seeding?: SeedingOptions;
  /** Groups created in the stack, every user a member of each. */
  readonly groups?: string[];
  /**
   * Seeders the users are split across, in order (the pool's own, then `Seeder2`, … on
   * the same pool): one stack, so they run one after another. @default 1
   */
  readonly seeders?: number;
}

/** The app, synthesized into a temporary directory the caller removes. */
export function populationApp(
  users: number,
  mode: PasswordMode,
  options: PopulationOptions = {},
): { app: App; outdir: string } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const app = new App({ outdir });
  const stack = new Stack(app, 'Bench');
  const pool = new SeededUserPool(stack, 'Pool', { seeding: options.seeding });
  const groups = options.groups ?? [];
  for (const groupName of groups) {
    new cognito.CfnUserPoolGroup(stack, `Group-${groupName}`, { userPoolId: pool.userPoolId, groupName });
  }
  const seeders = [
    pool.seeder,
    ...Array.from(
      { length: (options.seeders ?? 1) - 1 },
      (_, i) => new UserSeeder(stack, `Seeder${i + 2}`, { ...options.seeding, userPool: pool }),
    ),
  ];
  const password = SeedPassword.generate();
  for (let i = 0; i < users; i++) {
    const seeder = seeders[Math.floor((i * seeders.length) / users)];
    seeder.addUser({ username: `load-${i}`, mode, password, groups });
  }
  return { app, outdir };
}
