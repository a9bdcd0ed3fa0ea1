#!/usr/bin/env node
// Bundles the seeding handler (lambda/) and its AWS SDK clients into one file, the asset
// that lib/ ships with lambda.Code.fromAsset, and writes beside it the licence texts of
// every third-party package the bundle contains (THIRD-PARTY-LICENSES.txt): minified, the
// bundle itself keeps none, and Apache-2.0 and MIT both ask that they travel with the code.
// Paths are relative to the package root and nothing time- or machine-dependent goes in,
// so the asset hash is the same everywhere.
'use strict';
const path = require('path');
const fs = require('fs');
const esbuild = require('esbuild');
const { thirdPartyLicenses } = require('./third-party-licenses');

const root = path.resolve(__dirname, '..');
const outdir = process.argv[2] ? path.resolve(process.argv[2]) : path.join(root, 'assets', 'seed-handler');
const LICENSES = 'THIRD-PARTY-LICENSES.txt';

/**
 * How the handler is built, from `tree` (a checkout of this repository). rehearsal/profile.ts
 * builds other checkouts with it, unminified, to profile them.
 */
function handlerBuildOptions(tree) {
  return {
    absWorkingDir: tree,
    entryPoints: ['lambda/index.ts'],
    bundle: true,
    platform: 'node',
    // Runs on Lambda's nodejs22.x or later (the oldest runtime aws-cdk-lib's NODEJS_LATEST
    // names at the peer floor) and on Node 22, the tooling's baseline, in rehearsals and tests.
    target: 'node22',
    format: 'cjs',
    // The SDK's ES module builds tree-shake; its CommonJS builds (node's default) do not.
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: false,
    // The SDK carries no licence comments; its licences go in LICENSES, from the packages.
    legalComments: 'none',
    logLevel: 'warning',
  };
}

async function main() {
  const result = await esbuild.build({
    ...handlerBuildOptions(root),
    outfile: path.join(outdir, 'index.js'),
    metafile: true,
    write: false,
  });
  const files = new Map([
    ['index.js', Buffer.from(result.outputFiles[0].contents)],
    [
      LICENSES,
      Buffer.from(
        thirdPartyLicenses(
          root,
          Object.keys(result.metafile.inputs),
          'The seeding handler bundle (index.js) contains code from the following packages, ' +
            'each under its own licence. Each licence or notice text is reproduced once, after the packages under it.\n',
        ),
      ),
    ],
  ]);
  writeUnlessSame(files);
  const bytes = files.get('index.js').length;
  const inputs = Object.keys(result.metafile.inputs).length;
  console.log(
    `bundled lambda/index.ts -> ${path.relative(root, outdir)}/index.js (${(bytes / 1024).toFixed(1)} KiB, ${inputs} inputs) and ${LICENSES}`,
  );
}

/**
 * Leaves an identical bundle alone, and replaces a different one file by file with a
 * rename: tests that read the asset while another process bundles never see it missing.
 */
function writeUnlessSame(files) {
  fs.mkdirSync(outdir, { recursive: true });
  for (const name of fs.readdirSync(outdir)) {
    if (!files.has(name)) fs.rmSync(path.join(outdir, name), { recursive: true, force: true });
  }
  for (const [name, contents] of files) {
    const target = path.join(outdir, name);
    if (fs.existsSync(target) && fs.readFileSync(target).equals(contents)) continue;
    const temp = path.join(path.dirname(outdir), `.${path.basename(outdir)}.${name}.${process.pid}`);
    fs.writeFileSync(temp, contents);
    fs.renameSync(temp, target);
  }
}

module.exports = { handlerBuildOptions };

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
