/**
 * TOTP codes as Cognito's software tokens use them (RFC 6238: SHA-1, 6 digits, 30 s), and
 * the rule that keeps a sign-in from sending a code twice: Cognito accepts each code of a
 * user once, so a second sign-in in the same 30 s window waits for the next window.
 */
import { Secret, TOTP } from 'otpauth';

/** Cognito's TOTP period, in milliseconds. */
export const TOTP_PERIOD_MS = 30_000;

/** The 6-digit code of `base32Secret` at `timestamp` (ms since the epoch). */
export function totpCode(base32Secret: string, timestamp: number): string {
  return TOTP.generate({
    secret: Secret.fromBase32(base32Secret.replace(/\s+/g, '').toUpperCase()),
    algorithm: 'SHA1',
    digits: 6,
    period: TOTP_PERIOD_MS / 1000,
    timestamp,
  });
}

/** The 30 s window `timestamp` falls in. */
export function totpWindow(timestamp: number): number {
  return Math.floor(timestamp / TOTP_PERIOD_MS);
}

/**
 * When to generate the next code to send: now, unless a code of the current window was
 * already sent, then at the start of the next window (plus a little, for clock skew
 * between here and Cognito).
 */
export function nextTotpSlot(
  lastSentWindow: number | undefined,
  now: number,
): { readonly window: number; readonly waitMs: number } {
  const current = totpWindow(now);
  if (lastSentWindow === undefined || lastSentWindow < current) return { window: current, waitMs: 0 };
  const window = lastSentWindow + 1;
  return { window, waitMs: window * TOTP_PERIOD_MS - now + 250 };
}
