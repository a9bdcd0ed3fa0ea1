// The licence texts of every third-party package a bundle took code from, for the file that
// travels beside a minified bundle (which keeps no licence comments of its own): Apache-2.0
// and MIT both ask that they travel with the code. Shared by scripts/bundle.js (the seeding
// handler) and scripts/bundle-testing.js (cdk-cognito-seeder/testing).
'use strict';
const fs = require('fs');
const path = require('path');

/**
 * The name, version, licence and licence text of every package among `inputs` (the keys of
 * an esbuild metafile's inputs, relative to `root`), after `header`, in a stable order.
 */
function thirdPartyLicenses(root, inputs, header) {
  const roots = new Set();
  for (const input of inputs) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) roots.add(match[1]);
  }
  const entries = new Map();
  for (const dir of roots) {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, dir, 'package.json'), 'utf8'));
    const id = `${pkg.name}@${pkg.version}`;
    if (entries.has(id)) continue;
    const texts = fs
      .readdirSync(path.join(root, dir))
      .filter((f) => /^(licen[cs]e|copying|notice)(\.|$)/i.test(f))
      .sort()
      .map((f) => fs.readFileSync(path.join(root, dir, f), 'utf8').trim());
    const license = typeof pkg.license === 'string' ? pkg.license : JSON.stringify(pkg.license ?? 'UNKNOWN');
    entries.set(
      id,
      [
        `${id} (${license})`,
        texts.length ? texts.join('\n\n') : `The package ships no licence file; its licence is ${license}.`,
      ].join('\n\n'),
    );
  }
  return [header, ...[...entries.keys()].sort().map((id) => entries.get(id))].join(`\n${'-'.repeat(78)}\n\n`) + '\n';
}

module.exports = { thirdPartyLicenses };
