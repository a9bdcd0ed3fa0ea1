import { Annotations, Duration, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import type { PasswordSourceProperties } from './private/contract';
import { readParameterStatements, readSecretStatements } from './private/password-grants';

/**
 * Options for `SeedPassword.generate()`.
 */
export interface GeneratedPasswordOptions {
  /**
   * The construct id of the generated secret in the seeder, so its logical id never
   * depends on which users share it or in what order they are listed. Give one to every
   * `generate()` you keep across deploys: a new id is a new secret, and a new password.
   *
   * @default - `GeneratedPassword` for the seeder's first `generate()` without an id,
   * `GeneratedPassword2` for its second, and so on, in the order the seeder first binds
   * them. Users of one shared `generate()` can be removed or reordered freely; removing
   * every user of an earlier `generate()` renames the later ones (synth warns when a
   * seeder has more than one without an id).
   */
  readonly id?: string;

  /**
   * Length of the generated password: at least the pool's minimum length, at most 256.
   *
   * @default 32
   */
  readonly length?: number;

  /**
   * Characters never to use. Each of uppercase, lowercase, digits and punctuation stays
   * required, so do not exclude a whole class the pool's policy needs.
   *
   * @default - none excluded (spaces are never used)
   */
  readonly excludeCharacters?: string;

  /**
   * Rotate the generated password this often, with the stack's seeding function as the secret's rotation function.
   *
   * The function generates a new password under the same constraints, makes it the secret's
   * current version, and then repairs the users of the password, which sets it on them:
   * PERMANENT users stay PERMANENT, and a TEMPORARY user gets it as a new temporary password.
   * For a few seconds between the two, the secret is ahead of the users.
   * Whole days, from 1 to 1,000 (Secrets Manager's range). The first rotation comes one
   * period after the deploy, never during it. Answers cdk-nag's rotation rules
   * (AwsSolutions-SMG4, HIPAA and NIST 800-53 R5 SecretsManagerRotationEnabled).
   *
   * @default - not rotated (cdk-nag's rotation rules report the secret)
   */
  readonly rotateAfter?: Duration;
}

/**
 * Options for `SeedPassword.fromSsmParameter()`.
 */
export interface SsmParameterPasswordOptions {
  /**
   * The customer managed KMS key the SecureString is encrypted with. The seeding role (and
   * any grantee of `grantReadPassword`) may then decrypt with it, only through SSM.
   *
   * @default - the parameter uses the AWS managed `aws/ssm` key, which needs no grant
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Accept a plain `String` (or `StringList`) parameter. Its value is stored unencrypted
   * and, when CloudFormation created it, is in a template: the seeding function refuses
   * such a parameter at deploy time unless this is set.
   *
   * @default false
   */
  readonly allowPlainStringParameter?: boolean;
}

/**
 * What a password source contributes to a seeder: the reference that the handler reads,
 * and the permissions to read it.
 *
 * @internal
 */
export interface SeedPasswordBinding {
  readonly source: PasswordSourceProperties;
  /** Statements for the seeding function's role. */
  readonly statements: iam.PolicyStatement[];
  /** The secret the password lives in, if it lives in one. */
  readonly secret?: secretsmanager.ISecret;
  /** The parameter the password lives in, if it lives in one. */
  readonly parameter?: ssm.IParameter;
  /** The JSON field of the secret that holds the password, if only one field does. */
  readonly jsonField?: string;
  /** The customer managed key a parameter is encrypted with, when the construct was told. */
  readonly encryptionKey?: kms.IKey;
  /** How often a generated secret is rotated (by the seeding function), when it is. */
  readonly rotateAfter?: Duration;
}

/**
 * What a password source is told about the user and pool it is bound to.
 *
 * @internal
 */
export interface SeedPasswordBindContext {
  /** The user's username, for messages and construct ids. */
  readonly username: string;
  /** The pool's minimum password length, when known at synth. */
  readonly minimumLength?: number;
  /** The construct path of the seeder, for messages. */
  readonly path: string;
  /** The key for the secrets a source makes (the seeder's `secretsEncryptionKey`). */
  readonly encryptionKey?: kms.IKey;
}

/**
 * Where a seeded user's password comes from. Every source but `unsafePlainText` keeps the
 * password out of the template: the seeding function reads it at deploy time.
 */
export abstract class SeedPassword {
  /**
   * The password stored in a Secrets Manager secret: its whole `SecretString`, or one
   * field of it when it holds JSON. The seeding function may read exactly this secret
   * (and decrypt with its key through Secrets Manager).
   *
   * @param secret the secret holding the password
   * @param jsonField the JSON field holding the password @default - the whole SecretString
   */
  public static fromSecret(secret: secretsmanager.ISecret, jsonField?: string): SeedPassword {
    return new SecretPassword(secret, jsonField);
  }

  /**
   * The password stored in an SSM SecureString parameter, read with decryption. The
   * seeding function may read exactly this parameter. Parameters encrypted with the
   * default `aws/ssm` key need no further grant; for a customer managed key, pass it as
   * `options.encryptionKey`. CloudFormation cannot create a SecureString: a parameter this
   * app creates holds its value in the template, and is refused at synth.
   *
   * @param parameter the SecureString parameter holding the password
   * @param options its key, and whether a plain String parameter is accepted
   */
  public static fromSsmParameter(parameter: ssm.IParameter, options: SsmParameterPasswordOptions = {}): SeedPassword {
    return new ParameterPassword(parameter, options);
  }

  /**
   * A password generated by CloudFormation into a new Secrets Manager secret
   * (`GenerateSecretString`, every character class included, no spaces). One secret per
   * call: users given the same object share it. Find it with `UserSeeder.passwordSecret()`.
   */
  public static generate(options: GeneratedPasswordOptions = {}): SeedPassword {
    return new GeneratedPassword(options);
  }

  /**
   * A password written into the template in plain text, visible to anyone who can read
   * the template or the stack. Synth warns about it. Use only for throwaway test pools.
   *
   * @param value the password
   */
  public static unsafePlainText(value: string): SeedPassword {
    return new PlainTextPassword(value);
  }

  /**
   * The plain-text value, when this source is `unsafePlainText`; lets synth check it
   * against a known password policy.
   *
   * @internal
   */
  public get _plainText(): string | undefined {
    return undefined;
  }

  /**
   * Binds the source to a seeder: creates what it needs in `scope` and says how to read it.
   *
   * @internal
   */
  public abstract _bind(scope: Construct, context: SeedPasswordBindContext): SeedPasswordBinding;
}

class SecretPassword extends SeedPassword {
  constructor(
    private readonly secret: secretsmanager.ISecret,
    private readonly jsonField?: string,
  ) {
    super();
  }

  public _bind(scope: Construct, context: SeedPasswordBindContext): SeedPasswordBinding {
    checkSecretValueNotInTemplate(scope, context, this.secret);
    return {
      source: {
        Source: 'secretsmanager',
        SecretArn: this.secret.secretArn,
        ...(this.jsonField !== undefined ? { JsonField: this.jsonField } : {}),
      },
      statements: readSecretStatements(this.secret),
      secret: this.secret,
      jsonField: this.jsonField,
    };
  }
}

class ParameterPassword extends SeedPassword {
  constructor(
    private readonly parameter: ssm.IParameter,
    private readonly options: SsmParameterPasswordOptions,
  ) {
    super();
  }

  public _bind(_scope: Construct, context: SeedPasswordBindContext): SeedPasswordBinding {
    checkParameterValueNotInTemplate(context, this.parameter, this.options);
    return {
      source: {
        Source: 'ssm',
        ParameterName: this.parameter.parameterName,
        ...(this.options.allowPlainStringParameter ? { AllowPlainString: 'true' } : {}),
      },
      statements: readParameterStatements(this.parameter, this.options.encryptionKey),
      parameter: this.parameter,
      encryptionKey: this.options.encryptionKey,
    };
  }
}

/**
 * A parameter this app creates is a plain String whose value CloudFormation reads from the
 * template (it cannot create a SecureString). A literal value is refused: the password
 * would be published with the template under a name that does not say so.
 */
function checkParameterValueNotInTemplate(
  context: SeedPasswordBindContext,
  parameter: ssm.IParameter,
  options: SsmParameterPasswordOptions,
): void {
  if (!(parameter instanceof ssm.StringParameter || parameter instanceof ssm.StringListParameter)) return;
  const cfn = parameter.node.defaultChild as ssm.CfnParameter | undefined;
  const value = cfn?.value;
  const who = `${context.path}: user '${context.username}'`;
  if (value !== undefined && !Token.isUnresolved(value)) {
    throw new Error(
      `${who}: SeedPassword.fromSsmParameter() was given ${parameter.node.path}, a ${cfn?.type ?? 'String'} parameter this app creates with a literal value: the password is in the CloudFormation template (CloudFormation cannot create a SecureString). Create the SecureString outside CloudFormation and import it with ssm.StringParameter.fromSecureStringParameterAttributes(), or use SeedPassword.generate() or fromSecret().`,
    );
  }
  if (!options.allowPlainStringParameter) {
    throw new Error(
      `${who}: SeedPassword.fromSsmParameter() was given ${parameter.node.path}, a parameter this app creates, which is a plain ${cfn?.type ?? 'String'} (CloudFormation cannot create a SecureString) and is refused at deploy. Import a SecureString with ssm.StringParameter.fromSecureStringParameterAttributes(), or pass { allowPlainStringParameter: true } to accept a plain String.`,
    );
  }
}

/** A CloudFormation dynamic reference: the template holds where the value is, not the value. */
const DYNAMIC_REFERENCE = /^\{\{resolve:(?:secretsmanager|ssm-secure|ssm):[^}]*\}\}$/;

/**
 * A secret this app creates with `SecretValue.unsafePlainText` (or any literal
 * `secretStringValue`/`secretObjectValue`) holds its value in the template. A wholly
 * literal value is refused; a value built from literals and references is warned about.
 */
function checkSecretValueNotInTemplate(
  scope: Construct,
  context: SeedPasswordBindContext,
  secret: secretsmanager.ISecret,
): void {
  if (!(secret instanceof secretsmanager.Secret)) return;
  const cfn = secret.node.defaultChild as secretsmanager.CfnSecret | undefined;
  if (cfn?.secretString === undefined) return;
  const resolved: unknown = Stack.of(secret).resolve(cfn.secretString);
  const who = `${context.path}: user '${context.username}'`;
  if (typeof resolved === 'string') {
    if (DYNAMIC_REFERENCE.test(resolved)) return;
    throw new Error(
      `${who}: SeedPassword.fromSecret() was given ${secret.node.path}, a secret created with a literal value (SecretValue.unsafePlainText or secretStringValue): the password is in the CloudFormation template. Let CloudFormation generate it (SeedPassword.generate(), or a Secret with generateSecretString), or create the secret outside CloudFormation and import it with secretsmanager.Secret.fromSecretNameV2().`,
    );
  }
  if (literalStrings(resolved).length > 0) {
    Annotations.of(scope).addWarningV2(
      'cdk-cognito-seeder:secretValueInTemplate',
      `${who}: SeedPassword.fromSecret() was given ${secret.node.path}, whose value is built in the template from literal parts (secretObjectValue or Fn::Join): if the password is one of them, it is in the CloudFormation template. Generate the password instead (generateSecretString with generateStringKey).`,
    );
  }
}

/** The literal strings of a resolved value, without JSON punctuation and dynamic references. */
function literalStrings(value: unknown): string[] {
  if (typeof value === 'string') {
    return DYNAMIC_REFERENCE.test(value) || /^[\s{}[\]":,]*$/.test(value) ? [] : [value];
  }
  if (Array.isArray(value)) return value.flatMap(literalStrings);
  if (value === null || typeof value !== 'object') return [];
  const entries = Object.entries(value);
  // A Ref or attribute names a resource, not a value.
  if (entries.length === 1 && (entries[0][0] === 'Ref' || entries[0][0] === 'Fn::GetAtt')) return [];
  return entries.flatMap(([, v]) => literalStrings(v));
}

const DEFAULT_GENERATED_LENGTH = 32;

/** The character classes GenerateSecretString draws from (requireEachIncludedType). */
const GENERATED_CLASSES: [string, string][] = [
  ['uppercase letter', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'],
  ['lowercase letter', 'abcdefghijklmnopqrstuvwxyz'],
  ['digit', '0123456789'],
  ['symbol', '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'],
];
const MAX_PASSWORD_LENGTH = 256;

class GeneratedPassword extends SeedPassword {
  private secret?: secretsmanager.Secret;

  constructor(private readonly options: GeneratedPasswordOptions) {
    super();
  }

  private secretId(scope: Construct, context: SeedPasswordBindContext): string {
    return generatedSecretId(scope, context, this.options.id);
  }

  public _bind(scope: Construct, context: SeedPasswordBindContext): SeedPasswordBinding {
    const length = this.options.length ?? Math.max(DEFAULT_GENERATED_LENGTH, context.minimumLength ?? 0);
    if (!Token.isUnresolved(length)) {
      const minimum = context.minimumLength ?? 6;
      if (!Number.isInteger(length) || length < minimum || length > MAX_PASSWORD_LENGTH) {
        throw new Error(
          `${context.path}: user '${context.username}': SeedPassword.generate({ length: ${length} }) must be a whole number from ${minimum} (the pool's minimum password length) to ${MAX_PASSWORD_LENGTH}: choose a length in that range.`,
        );
      }
    }
    const excluded = this.options.excludeCharacters;
    if (excluded !== undefined && !Token.isUnresolved(excluded)) {
      const emptied = GENERATED_CLASSES.filter(([, set]) => [...set].every((c) => excluded.includes(c)));
      if (emptied.length > 0) {
        throw new Error(
          `${context.path}: user '${context.username}': SeedPassword.generate({ excludeCharacters }) excludes every ${emptied.map(([name]) => name).join(' and every ')}, a class each generated password includes and Cognito's password policies require: exclude fewer characters.`,
        );
      }
    }
    const rotateAfter = this.options.rotateAfter;
    if (rotateAfter !== undefined && !Token.isUnresolved(rotateAfter.toSeconds())) {
      const days = rotateAfter.toDays({ integral: false });
      if (!Number.isInteger(days) || days < 1 || days > 1000) {
        throw new Error(
          `${context.path}: user '${context.username}': SeedPassword.generate({ rotateAfter: ${rotateAfter.toHumanString()} }) must be whole days from 1 to 1,000 (Secrets Manager's rotation range): use Duration.days(n).`,
        );
      }
    }
    if (!this.secret) {
      this.secret = new secretsmanager.Secret(scope, this.secretId(scope, context), {
        description: `Seeded Cognito password generated by cdk-cognito-seeder (${context.path})`,
        generateSecretString: {
          passwordLength: length,
          includeSpace: false,
          requireEachIncludedType: true,
          excludeCharacters: this.options.excludeCharacters,
        },
        encryptionKey: context.encryptionKey,
      });
    }
    return {
      source: { Source: 'secretsmanager', SecretArn: this.secret.secretArn },
      statements: readSecretStatements(this.secret),
      secret: this.secret,
      rotateAfter,
    };
  }
}

const GENERATED_ID = 'GeneratedPassword';

/** The secret's id: the given one, or the next of `GeneratedPassword`, `GeneratedPassword2`... */
function generatedSecretId(scope: Construct, context: SeedPasswordBindContext, id?: string): string {
  if (id !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(id) || scope.node.tryFindChild(id)) {
      throw new Error(
        `${context.path}: user '${context.username}': SeedPassword.generate({ id: '${id}' }): ${scope.node.tryFindChild(id) ? 'the seeder already has a child with that id (another generate() with the same id?)' : 'an id is letters, digits, - and _'}: give each generate() of a seeder its own id, or share one SeedPassword object between the users.`,
      );
    }
    return id;
  }
  let candidate = GENERATED_ID;
  for (let n = 2; scope.node.tryFindChild(candidate); n++) candidate = `${GENERATED_ID}${n}`;
  if (candidate !== GENERATED_ID) {
    Annotations.of(scope).addWarningV2(
      'cdk-cognito-seeder:generatedPasswordWithoutId',
      `This seeder has more than one SeedPassword.generate() without an id: their secrets are named by the order the seeder first binds them (${GENERATED_ID}, ${GENERATED_ID}2, ...), so removing every user of one renames the secrets after it, and CloudFormation replaces them (new passwords). Give each generate() an id: SeedPassword.generate({ id: 'AdminPassword' }).`,
    );
  }
  return candidate;
}

class PlainTextPassword extends SeedPassword {
  constructor(private readonly value: string) {
    super();
  }

  public get _plainText(): string | undefined {
    return this.value;
  }

  public _bind(scope: Construct, context: SeedPasswordBindContext): SeedPasswordBinding {
    Annotations.of(scope).addWarningV2(
      'cdk-cognito-seeder:plainTextPassword',
      `${context.path}: user '${context.username}': SeedPassword.unsafePlainText() writes the password in plain text into the CloudFormation template or users file (an S3 asset, when the users outgrow the template): anyone who can read the template, the stack or the asset bucket can read it. Use SeedPassword.fromSecret(), fromSsmParameter() or generate() instead.`,
    );
    return { source: { Source: 'plaintext', Value: this.value }, statements: [] };
  }
}
