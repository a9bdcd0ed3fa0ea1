// What the seeding function keeps of TOTP seeds in the rehearsal's Secrets Manager, read as
// a test checks it: the seeder's secret (pool entries) and the per-user secrets.
import { totpUserSecretName } from '../../lib/private/totp-names';
import type { Rehearsal } from '../../rehearsal/harness';

/** The seeder's TOTP secret: its pool entries (the list of pools whose users have their own secrets is not one). */
export function totpSecrets(r: Rehearsal, secretArn: string): Record<string, Record<string, string>> {
  const all = JSON.parse(r.standIn.secrets.get(secretArn) ?? '{}');
  return Object.fromEntries(
    Object.entries(all).filter(([, v]) => typeof v === 'object' && !Array.isArray(v)),
  ) as Record<string, Record<string, string>>;
}

/** The per-user TOTP secrets under `prefix`, by the username each holds. */
export function ownTotpSecrets(r: Rehearsal, prefix: string): Record<string, { userPoolId: string; secret: string }> {
  return Object.fromEntries(
    [...r.standIn.secrets.entries()]
      .filter(([name]) => name.startsWith(`${prefix}/`))
      .map(([name, value]) => {
        const parsed = JSON.parse(value) as { userPoolId: string; username: string; secret: string };
        // Named by the hash of the username it holds, as grants name it.
        expect(name).toBe(totpUserSecretName(prefix, parsed.username));
        return [parsed.username, { userPoolId: parsed.userPoolId, secret: parsed.secret }];
      }),
  );
}
