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

/** Starts an SRP exchange for `username` with `password` in pool `userPoolId` (`<region>_<id>`). */
export async function startSrp(username: string, password: string, userPoolId: string): Promise<SrpExchange> {
  const srp = await import('cognito-srp-helper');
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
