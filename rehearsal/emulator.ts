/**
 * An embedded Cognito (cognito-local, pinned in devDependencies) on a free loopback port,
 * in a process of its own, with its store in a fresh temporary directory. Its JSON store
 * is corrupted by concurrent writes (the running server keeps working, but a restart on
 * the same directory fails), so every start gets a new directory.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface Emulator {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  readonly directory: string;
  /** Stops the emulator at once (open connections are dropped) and removes its store. */
  stop(): Promise<void>;
}

/** Lambda triggers of every pool of the emulator, played by a server the caller runs. */
export interface EmulatorTriggers {
  /**
   * Where each trigger's invocation is POSTed as `{ FunctionName, Payload }` (the function
   * name is the stage, e.g. `PreTokenGeneration`, so cognito-local's messages read as
   * Cognito's); the answer is `{ Payload }` (the event with its response) or
   * `{ FunctionError: 'Unhandled', Payload }` with `{ errorMessage }` (a refusal).
   */
  readonly endpoint: string;
  /** The stages configured, e.g. `['PreTokenGeneration']`. */
  readonly names: readonly string[];
}

export async function startEmulator(options: { readonly triggers?: EmulatorTriggers } = {}): Promise<Emulator> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'cognito-local-'));
  const child = spawn(process.execPath, [path.join(__dirname, 'emulator-process.js'), directory], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...(options.triggers ? { COGNITO_LOCAL_TRIGGERS: JSON.stringify(options.triggers) } : {}) },
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve(JSON.parse(line).endpoint);
    });
    child.stderr!.on('data', (c) => (err += c));
    child.on('exit', (code) => reject(new Error(`cognito-local exited (${code}) before listening: ${err}`)));
  });
  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    directory,
    stop: () => (stopped ??= kill(child).then(() => fs.rmSync(directory, { recursive: true, force: true }))),
  };
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
