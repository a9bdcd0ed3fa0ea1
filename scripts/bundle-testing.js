#!/usr/bin/env node
// Builds cdk-cognito-seeder/testing into dist/testing: index.js (the module, with its AWS SDK
// clients, otpauth and cognito-srp-helper inlined, so the package needs no runtime
// dependency), cli.js (the cdk-cognito-seeder command, which loads ./index.js rather than a
// second copy) and THIRD-PARTY-LICENSES.txt; and cdk-cognito-seeder/rehearse into
// dist/rehearse: index.js (rehearsal/ with its SDK clients inlined; cognito-local, dynalite
// and aws-local-stepfunctions stay outside, optional peers that only a rehearsing project
// installs), its .d.ts, the two scripts it runs as child processes, and its licences. The
// CLI loads ../rehearse/index.js only for its rehearse command. testing's .d.ts files come from
// `tsc -p tsconfig.testing.json`. jsii compiles only lib/, and refuses runtime dependencies
// that are not jsii modules unless bundled, so this module is built here instead. Paths are
// relative to the package root and nothing time- or machine-dependent goes in.
'use strict';
const path = require('path');
const fs = require('fs');
const esbuild = require('esbuild');
const ts = require('typescript');
const { thirdPartyLicenses } = require('./third-party-licenses');

const root = path.resolve(__dirname, '..');
const outdir = process.argv[2] ? path.resolve(process.argv[2]) : path.join(root, 'dist', 'testing');
// Beside dist/testing, where the CLI finds it; inside a directory given for a test build, so
// that build writes nowhere else.
const rehearseOutdir = process.argv[2] ? path.join(outdir, 'rehearse') : path.join(root, 'dist', 'rehearse');

/** What a rehearsal runs on and the package does not carry (optional peer dependencies). */
const REHEARSAL_PEERS = ['cognito-local', 'dynalite', 'aws-local-stepfunctions'];
/** Scripts the rehearsal starts as processes of their own, from beside its bundle. */
const REHEARSAL_SCRIPTS = ['emulator-process.js', 'invoke-runner.js'];

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  // The package's engines.node.
  target: 'node22',
  format: 'cjs',
  // The SDK's ES module builds tree-shake; its CommonJS builds (node's default) do not.
  mainFields: ['module', 'main'],
  // The SDK's ES builds load node:http and node:async_hooks with import(). Left as is, that
  // fails inside jest's module sandbox (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG), where
  // this module mostly runs: esbuild turns every import() into a require instead.
  supported: { 'dynamic-import': false },
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  metafile: true,
  write: false,
  logLevel: 'warning',
};

/** The CLI imports './index': that import stays a require of the sibling bundle. */
const siblingIndex = {
  name: 'sibling-index',
  setup(build) {
    build.onResolve({ filter: /^\.\/index$/ }, () => ({ path: './index.js', external: true }));
  },
};

/** The CLI's rehearse command loads the rehearse bundle, and only when it runs. */
const siblingRehearse = {
  name: 'sibling-rehearse',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/rehearsal\/rehearse$/ }, () => ({
      path: '../rehearse/index.js',
      external: true,
    }));
  },
};

async function main() {
  const index = await esbuild.build({ ...common, entryPoints: ['testing/index.ts'], outfile: 'index.js' });
  const cli = await esbuild.build({
    ...common,
    entryPoints: ['testing/cli.ts'],
    outfile: 'cli.js',
    plugins: [siblingIndex, siblingRehearse],
  });
  const inputs = [...Object.keys(index.metafile.inputs), ...Object.keys(cli.metafile.inputs)];
  const files = {
    'index.js': index.outputFiles[0].contents,
    'cli.js': cli.outputFiles[0].contents,
    'THIRD-PARTY-LICENSES.txt': thirdPartyLicenses(
      root,
      inputs,
      'cdk-cognito-seeder/testing (index.js, cli.js) contains code from the following packages, ' +
        'each under its own licence. Each licence or notice text is reproduced once, after the packages under it.\n',
    ),
  };
  fs.mkdirSync(outdir, { recursive: true });
  for (const [name, contents] of Object.entries(files)) fs.writeFileSync(path.join(outdir, name), contents);
  fs.chmodSync(path.join(outdir, 'cli.js'), 0o755);
  const kib = (name) => (Buffer.byteLength(files[name]) / 1024).toFixed(1);
  console.log(
    `bundled testing/ -> ${path.relative(root, outdir)}/index.js (${kib('index.js')} KiB), cli.js (${kib('cli.js')} KiB) and THIRD-PARTY-LICENSES.txt`,
  );
  await bundleRehearse();
}

async function bundleRehearse() {
  const rehearse = await esbuild.build({
    ...common,
    entryPoints: ['rehearsal/rehearse.ts'],
    outfile: 'index.js',
    external: REHEARSAL_PEERS,
  });
  const source = fs.readFileSync(path.join(root, 'rehearsal', 'rehearse.ts'), 'utf8');
  // Its public types stand alone in rehearse.ts, so one file's declarations are the whole API.
  const declarations = ts.transpileDeclaration(source, { fileName: 'rehearse.ts', compilerOptions: {} });
  const files = {
    'index.js': rehearse.outputFiles[0].contents,
    'index.d.ts': declarations.outputText,
    ...Object.fromEntries(REHEARSAL_SCRIPTS.map((name) => [name, fs.readFileSync(path.join(root, 'rehearsal', name))])),
    'THIRD-PARTY-LICENSES.txt': thirdPartyLicenses(
      root,
      Object.keys(rehearse.metafile.inputs),
      'cdk-cognito-seeder/rehearse (index.js) contains code from the following packages, ' +
        'each under its own licence. Each licence or notice text is reproduced once, after the packages under it. ' +
        `It runs on ${REHEARSAL_PEERS.join(', ')}, which it does not contain.\n`,
    ),
  };
  fs.rmSync(rehearseOutdir, { recursive: true, force: true });
  fs.mkdirSync(rehearseOutdir, { recursive: true });
  for (const [name, contents] of Object.entries(files)) fs.writeFileSync(path.join(rehearseOutdir, name), contents);
  console.log(
    `bundled rehearsal/rehearse.ts -> ${path.relative(root, rehearseOutdir)}/index.js ` +
      `(${(Buffer.byteLength(files['index.js']) / 1024).toFixed(1)} KiB), index.d.ts, ${REHEARSAL_SCRIPTS.join(', ')} and THIRD-PARTY-LICENSES.txt`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
