/**
 * Large populations travel as a file asset: the properties carry its S3 location, hash
 * and a table of token values. This reads the file, checks its hash and puts the
 * resolved token values back, so the rest of the handler sees inline users.
 */
import { createHash } from 'crypto';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { UsersFileProperties } from '../lib/private/contract';
import { PropertyError } from './properties';

export class UsersFileReader {
  constructor(private readonly s3: S3Client) {}

  /** `raw` with its `Users` filled from the users file, if it has one. */
  async inline(raw: unknown): Promise<unknown> {
    const props = raw as { UsersFile?: UsersFileProperties; Tokens?: unknown[] } | undefined;
    if (!props?.UsersFile) return raw;
    const { Bucket, Key, Sha256 } = props.UsersFile;
    let text: string;
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket, Key }));
      text = (await out.Body?.transformToString('utf-8')) ?? '';
    } catch (error) {
      throw new PropertyError(`the users file s3://${Bucket}/${Key} could not be read (${(error as Error).name})`);
    }
    if (createHash('sha256').update(text).digest('hex') !== Sha256) {
      throw new PropertyError(`the users file s3://${Bucket}/${Key} does not match its SHA-256: redeploy the stack`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new PropertyError(`the users file s3://${Bucket}/${Key} is not JSON: redeploy the stack`);
    }
    const content = substituteTokens(parsed, props.Tokens ?? []) as { Users?: unknown; Siblings?: unknown };
    // An array is a file of users alone; an object may carry the siblings too.
    if (Array.isArray(content)) return { ...props, Users: content };
    return {
      ...props,
      Users: content?.Users,
      Siblings: content?.Siblings ?? (props as { Siblings?: unknown }).Siblings,
    };
  }
}

/** Replaces every `{"$token": n}` with `tokens[n]`. */
export function substituteTokens(value: unknown, tokens: readonly unknown[]): unknown {
  if (Array.isArray(value)) return value.map((v) => substituteTokens(v, tokens));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0][0] === '$token') {
    const index = Number(entries[0][1]);
    if (!(index in tokens)) throw new PropertyError(`the users file refers to token ${index}, which Tokens lacks`);
    return tokens[index];
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, substituteTokens(v, tokens)]));
}
