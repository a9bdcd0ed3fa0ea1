// Playwright: sign the seeded users in once, before all tests, and save each one's browser
// state (Amplify's localStorage keys) for `use: { storageState }`. Written against plain
// Node, so it needs no Playwright types here; in playwright.config.ts:
//
//   export default defineConfig({
//     globalSetup: require.resolve('./global-setup'),
//     use: { baseURL: 'http://localhost:3000', storageState: 'playwright/.auth/qa-admin.json' },
//   });
//
// In your project, import from 'cdk-cognito-seeder/testing'. Keep playwright/.auth out of
// git: the files hold live tokens.
import * as fs from 'fs';
import * as path from 'path';
import { SeededUsers } from '../../testing';

const origin = process.env.BASE_URL ?? 'http://localhost:3000';

/** Playwright calls the default export once (its FullConfig argument is not needed here). */
export default async function globalSetup(): Promise<void> {
  const users = await SeededUsers.load({ stackName: process.env.STACK_NAME ?? 'Qa' });
  try {
    for (const username of ['qa-admin', 'qa-reader']) {
      const state = await users.storageState(username, { origin });
      const file = path.join('playwright', '.auth', `${username}.json`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify(state, null, 2), { mode: 0o600 });
    }
  } finally {
    users.destroy();
  }
}
