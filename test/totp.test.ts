// TOTP enrolment in the handler, against strict SDK mocks where cognito-local cannot go:
// a pool with MFA required (the MFA_SETUP session flow), turning a token off when a user
// stops asking for one, and a user that already has a token the seeder knows nothing of.
// (test/identities.e2e.test.ts enrols against cognito-local, MFA optional.)
import {
  AdminDeleteUserCommand,
  AdminInitiateAuthCommand,
  AdminRespondToAuthChallengeCommand,
  AdminSetUserMFAPreferenceCommand,
  AdminSetUserPasswordCommand,
  AssociateSoftwareTokenCommand,
  SetUserMFAPreferenceCommand,
  VerifySoftwareTokenCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import 'aws-sdk-client-mock-jest';
import { Secret, TOTP } from 'otpauth';
import { context, createEvent, physicalIdOf, POOL_ID, props, updateEvent } from './support/cfn';
import { inProcessHandler } from './support/in-process';
import { absentThenCreated, awsError, cognito, createsAnyUser, secrets, strictMocks } from './support/mocks';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:carol-AbCdEf';
const TOTP_ARN = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:totp-AbCdEf';
const CAROL_PW = 'Carol-Passw0rd!';
const SEED = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const totpSettings = { Totp: { SecretArn: TOTP_ARN, ClientId: 'enrol-client' } };
const carol = {
  Username: 'carol',
  Mode: 'PERMANENT',
  Password: { Source: 'secretsmanager', SecretArn: SECRET_ARN },
  Mfa: 'TOTP',
};

/** The codes valid now and one period ago: the handler computed its code a moment before. */
function validCodes(): string[] {
  const totp = new TOTP({ secret: Secret.fromBase32(SEED), digits: 6, period: 30, algorithm: 'SHA1' });
  return [totp.generate(), totp.generate({ timestamp: Date.now() - 30_000 })];
}

describe('TOTP enrolment', () => {
  const { server, ledger, output, deliver } = inProcessHandler(() => {
    strictMocks();
    createsAnyUser();
    absentThenCreated(['carol']);
    cognito.on(AdminSetUserPasswordCommand).resolves({});
    secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: CAROL_PW, VersionId: 'v1' });
    // The TOTP secret: what the function last wrote, starting from the construct's placeholder.
    let totpValue = '{"placeholder":"x"}';
    secrets.on(GetSecretValueCommand, { SecretId: TOTP_ARN }).callsFake(async () => ({ SecretString: totpValue }));
    secrets.on(PutSecretValueCommand, { SecretId: TOTP_ARN }).callsFake(async (input: { SecretString: string }) => {
      totpValue = input.SecretString;
      return {};
    });
  });
  const written = () =>
    secrets.commandCalls(PutSecretValueCommand).map((c) => JSON.parse(c.args[0].input.SecretString as string));

  test('MFA required: the MFA_SETUP session flow, the secret written before the token is verified', async () => {
    // GIVEN sign-in asks to set MFA up
    cognito
      .on(AdminInitiateAuthCommand, {
        UserPoolId: POOL_ID,
        ClientId: 'enrol-client',
        AuthFlow: 'ADMIN_USER_PASSWORD_AUTH',
        AuthParameters: { USERNAME: 'carol', PASSWORD: CAROL_PW },
      })
      .resolves({ ChallengeName: 'MFA_SETUP', Session: 's1' });
    cognito.on(AssociateSoftwareTokenCommand, { Session: 's1' }).resolves({ SecretCode: SEED, Session: 's2' });
    cognito.on(VerifySoftwareTokenCommand).callsFake(async (input: { Session?: string; UserCode: string }) => {
      // The secret is already kept when the token is verified: no verified token without its secret.
      expect(written()).toEqual([{ [POOL_ID]: { carol: SEED } }]);
      expect(input.Session).toBe('s2');
      expect(validCodes()).toContain(input.UserCode);
      return { Status: 'SUCCESS', Session: 's3' };
    });
    cognito
      .on(AdminRespondToAuthChallengeCommand, { ChallengeName: 'MFA_SETUP', Session: 's3' })
      .resolves({ AuthenticationResult: { AccessToken: 'access-token-canary' } });
    cognito.on(SetUserMFAPreferenceCommand, { AccessToken: 'access-token-canary' }).resolves({});

    // WHEN
    await deliver(createEvent(server.url, props([carol], totpSettings)), context());

    // THEN
    expect(server.bodies.map((b) => b.Status)).toEqual(['SUCCESS']);
    expect(cognito).toHaveReceivedCommandWith(SetUserMFAPreferenceCommand, {
      AccessToken: 'access-token-canary',
      SoftwareTokenMfaSettings: { Enabled: true, PreferredMfa: true },
    });
    expect((await ledger.users()).map((u) => [u.username, u.totp])).toEqual([['carol', 'enrolled']]);
    // one write, and the construct's placeholder value is not kept
    expect(written()).toEqual([{ [POOL_ID]: { carol: SEED } }]);
    // neither the token's secret, nor the access token, nor the password reach the log or the answer
    const everything = output.text() + JSON.stringify(server.bodies);
    for (const secret of [SEED, 'access-token-canary', CAROL_PW]) expect(everything).not.toContain(secret);
  });

  test("the enrolment's sign-in carries the user's ClientMetadata and the seeder's marker, for the pool's auth triggers", async () => {
    // GIVEN a seeder with ClientMetadata, a user with its own over it, in a pool with MFA required
    const metadata = { tenant: 'partners', stage: 'test', 'cdk-cognito-seeder': 'seed' };
    cognito
      .on(AdminInitiateAuthCommand, {
        AuthParameters: { USERNAME: 'carol', PASSWORD: CAROL_PW },
        ClientMetadata: metadata,
      })
      .resolves({ ChallengeName: 'MFA_SETUP', Session: 's1' });
    cognito.on(AssociateSoftwareTokenCommand, { Session: 's1' }).resolves({ SecretCode: SEED, Session: 's2' });
    cognito.on(VerifySoftwareTokenCommand).resolves({ Status: 'SUCCESS', Session: 's3' });
    cognito
      .on(AdminRespondToAuthChallengeCommand, { ChallengeName: 'MFA_SETUP', Session: 's3', ClientMetadata: metadata })
      .resolves({ AuthenticationResult: { AccessToken: 'access-token-canary' } });
    cognito.on(SetUserMFAPreferenceCommand).resolves({});
    const user = { ...carol, ClientMetadata: { tenant: 'partners' } };

    // WHEN
    await deliver(
      createEvent(server.url, props([user], { ...totpSettings, ClientMetadata: { tenant: 'qa', stage: 'test' } })),
      context(),
    );

    // THEN the strict mocks answered only calls that carried the map (any other would have failed the request)
    expect(server.bodies.map((b) => b.Status)).toEqual(['SUCCESS']);
    expect(cognito).toHaveReceivedCommandTimes(AdminInitiateAuthCommand, 1);
    expect(cognito).toHaveReceivedCommandTimes(AdminRespondToAuthChallengeCommand, 1);
    // calls that take no ClientMetadata carry none
    expect(cognito.commandCalls(AdminSetUserPasswordCommand).map((c) => 'ClientMetadata' in c.args[0].input)).toEqual([
      false,
    ]);
  });

  test('a user that stops asking for a token has it turned off, and its secret is dropped', async () => {
    // GIVEN carol enrolled through the MFA-optional flow (tokens at sign-in)
    cognito.on(AdminInitiateAuthCommand).resolves({ AuthenticationResult: { AccessToken: 'at' } });
    cognito.on(AssociateSoftwareTokenCommand, { AccessToken: 'at' }).resolves({ SecretCode: SEED });
    cognito.on(VerifySoftwareTokenCommand, { AccessToken: 'at' }).resolves({ Status: 'SUCCESS' });
    cognito.on(SetUserMFAPreferenceCommand, { AccessToken: 'at' }).resolves({});
    const before = props([carol, { ...carol, Username: 'dave' }], totpSettings);
    absentThenCreated(['dave']);
    await deliver(createEvent(server.url, before), context());
    expect(server.bodies.map((b) => b.Status)).toEqual(['SUCCESS']);
    cognito.on(AdminSetUserMFAPreferenceCommand).resolves({});

    // WHEN an Update keeps carol without mfa
    const plainCarol = { Username: carol.Username, Mode: carol.Mode, Password: carol.Password };
    const after = props([plainCarol, { ...carol, Username: 'dave' }], totpSettings);
    await deliver(updateEvent(server.url, physicalIdOf(), before, after), context());

    // THEN
    expect(server.bodies.map((b) => b.Status)).toEqual(['SUCCESS', 'SUCCESS']);
    expect(cognito).toHaveReceivedCommandWith(AdminSetUserMFAPreferenceCommand, {
      UserPoolId: POOL_ID,
      Username: 'carol',
      SoftwareTokenMfaSettings: { Enabled: false, PreferredMfa: false },
    });
    expect(written().at(-1)).toEqual({ [POOL_ID]: { dave: SEED } });
    expect((await ledger.users()).map((u) => [u.username, u.totp]).sort()).toEqual([
      ['carol', undefined],
      ['dave', 'enrolled'],
    ]);
  });

  test('fails when the user already has a token the seeder holds no secret for, and undoes the create', async () => {
    // GIVEN sign-in asks for a TOTP code nobody here has
    cognito.on(AdminInitiateAuthCommand).resolves({ ChallengeName: 'SOFTWARE_TOKEN_MFA', Session: 's' });
    cognito.on(AdminDeleteUserCommand).resolves({});

    // WHEN
    await deliver(createEvent(server.url, props([carol], totpSettings)), context());

    // THEN
    expect(server.bodies.map((b) => [b.Status, b.Reason])).toEqual([
      [
        'FAILED',
        "Create failed: user 'carol': TOTP enrolment failed (already has a TOTP token this seeder holds no secret for: turn its software-token MFA off (AdminSetUserMFAPreference) and deploy again). Undid what this request did: deleted the 1 user(s) it had created.",
      ],
    ]);
    expect(await ledger.users()).toEqual([]);
    expect(cognito).toHaveReceivedCommandWith(AdminDeleteUserCommand, { UserPoolId: POOL_ID, Username: 'carol' });
  });

  test('a throttled enrolment call is paced and retried, not failed', async () => {
    cognito.on(AdminInitiateAuthCommand).resolves({ AuthenticationResult: { AccessToken: 'at' } });
    cognito
      .on(AssociateSoftwareTokenCommand)
      .rejectsOnce(awsError('TooManyRequestsException', 'Rate exceeded'))
      .resolves({ SecretCode: SEED });
    cognito.on(VerifySoftwareTokenCommand).resolves({ Status: 'SUCCESS' });
    cognito.on(SetUserMFAPreferenceCommand).resolves({});

    await deliver(createEvent(server.url, props([carol], totpSettings)), context());

    expect(server.bodies.map((b) => b.Status)).toEqual(['SUCCESS']);
    expect(cognito.commandCalls(AssociateSoftwareTokenCommand)).toHaveLength(2);
  });
});
