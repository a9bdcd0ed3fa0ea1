// What a trigger's refusal or failure means for the user it was about: read from Cognito's
// exception (pure; no SDK, no mocks).
import { clientMetadataFor, explainTriggerFailure, parseTriggerFailure } from '../lambda/triggers';

describe('parseTriggerFailure', () => {
  test("reads the stage and the trigger's own words from Cognito's message", () => {
    expect(
      parseTriggerFailure('UserLambdaValidationException', 'PreSignUp failed with error Domain not allowed.'),
    ).toEqual({ stage: 'PreSignUp', said: 'Domain not allowed', kind: 'refused' });
    expect(
      parseTriggerFailure(
        'UnexpectedLambdaException',
        'CustomMessage invocation failed due to error Socket timeout while invoking Lambda function.',
      ),
    ).toEqual({ stage: 'CustomMessage', said: 'Socket timeout while invoking Lambda function', kind: 'timed-out' });
    expect(parseTriggerFailure('InvalidLambdaResponseException', 'Unrecognizable lambda output')).toEqual({
      stage: undefined,
      said: 'Unrecognizable lambda output',
      kind: 'bad-answer',
    });
  });

  test('is undefined for any exception that is not a trigger’s', () => {
    expect(parseTriggerFailure('InvalidParameterException', 'PreSignUp failed with error x.')).toBeUndefined();
    expect(explainTriggerFailure('AdminCreateUser', 'UsernameExistsException', 'User account already exists')).toBe(
      undefined,
    );
  });
});

describe('explainTriggerFailure', () => {
  test('a stage-less refusal on a call that runs one trigger names that trigger', () => {
    expect(explainTriggerFailure('AdminCreateUser', 'UserLambdaValidationException', 'Nope')).toMatch(
      /^the pool's pre sign-up trigger \(PreSignUp\) refused AdminCreateUser: "Nope"\. Let the trigger allow the seeder's calls \(each of the seeder's AdminCreateUser calls carries cdk-cognito-seeder: seed in event\.request\.clientMetadata\)/,
    );
  });

  test('a pre authentication refusal says the marker is in validationData; one on a call without metadata says so', () => {
    expect(
      explainTriggerFailure(
        'AdminInitiateAuth',
        'UserLambdaValidationException',
        'PreAuthentication failed with error no.',
      ),
    ).toMatch(/carries cdk-cognito-seeder: seed in event\.request\.validationData/);
    expect(
      explainTriggerFailure(
        'AdminInitiateAuth',
        'UserLambdaValidationException',
        'PreTokenGeneration failed with error no.',
      ),
    ).toMatch(/Cognito gives this trigger no ClientMetadata from AdminInitiateAuth/);
  });
});

test("clientMetadataFor puts the marker over the user's map", () => {
  expect(clientMetadataFor({ tenant: 'qa' })).toEqual({ tenant: 'qa', 'cdk-cognito-seeder': 'seed' });
});
