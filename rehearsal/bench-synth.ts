// Synthesizes a SeededUserPool with N users (argv[2]) and prints one JSON line: the
// in-process synth time and the template's size. bench.ts times the whole process too.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { PasswordMode, SeededUserPool, SeedPassword } from '../lib';

const n = Number(process.argv[2] ?? 0);
const started = process.hrtime.bigint();
const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
const app = new App({ outdir });
const stack = new Stack(app, 'Bench');
const pool = new SeededUserPool(stack, 'Pool');
const password = SeedPassword.generate();
for (let i = 0; i < n; i++) pool.addUser({ username: `load-${i}`, mode: PasswordMode.PERMANENT, password });
const template = app.synth().getStackByName('Bench').templateFullPath;
const ms = Number(process.hrtime.bigint() - started) / 1e6;
process.stdout.write(JSON.stringify({ n, synthMs: Math.round(ms), templateBytes: fs.statSync(template).size }) + '\n');
fs.rmSync(outdir, { recursive: true, force: true });
