// The TOTP store's two places: the seeder's secret (every seed, one read for
// grantReadPasswords) and one secret per user (what grantReadPassword of one user reads),
// against an in-memory Secrets Manager that behaves as the real one does for these calls.
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { totpUserSecretName } from '../lib/private/totp-names';
import { Redactor } from '../lambda/log';
import { TotpStore, USER_SECRETS_KEY } from '../lambda/totp';
import { awsError } from './support/mocks';

const SEEDER_SECRET = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:SeederTotpSecrets-AbCdEf';
const PREFIX = `cdk-cognito-seeder/totp/Qa/c8${'0'.repeat(40)}`;
const KEY = 'arn:aws:kms:eu-west-1:111111111111:key/1234';
const POOL = 'eu-west-1_POOL';
const OTHER_POOL = 'eu-west-1_OTHER';
const SEEDS = { carol: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', dave: 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU' };

const sm = mockClient(SecretsManagerClient);
/** The secrets, by name (the seeder's by its ARN); `deleting` ones were deleted a moment ago. */
let stored: Map<string, string>;
let deleting: Set<string>;
/** Every write, in order: `<command> <secret>`. */
let writes: string[];

beforeEach(() => {
  stored = new Map([[SEEDER_SECRET, '{"placeholder":"x"}']]);
  deleting = new Set();
  writes = [];
  sm.reset();
  sm.on(GetSecretValueCommand).callsFake(async ({ SecretId }: { SecretId: string }) => {
    if (deleting.has(SecretId)) throw awsError('InvalidRequestException', 'the secret is marked for deletion');
    if (!stored.has(SecretId)) throw awsError('ResourceNotFoundException', "Secrets Manager can't find the secret");
    return { SecretString: stored.get(SecretId) };
  });
  sm.on(CreateSecretCommand).callsFake(async ({ Name, SecretString }: { Name: string; SecretString: string }) => {
    if (deleting.has(Name)) {
      throw awsError(
        'InvalidRequestException',
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
      );
    }
    if (stored.has(Name)) throw awsError('ResourceExistsException', `The secret ${Name} already exists.`);
    writes.push(`Create ${Name}`);
    stored.set(Name, SecretString);
    return {};
  });
  sm.on(PutSecretValueCommand).callsFake(
    async ({ SecretId, SecretString }: { SecretId: string; SecretString: string }) => {
      if (!stored.has(SecretId) || deleting.has(SecretId))
        throw awsError('ResourceNotFoundException', 'no such secret');
      writes.push(`Put ${SecretId}`);
      stored.set(SecretId, SecretString);
      return {};
    },
  );
  sm.on(DeleteSecretCommand).callsFake(async ({ SecretId }: { SecretId: string }) => {
    if (!stored.has(SecretId)) throw awsError('ResourceNotFoundException', 'no such secret');
    writes.push(`Delete ${SecretId}`);
    stored.delete(SecretId);
    return {};
  });
  sm.on(RestoreSecretCommand).callsFake(async ({ SecretId }: { SecretId: string }) => {
    deleting.delete(SecretId);
    writes.push(`Restore ${SecretId}`);
    return {};
  });
});

const store = ({ prefix }: { prefix?: string } = { prefix: PREFIX }) =>
  new TotpStore(
    new SecretsManagerClient({ region: 'eu-west-1' }),
    { secretArn: SEEDER_SECRET, userSecretPrefix: prefix, kmsKeyId: KEY },
    new Redactor(),
  );
const own = (username: string) => totpUserSecretName(PREFIX, username);
const ownValue = (username: string) => JSON.parse(stored.get(own(username)) ?? 'null');
const seederValue = () => JSON.parse(stored.get(SEEDER_SECRET)!);

test("each user's seed gets a secret of its own, written before the seeder's secret, with the key and a description naming the user", async () => {
  await store().save(POOL, new Map(Object.entries(SEEDS)));

  expect(ownValue('carol')).toEqual({ userPoolId: POOL, username: 'carol', secret: SEEDS.carol });
  expect(ownValue('dave')).toEqual({ userPoolId: POOL, username: 'dave', secret: SEEDS.dave });
  expect(seederValue()).toEqual({ [POOL]: SEEDS, [USER_SECRETS_KEY]: [POOL] });
  expect(writes).toEqual([`Create ${own('carol')}`, `Create ${own('dave')}`, `Put ${SEEDER_SECRET}`]);
  const create = sm.commandCalls(CreateSecretCommand)[0].args[0].input;
  expect(create.KmsKeyId).toBe(KEY);
  expect(create.Description).toBe(
    `TOTP secret of user 'carol' of pool ${POOL}, enrolled by cdk-cognito-seeder (written by the seeding function; deleted with the user)`,
  );
});

test('saving what is kept already writes nothing: every write is a new version', async () => {
  await store().save(POOL, new Map(Object.entries(SEEDS)));
  writes = [];

  const again = store();
  const loaded = await again.load(POOL);
  expect(again.complete(POOL)).toBe(true);
  await again.save(POOL, loaded);

  expect(writes).toEqual([]);
});

test("a user enrolled again gets its new seed in the secret it has; a user that left has its secret deleted, others' kept", async () => {
  await store().save(POOL, new Map(Object.entries(SEEDS)));
  writes = [];

  await store().save(POOL, new Map([['carol', 'MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK']]));

  expect(ownValue('carol').secret).toBe('MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK');
  expect(stored.has(own('dave'))).toBe(false);
  expect(writes).toEqual([`Put ${own('carol')}`, `Delete ${own('dave')}`, `Put ${SEEDER_SECRET}`]);
  expect(sm.commandCalls(DeleteSecretCommand)[0].args[0].input).toEqual({
    SecretId: own('dave'),
    ForceDeleteWithoutRecovery: true,
  });
});

test("the Delete's empty save deletes every user's secret of that pool, and not one that now holds another pool's user", async () => {
  // GIVEN carol and dave enrolled in POOL; then the seeder moved to OTHER_POOL, and carol was
  // enrolled there first (CloudFormation cleans the old pool after the new one is seeded)
  await store().save(POOL, new Map(Object.entries(SEEDS)));
  await store().save(OTHER_POOL, new Map([['carol', 'MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK']]));
  writes = [];

  // WHEN the old pool is cleaned
  await store().save(POOL, new Map());

  // THEN dave's secret is gone, carol's holds the other pool's carol and stays
  expect(stored.has(own('dave'))).toBe(false);
  expect(ownValue('carol')).toEqual({
    userPoolId: OTHER_POOL,
    username: 'carol',
    secret: 'MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK',
  });
  expect(writes).toEqual([`Delete ${own('dave')}`, `Put ${SEEDER_SECRET}`]);
  expect(seederValue()).toEqual({
    [OTHER_POOL]: { carol: 'MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK' },
    [USER_SECRETS_KEY]: [OTHER_POOL],
  });
});

test("a pool move rolled back: the cleanup of the new pool gives carol's secret the old pool's seed back, not a delete", async () => {
  // GIVEN carol and dave enrolled in POOL; the move to OTHER_POOL enrolled carol there (her
  // own secret now holds OTHER_POOL's seed); the rollback to POOL wrote nothing
  await store().save(POOL, new Map(Object.entries(SEEDS)));
  await store().save(OTHER_POOL, new Map([['carol', 'MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK']]));
  writes = [];

  // WHEN CloudFormation's cleanup empties the new pool
  await store().save(OTHER_POOL, new Map());

  // THEN carol's own secret holds POOL's carol again; dave's was never touched
  expect(ownValue('carol')).toEqual({ userPoolId: POOL, username: 'carol', secret: SEEDS.carol });
  expect(ownValue('dave')).toEqual({ userPoolId: POOL, username: 'dave', secret: SEEDS.dave });
  expect(writes).toEqual([`Put ${own('carol')}`, `Put ${SEEDER_SECRET}`]);
  expect(seederValue()).toEqual({ [POOL]: SEEDS, [USER_SECRETS_KEY]: [POOL] });
});

test("a seeder's secret from before per-user secrets: the next save writes every user's once", async () => {
  // GIVEN the seeder's secret as an earlier version wrote it
  stored.set(SEEDER_SECRET, JSON.stringify({ [POOL]: SEEDS }));
  const upgraded = store();
  const loaded = await upgraded.load(POOL);
  expect(upgraded.complete(POOL)).toBe(false);

  // WHEN
  await upgraded.save(POOL, loaded);

  // THEN
  expect(ownValue('carol').secret).toBe(SEEDS.carol);
  expect(ownValue('dave').secret).toBe(SEEDS.dave);
  expect(seederValue()[USER_SECRETS_KEY]).toEqual([POOL]);
});

test('a secret deleted a moment ago (the user left and came back) is restored and given the new seed', async () => {
  deleting.add(own('carol'));
  stored.set(own('carol'), 'old');

  await store().save(POOL, new Map([['carol', SEEDS.carol]]));

  expect(writes.slice(0, 2)).toEqual([`Restore ${own('carol')}`, `Put ${own('carol')}`]);
  expect(ownValue('carol').secret).toBe(SEEDS.carol);
});

test('a resource of before per-user secrets (no prefix) keeps the seeder secret only', async () => {
  await store({}).save(POOL, new Map(Object.entries(SEEDS)));

  expect(writes).toEqual([`Put ${SEEDER_SECRET}`]);
  expect(seederValue()).toEqual({ [POOL]: SEEDS });
});

test("a repair's check: an own secret gone, being deleted, of another pool or another seed is off; a whole one is not; only those are written", async () => {
  // GIVEN four users saved, then each one's own secret spoilt a different way but erin's
  const seeds = new Map([
    ...Object.entries(SEEDS),
    ['erin', 'MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U'],
    ['frank', 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'],
  ]);
  await store().save(POOL, seeds);
  stored.delete(own('carol'));
  deleting.add(own('dave'));
  stored.set(own('frank'), JSON.stringify({ userPoolId: OTHER_POOL, username: 'frank', secret: seeds.get('frank') }));
  writes.length = 0;
  const s = store();

  // WHEN checked: every user, and one the seeder keeps no seed for
  const off = await s.userSecretsOff(POOL, seeds, ['frank', 'erin', 'dave', 'carol', 'nobody']);

  // THEN the three spoilt ones, and nothing written by the check
  expect(off).toEqual(['carol', 'dave', 'frank']);
  expect(writes).toEqual([]);

  // WHEN they are written again
  await s.restoreUserSecrets(POOL, seeds, off);

  // THEN each holds its seed; dave's was restored first; erin's and the seeder's are untouched
  for (const name of ['carol', 'dave', 'frank']) {
    expect(ownValue(name)).toEqual({ userPoolId: POOL, username: name, secret: seeds.get(name) });
  }
  expect(writes).toContain(`Restore ${own('dave')}`);
  expect(writes.filter((w) => w.endsWith(own('erin')) || w.endsWith(SEEDER_SECRET))).toEqual([]);
  expect(await s.userSecretsOff(POOL, seeds, [...seeds.keys()])).toEqual([]);
});

test("a repair's check that may not read a user's secret fails with Secrets Manager's error, not a finding", async () => {
  await store().save(POOL, new Map(Object.entries(SEEDS)));
  sm.on(GetSecretValueCommand, { SecretId: own('dave') }).rejects(awsError('AccessDeniedException', 'not allowed'));

  await expect(store().userSecretsOff(POOL, new Map(Object.entries(SEEDS)), ['carol', 'dave'])).rejects.toMatchObject({
    name: 'AccessDeniedException',
  });
});
