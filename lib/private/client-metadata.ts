import { CfnParameter, SecretValue, Stack, Token, Tokenization } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import {
  CLIENT_METADATA_MARKER,
  CLIENT_METADATA_MARKER_VALUE,
  CLIENT_METADATA_MAX_BYTES,
  CLIENT_METADATA_MAX_CHARS,
} from './contract';

/** A ClientMetadata map as the props give it. */
export type ClientMetadataMap = { readonly [key: string]: string };

/** The bytes the marker adds to every call's map. */
const MARKER_BYTES = Buffer.byteLength(CLIENT_METADATA_MARKER) + Buffer.byteLength(CLIENT_METADATA_MARKER_VALUE);

/**
 * Checks a ClientMetadata map before anything is created for it: no key is the seeder's
 * marker, nothing holds a secret (Cognito never encrypts ClientMetadata, and every trigger of
 * the pool receives it), every key and value fits Cognito, and the map of one call (`over`'s
 * entries, this map's over them, and the marker) fits the seeder's total. Resolved strings
 * are measured; unresolved tokens are only looked into for secrets.
 *
 * @param who the construct path (and user) to name in a message, e.g. `App/Seeder: user 'alice'`
 * @param over the map this one is merged over (the seeder's, for a user's map)
 */
export function validateClientMetadata(
  scope: IConstruct,
  who: string,
  metadata: ClientMetadataMap | undefined,
  over: ClientMetadataMap = {},
): void {
  const fix = `ClientMetadata is sent unencrypted and every Lambda trigger of the pool receives it: never put a secret in it (pass the secret's name, and have the trigger read it)`;
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (key === CLIENT_METADATA_MARKER) {
      throw new Error(
        `${who}: clientMetadata key '${CLIENT_METADATA_MARKER}' is the seeder's own marker, which it adds to every call: use another key.`,
      );
    }
    for (const [what, text] of [
      ['key', key],
      [`value of key '${key}'`, value],
    ] as const) {
      const secret = secretIn(scope, text);
      if (secret) throw new Error(`${who}: clientMetadata ${what} holds ${secret}. ${fix}.`);
      if (!Token.isUnresolved(text) && text.length > CLIENT_METADATA_MAX_CHARS) {
        throw new Error(
          `${who}: clientMetadata ${what} is ${text.length} characters, and Cognito accepts at most ${CLIENT_METADATA_MAX_CHARS}: shorten it.`,
        );
      }
    }
  }
  const merged = { ...over, ...metadata };
  const bytes =
    MARKER_BYTES +
    Object.entries(merged).reduce(
      (sum, [key, value]) =>
        sum +
        (Token.isUnresolved(key) ? 0 : Buffer.byteLength(key)) +
        (Token.isUnresolved(value) ? 0 : Buffer.byteLength(value)),
      0,
    );
  if (bytes > CLIENT_METADATA_MAX_BYTES) {
    throw new Error(
      `${who}: clientMetadata comes to ${bytes} bytes with the seeder's marker${Object.keys(over).length > 0 ? " and the seeder's own clientMetadata" : ''}, and the seeder sends at most ${CLIENT_METADATA_MAX_BYTES} bytes with one call (Cognito passes it to every trigger the call runs): keep it to what your triggers need, such as ids to look things up by.`,
    );
  }
}

/**
 * What secret an unresolved string holds, in words; undefined when it holds none this can
 * see: a SecretValue itself, a dynamic reference to Secrets Manager or an SSM SecureString
 * (what `secretValue.unsafeUnwrap()` renders), or a NoEcho parameter.
 */
function secretIn(scope: IConstruct, text: string): string | undefined {
  // A literal dynamic reference is resolved by CloudFormation all the same.
  if (!Token.isUnresolved(text)) return dynamicReference(text);
  // Checked before resolving: with @aws-cdk/core:checkSecretUsage, resolving one throws.
  if (Tokenization.reverseString(text).tokens.some((token) => SecretValue.isSecretValue(token))) {
    return 'a SecretValue';
  }
  const stack = Stack.of(scope);
  const rendered = JSON.stringify(stack.resolve(text));
  const dynamic = dynamicReference(rendered);
  if (dynamic) return dynamic;
  const refs = new Set([...rendered.matchAll(/"Ref":"([^"]+)"/g)].map((m) => m[1]));
  if (refs.size === 0) return undefined;
  for (const node of stack.node.findAll()) {
    if (node instanceof CfnParameter && node.noEcho && refs.has(stack.resolve(node.logicalId))) {
      return `the NoEcho parameter ${stack.resolve(node.logicalId)}`;
    }
  }
  return undefined;
}

/** What secret a CloudFormation dynamic reference in `text` resolves to, in words. */
function dynamicReference(text: string): string | undefined {
  const dynamic = /\{\{resolve:(secretsmanager|ssm-secure):/.exec(text);
  if (!dynamic) return undefined;
  return dynamic[1] === 'ssm-secure'
    ? 'an SSM SecureString parameter (a {{resolve:ssm-secure:...}} reference)'
    : 'a Secrets Manager secret (a {{resolve:secretsmanager:...}} reference)';
}

/** The map as the resource properties carry it; undefined when empty, so templates without one are unchanged. */
export function renderClientMetadata(metadata: ClientMetadataMap | undefined): ClientMetadataMap | undefined {
  return metadata && Object.keys(metadata).length > 0 ? { ...metadata } : undefined;
}
