/**
 * Tokens in the shape a browser app keeps them, so an end-to-end test can start signed in.
 *
 * Amplify JS (v6, `@aws-amplify/auth`, and v5's `amazon-cognito-identity-js`) keeps a
 * signed-in user in localStorage under `CognitoIdentityServiceProvider.<clientId>.LastAuthUser`
 * (the username) and `CognitoIdentityServiceProvider.<clientId>.<username>.<key>` for
 * `accessToken`, `idToken`, `refreshToken` and `clockDrift`; it finds the others through
 * LastAuthUser. Sources, in aws-amplify/amplify-js: v6's packages/auth/src/providers/
 * cognito/tokenProvider/TokenStore.ts (`storeTokens`, `getLastAuthUserKey`,
 * `getAuthStorageKeys`), constants.ts (`AUTH_KEY_PREFIX`) and cacheTokens.ts (clockDrift =
 * the access token's `iat` in ms minus now), as of commit 36e3ce1 (2026-08); v5's
 * packages/amazon-cognito-identity-js/src/CognitoUser.js `cacheTokens` (the same keys; the
 * package left that repository in c73b0c0). The username is the access token's `username`
 * claim: the name Cognito returns as USER_ID_FOR_SRP, which Amplify's SRP sign-in stores.
 * test/amplify-storage-state.test.ts holds this layout to the pinned `@aws-amplify/auth`:
 * Amplify signs in from it, refreshes with it, and its own sign-in writes the same keys.
 */
import { SeededUsersError } from './errors';

/** The prefix Amplify gives every key. */
export const AMPLIFY_KEY_PREFIX = 'CognitoIdentityServiceProvider';

/** One localStorage entry. */
export interface LocalStorageEntry {
  readonly name: string;
  readonly value: string;
}

/**
 * A Playwright `storageState` (for `browser.newContext({ storageState })` or the
 * `use.storageState` option, or written to a file): no cookies, the tokens in the
 * origin's localStorage.
 */
export interface BrowserStorageState {
  /** Always empty: the tokens live in localStorage. */
  readonly cookies: never[];
  readonly origins: { readonly origin: string; readonly localStorage: LocalStorageEntry[] }[];
}

/** The tokens a sign-in returned, as {@link amplifyLocalStorage} needs them. */
export interface BrowserTokens {
  readonly idToken: string;
  readonly accessToken: string;
  readonly refreshToken?: string;
}

/** The payload of a JWT, not verified: only to read claims of a token Cognito just issued. */
export function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  try {
    return JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new SeededUsersError('SIGN_IN_FAILED', 'Cognito returned a token that is not a JWT');
  }
}

/** The localStorage entries Amplify reads for a signed-in user of app client `clientId`. */
export function amplifyLocalStorage(clientId: string, tokens: BrowserTokens, now = Date.now()): LocalStorageEntry[] {
  const claims = jwtClaims(tokens.accessToken);
  const username =
    typeof claims.username === 'string' ? claims.username : jwtClaims(tokens.idToken)['cognito:username'];
  if (typeof username !== 'string' || username === '') {
    throw new SeededUsersError('SIGN_IN_FAILED', 'Cognito returned an access token without a username claim');
  }
  const iat = typeof claims.iat === 'number' ? claims.iat * 1000 : 0;
  const user = `${AMPLIFY_KEY_PREFIX}.${clientId}.${username}`;
  return [
    { name: `${AMPLIFY_KEY_PREFIX}.${clientId}.LastAuthUser`, value: username },
    { name: `${user}.idToken`, value: tokens.idToken },
    { name: `${user}.accessToken`, value: tokens.accessToken },
    ...(tokens.refreshToken ? [{ name: `${user}.refreshToken`, value: tokens.refreshToken }] : []),
    { name: `${user}.clockDrift`, value: String(iat > 0 ? iat - now : 0) },
  ];
}

/** A Playwright storage state holding `entries` in the localStorage of `origin` (e.g. `http://localhost:3000`). */
export function playwrightStorageState(origin: string, entries: LocalStorageEntry[]): BrowserStorageState {
  let normalised: string;
  try {
    normalised = new URL(origin).origin;
  } catch {
    normalised = 'null';
  }
  if (normalised === 'null') {
    throw new SeededUsersError(
      'INVALID_ARGUMENT',
      `origin '${origin}' is not a URL origin such as http://localhost:3000`,
    );
  }
  return { cookies: [], origins: [{ origin: normalised, localStorage: entries }] };
}
