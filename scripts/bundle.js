#!/usr/bin/env node
// Bundles the seeding handler (lambda/) and its AWS SDK clients into one file, the asset
// that lib/ ships with lambda.Code.fromAsset. Paths are relative to the package root and
// nothing time- or machine-dependent goes in, so the asset hash is the same everywhere.
'use strict';
const path = require('path');
const fs = require('fs');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const outdir = process.argv[2] ? path.resolve(process.argv[2]) : path.join(root, 'assets', 'seed-handler');

async function main() {
  fs.rmSync(outdir, { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['lambda/index.ts'],
    outfile: path.join(outdir, 'index.js'),
    bundle: true,
    platform: 'node',
    // Runs on nodejs24.x in Lambda and on Node 20 in local rehearsals and tests.
    target: 'node20',
    format: 'cjs',
    // The SDK's ES module builds tree-shake; its CommonJS builds (node's default) do not.
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  const bytes = fs.statSync(path.join(outdir, 'index.js')).size;
  const inputs = Object.keys(result.metafile.inputs).length;
  console.log(
    `bundled lambda/index.ts -> ${path.relative(root, outdir)}/index.js (${(bytes / 1024).toFixed(1)} KiB, ${inputs} inputs)`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
