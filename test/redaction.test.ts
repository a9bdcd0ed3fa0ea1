// The redactor masks whole tokens in every form a password can be echoed in, only in free
// text, and never so that a reader learns a password from what was masked.
import {
  AdminCreateUserCommand,
  AdminGetUserCommand,
  AdminSetUserPasswordCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { ComposedError, describeError, Logger, Redactor } from '../lambda/log';
import { renderResponse } from '../lambda/response';
import { context, createEvent, props } from './support/cfn';
import { inProcessHandler } from './support/in-process';
import { awsError, cognito, createsAnyUser, secrets, strictMocks } from './support/mocks';

function redactorOf(...secrets: string[]): Redactor {
  const redactor = new Redactor();
  for (const s of secrets) redactor.add(s);
  return redactor;
}

function logged(fields: Record<string, string>): Record<string, string> {
  const lines: string[] = [];
  new Logger((line) => lines.push(line)).info(fields);
  return JSON.parse(lines[0]);
}

describe('Redactor', () => {
  const pw = 'Caf\u00e9-P"ss\\w0rd!';
  const redactor = redactorOf(pw);

  test.each([
    ['raw', `Password ${pw} did not conform`],
    ['JSON-escaped', `{"Password":${JSON.stringify(pw)}}`],
    ['JSON-escaped twice', JSON.stringify(JSON.stringify({ Password: pw }))],
    ['NFD', `Password ${pw.normalize('NFD')} did not conform`],
    ['NFC of an NFD secret', `Password ${pw.normalize('NFC')}.`],
    ['non-ASCII as \\u escapes', `{"p":"Caf\\u00e9-P\\"ss\\\\w0rd!"}`],
    ['URL-encoded', `password=${encodeURIComponent(pw)}&x=1`],
    ['truncated with an ellipsis', `Password ${pw.slice(0, 9)}... is invalid`],
    ['truncated at the end', `Password ${pw.slice(0, 8)}`],
  ])('masks a password echoed %s', (_form, text) => {
    const out = redactor.redact(text);
    expect(out).toContain('*****');
    expect(out).not.toContain('w0rd');
    expect(out).not.toContain('Caf\u00e9-P');
    expect(out).not.toContain('Cafe\u0301-P');
    expect(out).not.toContain('Caf\\u00e9-P');
  });

  test('masks an NFD-registered secret echoed in NFC', () => {
    const nfd = 'Cafe\u0301-Secret-1!';
    expect(redactorOf(nfd).redact(`x ${nfd.normalize('NFC')} y`)).toBe('x ***** y');
  });

  test('with a distinct password per user (10,000), masks each one echoed, the longest whole, and nothing else', () => {
    const passwords = Array.from({ length: 10_000 }, (_, i) => `Seed-${i}-Passw0rd!`);
    const r = redactorOf(...passwords, 'Seed-1-Passw0rd!-longer');
    expect(r.redact(`Password Seed-9999-Passw0rd! and Seed-42-Passw0rd! failed`)).toBe(
      'Password ***** and ***** failed',
    );
    // A registered password inside a longer registered one: the longer is masked whole.
    expect(r.redact('value Seed-1-Passw0rd!-longer.')).toBe('value *****.');
    // Cut short by the service, after a prefix two passwords share.
    expect(r.redact('Password Seed-77-Pas...')).toBe('Password *****...');
    // Not registered (10,000 is past the last), and a username that shares a prefix.
    expect(r.redact('Password Seed-10000-Passw0rd! for user Seed-1 here')).toBe(
      'Password Seed-10000-Passw0rd! for user Seed-1 here',
    );
  });

  test('masks whole tokens only: a password that starts a longer word leaves the word alone', () => {
    const r = redactorOf('create');
    expect(r.redact('user created: create failed')).toBe('user created: ***** failed');
  });

  test('values shorter than six characters, which no pool accepts, mask nothing', () => {
    const r = redactorOf('alice', 'x');
    expect(r.redact('user alice: x failed')).toBe('user alice: x failed');
  });

  test('a prefix followed by more text is another word, not a truncated password', () => {
    const r = redactorOf('Password123!');
    expect(r.redact('Password policy not met')).toBe('Password policy not met');
  });

  test('a secret that contains another is masked whole', () => {
    const r = redactorOf('inner-secret', 'outer-inner-secret-x');
    expect(r.redact('a outer-inner-secret-x b inner-secret')).toBe('a ***** b *****');
  });
});

describe('Logger', () => {
  test('structured fields are never rewritten, even when a password equals them', () => {
    const line = logged({ user: 'alice1', action: 'create', outcome: 'created' });
    expect(line).toEqual({ level: 'INFO', user: 'alice1', action: 'create', outcome: 'created' });
  });

  test('a service error reaches a line through describeError, masked before it is JSON-encoded', () => {
    const pw = 'Quote"d-Passw0rd';
    const error = describeError(awsError('X', `Password ${pw} rejected`), redactorOf(pw));
    expect(logged({ user: 'bob', error })).toEqual({ level: 'INFO', user: 'bob', error: 'X: Password ***** rejected' });
  });

  test("the handler's own composed messages are not masked again (no oracle in Reasons)", () => {
    const composed = new ComposedError("user 'alice1': secret arn:create could not be read");
    expect(describeError(composed, redactorOf('alice1', 'create'))).toBe(composed.message);
  });

  test('describeError is the one path an error text takes, redacted', () => {
    const error = awsError('InvalidPasswordException', 'Password Hidden-Pw-1! is bad');
    expect(describeError(error, redactorOf('Hidden-Pw-1!'))).toBe('InvalidPasswordException: Password ***** is bad');
  });
});

describe('renderResponse', () => {
  const base = {
    Status: 'FAILED' as const,
    PhysicalResourceId: 'p',
    StackId: 's',
    RequestId: 'r',
    LogicalResourceId: 'l',
  };

  test('counts bytes and cuts on characters: multi-byte text is never broken', () => {
    const reason = '\u00e9\u{1F600}'.repeat(2000);
    const body = renderResponse({ ...base, Reason: reason });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(4096);
    const kept = JSON.parse(body).Reason as string;
    expect(kept).toMatch(/ \.\.\.\(truncated\)$/);
    expect(kept).not.toContain('\ufffd');
    expect(kept.length).toBeGreaterThan(1000);
    expect(reason.startsWith(kept.replace(/ \.\.\.\(truncated\)$/, ''))).toBe(true);
    // Not a lone surrogate: every code point survived whole.
    expect(Buffer.from(kept, 'utf8').toString('utf8')).toBe(kept);
    expect(/[\ud800-\udbff](?![\udc00-\udfff])/.test(kept)).toBe(false);
  });

  test('text that needs JSON escaping still fits', () => {
    const body = renderResponse({ ...base, Reason: '"\\\n'.repeat(3000) });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(4096);
    expect(JSON.parse(body).Reason).toMatch(/\(truncated\)$/);
  });

  test('a body that fits is left alone', () => {
    expect(JSON.parse(renderResponse({ ...base, Reason: 'short' })).Reason).toBe('short');
  });
});

describe('the handler', () => {
  const { server, output, deliver } = inProcessHandler(() => {
    strictMocks();
    cognito.on(AdminGetUserCommand).rejects(awsError('UserNotFoundException', 'User does not exist.'));
    createsAnyUser();
  });

  test("masks RESET_REQUIRED's throwaway password when Cognito echoes it", async () => {
    // GIVEN Cognito echoes the password it was given, JSON-escaped, in its error
    const echoed: string[] = [];
    cognito.on(AdminSetUserPasswordCommand).callsFake(async (input: { Password: string }) => {
      echoed.push(input.Password);
      throw awsError('InvalidPasswordException', `Password ${JSON.stringify(input.Password)} rejected`);
    });
    const dave = { Username: 'dave', Mode: 'RESET_REQUIRED', Attributes: { email: 'd@x.io', email_verified: 'true' } };

    // WHEN
    await deliver(createEvent(server.url, props([dave])), context());

    // THEN
    expect(echoed).toHaveLength(1);
    expect(server.last.Status).toBe('FAILED');
    expect(server.last.Reason).toMatch(/InvalidPasswordException: Password "\*\*\*\*\*" rejected/);
    const everything = output.text() + server.raw.join('');
    expect(everything).not.toContain(echoed[0]);
    expect(everything).not.toContain(JSON.stringify(echoed[0]).slice(1, -1));
  });

  test("a legal password 'create' equal to nothing but words leaves action and outcome readable", async () => {
    // GIVEN a user whose password is 'create' and another whose password is its username
    secrets.on(GetSecretValueCommand, { SecretId: 'arn:create' }).resolves({ SecretString: 'create' });
    secrets.on(GetSecretValueCommand, { SecretId: 'arn:alice1' }).resolves({ SecretString: 'alice1' });
    const users = [
      { Username: 'bob', Mode: 'TEMPORARY', Password: { Source: 'secretsmanager', SecretArn: 'arn:create' } },
      { Username: 'alice1', Mode: 'TEMPORARY', Password: { Source: 'secretsmanager', SecretArn: 'arn:alice1' } },
    ];
    cognito.on(AdminCreateUserCommand).callsFake(async (input: { Username: string }) => ({
      User: { Username: input.Username, Attributes: [{ Name: 'sub', Value: `sub-${input.Username}` }] },
    }));

    // WHEN the pool is told to accept them (a policy of six lowercase characters)
    await deliver(createEvent(server.url, props(users)), context());

    // THEN structured fields are as written (the test pool's policy refuses both, by rule only)
    const text = output.text() + server.raw.join('');
    expect(text).not.toContain('"user":"*****"');
    expect(text).not.toContain('"action":"*****"');
    expect(server.last.Reason).toMatch(/user 'bob': the password from secret arn:create breaks/);
    expect(server.last.Reason).toMatch(/user 'alice1': the password from secret arn:alice1 breaks/);
  });
});
