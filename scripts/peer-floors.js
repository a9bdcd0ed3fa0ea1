// The oldest version each peer dependency's range admits: the versions the package must work
// with (scripts/oldest-cdk.js synthesizes against them) and the ones its other languages'
// packages ask for (scripts/package-gen.js generates them against them).
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');

/** The version a peer range `^x.y.z` of package.json starts at. */
function peerFloor(name) {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const range = manifest.peerDependencies?.[name];
  const match = /^\^(\d+\.\d+\.\d+)$/.exec(range ?? '');
  if (!match) throw new Error(`peerDependencies.${name} is not a ^x.y.z range: ${range}`);
  return match[1];
}

module.exports = { peerFloor };
