/**
 * The pool's Lambda triggers, as the seeder meets them: the ClientMetadata its calls carry
 * (so a trigger can recognise them), and what a trigger's refusal or failure means for the
 * user it was about. Pure: no SDK import, tested without mocks.
 */
import { CLIENT_METADATA_MARKER, CLIENT_METADATA_MARKER_VALUE } from '../lib/private/contract';

/** ClientMetadata as a Cognito call carries it. */
export type ClientMetadata = { readonly [key: string]: string };

/**
 * What one call carries: the user's map (the seeder's with the user's own merged over it)
 * and the marker over both, so no configuration can hide the seeder from a trigger.
 */
export function clientMetadataFor(
  metadata: ClientMetadata,
  marker: typeof CLIENT_METADATA_MARKER_VALUE | 'repair' = CLIENT_METADATA_MARKER_VALUE,
): ClientMetadata {
  return { ...metadata, [CLIENT_METADATA_MARKER]: marker };
}

/** The exceptions Cognito answers with when a trigger refused, failed, timed out or answered badly. */
const TRIGGER_ERRORS = new Set([
  'UserLambdaValidationException',
  'UnexpectedLambdaException',
  'InvalidLambdaResponseException',
]);

/** Cognito's names of trigger stages (how its messages begin), in words. */
const STAGES: Record<string, string> = {
  PreSignUp: 'pre sign-up',
  PostConfirmation: 'post confirmation',
  PreAuthentication: 'pre authentication',
  PostAuthentication: 'post authentication',
  PreTokenGeneration: 'pre token generation',
  CustomMessage: 'custom message',
  UserMigration: 'user migration',
  DefineAuthChallenge: 'define auth challenge',
  CreateAuthChallenge: 'create auth challenge',
  VerifyAuthChallengeResponse: 'verify auth challenge response',
  CustomEmailSender: 'custom email sender',
  CustomSMSSender: 'custom SMS sender',
  CustomSmsSender: 'custom SMS sender',
};

/**
 * The triggers each call of the seeder can run (Cognito's "Connecting API actions to Lambda
 * triggers"), and where each receives the call's ClientMetadata: `clientMetadata`,
 * `validationData` (the pre authentication trigger, from AdminInitiateAuth), or not at all
 * (absent: the trigger runs without it). AdminCreateUser sends no welcome message
 * (MessageAction SUPPRESS), so it runs no message trigger.
 */
export const TRIGGERS_OF: Record<string, Record<string, 'clientMetadata' | 'validationData' | undefined>> = {
  AdminCreateUser: { PreSignUp: 'clientMetadata' },
  AdminResetUserPassword: {
    CustomMessage: 'clientMetadata',
    CustomEmailSender: 'clientMetadata',
    CustomSMSSender: 'clientMetadata',
  },
  AdminUpdateUserAttributes: {
    CustomMessage: 'clientMetadata',
    CustomEmailSender: 'clientMetadata',
    CustomSMSSender: 'clientMetadata',
  },
  AdminInitiateAuth: {
    PreAuthentication: 'validationData',
    PostAuthentication: undefined,
    PreTokenGeneration: undefined,
  },
  AdminRespondToAuthChallenge: { PostAuthentication: 'clientMetadata', PreTokenGeneration: 'clientMetadata' },
};

/** A trigger's refusal or failure, read from Cognito's exception. */
export interface TriggerFailure {
  /** Cognito's name of the stage (`PreSignUp`), when its message says. */
  readonly stage?: string;
  /** What the trigger (or Lambda) said. */
  readonly said: string;
  readonly kind: 'refused' | 'timed-out' | 'failed' | 'bad-answer';
}

/**
 * Reads a trigger failure from an exception's name and message, or undefined for any other
 * exception. Cognito's messages begin with the stage: "PreSignUp failed with error <the
 * trigger's message>." for a refusal, "PreSignUp invocation failed due to error <Lambda's
 * error>." when it could not run it (a timeout among them).
 */
export function parseTriggerFailure(name: string, message: string): TriggerFailure | undefined {
  if (!TRIGGER_ERRORS.has(name)) return undefined;
  const parsed = /^(\S+) (?:failed with error|invocation failed due to error) ([\s\S]*)$/.exec(message.trim());
  // Cognito ends the sentence with a full stop of its own after the trigger's words.
  const said = (parsed ? parsed[2] : message).trim().replace(/\.$/, '');
  const stage = parsed && STAGES[parsed[1]] ? parsed[1] : undefined;
  if (name === 'InvalidLambdaResponseException') return { stage, said, kind: 'bad-answer' };
  if (name === 'UserLambdaValidationException') return { stage, said, kind: 'refused' };
  return { stage, said, kind: /time(d)?\s?out/i.test(said) ? 'timed-out' : 'failed' };
}

/**
 * What a trigger's refusal or failure on `op` means, with the fix; undefined when the
 * exception is not a trigger's. The caller names the user.
 */
export function explainTriggerFailure(op: string, name: string, message: string): string | undefined {
  const failure = parseTriggerFailure(name, message);
  if (!failure) return undefined;
  const runs = TRIGGERS_OF[op] ?? {};
  const stage = failure.stage ?? (Object.keys(runs).length === 1 ? Object.keys(runs)[0] : undefined);
  const trigger = stage
    ? `the pool's ${STAGES[stage]} trigger (${stage})`
    : `a Lambda trigger of the pool (${op} runs ${
        Object.keys(runs)
          .map((s) => STAGES[s])
          .join(', ') || 'no trigger the seeder knows of'
      })`;
  const field = stage ? runs[stage] : undefined;
  const recognise = field
    ? `each of the seeder's ${op} calls carries ${CLIENT_METADATA_MARKER}: ${CLIENT_METADATA_MARKER_VALUE} in event.request.${field}`
    : `the seeder signs users in only to enrol TOTP tokens, through its own app client (event.callerContext.clientId), and Cognito gives this trigger no ClientMetadata from ${op}`;
  switch (failure.kind) {
    case 'refused':
      return `${trigger} refused ${op}: "${failure.said}". Let the trigger allow the seeder's calls (${recognise}), or allow what it refused (the user's email domain, say), and deploy again`;
    case 'timed-out':
      return `${trigger} did not answer ${op} in time (${failure.said}): Cognito waits about 5 seconds for a trigger. Make it answer sooner for the seeder's calls (${recognise}), and deploy again`;
    case 'bad-answer':
      return `${trigger} answered ${op} with something Cognito does not accept (${failure.said}): return the event it received, changing only the response fields its trigger type allows, and deploy again`;
    case 'failed':
      return `${trigger} failed on ${op} (${failure.said}): Cognito could not run it or it threw. Check that its function exists, that cognito-idp.amazonaws.com may invoke it, and its logs; if it rejects the seeder's calls on purpose, let it allow them (${recognise}); then deploy again`;
  }
}
