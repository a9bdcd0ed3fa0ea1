/**
 * Builds the manifest of what a seeder seeded into a pool (testing/manifest-format.ts):
 * usernames, modes, groups and where each password and TOTP secret lives. Never a value.
 */
import { Manifest, MANIFEST_VERSION, ManifestSource } from '../lib/private/manifest-format';
import type { PasswordSource, SeedSpec } from './properties';

export function buildManifest(spec: SeedSpec, owner: string, stackId: string, requestId: string): Manifest {
  const sources: ManifestSource[] = [];
  const index = new Map<string, number>();
  const sourceIndex = (source: PasswordSource): number => {
    const entry = toManifestSource(source);
    const key = JSON.stringify(entry);
    let i = index.get(key);
    if (i === undefined) {
      i = sources.push(entry) - 1;
      index.set(key, i);
    }
    return i;
  };
  const users = spec.users.map((u) => ({
    username: u.username,
    mode: u.mode,
    groups: [...u.groups],
    ...(u.password && u.mode !== 'RESET_REQUIRED' ? { password: sourceIndex(u.password) } : {}),
    ...(u.mfa === 'TOTP' ? { totp: true } : {}),
  }));
  return {
    version: MANIFEST_VERSION,
    stackId,
    owner,
    userPoolId: spec.userPoolId,
    region: process.env.AWS_REGION ?? '',
    ...(spec.clientId ? { clientId: spec.clientId } : {}),
    requestId,
    sources,
    ...(spec.totp ? { totpSecretArn: spec.totp.secretArn } : {}),
    ...(spec.totp?.userSecretPrefix ? { totpUserSecretPrefix: spec.totp.userSecretPrefix } : {}),
    users,
  };
}

function toManifestSource(source: PasswordSource): ManifestSource {
  switch (source.kind) {
    case 'secretsmanager':
      return {
        type: 'secretsmanager',
        secretArn: source.secretArn,
        ...(source.jsonField ? { jsonField: source.jsonField } : {}),
      };
    case 'ssm':
      return { type: 'ssm', parameterName: source.parameterName };
    case 'plaintext':
      // The value is in the template already; the manifest never repeats it.
      return { type: 'plaintext' };
  }
}
