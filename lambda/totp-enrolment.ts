/** TOTP software tokens for the users that ask for one: enrolled in batches, their secrets kept. */
import { EnrolmentAuth } from './cognito';
import { UserRecord } from './ledger';
import { describeError } from './log';
import { runBounded } from './pace';
import { usernameKey } from './plan';
import type { PasswordSource, SeedSpec, UserSpec } from './properties';
import { TotpStore, totpCode } from './totp';
import { ENROL_BATCH, UserError } from './seed-shared';
import { Writes } from './writes';

export abstract class TotpEnrolment extends Writes {
  /**
   * Brings TOTP tokens in line with the spec, after the writes and removals: enrols users
   * that ask for a token and have none, turns tokens off for held users that no longer ask,
   * and keeps in the TOTP secret exactly the held, enrolled users of this pool.
   */
  protected async settleTotp(spec: SeedSpec): Promise<void> {
    const rule = this.description?.usernameRule ?? { caseSensitive: true, usernameAttributes: [] };
    const wanted = spec.users.filter((u) => u.mfa === 'TOTP');
    const wantedKeys = new Set(wanted.map((u) => usernameKey(u.username, rule)));
    const desiredKeys = new Set(spec.users.map((u) => usernameKey(u.username, rule)));
    // Tokens this seeder enrolled for users it still seeds that no longer ask for one (the
    // ledger as pre-flight read it). Users that left were deleted with their token, or
    // released as they are.
    const turnOff = this.records.filter(
      (r) => r.owner === this.who.owner && r.totp === 'enrolled' && desiredKeys.has(r.key) && !wantedKeys.has(r.key),
    );
    const offError = await runBounded(turnOff, spec.maxConcurrency, this.deps.signal, async (record) => {
      // A user this request deleted has no token left to turn off.
      if (await this.pool.disableSoftwareToken(record.cognitoUsername ?? record.username)) {
        await this.deps.ledger.save({ ...record, totp: undefined });
        this.count('totp-off');
      }
    });
    if (offError !== undefined) throw offError;
    if (!spec.totp) return;
    const { clientId } = spec.totp;
    const records = (await this.deps.ledger.poolRecords(this.userPoolId)).filter(
      (r) => r.owner === this.who.owner && r.state === 'present',
    );
    const store = this.deps.totp(spec.totp);
    const secrets = await store.load(this.userPoolId);
    const before = JSON.stringify([...secrets.entries()].sort());

    const byKey = new Map(records.map((r) => [r.key, r]));
    const toEnrol = wanted.flatMap((user) => {
      const record = byKey.get(usernameKey(user.username, rule));
      return record && record.totp !== 'enrolled' ? [{ user, record }] : [];
    });
    // Keep the secrets of held users that have or are getting a token; drop the rest (removed users).
    const keep = new Set([
      ...records.filter((r) => r.totp === 'enrolled' && wantedKeys.has(r.key)).map((r) => r.username),
      ...toEnrol.map((e) => e.user.username),
    ]);
    for (const name of [...secrets.keys()]) if (!keep.has(name)) secrets.delete(name);
    for (let i = 0; i < toEnrol.length; i += ENROL_BATCH) {
      await this.enrolBatch(toEnrol.slice(i, i + ENROL_BATCH), clientId, secrets, store);
    }
    const changed = JSON.stringify([...secrets.entries()].sort()) !== before;
    if (changed || (secrets.size > 0 && !store.complete(this.userPoolId))) await store.save(this.userPoolId, secrets);
  }

  /**
   * Enrols a batch: sign in and associate a token for each, write the TOTP secret once
   * (before any token is verified, so no verified token's secret can be lost), then verify
   * each with a current code and make it the preferred MFA method.
   */
  protected async enrolBatch(
    batch: readonly { user: UserSpec; record: UserRecord }[],
    clientId: string,
    secrets: Map<string, string>,
    store: TotpStore,
  ): Promise<void> {
    const associated: { user: UserSpec; record: UserRecord; name: string; auth: EnrolmentAuth; secret: string }[] = [];
    const startError = await runBounded(batch, this.pace.maxConcurrency, this.deps.signal, async ({ user, record }) => {
      const name = record.cognitoUsername ?? record.username;
      const password = await this.deps.passwords.read(user.password as PasswordSource);
      try {
        const start = await this.pool.startEnrolment(clientId, name, password, this.metadata(user));
        if (start.kind === 'enrolled') {
          if (!secrets.has(user.username)) {
            throw new Error(
              'already has a TOTP token this seeder holds no secret for: turn its software-token MFA off (AdminSetUserMFAPreference) and deploy again',
            );
          }
          await this.deps.ledger.save({ ...record, totp: 'enrolled' });
          return;
        }
        const auth: EnrolmentAuth =
          start.kind === 'tokens' ? { accessToken: start.accessToken } : { session: start.session };
        if ('accessToken' in auth) this.deps.redactor.add(auth.accessToken);
        const token = await this.pool.associateSoftwareToken(auth);
        this.deps.redactor.add(token.secretCode);
        associated.push({ user, record, name, auth: token.auth, secret: token.secretCode });
      } catch (error) {
        throw new UserError(user.username, `TOTP enrolment failed (${describeError(error, this.deps.redactor)})`);
      }
    });
    if (startError !== undefined) throw startError;
    if (associated.length === 0) return;
    for (const a of associated) secrets.set(a.user.username, a.secret);
    await store.save(this.userPoolId, secrets);
    const verifyError = await runBounded(associated, this.pace.maxConcurrency, this.deps.signal, async (a) => {
      try {
        const auth = await this.pool.verifySoftwareToken(a.auth, totpCode(a.secret));
        const accessToken =
          'accessToken' in auth
            ? auth.accessToken
            : await this.pool.finishSetup(clientId, a.name, auth.session, this.metadata(a.user));
        this.deps.redactor.add(accessToken);
        await this.pool.preferSoftwareToken(accessToken);
      } catch (error) {
        throw new UserError(a.user.username, `TOTP enrolment failed (${describeError(error, this.deps.redactor)})`);
      }
      await this.deps.ledger.save({ ...a.record, totp: 'enrolled' });
      this.count('totp-enrolled');
      this.deps.logger.info({ user: a.user.username, action: 'enrol-totp', outcome: 'enrolled' });
    });
    if (verifyError !== undefined) throw verifyError;
  }
}
