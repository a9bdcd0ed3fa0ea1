// A table of bad inputs, at synth, in users files and at deploy: each gets one clear error
// (where: construct path or file and line; who: the user; the rule; the fix) and leaves
// nothing behind (synth throws before the seed resource exists; at deploy no Cognito
// write is made and the ledger holds no user).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminGetUserCommand,
  AdminResetUserPasswordCommand,
  AdminSetUserPasswordCommand,
  AdminUpdateUserAttributesCommand,
  DescribeUserPoolCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { App, Aws, RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { PasswordMode, SeedPassword, SeedUser, UserSeeder, UserSeederProps } from '../lib';
import { context, createEvent, FUNCTION_ARN, props } from './support/cfn';
import { inProcessHandler } from './support/in-process';
import { awsError, cognito as cognitoMock, secrets, ssm as ssmMock, strictMocks } from './support/mocks';

const FUNCTION_ACCOUNT = FUNCTION_ARN.split(':')[4];

// ---------------------------------------------------------------- synth

const P = 'S/Seeder';
const pw = () => SeedPassword.unsafePlainText('Plain-Passw0rd!');
const perm = (username: string, extra: Partial<SeedUser> = {}): SeedUser => ({
  username,
  mode: PasswordMode.PERMANENT,
  password: pw(),
  ...extra,
});
const reset = (username: string, attributes: Record<string, string>): SeedUser => ({
  username,
  mode: PasswordMode.RESET_REQUIRED,
  attributes,
});

type Build = (stack: Stack) => Partial<UserSeederProps> | void;
const synthRows: [string, Build, string][] = [];
const synthRow = (name: string, build: Build, message: string) => synthRows.push([name, build, message]);

synthRow(
  'an empty username',
  () => ({ users: [perm('')] }),
  `${P}: a user has an empty username: give every user a username of 1 to 128 characters.`,
);
synthRow(
  'a 129-character username',
  () => ({ users: [perm('x'.repeat(129))] }),
  `${P}: user '${'x'.repeat(129)}': the username is 129 characters, Cognito allows at most 128: shorten it.`,
);
for (const [label, name] of [
  ['a space', 'a b'],
  ['a tab', 'a\tb'],
  ['a newline', 'a\nb'],
  ['a non-breaking space', 'a\u00a0b'],
  ['a trailing space', 'ab '],
]) {
  synthRow(
    `a username with ${label}`,
    () => ({ users: [perm(name)] }),
    `${P}: user '${name}': the username contains whitespace, which Cognito usernames cannot: remove it.`,
  );
}
for (const [label, name, what] of [
  ['a zero-width space', 'a\u200bb', 'an invisible format character, U+200B'],
  ['a zero-width joiner', 'qa\u200dadmin', 'an invisible format character, U+200D'],
  ['a left-to-right mark', '\u200eadmin', 'an invisible format character, U+200E'],
  ['a soft hyphen', 'ad\u00admin', 'an invisible format character, U+00AD'],
  ['a bell (control) character', 'a\u0007b', 'a control character, U+0007'],
]) {
  synthRow(
    `a username with ${label}`,
    () => ({ users: [perm(name)] }),
    `${P}: user '${name}': the username contains ${what}, which Cognito usernames cannot (letters, marks, symbols, numbers and punctuation only): remove it.`,
  );
}
synthRow(
  'two usernames that differ only by Unicode normalisation (composed and decomposed é)',
  () => ({ users: [perm('caf\u00e9'), perm('cafe\u0301')] }),
  `${P}: users 'caf\u00e9' and 'cafe\u0301' are the same name written in two Unicode forms (c a f U+00E9 and c a f e U+0301), which Cognito keeps as two accounts: write both the same way (NFC: username.normalize('NFC')).`,
);
for (const [label, group, what] of [
  ['a space', 'qa admins', 'a character, U+0020'],
  ['a zero-width joiner', 'qa\u200dadmins', 'an invisible format character, U+200D'],
  ['a newline', 'admins\n', 'a control character, U+000A'],
]) {
  synthRow(
    `a group name with ${label}`,
    () => ({ users: [perm('u', { groups: [group] })] }),
    `${P}: user 'u': group name '${group}' contains ${what}, which Cognito group names cannot (letters, marks, symbols, numbers and punctuation only): fix the group name.`,
  );
}
for (const mode of ['permanent', 'ADMIN', '', 'RESET']) {
  synthRow(
    `mode '${mode}'`,
    () => ({ users: [{ username: 'u', mode: mode as PasswordMode, password: pw() }] }),
    `${P}: user 'u': mode '${mode}' is not a PasswordMode: use PERMANENT, TEMPORARY or RESET_REQUIRED.`,
  );
}
for (const mode of [PasswordMode.PERMANENT, PasswordMode.TEMPORARY]) {
  synthRow(
    `${mode} without a password`,
    () => ({ users: [{ username: 'u', mode }] }),
    `${P}: user 'u': mode ${mode} needs a password: set password to SeedPassword.fromSecret(), fromSsmParameter() or generate().`,
  );
}
for (const attributes of [
  {},
  { email: 'r@x.io' },
  { email: 'r@x.io', email_verified: 'false' },
  { phone_number: '+14155550100' },
  { phone_number: '+14155550100', phone_number_verified: 'false' },
]) {
  synthRow(
    `RESET_REQUIRED with ${JSON.stringify(attributes)}`,
    () => ({ users: [reset('r', attributes as Record<string, string>)] }),
    `${P}: user 'r': mode RESET_REQUIRED sends a reset code, so it needs a verified email or phone: set attributes email and email_verified: 'true' (or phone_number and phone_number_verified: 'true').`,
  );
}
for (const name of ['Email', 'e-mail', 'phone', 'custom_team', 'groups', 'sub']) {
  synthRow(
    `attribute '${name}'`,
    () => ({ users: [perm('u', { attributes: { [name]: 'x' } })] }),
    `${P}: user 'u': attribute '${name}' is not a standard Cognito attribute: use a standard name (such as email or given_name) or prefix a custom one with 'custom:'.`,
  );
}
for (const name of ['custom:', `custom:${'t'.repeat(21)}`, 'custom:a b']) {
  synthRow(
    `attribute '${name}'`,
    () => ({ users: [perm('u', { attributes: { [name]: 'x' } })] }),
    `${P}: user 'u': attribute '${name}' is not a valid custom attribute name (custom: followed by 1 to 20 characters, no whitespace): rename it.`,
  );
}
for (const [flag, value] of [
  ['email_verified', 'yes'],
  ['email_verified', 'True'],
  ['phone_number_verified', '1'],
]) {
  const attributes = { email: 'u@x.io', phone_number: '+14155550100', [flag]: value };
  synthRow(
    `${flag} '${value}'`,
    () => ({ users: [perm('u', { attributes })] }),
    `${P}: user 'u': attribute ${flag} is '${value}', it must be 'true' or 'false': use one of those.`,
  );
}
synthRow(
  'email_verified without email',
  () => ({ users: [perm('u', { attributes: { email_verified: 'true' } })] }),
  `${P}: user 'u': email_verified is 'true' but the user has no email: set attribute email, or remove email_verified.`,
);
synthRow(
  'phone_number_verified without phone_number',
  () => ({ users: [perm('u', { attributes: { phone_number_verified: 'true' } })] }),
  `${P}: user 'u': phone_number_verified is 'true' but the user has no phone_number: set attribute phone_number, or remove phone_number_verified.`,
);
for (const phone of ['4155550100', '+1 415 555 0100', '+0123', '+1-415-555-0100', '+1234567890123456']) {
  synthRow(
    `phone_number '${phone}'`,
    () => ({ users: [perm('u', { attributes: { phone_number: phone } })] }),
    `${P}: user 'u': phone_number '${phone}' is not in E.164 form, which Cognito requires: write it as + and the country code and number, digits only (for example +14155550100).`,
  );
}
for (const group of ['', 'g'.repeat(129)]) {
  synthRow(
    `group name of ${group.length} characters`,
    () => ({ users: [perm('u', { groups: [group] })] }),
    `${P}: user 'u': group name '${group}' must be 1 to 128 characters: fix the group name.`,
  );
}
synthRow(
  'a duplicate username',
  () => ({ users: [perm('u'), perm('u')] }),
  `${P}: user 'u' is listed twice: list each username once.`,
);
for (const [name, value] of [
  ['maxConcurrency', 0],
  ['maxConcurrency', -1],
] as const) {
  synthRow(
    `${name} ${value}`,
    () => ({ [name]: value }),
    `${P}: ${name} is ${value}, it must be a positive number: raise it.`,
  );
}
for (const rate of ['userCreation', 'accountRecovery', 'userWrites', 'userReads']) {
  synthRow(
    `rateLimits.${rate} 0`,
    () => ({ rateLimits: { [rate]: 0 } }),
    `${P}: rateLimits.${rate} is 0, it must be a positive number: raise it.`,
  );
}
synthRow(
  'removalPolicy SNAPSHOT',
  () => ({ removalPolicy: RemovalPolicy.SNAPSHOT }),
  `${P}: removalPolicy 'snapshot' is not supported for seeded users: use RemovalPolicy.DESTROY or RemovalPolicy.RETAIN.`,
);
for (const length of [5, 257, 7.5]) {
  synthRow(
    `generate({ length: ${length} })`,
    () => ({ users: [perm('u', { password: SeedPassword.generate({ length }) })] }),
    `${P}: user 'u': SeedPassword.generate({ length: ${length} }) must be a whole number from 6 (the pool's minimum password length) to 256: choose a length in that range.`,
  );
}
for (const [klass, chars] of [
  ['uppercase letter', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'],
  ['lowercase letter', 'abcdefghijklmnopqrstuvwxyz'],
  ['digit', '0123456789'],
  ['symbol', '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'],
]) {
  synthRow(
    `generate() excluding every ${klass}`,
    () => ({ users: [perm('u', { password: SeedPassword.generate({ excludeCharacters: chars }) })] }),
    `${P}: user 'u': SeedPassword.generate({ excludeCharacters }) excludes every ${klass}, a class each generated password includes and Cognito's password policies require: exclude fewer characters.`,
  );
}
synthRow(
  'fromSsmParameter() of a parameter this app creates with a literal',
  (stack) => ({
    users: [
      perm('u', {
        password: SeedPassword.fromSsmParameter(
          new ssm.StringParameter(stack, 'Param', { stringValue: 'Literal-Passw0rd!' }),
        ),
      }),
    ],
  }),
  `${P}: user 'u': SeedPassword.fromSsmParameter() was given S/Param, a String parameter this app creates with a literal value: the password is in the CloudFormation template (CloudFormation cannot create a SecureString). Create the SecureString outside CloudFormation and import it with ssm.StringParameter.fromSecureStringParameterAttributes(), or use SeedPassword.generate() or fromSecret().`,
);
synthRow(
  'fromSsmParameter() of a parameter this app creates from another value',
  (stack) => ({
    users: [
      perm('u', {
        password: SeedPassword.fromSsmParameter(
          new ssm.StringParameter(stack, 'Param', { stringValue: Aws.STACK_NAME }),
        ),
      }),
    ],
  }),
  `${P}: user 'u': SeedPassword.fromSsmParameter() was given S/Param, a parameter this app creates, which is a plain String (CloudFormation cannot create a SecureString) and is refused at deploy. Import a SecureString with ssm.StringParameter.fromSecureStringParameterAttributes(), or pass { allowPlainStringParameter: true } to accept a plain String.`,
);
for (const [label, value] of [
  ['unsafePlainText', () => SecretValue.unsafePlainText('Literal-Passw0rd!')],
  ['a literal SecretValue string', () => SecretValue.unsafePlainText('{"password":"Literal-Passw0rd!"}')],
] as const) {
  synthRow(
    `fromSecret() of a secret built with ${label}`,
    (stack) => ({
      users: [
        perm('u', {
          password: SeedPassword.fromSecret(new secretsmanager.Secret(stack, 'Secret', { secretStringValue: value() })),
        }),
      ],
    }),
    `${P}: user 'u': SeedPassword.fromSecret() was given S/Secret, a secret created with a literal value (SecretValue.unsafePlainText or secretStringValue): the password is in the CloudFormation template. Let CloudFormation generate it (SeedPassword.generate(), or a Secret with generateSecretString), or create the secret outside CloudFormation and import it with secretsmanager.Secret.fromSecretNameV2().`,
  );
}
synthRow(
  'a plain-text password that breaks a known policy',
  () => ({
    passwordPolicy: { minLength: 20 },
    users: [perm('u')],
  }),
  `${P}: user 'u': the plain-text password breaks the pool's password policy, which needs at least 20 characters: choose a password that meets it.`,
);

describe('at synth', () => {
  test.each(synthRows)('fails on %s', (_name, build, message) => {
    const stack = new Stack(new App(), 'S');
    const userPool = cognito.UserPool.fromUserPoolId(stack, 'Imported', 'us-east-1_X');
    expect(() => new UserSeeder(stack, 'Seeder', { userPool, ...(build(stack) ?? {}) })).toThrow(message);
    // Nothing was created that a deploy could run.
    // The app does not synthesize: there is no template to deploy.
  });
});

// ---------------------------------------------------------------- users files

const fileRows: [string, string, string, string][] = [];
const fileRow = (name: string, file: string, text: string, message: string) =>
  fileRows.push([name, file, text, message]);
fileRow(
  'a CSV with a BOM and a bad mode (the BOM is not part of the header)',
  'u.csv',
  '\uFEFFusername,mode\nann,ADMIN\n',
  "$FILE:2: user 'ann' has mode 'ADMIN': give a mode column or options.mode (PERMANENT, TEMPORARY or RESET_REQUIRED).",
);
fileRow(
  'an unterminated quote',
  'u.csv',
  'username,given_name\nann,"Ann\nbob,Bob\n',
  '$FILE:2: a quoted field is never closed: end it with a double quote (write "" for a quote inside it).',
);
fileRow(
  'a bad row after blank lines',
  'u.csv',
  'username,mode\n\n\nann,ADMIN\n',
  "$FILE:4: user 'ann' has mode 'ADMIN': give a mode column or options.mode (PERMANENT, TEMPORARY or RESET_REQUIRED).",
);
fileRow(
  'a bad row after a quoted newline',
  'u.csv',
  'username,given_name,mode\nann,"A\nnn",PERMANENT\nbob,Bob,ADMIN\n',
  "$FILE:4: user 'bob' has mode 'ADMIN': give a mode column or options.mode (PERMANENT, TEMPORARY or RESET_REQUIRED).",
);
fileRow(
  'CRLF line endings',
  'u.csv',
  'username,mode\r\n\r\nann,ADMIN\r\n',
  "$FILE:3: user 'ann' has mode 'ADMIN': give a mode column or options.mode (PERMANENT, TEMPORARY or RESET_REQUIRED).",
);
fileRow(
  'a duplicate header',
  'u.csv',
  'username,email,email\nann,a@x.io,b@x.io\n',
  "$FILE:1: column 'email' appears twice in the header: keep one of them.",
);
fileRow(
  'a duplicate header in another case',
  'u.csv',
  'username,Username\nann,bob\n',
  "$FILE:1: column 'username' appears twice in the header: keep one of them.",
);
for (const column of ['password', 'Password', 'temporaryPassword', 'PASSWORD_HASH']) {
  fileRow(
    `a '${column}' column`,
    'u.csv',
    `username,${column}\nann,x\n`,
    '$FILE:2: a users file must not hold passwords: remove the column and pass a SeedPassword in the options.',
  );
}
fileRow(
  'no username column',
  'u.csv',
  'name,mode\nann,PERMANENT\n',
  '$FILE: a CSV users file needs a header row with a username column.',
);
fileRow('an empty CSV', 'u.csv', '', '$FILE: a CSV users file needs a header row with a username column.');
fileRow(
  'a row without a username',
  'u.csv',
  'username,mode\n,PERMANENT\n',
  '$FILE:2: the row has no username: every row needs one.',
);
fileRow(
  'no mode anywhere',
  'u.csv',
  'username\nann\n',
  "$FILE:2: user 'ann' has mode '': give a mode column or options.mode (PERMANENT, TEMPORARY or RESET_REQUIRED).",
);
fileRow(
  'a null JSON row',
  'u.json',
  '[{"username":"ann","mode":"PERMANENT"},null]',
  '$FILE:2: the row is null, not a user: give every row an object with a username.',
);
fileRow(
  'a string JSON row',
  'u.json',
  '["ann"]',
  '$FILE:1: the row is string, not a user: give every row an object with a username.',
);
fileRow(
  'a JSON object instead of an array',
  'u.json',
  '{"username":"ann"}',
  '$FILE: a JSON users file holds an array of users.',
);
fileRow(
  'bad JSON',
  'u.json',
  '[\n{"username": "ann",}\n]',
  '$FILE:2: the file is not valid JSON: fix it (a JSON users file holds an array of users).',
);
fileRow(
  'an empty JSON file',
  'u.json',
  '',
  '$FILE: the file is not valid JSON: fix it (a JSON users file holds an array of users).',
);
fileRow(
  'a JSON password field',
  'u.json',
  '[{"username":"ann","password":"x"}]',
  '$FILE:1: a users file must not hold passwords: remove the column and pass a SeedPassword in the options.',
);
fileRow(
  'a JSON row without a username',
  'u.json',
  '[{"mode":"PERMANENT"}]',
  '$FILE:1: the row has no username: every row needs one.',
);

describe('in a users file', () => {
  test.each(fileRows)('fails on %s', (_name, name, text, message) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bad-users-')), name);
    fs.writeFileSync(file, text);
    expect(() => UserSeeder.usersFromFile(file, { password: pw() })).toThrow(message.replace('$FILE', file));
  });

  test('a PasswordRevision header (any case) is the revision, not a password column', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bad-users-')), 'u.csv');
    fs.writeFileSync(file, 'Username,Mode,PasswordRevision\nann,PERMANENT,2\n');
    expect(UserSeeder.usersFromFile(file, { password: pw() })).toMatchObject([
      { username: 'ann', passwordRevision: '2' },
    ]);
  });
});

// ---------------------------------------------------------------- deploy

const WRITES = [
  AdminCreateUserCommand,
  AdminSetUserPasswordCommand,
  AdminResetUserPasswordCommand,
  AdminAddUserToGroupCommand,
  AdminUpdateUserAttributesCommand,
  AdminDeleteUserCommand,
];
const ok = { Username: 'u', Mode: 'PERMANENT', Password: { Source: 'secretsmanager', SecretArn: 'arn:ok' } };
type Setup = () => void;
const deployRows: [string, Record<string, unknown>, Setup | undefined, string][] = [];
const deployRow = (name: string, properties: Record<string, unknown>, message: string, setup?: Setup) =>
  deployRows.push([name, properties, setup, message]);
const users = (...list: object[]) => props(list);

deployRow(
  'no UserPoolId',
  props([ok], { UserPoolId: '' }),
  'Create failed: UserPoolId is required: pass the id of the pool to seed.',
);
for (const value of ['Retain ', 'RETAIN', ' retain']) {
  // Accepted, case- and space-insensitively: the control rows below must still fail for their own reason.
  deployRow(
    `RemovalPolicy '${value}' with a bad mode`,
    props([{ ...ok, Mode: 'X' }], { RemovalPolicy: value }),
    "Create failed: user 'u': mode 'X' is not one of PERMANENT, TEMPORARY, RESET_REQUIRED.",
  );
}
for (const value of ['keep', 'snapshot', 'retain-on-update']) {
  deployRow(
    `RemovalPolicy '${value}'`,
    props([ok], { RemovalPolicy: value }),
    `Create failed: RemovalPolicy must be 'destroy' or 'retain', got '${value}': use RemovalPolicy.DESTROY or RemovalPolicy.RETAIN.`,
  );
}
for (const value of ['yes', '1', 'TRUE ']) {
  deployRow(
    `AdoptExistingUsers '${value}'`,
    props([ok], { AdoptExistingUsers: value }),
    `Create failed: AdoptExistingUsers must be 'true' or 'false', got '${value}'.`,
  );
}
for (const value of ['0', '-4', 'many']) {
  deployRow(
    `MaxConcurrency '${value}'`,
    props([ok], { MaxConcurrency: value }),
    `Create failed: MaxConcurrency must be a positive number, got '${value}'.`,
  );
}
for (const rate of ['Create', 'Recovery', 'Write', 'Read']) {
  deployRow(
    `Rates.${rate} '0'`,
    props([ok], { Rates: { [rate]: '0' } }),
    `Create failed: Rates.${rate} must be a positive number, got '0'.`,
  );
}
deployRow('Users not a list', props([], { Users: 'ann' }), 'Create failed: Users must be a list of users.');
deployRow(
  'a user without a Username',
  users({ Mode: 'PERMANENT' }),
  'Create failed: user #1 has no Username: give every user a username.',
);
deployRow(
  'a null user',
  users(ok, null as never),
  'Create failed: user #2 has no Username: give every user a username.',
);
for (const mode of ['', 'ADMIN', 'reset']) {
  deployRow(
    `mode '${mode}'`,
    users({ ...ok, Mode: mode }),
    `Create failed: user 'u': mode '${mode}' is not one of PERMANENT, TEMPORARY, RESET_REQUIRED.`,
  );
}
for (const mode of ['PERMANENT', 'TEMPORARY']) {
  deployRow(
    `${mode} without a source`,
    users({ Username: 'u', Mode: mode }),
    `Create failed: user 'u': mode ${mode} needs a password source.`,
  );
}
for (const source of ['s3', 'kms', '']) {
  deployRow(
    `password source '${source}'`,
    users({ ...ok, Password: { Source: source } }),
    `Create failed: user 'u': password source '${source}' is not secretsmanager, ssm or plaintext.`,
  );
}
deployRow(
  'Groups not a list',
  users({ ...ok, Groups: 'admins' }),
  "Create failed: user 'u': Groups must be a list of group names.",
);
deployRow(
  'ClientMetadata not a map',
  props([ok], { ClientMetadata: ['a=b'] }),
  'Create failed: ClientMetadata must be a map of strings, got a list.',
);
deployRow(
  "a user's ClientMetadata not a map",
  users({ ...ok, ClientMetadata: 'a=b' }),
  "Create failed: user 'u': ClientMetadata must be a map of strings, got string.",
);
deployRow('a user listed twice', users(ok, ok), "Create failed: user 'u' is listed twice: list each username once.");
deployRow('Siblings not a list', props([ok], { Siblings: 'x' }), 'Create failed: Siblings must be a list.');
deployRow(
  'a sibling without an Owner',
  props([ok], { Siblings: [{ Usernames: [] }] }),
  'Create failed: every entry of Siblings needs an Owner and a list of Usernames.',
);
deployRow(
  'AllowPlainString not a boolean',
  users({
    Username: 'u',
    Mode: 'PERMANENT',
    Password: { Source: 'ssm', ParameterName: '/p', AllowPlainString: 'maybe' },
  }),
  "Create failed: user 'u': Password.AllowPlainString must be 'true' or 'false', got 'maybe'.",
);
// Service answers, found at pre-flight before any write.
const preflight = (problem: string) => `Create failed: pre-flight found 1 problem(s), nothing was written: ${problem}`;
deployRow(
  'a secret that cannot be read',
  users(ok),
  preflight("user 'u': secret arn:ok could not be read (AccessDeniedException: not allowed)"),
  () =>
    secrets.on(GetSecretValueCommand, { SecretId: 'arn:ok' }).rejects(awsError('AccessDeniedException', 'not allowed')),
);
deployRow(
  'a secret with no SecretString',
  users(ok),
  preflight("user 'u': secret arn:ok has no SecretString: store the password as text"),
  () => secrets.on(GetSecretValueCommand, { SecretId: 'arn:ok' }).resolves({ SecretBinary: new Uint8Array([1]) }),
);
deployRow(
  'a secret that is not JSON',
  users({ ...ok, Password: { ...ok.Password, JsonField: 'pw' } }),
  preflight("user 'u': secret arn:ok is not JSON, so it has no field 'pw'"),
);
deployRow(
  'a JSON secret without the field',
  users({ ...ok, Password: { Source: 'secretsmanager', SecretArn: 'arn:json', JsonField: 'missing' } }),
  preflight("user 'u': secret arn:json has no string field 'missing'"),
);
deployRow(
  'a JSON secret given without jsonField (its whole JSON text would be the password)',
  users({ ...ok, Password: { Source: 'secretsmanager', SecretArn: 'arn:json' } }),
  preflight(
    "user 'u': secret arn:json holds a JSON object (fields pw), so its whole JSON text would be the password: name the field that holds it, SeedPassword.fromSecret(secret, 'pw')",
  ),
);
deployRow(
  "a secret whose KMS key denies the function (Secrets Manager's words)",
  users(ok),
  preflight(
    "user 'u': secret arn:ok could not be decrypted: its KMS key does not let the seeding function decrypt (AccessDeniedException: Access to KMS is not allowed); import the secret with its key, secretsmanager.Secret.fromSecretAttributes(this, id, { secretCompleteArn, encryptionKey }), so the seeder grants kms:Decrypt, or allow the seeding role kms:Decrypt in the key's policy",
  ),
  () =>
    secrets
      .on(GetSecretValueCommand, { SecretId: 'arn:ok' })
      .rejects(awsError('AccessDeniedException', 'Access to KMS is not allowed')),
);
deployRow(
  'a SecureString whose KMS key denies the function',
  users({ Username: 'u', Mode: 'TEMPORARY', Password: { Source: 'ssm', ParameterName: '/cmk' } }),
  preflight(
    "user 'u': SSM parameter /cmk could not be decrypted: its KMS key arn:aws:kms:us-east-1:111111111111:key/1234abcd does not let the seeding function decrypt (AccessDeniedException: User: arn:aws:sts::111111111111:assumed-role/seed/fn is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:111111111111:key/1234abcd); pass the key, SeedPassword.fromSsmParameter(parameter, { encryptionKey }), so the seeder grants kms:Decrypt, or allow the seeding role kms:Decrypt in the key's policy",
  ),
  () =>
    ssmMock
      .on(GetParameterCommand, { Name: '/cmk' })
      .rejects(
        awsError(
          'AccessDeniedException',
          'User: arn:aws:sts::111111111111:assumed-role/seed/fn is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:111111111111:key/1234abcd',
        ),
      ),
);
deployRow(
  'a String parameter',
  users({ Username: 'u', Mode: 'TEMPORARY', Password: { Source: 'ssm', ParameterName: '/plain' } }),
  preflight(
    "user 'u': SSM parameter /plain is a String, not a SecureString: its value is stored unencrypted (and, if CloudFormation created it, is in a template); store the password as a SecureString, or pass { allowPlainStringParameter: true } to SeedPassword.fromSsmParameter() to accept it",
  ),
);
deployRow(
  'a parameter that cannot be read',
  users({ Username: 'u', Mode: 'TEMPORARY', Password: { Source: 'ssm', ParameterName: '/gone' } }),
  preflight("user 'u': SSM parameter /gone could not be read (ParameterNotFound: Parameter /gone not found.)"),
);
deployRow(
  'a password that breaks the pool policy',
  users({ ...ok, Password: { Source: 'plaintext', Value: 'short' } }),
  preflight(
    "user 'u': the password from the plain-text password breaks the pool's password policy, which needs at least 10 characters, an uppercase letter, a number, a symbol: store a password that meets the policy",
  ),
);
deployRow(
  'a group that does not exist',
  users({ ...ok, Groups: ['ghosts'] }),
  preflight(
    "user 'u': group 'ghosts' does not exist in pool us-east-1_POOL1: create the group (for example with cognito.UserPoolGroup) or remove it from the user",
  ),
);
deployRow(
  'an attribute not in the schema',
  users({ ...ok, Attributes: { 'custom:nope': 'x' } }),
  preflight(
    "user 'u': attribute(s) custom:nope are not in the pool's schema: add them to the pool or remove them from the user",
  ),
);
deployRow(
  'RESET_REQUIRED without a verified contact',
  users({ Username: 'u', Mode: 'RESET_REQUIRED', Attributes: { email: 'u@x.io' } }),
  preflight(
    "user 'u': mode RESET_REQUIRED needs a verified email or phone (email with email_verified 'true', or phone_number with phone_number_verified 'true')",
  ),
);
deployRow(
  'a user that exists and nobody holds',
  users(ok),
  preflight(
    "user 'u' already exists in the pool and was not created by this seeder: remove it from the pool, drop it from the seeder, or set adoptExistingUsers: true to take it over (adopted users are released, never deleted)",
  ),
  () =>
    cognitoMock
      .on(AdminGetUserCommand, { Username: 'u' })
      .resolves({ Username: 'u', UserAttributes: [{ Name: 'sub', Value: 's' }] }),
);
deployRow(
  'a pool that does not exist',
  props([ok], { UserPoolId: 'us-east-1_GONE' }),
  'Create failed: user pool us-east-1_GONE does not exist: check the pool id, or create the pool before seeding it',
  () =>
    cognitoMock
      .on(DescribeUserPoolCommand, { UserPoolId: 'us-east-1_GONE' })
      .rejects(awsError('ResourceNotFoundException', 'User pool us-east-1_GONE does not exist.')),
);

// Test identities: TOTP users and the stage guard.
const totp = { Totp: { SecretArn: 'arn:totp', ClientId: 'client' } };
deployRow(
  'an Mfa other than TOTP',
  props([{ ...ok, Mfa: 'SMS' }], totp),
  "Create failed: user 'u': Mfa 'SMS' is not supported: use TOTP or leave it out.",
);
deployRow(
  'a TOTP user that is not PERMANENT',
  props([{ ...ok, Mode: 'TEMPORARY', Mfa: 'totp' }], totp),
  "Create failed: user 'u': a TOTP token needs mode PERMANENT (a TEMPORARY user cannot sign in to enrol one): make the user PERMANENT or drop mfa.",
);
deployRow(
  'a TOTP user without the Totp settings',
  props([{ ...ok, Mfa: 'TOTP' }]),
  "Create failed: user 'u' asks for a TOTP token but the resource has no Totp settings: add the user with the construct, which creates them.",
);
deployRow(
  'Totp settings without a ClientId',
  props([ok], { Totp: { SecretArn: 'arn:totp' } }),
  'Create failed: Totp needs a SecretArn and a ClientId.',
);
deployRow(
  'a TOTP user in a pool with MFA off',
  props([{ ...ok, Mfa: 'TOTP' }], { ...totp, UserPoolId: 'us-east-1_MFAOFF' }),
  preflight(
    "user 'u': asks for a TOTP token, but pool us-east-1_MFAOFF has MFA turned off: set the pool's mfa to OPTIONAL or REQUIRED with mfaSecondFactor { otp: true }, or drop mfa from the user",
  ),
  () =>
    cognitoMock
      .on(DescribeUserPoolCommand, { UserPoolId: 'us-east-1_MFAOFF' })
      .resolves({ UserPool: { Id: 'us-east-1_MFAOFF', MfaConfiguration: 'OFF' } }),
);
// Attributes against the live schema and Cognito's formats, at pre-flight.
const schemaPool = () =>
  cognitoMock.on(DescribeUserPoolCommand, { UserPoolId: 'us-east-1_SCHEMA' }).resolves({
    UserPool: {
      Id: 'us-east-1_SCHEMA',
      SchemaAttributes: [
        { Name: 'sub', AttributeDataType: 'String', Required: true, Mutable: false },
        { Name: 'email', AttributeDataType: 'String' },
        { Name: 'phone_number', AttributeDataType: 'String' },
        { Name: 'birthdate', AttributeDataType: 'String' },
        { Name: 'given_name', AttributeDataType: 'String' },
        {
          Name: 'custom:age',
          AttributeDataType: 'Number',
          NumberAttributeConstraints: { MinValue: '0', MaxValue: '150' },
        },
        {
          Name: 'custom:code',
          AttributeDataType: 'String',
          StringAttributeConstraints: { MinLength: '2', MaxLength: '8' },
        },
        { Name: 'family_name', AttributeDataType: 'String', Required: false },
      ],
    },
  });
for (const [label, attributes, problem] of [
  [
    'a Number attribute that is not a number',
    { 'custom:age': 'forty' },
    "attribute custom:age is 'forty', the pool's schema makes it a Number: give a number",
  ],
  [
    'a Number attribute out of its range',
    { 'custom:age': '200' },
    "attribute custom:age is 200, the pool's schema allows 0 to 150: give a number in that range",
  ],
  [
    'a String attribute longer than its schema allows',
    { 'custom:code': 'ABCDEFGHIJ' },
    "attribute custom:code is 10 characters, the pool's schema allows 2 to 8: fit the value to that length",
  ],
  [
    'a value over 2,048 characters',
    { given_name: 'x'.repeat(2049) },
    'attribute given_name is 2049 characters, Cognito takes at most 2,048: shorten it',
  ],
  [
    'an email that is not an address',
    { email: 'alice.example.com' },
    "attribute email 'alice.example.com' is not an email address: fix the value",
  ],
  [
    'a phone number not in E.164',
    { phone_number: '0155 555 0100' },
    "attribute phone_number '0155 555 0100' is not in E.164 format (a + then the country code and number, digits only, e.g. +14155550100): fix the value",
  ],
  [
    'a birthdate not YYYY-MM-DD',
    { birthdate: '01/02/1990' },
    "attribute birthdate '01/02/1990' is not YYYY-MM-DD: fix the value",
  ],
] as const) {
  deployRow(
    label,
    props([{ ...ok, Attributes: attributes }], { UserPoolId: 'us-east-1_SCHEMA' }),
    preflight(`user 'u': ${problem}`),
    schemaPool,
  );
}
deployRow(
  'a required attribute missing',
  props([ok], { UserPoolId: 'us-east-1_REQUIRED' }),
  preflight(
    "user 'u': the pool's schema requires attribute(s) family_name, which the user does not give: add them to its attributes",
  ),
  () =>
    cognitoMock.on(DescribeUserPoolCommand, { UserPoolId: 'us-east-1_REQUIRED' }).resolves({
      UserPool: {
        Id: 'us-east-1_REQUIRED',
        SchemaAttributes: [
          { Name: 'sub', Required: true, Mutable: false },
          { Name: 'family_name', Required: true },
        ],
      },
    }),
);
deployRow(
  'ForbiddenAccounts that is not a list',
  props([ok], { ForbiddenAccounts: '123456789012' }),
  'Create failed: ForbiddenAccounts must be a list of account ids.',
);
deployRow(
  "the function's own account in ForbiddenAccounts (the stage guard)",
  props([ok], { ForbiddenAccounts: ['111111111111', FUNCTION_ACCOUNT] }),
  `Create failed: seeding is forbidden in account ${FUNCTION_ACCOUNT} (the stage guard: forbiddenAccounts or the context key cdk-cognito-seeder:forbiddenAccounts); nothing was written. To seed this account deliberately, deploy with -c cdk-cognito-seeder:allowSeedingIn=${FUNCTION_ACCOUNT}`,
);

describe('at deploy', () => {
  const { server, ledger, deliver } = inProcessHandler(() => {
    strictMocks();
    cognitoMock.on(AdminGetUserCommand).rejects(awsError('UserNotFoundException', 'User does not exist.'));
    secrets.on(GetSecretValueCommand, { SecretId: 'arn:ok' }).resolves({ SecretString: 'Good-Passw0rd!' });
    secrets.on(GetSecretValueCommand, { SecretId: 'arn:json' }).resolves({ SecretString: '{"pw":"Good-Passw0rd!"}' });
    ssmMock
      .on(GetParameterCommand, { Name: '/plain' })
      .resolves({ Parameter: { Type: 'String', Value: 'Good-Passw0rd!' } });
    ssmMock
      .on(GetParameterCommand, { Name: '/gone' })
      .rejects(awsError('ParameterNotFound', 'Parameter /gone not found.'));
  });

  test.each(deployRows)('fails on %s', async (_name, properties, setup, message) => {
    // GIVEN
    setup?.();

    // WHEN
    await deliver(createEvent(server.url, properties), context());

    // THEN one FAILED answer with the message, no Cognito write, no user in the ledger
    expect(server.bodies.map((b) => [b.Status, b.Reason])).toEqual([['FAILED', message]]);
    for (const command of WRITES) expect(cognitoMock.commandCalls(command as never)).toHaveLength(0);
    expect(await ledger.users()).toEqual([]);
  });
});

test('the matrix holds at least 100 bad inputs', () => {
  expect({ synth: synthRows.length, files: fileRows.length, deploy: deployRows.length }).toEqual({
    synth: expect.any(Number),
    files: expect.any(Number),
    deploy: expect.any(Number),
  });
  expect(synthRows.length + fileRows.length + deployRows.length).toBeGreaterThanOrEqual(100);
  process.stderr.write(
    `bad-input matrix: ${synthRows.length} synth, ${fileRows.length} files, ${deployRows.length} deploy\n`,
  );
});
