/**
 * `cdk-cognito-seeder rehearse <cloud-assembly-dir> <stack>`: the CLI side of
 * `cdk-cognito-seeder/rehearse`. The rehearsal itself (and the optional packages it runs on)
 * is loaded only when this command runs, so the other commands stay as small as they were.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import type { CliOutput } from './cli';

export const REHEARSE_USAGE = `Usage: cdk-cognito-seeder rehearse <cloud-assembly-dir> <stack> [options] [-- <command> [args...]]

Rehearses the stack's seeding locally, with no AWS account: cognito-local, a DynamoDB for the
ledger, Secrets Manager / SSM / S3 / Lambda stand-ins and the stack's own state machine and
handler asset, sent CloudFormation's Create events in the stack's order. Run \`cdk synth\` first.
Needs cognito-local, dynalite and aws-local-stepfunctions installed beside cdk-cognito-seeder.

Prints the AWS_* variables that point the AWS SDK and cdk-cognito-seeder/testing at it
(\`export\` lines), or writes them to a dotenv file.

Options:
  --env-out <path>    write the variables there (NAME=value lines) instead of printing them;
                      written once the seeding is done, removed when the rehearsal stops
                      (not --env-file: Node itself takes that word anywhere on a script's
                      command line and exits when the file does not exist yet, nodejs/node#54232)
  --hold              keep the rehearsal up until SIGINT or SIGTERM, then stop cleanly
  -- <command>        run the command with the variables set, then stop; exit with its status
  -h, --help          this text

Without --hold or a command, the rehearsal stops once seeded (a check that seeding works).
Exit status: 0 done, 1 the rehearsal failed (or the command's own status), 2 usage error.
`;

/** What the rehearse command runs on: the process's signals, replaceable in tests. */
export interface RehearseProcess {
  once(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
  removeListener(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
}

/** Runs `rehearse` with its arguments (after the word `rehearse`); resolves to the exit status. */
export async function rehearseCommand(
  argv: readonly string[],
  out: CliOutput,
  signals: RehearseProcess = process,
): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? [...argv] : argv.slice(0, dash);
  const command = dash < 0 ? [] : argv.slice(dash + 1);
  if (own.some((arg) => arg === '--env-file' || arg.startsWith('--env-file='))) {
    return usage(out, "--env-file is Node's own option (nodejs/node#54232): write the variables with --env-out <path>");
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: own,
      allowPositionals: true,
      options: { 'env-out': { type: 'string' }, hold: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    return usage(out, (error as Error).message);
  }
  if (parsed.values.help) {
    out.stdout(REHEARSE_USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 2) return usage(out, 'rehearse takes <cloud-assembly-dir> <stack>');
  if (dash >= 0 && command.length === 0) return usage(out, '-- needs a command');
  if (dash >= 0 && parsed.values.hold) return usage(out, '--hold and -- <command> do not go together');
  const envFile = parsed.values['env-out'];
  if (envFile === '') return usage(out, '--env-out needs a value');
  const [assembly, stack] = parsed.positionals;

  // A file from an earlier run would point at ports nobody listens on any more.
  if (envFile) fs.rmSync(envFile, { force: true });
  const { rehearse, dotenv, shellExports } = await import('../rehearsal/rehearse');
  let rehearsed;
  try {
    rehearsed = await rehearse({ assembly, stack, log: (line) => out.stderr(`${line}\n`) });
  } catch (error) {
    out.stderr(`cdk-cognito-seeder: ${(error as Error).message}\n`);
    return 1;
  }
  try {
    if (envFile) {
      // Whole or not at all: a script waiting for the file never reads half of it.
      const temp = path.join(path.dirname(envFile), `.${path.basename(envFile)}.${process.pid}`);
      fs.writeFileSync(temp, dotenv(rehearsed.env));
      fs.renameSync(temp, envFile);
      out.stderr(`rehearse: wrote ${Object.keys(rehearsed.env).length} variables to ${envFile}\n`);
    } else {
      out.stdout(shellExports(rehearsed.env));
    }
    if (command.length > 0) {
      out.stderr(`rehearse: running ${command.join(' ')}\n`);
      return await run(command, rehearsed.env);
    }
    if (parsed.values.hold) {
      out.stderr(`rehearse: holding ${rehearsed.stackName}'s rehearsal until SIGINT or SIGTERM\n`);
      const signal = await new Promise<string>((resolve) => {
        const onInt = () => done('SIGINT');
        const onTerm = () => done('SIGTERM');
        const done = (name: string) => {
          signals.removeListener('SIGINT', onInt);
          signals.removeListener('SIGTERM', onTerm);
          resolve(name);
        };
        signals.once('SIGINT', onInt);
        signals.once('SIGTERM', onTerm);
      });
      out.stderr(`rehearse: ${signal}: stopping\n`);
    }
    return 0;
  } finally {
    await rehearsed.stop();
    if (envFile) fs.rmSync(envFile, { force: true });
    out.stderr('rehearse: stopped\n');
  }
}

function usage(out: CliOutput, message: string): number {
  out.stderr(`cdk-cognito-seeder: ${message}\nRun cdk-cognito-seeder rehearse --help for the usage.\n`);
  return 2;
}

/** Runs the command with the rehearsal's variables; resolves to its exit status. */
function run(command: readonly string[], env: Readonly<Record<string, string>>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), { stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('error', (error) => {
      process.stderr.write(`cdk-cognito-seeder: could not run ${command[0]}: ${error.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}
