// ClientMetadata in the template: the seeder's map and each user's travel in the seed
// resource's properties (the handler adds the marker), and synth refuses a map that holds a
// secret, uses the marker's key, or is more than Cognito accepts.
import { CfnParameter, SecretValue, Stack, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { PasswordMode, SeedPassword, SeedUser, UserSeeder } from '../lib';

const PASSWORD = SeedPassword.unsafePlainText('Local-Only-Passw0rd!');

function seeder(stack: Stack, clientMetadata?: Record<string, string>, users: SeedUser[] = []): UserSeeder {
  return new UserSeeder(stack, 'Seeder', {
    userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', 'us-east-1_abc'),
    users,
    clientMetadata,
  });
}

const user = (clientMetadata?: Record<string, string>): SeedUser => ({
  username: 'alice',
  mode: PasswordMode.TEMPORARY,
  password: PASSWORD,
  clientMetadata,
});

describe('clientMetadata in the template', () => {
  test("the seeder's map and a user's own are in the properties; a user without one has none", () => {
    // GIVEN
    const stack = new Stack();

    // WHEN
    const s = seeder(stack, { tenant: 'qa' }, [user({ team: 'b', tenant: 'partners' })]);
    s.addUser({ username: 'bob', mode: PasswordMode.TEMPORARY, password: PASSWORD });

    // THEN
    Template.fromStack(stack).hasResourceProperties('Custom::CognitoUserSeed', {
      ClientMetadata: { tenant: 'qa' },
      Users: [
        Match.objectLike({ Username: 'alice', ClientMetadata: { team: 'b', tenant: 'partners' } }),
        Match.objectLike({ Username: 'bob', ClientMetadata: Match.absent() }),
      ],
    });
  });

  test('a seeder without clientMetadata renders none (the handler still adds the marker)', () => {
    const stack = new Stack();
    seeder(stack, undefined, [user()]);
    Template.fromStack(stack).hasResourceProperties('Custom::CognitoUserSeed', {
      ClientMetadata: Match.absent(),
      Users: [Match.objectLike({ Username: 'alice', ClientMetadata: Match.absent() })],
    });
  });

  test('a token that is no secret (an SSM String parameter) is allowed', () => {
    const stack = new Stack();
    const tenant = ssm.StringParameter.valueForStringParameter(stack, '/qa/tenant');
    seeder(stack, { tenant });
    Template.fromStack(stack).hasResourceProperties('Custom::CognitoUserSeed', {
      ClientMetadata: { tenant: { Ref: Match.stringLikeRegexp('SsmParameterValue') } },
    });
  });
});

describe('clientMetadata refused at synth', () => {
  test('fails when a value is a SecretValue', () => {
    const stack = new Stack();
    expect(() => seeder(stack, { key: Token.asString(SecretValue.secretsManager('qa-token')) })).toThrow(
      /Default\/Seeder: clientMetadata value of key 'key' holds a SecretValue\. ClientMetadata is sent unencrypted and every Lambda trigger of the pool receives it: never put a secret in it/,
    );
  });

  test("fails when a user's value resolves to a Secrets Manager secret, naming the user", () => {
    const stack = new Stack();
    const secret = new secretsmanager.Secret(stack, 'Secret');
    expect(() =>
      seeder(stack, undefined, [user({ token: secret.secretValueFromJson('token').unsafeUnwrap() })]),
    ).toThrow(/Default\/Seeder: user 'alice': clientMetadata value of key 'token' holds a/);
  });

  test('fails when a value is an unwrapped SecretValue.ssmSecure ({{resolve:ssm-secure}})', () => {
    const stack = new Stack();
    const value = SecretValue.ssmSecure('/qa/token').unsafeUnwrap();
    expect(() => seeder(stack, { token: value })).toThrow(
      /holds an SSM SecureString parameter \(a \{\{resolve:ssm-secure:\.\.\.\}\} reference\)/,
    );
  });

  test('fails when a value is a literal {{resolve:secretsmanager:...}} dynamic reference', () => {
    const stack = new Stack();
    expect(() => seeder(stack, { token: '{{resolve:secretsmanager:qa-token:SecretString:token}}' })).toThrow(
      /holds a Secrets Manager secret \(a \{\{resolve:secretsmanager:\.\.\.\}\} reference\)/,
    );
  });

  test('fails when a value is a NoEcho parameter', () => {
    const stack = new Stack();
    const p = new CfnParameter(stack, 'Token', { noEcho: true });
    expect(() => seeder(stack, { token: p.valueAsString })).toThrow(/holds the NoEcho parameter Token/);
  });

  test("fails when a key is the seeder's marker", () => {
    const stack = new Stack();
    expect(() => seeder(stack, undefined, [user({ 'cdk-cognito-seeder': 'x' })])).toThrow(
      /user 'alice': clientMetadata key 'cdk-cognito-seeder' is the seeder's own marker, which it adds to every call: use another key/,
    );
  });

  test("fails when a user's map over the seeder's is more than one call may carry", () => {
    const stack = new Stack();
    const s = seeder(stack, { a: 'x'.repeat(70_000) });
    expect(() => s.addUser(user({ b: 'y'.repeat(70_000) }))).toThrow(
      /user 'alice': clientMetadata comes to \d+ bytes with the seeder's marker and the seeder's own clientMetadata, and the seeder sends at most 131072 bytes/,
    );
    expect(s.users).toEqual([]);
  });

  test('fails when a value is longer than Cognito accepts', () => {
    const stack = new Stack();
    expect(() => seeder(stack, { a: 'x'.repeat(131_073) })).toThrow(
      /clientMetadata value of key 'a' is 131073 characters, and Cognito accepts at most 131072: shorten it/,
    );
  });
});
