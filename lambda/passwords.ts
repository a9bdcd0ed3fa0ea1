/**
 * Reads passwords from where the template points (Secrets Manager, SSM), once per
 * source, and registers every value with the redactor before anyone can print it.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { describeError, Redactor } from './log';
import type { PasswordSource } from './properties';

/** A password could not be read; the message names the source, never a value. */
export class PasswordReadError extends Error {}

export class PasswordReader {
  private readonly cache = new Map<string, Promise<string>>();

  constructor(
    private readonly redactor: Redactor,
    private readonly secrets: SecretsManagerClient,
    private readonly ssm: SSMClient,
  ) {}

  /** The password of `source`; concurrent and repeated reads of one source share one call. */
  read(source: PasswordSource): Promise<string> {
    const key = JSON.stringify(source);
    let value = this.cache.get(key);
    if (!value) {
      value = this.fetch(source);
      this.cache.set(key, value);
    }
    return value;
  }

  private async fetch(source: PasswordSource): Promise<string> {
    switch (source.kind) {
      case 'plaintext':
        this.redactor.add(source.value);
        return source.value;
      case 'secretsmanager':
        return this.fromSecret(source.secretArn, source.jsonField);
      case 'ssm':
        return this.fromParameter(source.parameterName);
    }
  }

  private async fromSecret(secretArn: string, jsonField?: string): Promise<string> {
    let text: string | undefined;
    try {
      const out = await this.secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
      text = out?.SecretString;
    } catch (error) {
      throw new PasswordReadError(`secret ${secretArn} could not be read (${describeError(error, this.redactor)})`);
    }
    if (typeof text !== 'string' || text === '') {
      throw new PasswordReadError(`secret ${secretArn} has no SecretString: store the password as text`);
    }
    this.redactor.add(text);
    if (jsonField === undefined) return text;
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
    return field;
  }

  private async fromParameter(name: string): Promise<string> {
    let value: string | undefined;
    try {
      const out = await this.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      value = out?.Parameter?.Value;
    } catch (error) {
      throw new PasswordReadError(`SSM parameter ${name} could not be read (${describeError(error, this.redactor)})`);
    }
    if (typeof value !== 'string' || value === '') {
      throw new PasswordReadError(`SSM parameter ${name} has no value`);
    }
    this.redactor.add(value);
    return value;
  }
}
