#!/usr/bin/env node
/**
 * `cdk-cognito-seeder`: the testing module for CI pipelines and shells. It prints a
 * password or a token only for the one user a command names; `list` prints none.
 */
import { parseArgs } from 'util';
import type { ParseArgsConfig } from 'util';
import { version } from '../package.json';
import { SeededUsers, SeededUsersError } from './index';
import { rehearseCommand } from './rehearse-command';
import type { LoadSeededUsersOptions, RepairReport, SignInFlow } from './index';

/** Where the CLI writes; `process.stdout` / `process.stderr` when run as a program. */
export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

const USAGE = `Usage: cdk-cognito-seeder <command> <stack> [username] [options]

Reads the users a cdk-cognito-seeder seeder seeded into a deployed stack, with your AWS
credentials (the standard AWS_* variables and profiles; AWS_ENDPOINT_URL_* are honoured).

Commands:
  list <stack>                  every seeded user: username, mode, groups, TOTP (no passwords)
  credentials <stack> <user>    the user's username and password
  tokens <stack> <user>         signs the user in and prints its id, access and refresh tokens
                                (a TEMPORARY user answers NEW_PASSWORD_REQUIRED with its seeded
                                password: run rearm afterwards to make it temporary again)
  totp <stack> <user>           the user's current 6-digit TOTP code
  rearm <stack> <user>          puts a TEMPORARY user back to FORCE_CHANGE_PASSWORD
  repair <stack> [user...]      puts the seeded users (all, or those named) back to what the
                                seeder applied, through the seeding function; prints a report
  rehearse <cloud-assembly-dir> <stack>
                                rehearses the stack's seeding locally, with no AWS account, and
                                prints the AWS_* variables to point tests at it
                                (cdk-cognito-seeder rehearse --help for its options)

Options:
  --seeder <path>           the seeder's construct path, when the stack has several (e.g. Users/Seeder)
  --parameter-name <name>   the manifest pointer parameter, in place of <stack>
  --region <region>         default: AWS_REGION, then the profile's
  --format env|json         credentials, tokens: shell assignments (default) or JSON
  --json                    list: JSON instead of a table
  --client-id <id>          tokens: the app client (default: the seeder's)
  --flow <flow>             tokens: USER_PASSWORD_AUTH (default) or USER_SRP_AUTH
  --dry-run                 repair: report what differs, change nothing
  --client-metadata <k=v>   tokens: a ClientMetadata entry for the pool's triggers (repeat for more;
                            the value is what follows the first '='); never put a secret in it
  -h, --help                this text
  --version                 the version of cdk-cognito-seeder

A password or token is printed only by credentials and tokens, only for the user named.
Exit status: 0 done, 1 the command failed (repair: a user could not be put back), 2 usage error.
`;

/** Every option of every command; which command takes which is in COMMANDS. */
const OPTIONS = {
  seeder: { type: 'string' },
  'parameter-name': { type: 'string' },
  region: { type: 'string' },
  format: { type: 'string' },
  json: { type: 'boolean' },
  'client-id': { type: 'string' },
  flow: { type: 'string' },
  'dry-run': { type: 'boolean' },
  'client-metadata': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];
type OptionName = keyof typeof OPTIONS;

const COMMON: readonly OptionName[] = ['seeder', 'parameter-name', 'region'];
const COMMANDS: Record<
  string,
  { readonly user: boolean; readonly users?: boolean; readonly options: readonly OptionName[] }
> = {
  list: { user: false, options: [...COMMON, 'json'] },
  credentials: { user: true, options: [...COMMON, 'format'] },
  tokens: { user: true, options: [...COMMON, 'format', 'client-id', 'flow', 'client-metadata'] },
  totp: { user: true, options: COMMON },
  rearm: { user: true, options: COMMON },
  repair: { user: false, users: true, options: [...COMMON, 'dry-run', 'json'] },
};

class UsageError extends Error {}

interface Invocation {
  readonly command: string;
  readonly location: LoadSeededUsersOptions;
  readonly username: string;
  /** repair: the users named (none: all). */
  readonly usernames: readonly string[];
  readonly options: ReadonlyMap<string, string>;
  /** --client-metadata, as a map. */
  readonly clientMetadata?: Readonly<Record<string, string>>;
}

/** Runs the CLI with `argv` (without node and the script); resolves to the exit status. */
export async function main(argv: readonly string[], out: CliOutput = processOutput): Promise<number> {
  // rehearse takes other arguments (a cloud assembly, not a deployed stack) and options of its own.
  if (argv[0] === 'rehearse') return rehearseCommand(argv.slice(1), out);
  let invocation: Invocation | 'help' | 'version';
  try {
    invocation = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    out.stderr(`cdk-cognito-seeder: ${error.message}\nRun cdk-cognito-seeder --help for the usage.\n`);
    return 2;
  }
  if (invocation === 'help') {
    out.stdout(USAGE);
    return 0;
  }
  if (invocation === 'version') {
    out.stdout(`${version}\n`);
    return 0;
  }
  let users: SeededUsers | undefined;
  try {
    users = await SeededUsers.load(invocation.location);
    return await run(invocation, users, out);
  } catch (error) {
    // Every error of the module is a SeededUsersError, composed without secrets.
    const message = error instanceof SeededUsersError ? error.message : `unexpected ${(error as Error)?.name}`;
    const hint = error instanceof SeededUsersError && error.code === 'SEEDER_AMBIGUOUS' ? ' (--seeder <path>)' : '';
    out.stderr(`cdk-cognito-seeder: ${message}${hint}\n`);
    return 1;
  } finally {
    users?.destroy();
  }
}

/** The command, or 'help' / 'version' when one of those flags is anywhere in `argv`. */
function parse(argv: readonly string[]): Invocation | 'help' | 'version' {
  const config = { args: [...argv], options: OPTIONS, allowPositionals: true };
  // --help and --version win over whatever else is wrong with the line, as in most commands.
  const loose = parseArgs({ ...config, strict: false }).values;
  if (loose.help === true) return 'help';
  if (loose.version === true) return 'version';
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    throw new UsageError(parseArgsMessage(error));
  }
  const values: Partial<Record<OptionName, string | boolean | string[]>> = parsed.values;
  const options = new Map<string, string>();
  for (const [name, value] of Object.entries(values)) {
    if (value === '' || (Array.isArray(value) && value.includes(''))) throw new UsageError(`--${name} needs a value`);
    options.set(name, String(value));
  }
  const clientMetadata = parseClientMetadata(parsed.values['client-metadata']);
  const [command, ...rest] = parsed.positionals;
  if (command === undefined) throw new UsageError('no command');
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(`unknown command '${command}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
  const allowed = new Set<string>(spec.options);
  for (const name of options.keys()) {
    if (!allowed.has(name)) throw new UsageError(`${command} takes no option --${name}`);
  }
  const byParameter = options.has('parameter-name');
  const wanted = (byParameter ? 0 : 1) + (spec.user ? 1 : 0);
  if (spec.users ? rest.length < wanted : rest.length !== wanted) {
    const shape = `${byParameter ? '' : ' <stack>'}${spec.user ? ' <username>' : ''}`;
    throw new UsageError(`${command} takes${shape || ' no argument'}${byParameter ? ' with --parameter-name' : ''}`);
  }
  const format = options.get('format');
  if (format !== undefined && format !== 'env' && format !== 'json') {
    throw new UsageError(`--format is env or json, not '${format}'`);
  }
  const flow = options.get('flow');
  if (flow !== undefined && flow !== 'USER_PASSWORD_AUTH' && flow !== 'USER_SRP_AUTH') {
    throw new UsageError(`--flow is USER_PASSWORD_AUTH or USER_SRP_AUTH, not '${flow}'`);
  }
  return {
    command,
    location: {
      ...(byParameter ? { parameterName: options.get('parameter-name') } : { stackName: rest[0] }),
      ...(options.has('seeder') ? { seeder: options.get('seeder') } : {}),
      ...(options.has('region') ? { region: options.get('region') } : {}),
    },
    username: spec.user ? rest[rest.length - 1] : '',
    usernames: spec.users ? rest.slice(wanted) : [],
    options,
    ...(clientMetadata ? { clientMetadata } : {}),
  };
}

/** `--client-metadata key=value`, repeated, as one map; a key given twice is a mistake worth saying. */
function parseClientMetadata(entries: readonly string[] | undefined): Record<string, string> | undefined {
  if (!entries) return undefined;
  const map: Record<string, string> = {};
  for (const entry of entries) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new UsageError(`--client-metadata is key=value, not '${entry}'`);
    const key = entry.slice(0, at);
    if (key in map) throw new UsageError(`--client-metadata gives '${key}' twice`);
    map[key] = entry.slice(at + 1);
  }
  return map;
}

/**
 * parseArgs's refusal in this CLI's words. Its messages are Node's and change between
 * versions; its codes and the option they quote do not.
 */
function parseArgsMessage(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  // Node quotes the option as '--name', '-x' or, for one with a short alias, '-h, --help'.
  const option = /'(?:-\w, )?(--?[\w-]+)/.exec(message ?? '')?.[1] ?? '';
  const known = Object.keys(OPTIONS).map((name) => `--${name}`);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    return `unknown option ${option} (options: ${known.join(', ')})`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const takesValue = OPTIONS[option.replace(/^--/, '') as OptionName]?.type === 'string';
    return takesValue ? `${option} needs a value` : `${option} takes no value`;
  }
  throw error;
}

/** Runs the command; resolves to the exit status. */
async function run(invocation: Invocation, users: SeededUsers, out: CliOutput): Promise<number> {
  const { command, username, options } = invocation;
  const json = options.get('format') === 'json';
  switch (command) {
    case 'list':
      out.stdout(options.has('json') ? `${JSON.stringify(listing(users), null, 2)}\n` : table(users));
      return 0;
    case 'credentials': {
      const credentials = await users.credentials(username);
      out.stdout(
        json
          ? `${JSON.stringify(credentials)}\n`
          : env({ SEEDED_USERNAME: credentials.username, SEEDED_PASSWORD: credentials.password }),
      );
      return 0;
    }
    case 'tokens': {
      const tokens = await users.signIn(username, {
        clientId: options.get('client-id'),
        flow: options.get('flow') as SignInFlow | undefined,
        clientMetadata: invocation.clientMetadata,
      });
      out.stdout(
        json
          ? `${JSON.stringify(tokens)}\n`
          : env({
              SEEDED_ID_TOKEN: tokens.idToken,
              SEEDED_ACCESS_TOKEN: tokens.accessToken,
              SEEDED_REFRESH_TOKEN: tokens.refreshToken,
              ...(tokens.expiresIn !== undefined ? { SEEDED_EXPIRES_IN: String(tokens.expiresIn) } : {}),
            }),
      );
      return 0;
    }
    case 'totp':
      out.stdout(`${await users.totp(username)}\n`);
      return 0;
    case 'rearm':
      await users.rearm(username);
      out.stdout(`Re-armed '${username}': FORCE_CHANGE_PASSWORD, with its seeded password\n`);
      return 0;
    case 'repair': {
      const report = await users.repair({
        dryRun: options.has('dry-run'),
        ...(invocation.usernames.length > 0 ? { usernames: invocation.usernames } : {}),
      });
      out.stdout(options.has('json') ? `${JSON.stringify(report, null, 2)}\n` : repairText(report));
      return report.left > 0 ? 1 : 0;
    }
  }
  return 2;
}

/** A repair report for a shell: one line per drifted user, then the totals. */
function repairText(report: RepairReport): string {
  const lines = report.users.map(
    (u) =>
      `${u.username}: ${u.found.join(', ') || '-'}${report.dryRun ? '' : ` -> ${u.done.join(', ') || 'nothing done'}`}${u.error ? ` (not repaired: ${u.error})` : ''}`,
  );
  if (report.more > 0) lines.push(`... and ${report.more} more drifted users`);
  const drifted = report.users.filter((u) => u.found.length > 0).length + report.more;
  lines.push(
    `${report.dryRun ? 'Dry run: ' : ''}${report.checked} users checked, ${drifted} drifted, ${report.left} not repaired; ${report.calls} Cognito calls in ${report.seconds} s`,
  );
  return `${lines.join('\n')}\n`;
}

function listing(users: SeededUsers) {
  return {
    parameterName: users.parameterName,
    owner: users.manifest.owner,
    userPoolId: users.userPoolId,
    region: users.region,
    clientId: users.clientId,
    users: users.manifest.users.map((u) => ({
      username: u.username,
      mode: u.mode,
      groups: u.groups,
      totp: u.totp === true,
    })),
  };
}

function table(users: SeededUsers): string {
  const { manifest } = users;
  const rows = [
    ['USERNAME', 'MODE', 'GROUPS', 'TOTP'],
    ...manifest.users.map((u) => [u.username, u.mode, u.groups.join(',') || '-', u.totp ? 'yes' : 'no']),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const lines = rows.map((row) =>
    row
      .map((cell, column) => (column < row.length - 1 ? cell.padEnd(widths[column]) : cell))
      .join('  ')
      .trimEnd(),
  );
  const client = users.clientId ? `, app client ${users.clientId}` : '';
  const heading = `${manifest.users.length} users of ${manifest.owner} in pool ${users.userPoolId} (${users.region}${client})`;
  return `${heading}\n${lines.join('\n')}\n`;
}

/** `NAME='value'` lines, each value single-quoted for a POSIX shell. */
function env(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([name, value]) => `${name}='${value.replace(/'/g, `'\\''`)}'\n`)
    .join('');
}

const processOutput: CliOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

if (require.main === module) {
  void main(process.argv.slice(2)).then((status) => {
    // A rehearsal's services are stopped by now; exit rather than wait on a handle they left.
    if (process.argv[2] === 'rehearse') process.exit(status);
    process.exitCode = status;
  });
}
