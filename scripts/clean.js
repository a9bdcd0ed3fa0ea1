#!/usr/bin/env node
// Removes the compiled output before a build, so a pack never ships a file whose source is gone.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
for (const name of ['dist', '.jsii', '.jsii.gz', 'tsconfig.build.tsbuildinfo']) {
  fs.rmSync(path.join(root, name), { recursive: true, force: true });
}
