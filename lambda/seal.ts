/**
 * The ResponseURL, split in two: the execution carries it sealed (AES-256-GCM), the ledger
 * keeps the key until the request is answered. Neither the execution's input, output and
 * history nor the ledger alone holds the URL that can answer CloudFormation.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'crypto';

export interface Sealed {
  /** What the execution carries: nonce, tag and ciphertext, base64. */
  readonly sealed: string;
  /** What the ledger keeps, base64. */
  readonly key: string;
}

export function seal(text: string, key: Buffer = randomBytes(32)): Sealed {
  // A fresh nonce per sealing: one key may seal the same URL for two deliveries.
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return { sealed: Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64'), key: key.toString('base64') };
}

/** Opens what `seal` sealed; throws when the key or the text is not the one sealed. */
export function unseal(sealed: string, key: string): string {
  const bytes = Buffer.from(sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', Buffer.from(key, 'base64'), bytes.subarray(0, 12));
  decipher.setAuthTag(bytes.subarray(12, 28));
  return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
}
