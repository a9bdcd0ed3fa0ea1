/**
 * `rehearse`: a synthesized stack's seeding, run locally as CloudFormation would run it, for
 * a test runner to sign in against. It stands up the harness's services (cognito-local,
 * dynalite for the ledger, the Secrets Manager / SSM / S3 / Lambda stand-in, the
 * CloudFormation stand-in and the state machine's local engine), creates the stack's pools,
 * groups and clients, gives the secrets and parameters the template only references a value
 * that meets the pool's password policy, sends each seed resource CloudFormation's Create
 * event in the stack's order (the synthesized handler asset, the synthesized state machine),
 * and hands back the `AWS_*` variables that point an SDK (and `cdk-cognito-seeder/testing`)
 * at it all. It reaches no AWS endpoint.
 *
 * This module is the `cdk-cognito-seeder/rehearse` export and the CLI's `rehearse` command.
 * cognito-local, dynalite and aws-local-stepfunctions are optional peer dependencies: a
 * project that never rehearses does not install them, and this says which to install.
 */
import type { Rehearsal, SeedResource } from './harness';
import { fromCloudAssembly } from './cloud-assembly';

/* eslint-disable @typescript-eslint/no-explicit-any */

/** What {@link rehearse} rehearses. */
export interface RehearseOptions {
  /** The cloud assembly directory `cdk synth` wrote (usually `cdk.out`). */
  readonly assembly: string;
  /** The stack: its stack name, artifact id or construct path. */
  readonly stack: string;
  /** Where progress lines go. @default process.stderr, one line each */
  readonly log?: (line: string) => void;
}

/** A running rehearsal. */
export interface Rehearsed {
  /** The stack's name, as `SeededUsers.load({ stackName })` takes it. */
  readonly stackName: string;
  /**
   * `AWS_REGION`, dummy credentials and the `AWS_ENDPOINT_URL_*` of every local service a
   * test reaches (Cognito, SSM, Secrets Manager, DynamoDB, Lambda): export them, or assign
   * them to `process.env`, and the AWS SDK and `cdk-cognito-seeder/testing` use the rehearsal.
   */
  readonly env: Record<string, string>;
  /** The secrets and parameters the rehearsal gave a value, one line each. */
  readonly filled: readonly string[];
  /** The users and flows that cannot be rehearsed on cognito-local, and why, one line each. */
  readonly notRehearsed: readonly string[];
  /** Stops every local service (idempotent). */
  stop(): Promise<void>;
}

/** The packages a rehearsal runs on, which the package leaves to the projects that rehearse. */
export const REHEARSAL_PACKAGES: Readonly<Record<string, string>> = {
  'cognito-local': '5.3.0',
  dynalite: '4.0.0',
  'aws-local-stepfunctions': '3.0.0',
};

const RESET_REQUIRED =
  'cognito-local does not implement AdminResetUserPassword (it answers "unsupported feature"), so the user is left ' +
  'out of this rehearsal and of its manifest';

/** Flows a test may ask for that cognito-local does not give as Cognito does, whatever the stack. */
const FLOWS = [
  "USER_SRP_AUTH (signIn(..., { flow: 'USER_SRP_AUTH' }), Amplify's default): cognito-local answers InitiateAuth " +
    'with "unsupported"; sign in with USER_PASSWORD_AUTH against the rehearsal',
  "refresh-token sign-in (REFRESH_TOKEN_AUTH) with tokens from a challenge answer (a TEMPORARY user's first " +
    'sign-in, a TOTP user): cognito-local keeps only the refresh tokens of sign-ins that needed no challenge, so ' +
    'those answer NotAuthorized; GetTokensFromRefreshToken (refresh-token rotation) is not implemented',
  "password policies and app clients' allowed auth flows: cognito-local does not enforce them, so a password or " +
    'flow the real pool refuses can pass here',
];

/** Fails, naming what to install, when a package the rehearsal runs on is missing. */
export function checkRehearsalPackages(resolve: (name: string) => string = require.resolve): void {
  const missing = Object.keys(REHEARSAL_PACKAGES).filter((name) => {
    try {
      resolve(name);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return;
  const install = Object.entries(REHEARSAL_PACKAGES)
    .map(([name, version]) => `${name}@${version}`)
    .join(' ');
  throw new Error(
    `rehearse runs on ${Object.keys(REHEARSAL_PACKAGES).join(', ')}, optional peer dependencies of ` +
      `cdk-cognito-seeder that a project which never rehearses does not need; missing here: ${missing.join(', ')}. ` +
      `Install them beside cdk-cognito-seeder: npm install --save-dev ${install}`,
  );
}

/**
 * Rehearses the seeding of `options.stack` from the cloud assembly in `options.assembly`
 * and leaves its services running until `stop()`. Rejects, with everything stopped, when a
 * seed resource's Create answers FAILED.
 */
export async function rehearse(options: RehearseOptions): Promise<Rehearsed> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  checkRehearsalPackages();
  const synthesized = fromCloudAssembly(options.assembly, options.stack);
  const seedIds = Object.entries(synthesized.template.Resources)
    .filter(([, r]) => r.Type === 'Custom::CognitoUserSeed')
    .map(([id]) => id);
  if (seedIds.length === 0) {
    throw new Error(`rehearsal: stack ${synthesized.stackName} has no seed resource (Custom::CognitoUserSeed)`);
  }
  // Loaded only now: the harness's engine loads aws-local-stepfunctions as it is evaluated.
  const { Rehearsal, generateSecretString } = await import('./harness');
  const rehearsal = await Rehearsal.start();
  try {
    const deployed = await rehearsal.deploy(synthesized);
    log(
      `rehearse: stood up ${synthesized.stackName}'s ${count(synthesized, 'AWS::Cognito::UserPool', 'pool')}, ` +
        `${count(synthesized, 'AWS::Cognito::UserPoolGroup', 'group')} and ` +
        `${count(synthesized, 'AWS::Cognito::UserPoolClient', 'client')} in cognito-local`,
    );
    const filled = [
      ...Object.entries(synthesized.template.Resources)
        .filter(([, r]) => r.Type === 'AWS::SecretsManager::Secret' && !r.Properties?.SecretString)
        .map(([id]) => `secret ${id} (generated by CloudFormation): a value that meets its GenerateSecretString`),
      ...fillReferenced(rehearsal, synthesized, deployed, generateSecretString),
    ];
    const notRehearsed: string[] = [];
    const runnable = deployed.map((resource) => withoutResetRequired(rehearsal, resource, notRehearsed));
    notRehearsed.push(...FLOWS);

    const results = await rehearsal.playInOrder('Create', runnable);
    const failed = [...results].filter(([, r]) => r.response?.Status !== 'SUCCESS');
    if (failed.length > 0) {
      throw new Error(
        `rehearsal: the Create of ${failed
          .map(
            ([id, r]) =>
              `${id} answered ${r.response ? `FAILED: ${r.response.Reason}` : `nothing (exit ${r.exitCode})`}`,
          )
          .join('; ')}`,
      );
    }
    const seeded = runnable.reduce((sum, r) => sum + rehearsal.usersOf(r).length, 0);
    log(
      `rehearse: seeded ${seeded} users through ${runnable.length} seed resource${runnable.length === 1 ? '' : 's'} ` +
        `(${runnable.map((r) => `${r.logicalId} ${results.get(r.logicalId)?.ms} ms`).join(', ')})`,
    );
    for (const line of filled) log(`rehearse: filled ${line}`);
    for (const line of notRehearsed) log(`rehearse: not rehearsed: ${line}`);
    let stopped: Promise<void> | undefined;
    return {
      stackName: synthesized.stackName,
      env: rehearsal.testingEnv(),
      filled,
      notRehearsed,
      stop: () => (stopped ??= rehearsal.stop()),
    };
  } catch (error) {
    await rehearsal.stop();
    throw error;
  }
}

/** `NAME=value` lines for a dotenv file (Node's `--env-file`, `process.loadEnvFile`, dotenv). */
export function dotenv(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([name, value]) => `${name}=${value}\n`)
    .join('');
}

/** `export NAME='value'` lines for a POSIX shell's `eval`. */
export function shellExports(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([name, value]) => `export ${name}='${value.replace(/'/g, `'\\''`)}'\n`)
    .join('');
}

function count(synthesized: { template: { Resources: Record<string, { Type: string }> } }, type: string, noun: string) {
  const n = Object.values(synthesized.template.Resources).filter((r) => r.Type === type).length;
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * Secrets and parameters a seed resource reads but the template does not create (a
 * `fromSecretNameV2`, a `fromSecureStringParameterAttributes`): the stand-in gets a value
 * that meets the pool's password policy (every character class, at least its minimum length).
 */
function fillReferenced(
  rehearsal: Rehearsal,
  synthesized: { template: { Resources: Record<string, { Type: string; Properties?: any }> } },
  resources: readonly SeedResource[],
  generate: (spec: Record<string, unknown>) => string,
): string[] {
  const filled: string[] = [];
  const fields = new Map<string, Record<string, string>>();
  for (const resource of resources) {
    const length = Math.max(20, minimumLength(rehearsal, synthesized, String(resource.properties.UserPoolId)));
    const password = () => generate({ PasswordLength: length, ExcludeCharacters: ' ' });
    for (const user of rehearsal.usersOf(resource)) {
      const source = user.Password;
      if (source?.Source === 'ssm' && !rehearsal.standIn.parameters.has(source.ParameterName)) {
        rehearsal.standIn.parameters.set(source.ParameterName, password());
        filled.push(`parameter ${source.ParameterName} (referenced, not created by the stack): a random password`);
      }
      if (source?.Source === 'secretsmanager') {
        const known = fields.get(source.SecretArn);
        if (!known && rehearsal.standIn.secrets.has(source.SecretArn)) continue;
        const value = known ?? {};
        fields.set(source.SecretArn, value);
        if (!source.JsonField) {
          if (!known) {
            rehearsal.standIn.secrets.set(source.SecretArn, password());
            filled.push(`secret ${source.SecretArn} (referenced, not created by the stack): a random password`);
          }
          continue;
        }
        if (source.JsonField in value) continue;
        value[source.JsonField] = password();
        rehearsal.standIn.secrets.set(source.SecretArn, JSON.stringify(value));
        filled.push(
          `secret ${source.SecretArn} field ${source.JsonField} (referenced, not created by the stack): a random password`,
        );
      }
    }
  }
  return filled;
}

/** The minimum password length of the template's pool that became `poolId`. @default 8 */
function minimumLength(
  rehearsal: Rehearsal,
  synthesized: { template: { Resources: Record<string, { Type: string; Properties?: any }> } },
  poolId: string,
): number {
  const pool = Object.entries(synthesized.template.Resources).find(
    ([id, r]) => r.Type === 'AWS::Cognito::UserPool' && rehearsal.ref(id) === poolId,
  );
  if (!pool) {
    throw new Error(
      `rehearsal: the seeded pool ${poolId} is not created by the stack (an imported pool); ` +
        'a rehearsal stands up only the pools its template creates',
    );
  }
  return Number(pool[1].Properties?.Policies?.PasswordPolicy?.MinimumLength ?? 8);
}

/**
 * The resource without its RESET_REQUIRED users, which cognito-local cannot seed (the
 * template as the rehearsal runs it follows, so the function's check of each event holds).
 */
function withoutResetRequired(rehearsal: Rehearsal, resource: SeedResource, notRehearsed: string[]): SeedResource {
  const users = rehearsal.usersOf(resource);
  const left = users.filter((u) => u.Mode === 'RESET_REQUIRED');
  if (left.length === 0) return resource;
  for (const u of left) notRehearsed.push(`${u.Username} (RESET_REQUIRED, ${resource.logicalId}): ${RESET_REQUIRED}`);
  const { properties } = resource;
  if (!properties.UsersFile) {
    return rehearsal.withProperties(resource, {
      ...properties,
      Users: users.filter((u) => u.Mode !== 'RESET_REQUIRED'),
    });
  }
  throw new Error(
    `rehearsal: ${resource.logicalId} keeps its users in a users file and seeds RESET_REQUIRED users ` +
      `(${left.map((u) => u.Username).join(', ')}), which cognito-local cannot seed: ${RESET_REQUIRED}`,
  );
}
