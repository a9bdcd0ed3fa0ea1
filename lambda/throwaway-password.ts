import { randomInt } from 'crypto';
import type { PasswordPolicy } from './plan';

const CLASSES = [
  'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  'abcdefghijklmnopqrstuvwxyz',
  '0123456789',
  '^$*.[]{}()?!@#%&/,><:;|_~=+-',
];

/**
 * A random password that meets `policy`, for RESET_REQUIRED users: it is set once so that
 * AdminResetUserPassword can act on a confirmed user, then replaced by the reset. It is
 * never stored, returned or logged.
 */
export function throwawayPassword(policy: PasswordPolicy): string {
  const length = Math.min(256, Math.max(32, policy.minimumLength ?? 8));
  const all = CLASSES.join('');
  const chars = CLASSES.map((set) => set[randomInt(set.length)]);
  while (chars.length < length) chars.push(all[randomInt(all.length)]);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars.join('');
}
