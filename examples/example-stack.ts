// The example stack: one pool, one user of each mode and of each password source,
// seeded by a single Custom::CognitoUserSeed.
import { randomBytes } from 'crypto';
import { RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { PasswordMode, SeedMfa, SeededUserPool, SeedPassword } from '../lib';

export class ExampleStack extends Stack {
  public readonly pool: SeededUserPool;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    // A secret this app manages, holding JSON: { "password": "..." }.
    const adminSecret = new secretsmanager.Secret(this, 'AdminPassword', {
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: 'alice' }),
        generateStringKey: 'password',
        passwordLength: 24,
        requireEachIncludedType: true,
        includeSpace: false,
      },
    });
    // A SecureString parameter created outside CloudFormation (CloudFormation cannot create one).
    const testerPassword = ssm.StringParameter.fromSecureStringParameterAttributes(this, 'TesterPassword', {
      parameterName: '/cognito-seeder-example/tester-password',
    });

    this.pool = new SeededUserPool(this, 'Users', {
      userPoolName: 'cognito-seeder-example',
      selfSignUpEnabled: false,
      signInAliases: { username: true, email: true },
      passwordPolicy: { minLength: 12 },
      // MFA optional, by TOTP: a user that asks for it (frank, below) is enrolled at seed time.
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const admins = new cognito.UserPoolGroup(this, 'Admins', { userPool: this.pool, groupName: 'admins' });
    // The client the tests sign in with: recorded in the manifest, so they need no client id.
    const client = this.pool.addClient('Client', { authFlows: { userPassword: true, userSrp: true } });
    this.pool.seeder.useSignInClient(client);

    this.pool.addUser({
      username: 'alice',
      mode: PasswordMode.PERMANENT,
      password: SeedPassword.fromSecret(adminSecret, 'password'),
      attributes: { email: 'alice@example.com', email_verified: 'true', given_name: 'Alice' },
      groups: [admins.groupName],
    });
    this.pool.addUser({
      username: 'bob',
      mode: PasswordMode.TEMPORARY,
      password: SeedPassword.fromSsmParameter(testerPassword),
    });
    this.pool.addUser({
      username: 'carol',
      mode: PasswordMode.PERMANENT,
      password: SeedPassword.generate(),
    });
    this.pool.addUser({
      username: 'frank',
      mode: PasswordMode.PERMANENT,
      password: SeedPassword.generate(),
      // Enrolled with a TOTP token at seed time; tests get codes with SeededUsers.totp().
      mfa: SeedMfa.TOTP,
    });
    this.pool.addUser({
      username: 'dave',
      mode: PasswordMode.RESET_REQUIRED,
      attributes: { email: 'dave@example.com', email_verified: 'true' },
    });
    this.pool.addUser({
      username: 'erin',
      mode: PasswordMode.TEMPORARY,
      // Shown for completeness: synth warns that this password is in the template. It is
      // random per synth, so no password usable on a deployed pool is published here; it
      // is still readable by anyone who can read the template, so keep plain-text users
      // to local rehearsals (this one must change it at first sign-in: TEMPORARY).
      password: SeedPassword.unsafePlainText(`Local-Only-${randomBytes(12).toString('base64url')}-1a!`),
    });
  }
}
