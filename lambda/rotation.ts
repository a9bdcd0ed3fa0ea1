/**
 * Rotation of a `SeedPassword.generate({ rotateAfter })` secret, with the seeding function as
 * its Secrets Manager rotation function. Secrets Manager invokes it four times a rotation
 * (`createSecret`, `setSecret`, `testSecret`, `finishSecret`), with the secret and the new
 * version's token. Nothing in such an event is signed, so before any step the function
 * checks with CloudFormation that the secret is a resource of its own stack whose template
 * generates it and rotates it; any other secret is refused, logged by rule, never acted on.
 *
 * - `createSecret` generates a new password under the secret's own `GenerateSecretString`
 *   constraints (the template's) and stores it as the token's `AWSPENDING` version;
 * - `setSecret` and `testSecret` do nothing: the users get the new password from a repair;
 * - `finishSecret` makes the new version `AWSCURRENT`, then starts a repair of the users
 *   whose password is this secret, on every seeder of the stack: the repair sees the new
 *   version and sets it, under the seeder's fence, on the users the ledger proves it seeded.
 *   Between the two, a few seconds, the secret is ahead of the users' passwords.
 * Every step can be delivered again: each one checks what is done already.
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { randomInt } from 'crypto';
import { SEED_RESOURCE_TYPE, STACK_ID_ENV } from '../lib/private/contract';
import { clients, openLedger } from './clients';
import { StackResource, stackResources, templateResources } from './cloudformation';
import { errorName } from './cognito';
import { describeError, Logger, Redactor } from './log';
import { requestRepair } from './repair-request';

const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

/** What Secrets Manager sends a rotation function. */
export interface RotationEvent {
  readonly Step: (typeof STEPS)[number];
  readonly SecretId: string;
  readonly ClientRequestToken: string;
  readonly RotationToken?: string;
}

/** Whether `event` has the shape of a Secrets Manager rotation step (nothing else does). */
export function isRotationEvent(event: unknown): event is RotationEvent {
  const e = event as Partial<Record<string, unknown>> | null;
  return (
    typeof e?.Step === 'string' &&
    typeof e.SecretId === 'string' &&
    typeof e.ClientRequestToken === 'string' &&
    Object.keys(e).every((k) => ['Step', 'SecretId', 'ClientRequestToken', 'RotationToken'].includes(k))
  );
}

/** Raised for a rotation event this function does not act on; the message names the rule. */
export class RotationRefused extends Error {
  constructor(rule: string) {
    super(`rotation refused: ${rule}`);
    this.name = 'RotationRefused';
  }
}

/** Secrets Manager's punctuation for generated passwords (GetRandomPassword's). */
const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
/** Each class, and the `GenerateSecretString` field that leaves it out. */
const CLASSES = [
  ['ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'ExcludeUppercase'],
  ['abcdefghijklmnopqrstuvwxyz', 'ExcludeLowercase'],
  ['0123456789', 'ExcludeNumbers'],
  [PUNCTUATION, 'ExcludePunctuation'],
] as const;

/** What a generated secret's template says its passwords are made of. */
export interface GenerateConstraints {
  readonly PasswordLength?: number | string;
  readonly ExcludeCharacters?: string;
  readonly ExcludeUppercase?: boolean | string;
  readonly ExcludeLowercase?: boolean | string;
  readonly ExcludeNumbers?: boolean | string;
  readonly ExcludePunctuation?: boolean | string;
  readonly IncludeSpace?: boolean | string;
  readonly RequireEachIncludedType?: boolean | string;
}

/**
 * A password as Secrets Manager would generate it under `constraints`: the classes left after
 * the exclusions, one of each at least (when required), from a cryptographic source. The
 * local rehearsal makes a template's generated secrets with it too.
 */
export function generatePassword(constraints: GenerateConstraints): string {
  const length = Number(constraints.PasswordLength ?? 32);
  const excluded = constraints.ExcludeCharacters ?? '';
  const truthy = (v: unknown) => v === true || v === 'true';
  const classes = CLASSES.filter(([, excludedBy]) => !truthy(constraints[excludedBy]))
    .map(([chars]) => chars as string)
    .concat(truthy(constraints.IncludeSpace) ? [' '] : [])
    .map((c) => [...c].filter((ch) => !excluded.includes(ch)).join(''))
    .filter((c) => c.length > 0);
  const all = classes.join('');
  const pick = (from: string) => from[randomInt(from.length)];
  const chars =
    constraints.RequireEachIncludedType === undefined || truthy(constraints.RequireEachIncludedType)
      ? classes.map(pick)
      : [];
  while (chars.length < length) chars.push(pick(all));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars.join('');
}

/** The generated secret `secretArn` of this stack, and how its template generates it. */
async function checkSecret(
  resources: Map<string, StackResource>,
  stackId: string,
  secretArn: string,
): Promise<GenerateConstraints> {
  const logicalId = [...resources.entries()].find(
    ([, r]) => r.type === 'AWS::SecretsManager::Secret' && r.physicalId === secretArn,
  )?.[0];
  if (!logicalId) throw new RotationRefused(`the secret is not a resource of this function's stack`);
  const template = await templateResources(stackId);
  const generate = template[logicalId]?.Properties?.GenerateSecretString as GenerateConstraints | undefined;
  if (!generate || (generate as { SecretStringTemplate?: unknown }).SecretStringTemplate !== undefined) {
    throw new RotationRefused(`the secret ${logicalId} is not a generated password of a seeder`);
  }
  // This function, as the stack knows it: a schedule that names another function is not ours.
  const functionId = [...resources.entries()].find(
    ([, r]) => r.type === 'AWS::Lambda::Function' && r.physicalId === process.env.AWS_LAMBDA_FUNCTION_NAME,
  )?.[0];
  const rotated = Object.values(template).some(
    (r) =>
      r.Type === 'AWS::SecretsManager::RotationSchedule' &&
      JSON.stringify(r.Properties?.SecretId) === JSON.stringify({ Ref: logicalId }) &&
      functionId !== undefined &&
      JSON.stringify(r.Properties?.RotationLambdaARN) === JSON.stringify({ 'Fn::GetAtt': [functionId, 'Arn'] }),
  );
  if (!rotated) {
    throw new RotationRefused(`the stack's template does not rotate the secret ${logicalId} with this function`);
  }
  return generate;
}

/** Runs one rotation step; throws (Secrets Manager then reports the rotation failed) on refusal or error. */
export async function rotate(event: RotationEvent, remainingMs: number): Promise<void> {
  const logger = new Logger();
  const redactor = new Redactor();
  const { Step: step, SecretId: secretArn, ClientRequestToken: token } = event;
  const stackId = process.env[STACK_ID_ENV] ?? '';
  try {
    if (!STEPS.includes(step)) throw new RotationRefused(`Step must be one of ${STEPS.join(', ')}`);
    const resources = await stackResources(stackId);
    const constraints = await checkSecret(resources, stackId, secretArn);
    const secrets = clients().secretsManager;
    const described = await secrets.send(new DescribeSecretCommand({ SecretId: secretArn }));
    const stages = described.VersionIdsToStages ?? {};
    if (!stages[token]) throw new RotationRefused('the secret has no version with this ClientRequestToken');
    if (!stages[token].includes('AWSPENDING') && !stages[token].includes('AWSCURRENT')) {
      // A late step of an earlier rotation (its version AWSPREVIOUS now, say): moving
      // AWSCURRENT back to it would roll the secret, and then its users, back.
      throw new RotationRefused('the version with this ClientRequestToken is neither AWSPENDING nor AWSCURRENT');
    }
    const current = Object.entries(stages).find(([, s]) => s.includes('AWSCURRENT'))?.[0];
    if (step === 'createSecret') {
      if (stages[token].includes('AWSCURRENT')) return;
      try {
        await secrets.send(
          new GetSecretValueCommand({ SecretId: secretArn, VersionId: token, VersionStage: 'AWSPENDING' }),
        );
        return; // made by an earlier delivery of this step
      } catch (error) {
        if (errorName(error) !== 'ResourceNotFoundException') throw error;
      }
      const password = generatePassword(constraints);
      redactor.add(password);
      await secrets.send(
        new PutSecretValueCommand({
          SecretId: secretArn,
          ClientRequestToken: token,
          SecretString: password,
          VersionStages: ['AWSPENDING'],
        }),
      );
      logger.info({ outcome: 'rotation-created', secret: secretArn, version: token });
      return;
    }
    if (step !== 'finishSecret') {
      logger.info({ outcome: `rotation-${step}`, secret: secretArn, version: token, note: 'applied at finishSecret' });
      return;
    }
    if (current !== token) {
      // finishSecret before its createSecret stored a value: nothing to make current.
      try {
        await secrets.send(
          new GetSecretValueCommand({ SecretId: secretArn, VersionId: token, VersionStage: 'AWSPENDING' }),
        );
      } catch (error) {
        if (errorName(error) !== 'ResourceNotFoundException') throw error;
        throw new RotationRefused('the AWSPENDING version has no value yet: createSecret has not run for it');
      }
      await secrets.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretArn,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: token,
          RemoveFromVersionId: current,
        }),
      );
    }
    logger.info({ outcome: 'rotation-finished', secret: secretArn, version: token });
    await repairUsersOf(resources, secretArn, remainingMs, logger);
  } catch (error) {
    if (error instanceof RotationRefused) {
      logger.error({ outcome: 'refused-rotation', step, rule: error.message.replace('rotation refused: ', '') });
      throw error;
    }
    logger.error({ outcome: 'rotation-failed', step, secret: secretArn, error: describeError(error, redactor) });
    throw new Error(`rotation ${step} of ${secretArn} failed: ${describeError(error, redactor)}`);
  }
}

/**
 * Starts a repair of the users whose password is `secretArn`, on every seeder of the stack
 * that last applied one (a seeder whose users travel in a file: all its users, whose
 * passwords are then set again only where their source changed).
 */
async function repairUsersOf(
  resources: Map<string, StackResource>,
  secretArn: string,
  remainingMs: number,
  logger: Logger,
): Promise<void> {
  const ledger = openLedger();
  const seeders = [...resources.entries()].filter(([, r]) => r.type === SEED_RESOURCE_TYPE);
  const failures: string[] = [];
  for (const [owner] of seeders) {
    const applied = await ledger.lastApplied(owner);
    if (!applied) continue;
    const spec = JSON.parse(applied) as {
      Users?: { Username: string; Password?: { SecretArn?: string } }[];
      UsersFile?: unknown;
    };
    const usernames = (spec.Users ?? []).filter((u) => u.Password?.SecretArn === secretArn).map((u) => u.Username);
    if (usernames.length === 0 && spec.UsersFile === undefined) continue;
    const answer = await requestRepair(
      { kind: 'repair', seeder: owner, ...(spec.UsersFile === undefined ? { usernames } : {}) },
      remainingMs,
    );
    logger.info({ outcome: 'rotation-repair', seeder: owner, status: answer.status, repairId: answer.repairId });
    if (answer.status === 'REFUSED' || answer.status === 'FAILED') failures.push(`${owner}: ${answer.reason}`);
  }
  if (failures.length > 0) {
    throw new Error(
      `the new password is current, but setting it on its users failed (${failures.join('; ')}): run cdk-cognito-seeder repair on the stack, or wait for repairSchedule`,
    );
  }
}
