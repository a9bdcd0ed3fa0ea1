/**
 * The TOTP secrets of the users a seeder enrolled: one Secrets Manager secret per seeder,
 * which the construct creates and only this function may write. Its value is
 * `{ "<userPoolId>": { "<username>": "<base32>" } }` (testing/manifest-format.ts). Every
 * secret read or made here is registered with the redactor before anything can print it.
 */
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Secret, TOTP } from 'otpauth';
import type { Redactor } from './log';

export class TotpStore {
  /** True when the secret still holds something other than pool entries (the construct's placeholder). */
  private placeholder = false;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretArn: string,
    private readonly redactor: Redactor,
  ) {}

  /** The secrets kept for `pool`, by username. */
  async load(pool: string): Promise<Map<string, string>> {
    const all = await this.readAll();
    const entries = all[pool] ?? {};
    for (const value of Object.values(entries)) this.redactor.add(value);
    return new Map(Object.entries(entries));
  }

  /**
   * Replaces the secrets kept for `pool` (none: the pool's entry goes). Writes nothing when
   * the secret holds them already: every write is a new version of the secret.
   */
  async save(pool: string, secrets: ReadonlyMap<string, string>): Promise<void> {
    const all = await this.readAll();
    const before = JSON.stringify(all[pool] ?? {});
    if (secrets.size === 0) delete all[pool];
    else all[pool] = Object.fromEntries([...secrets.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (JSON.stringify(all[pool] ?? {}) === before && !this.placeholder) return;
    await this.client.send(new PutSecretValueCommand({ SecretId: this.secretArn, SecretString: JSON.stringify(all) }));
    this.placeholder = false;
  }

  private async readAll(): Promise<Record<string, Record<string, string>>> {
    const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretArn }));
    try {
      const parsed = JSON.parse(out.SecretString ?? '{}') as unknown;
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
      // The construct's initial value is a placeholder; keep only pool entries.
      this.placeholder = Object.values(parsed).some((v) => v === null || typeof v !== 'object');
      return Object.fromEntries(
        Object.entries(parsed as Record<string, unknown>).filter(([, v]) => v !== null && typeof v === 'object'),
      ) as Record<string, Record<string, string>>;
    } catch {
      return {};
    }
  }
}

/** The current 6-digit code of a base32 TOTP secret (RFC 6238: SHA-1, 30 s, as Cognito uses). */
export function totpCode(base32: string, at = Date.now()): string {
  return new TOTP({ secret: Secret.fromBase32(base32), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
    timestamp: at,
  });
}
