// The licence texts of every third-party package a bundle took code from, for the file that
// travels beside a minified bundle (which keeps no licence comments of its own): Apache-2.0
// and MIT both ask that they travel with the code. Shared by scripts/bundle.js (the seeding
// handler) and scripts/bundle-testing.js (cdk-cognito-seeder/testing).
//
// Each distinct text is printed once, after the packages it belongs to: the AWS SDK's
// packages all ship the same Apache-2.0 LICENSE, which printed per package made the file
// half a megabyte of repetition. Texts that differ (an MIT licence's copyright line, a
// NOTICE) stay apart, since the copyright notice is what must be reproduced.
'use strict';
const fs = require('fs');
const path = require('path');

const RULE = `\n${'-'.repeat(78)}\n\n`;

/**
 * The name, version and licence of every package among `inputs` (the keys of an esbuild
 * metafile's inputs, relative to `root`), grouped under each licence or notice text they
 * ship, after `header`, in a stable order.
 */
function thirdPartyLicenses(root, inputs, header) {
  const roots = new Set();
  for (const input of inputs) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) roots.add(match[1]);
  }
  const packages = new Map();
  for (const dir of roots) {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, dir, 'package.json'), 'utf8'));
    const id = `${pkg.name}@${pkg.version}`;
    if (packages.has(id)) continue;
    const license = typeof pkg.license === 'string' ? pkg.license : JSON.stringify(pkg.license ?? 'UNKNOWN');
    const texts = fs
      .readdirSync(path.join(root, dir))
      .filter((f) => /^(licen[cs]e|copying|notice)(\.|$)/i.test(f))
      .sort()
      .map((f) => normalise(fs.readFileSync(path.join(root, dir, f), 'utf8')));
    packages.set(id, { label: `${id} (${license})`, texts });
  }
  const byText = new Map();
  const without = [];
  for (const id of [...packages.keys()].sort()) {
    const { label, texts } = packages.get(id);
    if (texts.length === 0) without.push(label);
    for (const text of new Set(texts)) byText.set(text, [...(byText.get(text) ?? []), label]);
  }
  // Most-shared text first; ties by the first package's name, so the order is stable.
  const groups = [...byText.entries()].sort(
    ([, a], [, b]) => b.length - a.length || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0),
  );
  const sections = groups.map(([text, labels]) => `${list(labels)}\n\n${text}`);
  if (without.length > 0) {
    sections.push(
      `${list(without)}\n\nThese packages ship no licence file; each is under the licence named beside it.`,
    );
  }
  const summary = `${packages.size} packages, ${groups.length} distinct licence and notice texts.\n`;
  return [`${header}${summary}`, ...sections].join(RULE) + '\n';
}

function list(labels) {
  return `${labels.length === 1 ? 'Package' : `${labels.length} packages`}:\n${labels.map((l) => `  ${l}`).join('\n')}`;
}

/** The same text with other line endings or trailing spaces is the same text. */
function normalise(text) {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trim();
}

module.exports = { thirdPartyLicenses };
