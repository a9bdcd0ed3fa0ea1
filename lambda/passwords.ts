/**
 * Reads passwords from where the template points (Secrets Manager, SSM), once per
 * source, and registers every value with the redactor before anyone can print it.
 */
import { createHash } from 'crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ComposedError, describeError, Redactor } from './log';
import type { PasswordSource } from './properties';

/** A password could not be read; the message names the source, never a value. */
export class PasswordReadError extends ComposedError {}

/** A password and the version of its store it was read from. */
export interface VersionedPassword {
  readonly value: string;
  /** The secret's VersionId or the parameter's Version; a digest for plain text. */
  readonly version?: string;
}

export class PasswordReader {
  private readonly cache = new Map<string, Promise<VersionedPassword>>();

  constructor(
    private readonly redactor: Redactor,
    private readonly secrets: SecretsManagerClient,
    private readonly ssm: SSMClient,
  ) {}

  /** The password of `source`. */
  async read(source: PasswordSource): Promise<string> {
    return (await this.readVersioned(source)).value;
  }

  /** The password of `source` and its version; concurrent and repeated reads of one source share one call. */
  readVersioned(source: PasswordSource): Promise<VersionedPassword> {
    const key = JSON.stringify(source);
    let value = this.cache.get(key);
    if (!value) {
      value = this.fetch(source);
      this.cache.set(key, value);
    }
    return value;
  }

  private async fetch(source: PasswordSource): Promise<VersionedPassword> {
    switch (source.kind) {
      case 'plaintext':
        this.redactor.add(source.value);
        // Already in the template (unsafePlainText): a digest tells a changed value apart.
        return { value: source.value, version: createHash('sha256').update(source.value).digest('hex') };
      case 'secretsmanager':
        return this.fromSecret(source.secretArn, source.jsonField);
      case 'ssm':
        return this.fromParameter(source.parameterName, source.allowPlainString === true);
    }
  }

  private async fromSecret(secretArn: string, jsonField?: string): Promise<VersionedPassword> {
    let text: string | undefined;
    let version: string | undefined;
    try {
      const out = await this.secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
      text = out?.SecretString;
      version = out?.VersionId;
    } catch (error) {
      const said = describeError(error, this.redactor);
      const key = kmsDenial(error);
      if (key !== undefined) {
        throw new PasswordReadError(
          `secret ${secretArn} could not be decrypted: its KMS key${key ? ` ${key}` : ''} does not let the seeding function decrypt (${said}); import the secret with its key, secretsmanager.Secret.fromSecretAttributes(this, id, { secretCompleteArn, encryptionKey }), so the seeder grants kms:Decrypt, or allow the seeding role kms:Decrypt in the key's policy`,
        );
      }
      throw new PasswordReadError(`secret ${secretArn} could not be read (${said})`);
    }
    if (typeof text !== 'string' || text === '') {
      throw new PasswordReadError(`secret ${secretArn} has no SecretString: store the password as text`);
    }
    this.redactor.add(text);
    if (jsonField === undefined) {
      const fields = jsonObjectFields(text);
      if (fields) {
        // Field names only, never a value.
        const named = fields.slice(0, 5).join(', ') + (fields.length > 5 ? ', ...' : '');
        const likely = fields.find((f) => /^pass(word)?$/i.test(f)) ?? fields[0] ?? 'password';
        throw new PasswordReadError(
          `secret ${secretArn} holds a JSON object (fields ${named || 'none'}), so its whole JSON text would be the password: name the field that holds it, SeedPassword.fromSecret(secret, '${likely}')`,
        );
      }
      return { value: text, version };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // JSON.parse quotes the input in its message: never pass that message on.
      throw new PasswordReadError(`secret ${secretArn} is not JSON, so it has no field '${jsonField}'`);
    }
    const field = (parsed as Record<string, unknown> | null)?.[jsonField];
    if (typeof field !== 'string' || field === '') {
      throw new PasswordReadError(`secret ${secretArn} has no string field '${jsonField}'`);
    }
    this.redactor.add(field);
    return { value: field, version };
  }

  private async fromParameter(name: string, allowPlainString: boolean): Promise<VersionedPassword> {
    let value: string | undefined;
    let version: string | undefined;
    let type: string | undefined;
    try {
      const out = await this.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      value = out?.Parameter?.Value;
      type = out?.Parameter?.Type;
      version = out?.Parameter?.Version === undefined ? undefined : String(out.Parameter.Version);
    } catch (error) {
      const said = describeError(error, this.redactor);
      const key = kmsDenial(error);
      if (key !== undefined) {
        throw new PasswordReadError(
          `SSM parameter ${name} could not be decrypted: its KMS key${key ? ` ${key}` : ''} does not let the seeding function decrypt (${said}); pass the key, SeedPassword.fromSsmParameter(parameter, { encryptionKey }), so the seeder grants kms:Decrypt, or allow the seeding role kms:Decrypt in the key's policy`,
        );
      }
      throw new PasswordReadError(`SSM parameter ${name} could not be read (${said})`);
    }
    if (typeof value !== 'string' || value === '') {
      throw new PasswordReadError(`SSM parameter ${name} has no value`);
    }
    this.redactor.add(value);
    if (type !== 'SecureString' && !allowPlainString) {
      throw new PasswordReadError(
        `SSM parameter ${name} is a ${type ?? 'parameter of unknown type'}, not a SecureString: its value is stored unencrypted (and, if CloudFormation created it, is in a template); store the password as a SecureString, or pass { allowPlainStringParameter: true } to SeedPassword.fromSsmParameter() to accept it`,
      );
    }
    return { value, version };
  }
}

/**
 * The key's ARN ('' when the message names none) when `error` is a KMS denial (Secrets
 * Manager's "Access to KMS is not allowed", SSM's kms:Decrypt refusal, KMS's own
 * exceptions); undefined for any other error.
 */
export function kmsDenial(error: unknown): string | undefined {
  const name = String((error as { name?: unknown })?.name ?? '');
  const message = String((error as { message?: unknown })?.message ?? '');
  const kms = /^KMS/.test(name) || (/AccessDenied/.test(name) && /\bkms\b|KMS/.test(message));
  if (!kms) return undefined;
  return /arn:aws[\w-]*:kms:[^\s"',;)]+/.exec(message)?.[0] ?? '';
}

/** The field names of `text` when it is a JSON object; undefined when it is not one. */
function jsonObjectFields(text: string): string[] | undefined {
  if (!text.trimStart().startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? Object.keys(parsed) : undefined;
  } catch {
    return undefined;
  }
}
