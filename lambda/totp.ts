/**
 * The TOTP secrets of the users a seeder enrolled. Two places, written together:
 * - one Secrets Manager secret per seeder, which the construct creates and only this
 *   function may write: `{ "<userPoolId>": { "<username>": "<base32>" } }`
 *   (testing/manifest-format.ts), what `grantReadPasswords` reads in one call;
 * - one secret per user, which this function creates under the seeder's prefix
 *   (lib/private/totp-names.ts) and deletes with the user: what `grantReadPassword` of one
 *   user reads, so a grant for one user reads that user's seed only.
 * The per-user secrets are written first and the seeder's secret last: it is the record of
 * what is kept, so a run stopped in between does the rest the next time. Every secret read
 * or made here is registered with the redactor before anything can print it.
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { Secret, TOTP } from 'otpauth';
import { totpUserSecretName, TotpUserSecretValue } from '../lib/private/totp-names';
import { errorName } from './cognito';
import type { Redactor } from './log';
import { runBounded, StopSignal } from './pace';
import type { TotpSpec } from './properties';

/**
 * The key of the seeder's secret that lists the pools whose entries have their per-user
 * secrets (a seeder's secret written before per-user secrets existed has none: the next run
 * writes them all once).
 */
export const USER_SECRETS_KEY = '$userSecrets';

/** Per-user secrets written or deleted at once. */
const USER_SECRET_CONCURRENCY = 5;

type Stored = Record<string, Record<string, string>>;

export class TotpStore {
  /** True when the secret still holds something other than pool entries (the construct's placeholder). */
  private placeholder = false;
  /** The pools whose entries have their per-user secrets, as last read. */
  private mirrored = new Set<string>();

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly settings: Pick<TotpSpec, 'secretArn' | 'userSecretPrefix' | 'kmsKeyId'>,
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
   * Whether `pool`'s entries, as last loaded, have their per-user secrets (or need none): a
   * seeder's secret written before per-user secrets existed is saved again once to add them.
   */
  complete(pool: string): boolean {
    return this.settings.userSecretPrefix === undefined || this.mirrored.has(pool);
  }

  /**
   * Replaces the secrets kept for `pool` (none: the pool's entry goes, and its users'
   * secrets). Writes nothing when everything holds them already: every write is a new
   * version of a secret.
   */
  async save(pool: string, secrets: ReadonlyMap<string, string>): Promise<void> {
    const all = await this.readAll();
    const previous = all[pool] ?? {};
    const prefix = this.settings.userSecretPrefix;
    const mirroredBefore = this.mirrored.has(pool);
    if (prefix !== undefined) {
      // Every entry once (the pool's first write with per-user secrets), then the changed ones.
      const put = [...secrets.entries()].filter(([name, seed]) => !mirroredBefore || previous[name] !== seed);
      const gone = Object.keys(previous).filter((name) => !secrets.has(name));
      await eachUserSecret(put, ([name, seed]) => this.putUserSecret(prefix, pool, name, seed));
      await eachUserSecret(gone, (name) => this.deleteUserSecret(prefix, pool, name, keptElsewhere(all, pool, name)));
      if (secrets.size > 0) this.mirrored.add(pool);
      else this.mirrored.delete(pool);
    }
    const before = JSON.stringify(previous);
    if (secrets.size === 0) delete all[pool];
    else all[pool] = Object.fromEntries([...secrets.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const unchanged = JSON.stringify(all[pool] ?? {}) === before && this.mirrored.has(pool) === mirroredBefore;
    if (unchanged && !this.placeholder) return;
    const value: Record<string, unknown> = { ...all };
    if (this.mirrored.size > 0) value[USER_SECRETS_KEY] = [...this.mirrored].sort();
    await this.client.send(
      new PutSecretValueCommand({ SecretId: this.settings.secretArn, SecretString: JSON.stringify(value) }),
    );
    this.placeholder = false;
  }

  /**
   * The users of `names` (kept for `pool`, as last loaded) whose own secret is gone,
   * scheduled for deletion, or holds another seed or pool: what a repair puts back. None
   * when the seeder keeps no per-user secrets.
   */
  async userSecretsOff(
    pool: string,
    secrets: ReadonlyMap<string, string>,
    names: readonly string[],
  ): Promise<string[]> {
    const prefix = this.settings.userSecretPrefix;
    if (prefix === undefined) return [];
    const off: string[] = [];
    await eachUserSecret(
      names.filter((name) => secrets.has(name)),
      async (name) => {
        let text: string | undefined;
        try {
          text = (await this.client.send(new GetSecretValueCommand({ SecretId: totpUserSecretName(prefix, name) })))
            .SecretString;
        } catch (error) {
          const name_ = errorName(error);
          // Gone, or scheduled for deletion.
          if (name_ === 'ResourceNotFoundException' || name_ === 'InvalidRequestException') {
            off.push(name);
            return;
          }
          throw error;
        }
        const held = parseUserSecret(text);
        if (held) this.redactor.add(held.secret);
        if (!held || held.userPoolId !== pool || held.username !== name || held.secret !== secrets.get(name)) {
          off.push(name);
        }
      },
    );
    return off.sort();
  }

  /** Writes again the own secrets of `names` (kept for `pool`), as {@link save} would. */
  async restoreUserSecrets(
    pool: string,
    secrets: ReadonlyMap<string, string>,
    names: readonly string[],
  ): Promise<void> {
    const prefix = this.settings.userSecretPrefix;
    if (prefix === undefined) return;
    await eachUserSecret(
      names.filter((name) => secrets.has(name)),
      (name) => this.putUserSecret(prefix, pool, name, secrets.get(name) as string),
    );
  }

  /** Creates a user's own secret, or gives the one there (a re-enrolment) its new value. */
  private async putUserSecret(prefix: string, pool: string, username: string, seed: string): Promise<void> {
    const name = totpUserSecretName(prefix, username);
    const value: TotpUserSecretValue = { userPoolId: pool, username, secret: seed };
    const text = JSON.stringify(value);
    try {
      await this.client.send(
        new CreateSecretCommand({
          Name: name,
          SecretString: text,
          KmsKeyId: this.settings.kmsKeyId,
          Description: `TOTP secret of user '${username}' of pool ${pool}, enrolled by cdk-cognito-seeder (written by the seeding function; deleted with the user)`,
        }),
      );
      return;
    } catch (error) {
      const name_ = errorName(error);
      if (name_ === 'InvalidRequestException' && /deletion/i.test(String((error as Error).message))) {
        // Deleted a moment ago (the user left and came back): bring it back, then write it.
        await this.client.send(new RestoreSecretCommand({ SecretId: name }));
      } else if (name_ !== 'ResourceExistsException') {
        throw error;
      }
    }
    await this.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: text }));
  }

  /**
   * Deletes a user's own secret, when it is of `pool`: after a pool change, the same name
   * holds the new pool's user, written before the old pool was cleaned. When the seeder
   * keeps the user in another pool too (`elsewhere`: a pool move rolled back, whose cleanup
   * now empties the new pool), the secret gets that pool's seed back instead.
   */
  private async deleteUserSecret(
    prefix: string,
    pool: string,
    username: string,
    elsewhere?: { readonly pool: string; readonly seed: string },
  ): Promise<void> {
    const name = totpUserSecretName(prefix, username);
    let text: string | undefined;
    try {
      text = (await this.client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString;
    } catch (error) {
      const name_ = errorName(error);
      // Gone already, or being deleted.
      if (name_ === 'ResourceNotFoundException' || name_ === 'InvalidRequestException') return;
      throw error;
    }
    const held = parseUserSecret(text);
    if (held) this.redactor.add(held.secret);
    if (held && held.userPoolId !== pool) return;
    if (elsewhere) {
      await this.putUserSecret(prefix, elsewhere.pool, username, elsewhere.seed);
      return;
    }
    try {
      await this.client.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
    } catch (error) {
      if (errorName(error) !== 'ResourceNotFoundException') throw error;
    }
  }

  private async readAll(): Promise<Stored> {
    const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.settings.secretArn }));
    try {
      const parsed = JSON.parse(out.SecretString ?? '{}') as unknown;
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
      const { [USER_SECRETS_KEY]: mirrored, ...rest } = parsed as Record<string, unknown>;
      this.mirrored = new Set(
        Array.isArray(mirrored) ? mirrored.filter((p): p is string => typeof p === 'string') : [],
      );
      // The construct's initial value is a placeholder; keep only pool entries.
      this.placeholder = Object.values(rest).some((v) => v === null || typeof v !== 'object');
      return Object.fromEntries(
        Object.entries(rest).filter(([, v]) => v !== null && typeof v === 'object' && !Array.isArray(v)),
      ) as Stored;
    } catch {
      return {};
    }
  }
}

/** Runs `fn` on each item, a few per-user secrets at once; throws the first error. */
async function eachUserSecret<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  const error = await runBounded(items, USER_SECRET_CONCURRENCY, new StopSignal(), fn);
  if (error !== undefined) throw error;
}

/** The seed another pool of the seeder's secret keeps for `username`, if any (the first by pool id). */
function keptElsewhere(all: Stored, pool: string, username: string): { pool: string; seed: string } | undefined {
  const other = Object.keys(all)
    .sort()
    .find((p) => p !== pool && typeof all[p]?.[username] === 'string');
  return other === undefined ? undefined : { pool: other, seed: all[other][username] };
}

function parseUserSecret(text: string | undefined): TotpUserSecretValue | undefined {
  try {
    const parsed = JSON.parse(text ?? '') as Partial<TotpUserSecretValue>;
    return typeof parsed?.userPoolId === 'string' && typeof parsed.secret === 'string'
      ? (parsed as TotpUserSecretValue)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The current 6-digit code of a base32 TOTP secret (RFC 6238: SHA-1, 30 s, as Cognito uses). */
export function totpCode(base32: string, at = Date.now()): string {
  return new TOTP({ secret: Secret.fromBase32(base32), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
    timestamp: at,
  });
}
