#!/usr/bin/env node
// Generates the other languages' sources (Python, Java, .NET, Go) into dist-lang/, code only
// (PyPI, Maven Central, NuGet and the Go proxy are not reachable here), the way they would
// be released:
//
// - against the oldest aws-cdk-lib and constructs the peer ranges admit. jsii-pacmak takes
//   the version a Go module requires (and the shape of inherited structs, such as
//   SeededUserPoolProps' UserPoolProps) from the dependency assemblies it finds installed,
//   and this repository's devDependencies are newer than the floor (its tests use
//   aws-cdk-lib 2.276, cdk-nag 3 needs 2.257): generated from here, go.mod asked for
//   aws-cdk-go 2.276. So the packed package is installed beside exactly the floors, as
//   scripts/oldest-cdk.js does, and generated there.
// - with the README's examples translated: jsii-rosetta extracts and compiles them into the
//   tablet first, and jsii-pacmak fails on any example the tablet lacks, instead of leaving
//   TypeScript in another language's README.
//
//   node scripts/package-gen.js
//
// PACKAGE_TARBALL=<path> uses an already packed tarball instead of packing again (its
// prepack builds the package, .jsii included); the tablet is extracted from the .jsii of the
// working tree, which that build wrote.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { peerFloor } = require('./peer-floors');

const root = path.resolve(__dirname, '..');
const outdir = path.join(root, 'dist-lang');
const TARGETS = ['python', 'java', 'dotnet', 'go'];

function run(command, args, cwd, env = process.env) {
  try {
    return execFileSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    process.stderr.write(`${command} ${args.join(' ')} failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    throw new Error(`${command} ${args[0]} failed`);
  }
}

function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'package-gen-'));
  try {
    let tarball = process.env.PACKAGE_TARBALL && path.resolve(process.env.PACKAGE_TARBALL);
    if (!tarball) {
      const output = run('npm', ['pack', '--json', '--pack-destination', work], root);
      tarball = path.join(work, JSON.parse(output.slice(output.search(/^\[\s*\{/m)))[0].filename);
    }
    // The tablet: every README example, compiled (--fail: one that does not compile stops here).
    run('npm', ['run', '--silent', 'rosetta'], root);

    const floors = { 'aws-cdk-lib': peerFloor('aws-cdk-lib'), constructs: peerFloor('constructs') };
    const app = path.join(work, 'floor');
    fs.mkdirSync(app);
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({
        name: 'package-gen',
        private: true,
        dependencies: { ...floors, 'cdk-cognito-seeder': `file:${tarball}` },
      }),
    );
    run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline', '--loglevel=error'], app);
    const installed = (name) =>
      JSON.parse(fs.readFileSync(path.join(app, 'node_modules', name, 'package.json'), 'utf8')).version;
    for (const [name, version] of Object.entries(floors)) {
      if (installed(name) !== version) throw new Error(`${name} ${installed(name)} was installed, not ${version}`);
    }

    fs.rmSync(outdir, { recursive: true, force: true });
    const pkg = path.join(app, 'node_modules', 'cdk-cognito-seeder');
    run(
      process.execPath,
      [
        require.resolve('jsii-pacmak/bin/jsii-pacmak'),
        pkg,
        '--code-only',
        '--targets',
        ...TARGETS,
        '--outdir',
        outdir,
        '--rosetta-tablet',
        path.join(root, '.jsii.tabl.json'),
        '--rosetta-unknown-snippets',
        'fail',
        '--no-npmignore',
      ],
      root,
      // jsii-pacmak packs the package again to embed it: the installed copy has no sources to
      // build, and its files are the tarball's already.
      { ...process.env, npm_config_ignore_scripts: 'true' },
    );
    const gomod = fs.readFileSync(path.join(outdir, 'go', 'cdkcognitoseeder', 'go.mod'), 'utf8');
    const awscdk = /github\.com\/aws\/aws-cdk-go\/awscdk\/v2 v(\S+)/.exec(gomod)?.[1];
    if (awscdk !== floors['aws-cdk-lib']) {
      throw new Error(`go.mod requires aws-cdk-go ${awscdk}, not the floor ${floors['aws-cdk-lib']}`);
    }
    console.log(
      `generated ${TARGETS.join(', ')} into dist-lang/ against aws-cdk-lib ${floors['aws-cdk-lib']} and constructs ${floors.constructs}, README examples translated`,
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

try {
  main();
} catch (error) {
  console.error(`package-gen: ${error.message.split('\n')[0]}`);
  process.exitCode = 1;
}
