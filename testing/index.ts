/**
 * `cdk-cognito-seeder/testing`: the seeded users, for the tests that sign in as them.
 *
 * ```ts
 * import { SeededUsers } from 'cdk-cognito-seeder/testing';
 *
 * const users = await SeededUsers.load({ stackName: 'Qa' });
 * const { idToken } = await users.signIn('alice');
 * ```
 *
 * A runtime module for Node (jest, Playwright, Cypress tasks, CI scripts): it imports no
 * aws-cdk-lib and no construct code, and shares only the manifest's types with the
 * construct side. It is not part of the jsii assembly (see testing/README.md).
 *
 * @packageDocumentation
 */
export { SeededUsers } from './seeded-users';
export type {
  LoadSeededUsersOptions,
  RepairedUser,
  RepairOptions,
  RepairReport,
  SeededCredentials,
  SeededTokens,
  SeededUser,
  SeededUsersOptions,
  SignInFlow,
  SignInOptions,
  StorageStateOptions,
} from './seeded-users';
export { SeededUsersError } from './errors';
export type { SeededUsersErrorCode } from './errors';
export type { AwsSdkClient, SeededUsersClients } from './aws';
export { AMPLIFY_KEY_PREFIX, amplifyLocalStorage, playwrightStorageState } from './browser-storage';
export type { BrowserStorageState, BrowserTokens, LocalStorageEntry } from './browser-storage';
export { MANIFEST_VERSION, manifestParameterName, manifestParameterPath } from './manifest-format';
export type { Manifest, ManifestMode, ManifestPointer, ManifestSource, ManifestUser } from './manifest-format';
