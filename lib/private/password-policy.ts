/**
 * Cognito's password rules, as one pure function shared by synth-time validation and the
 * handler's pre-flight (bundled into the handler by esbuild).
 */

/** A pool's password policy, in DescribeUserPool's terms. */
export interface PasswordPolicy {
  readonly minimumLength?: number;
  readonly requireUppercase?: boolean;
  readonly requireLowercase?: boolean;
  readonly requireNumbers?: boolean;
  readonly requireSymbols?: boolean;
}

/** The special characters Cognito counts as symbols (Secrets Manager's punctuation is a subset). */
export const COGNITO_SYMBOLS = '^$*.[]{}()?"!@#%&/\\,><\':;|_~`=+- ';

/**
 * The rules of `policy` that `password` breaks, described without the password itself.
 * An empty list means it conforms.
 */
export function passwordPolicyViolations(password: string, policy: PasswordPolicy): string[] {
  const broken: string[] = [];
  const length = [...password].length;
  const min = policy.minimumLength ?? 8;
  if (length < min) broken.push(`at least ${min} characters`);
  if (length > 256) broken.push('at most 256 characters');
  if (policy.requireUppercase && !/[A-Z]/.test(password)) broken.push('an uppercase letter');
  if (policy.requireLowercase && !/[a-z]/.test(password)) broken.push('a lowercase letter');
  if (policy.requireNumbers && !/[0-9]/.test(password)) broken.push('a number');
  if (policy.requireSymbols && ![...password].some((c) => COGNITO_SYMBOLS.includes(c))) broken.push('a symbol');
  if (/^\s|\s$/.test(password)) broken.push('no leading or trailing space');
  return broken;
}
