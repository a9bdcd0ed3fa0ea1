/**
 * The client side of Cognito's USER_SRP_AUTH, from `cognito-srp-helper` (Apache-2.0):
 * SRP_A for InitiateAuth, then the PASSWORD_VERIFIER answer (the HKDF-derived signature
 * over pool, user, secret block and timestamp). This module writes no SRP arithmetic of
 * its own; the library is loaded on the first SRP sign-in only.
 */

/** One SRP exchange: the parameters to start it with, and how to answer the verifier. */
export interface SrpExchange {
  /** `USERNAME` and `SRP_A`, for InitiateAuth. */
  readonly authParameters: Readonly<Record<string, string>>;
  /** The ChallengeResponses of PASSWORD_VERIFIER, from its ChallengeParameters. */
  answer(challengeParameters: Readonly<Record<string, string>>): Promise<Record<string, string>>;
}

type SrpHelper = typeof import('cognito-srp-helper');
let helper: SrpHelper | undefined;

/**
 * cognito-srp-helper, loaded on the first SRP sign-in. Its big-integer library (jsbn)
 * chooses its multiplication routine when it loads, from the global `navigator`: Node 21 and
 * later define one without `appName`, and the routine jsbn then takes makes a sign-in inside
 * jest's sandbox take seconds instead of a tenth of one. So it loads with `navigator` hidden,
 * and takes the routine it takes in Node 20 and in browsers; the require is synchronous, so
 * nothing else runs while `navigator` is hidden.
 */
function srpHelper(): SrpHelper {
  if (helper) return helper;
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  let hidden = false;
  try {
    if (saved?.configurable) {
      Object.defineProperty(globalThis, 'navigator', { value: undefined, configurable: true, writable: true });
      hidden = true;
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- synchronous, while navigator is hidden
    helper = require('cognito-srp-helper') as SrpHelper;
  } finally {
    if (hidden) Object.defineProperty(globalThis, 'navigator', saved!);
  }
  return helper;
}

/** Starts an SRP exchange for `username` with `password` in pool `userPoolId` (`<region>_<id>`). */
export async function startSrp(username: string, password: string, userPoolId: string): Promise<SrpExchange> {
  const srp = srpHelper();
  // isHashed false: the library hashes the password with USER_ID_FOR_SRP, as Cognito does.
  const session = srp.createSrpSession(username, password, userPoolId, false);
  const start = srp.wrapInitiateAuth(session, {
    ClientId: '',
    AuthFlow: 'USER_SRP_AUTH',
    AuthParameters: { USERNAME: username },
  });
  return {
    authParameters: { ...start.AuthParameters } as Record<string, string>,
    async answer(challengeParameters) {
      const signed = srp.signSrpSession(session, {
        ChallengeName: 'PASSWORD_VERIFIER',
        ChallengeParameters: { ...challengeParameters },
      });
      const answer = srp.wrapAuthChallenge(signed, {
        ClientId: '',
        ChallengeName: 'PASSWORD_VERIFIER',
        ChallengeResponses: { USERNAME: challengeParameters.USER_ID_FOR_SRP ?? username },
      });
      return { ...answer.ChallengeResponses } as Record<string, string>;
    },
  };
}
