// scripts/third-party-licenses.js: each distinct licence or notice text once, after the
// packages that ship it, so a bundle's licence file does not repeat Apache-2.0 per package.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { thirdPartyLicenses } = require('../scripts/third-party-licenses') as {
  thirdPartyLicenses(root: string, inputs: string[], header: string): string;
};

const APACHE = 'Apache License\nVersion 2.0, January 2004\n\nTERMS AND CONDITIONS FOR USE';
const MIT = (holder: string) => `MIT License\n\nCopyright (c) ${holder}\n\nPermission is hereby granted`;

let root: string;

/** A package in root's node_modules with `files`; returns one of its sources as an esbuild input. */
function addPackage(name: string, license: string, files: Record<string, string>): string {
  const dir = path.join(root, 'node_modules', name);
  fs.mkdirSync(path.join(dir, 'dist'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', license }));
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
  return `node_modules/${name}/dist/index.js`;
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'licences-'));
});

afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

test('prints a text shared by several packages once, after all of them', () => {
  // GIVEN three packages with the same Apache-2.0 text (one with CRLF line ends and trailing spaces)
  const inputs = [
    addPackage('@aws-sdk/b', 'Apache-2.0', { LICENSE: APACHE }),
    addPackage('@aws-sdk/a', 'Apache-2.0', { LICENSE: APACHE }),
    addPackage('@smithy/c', 'Apache-2.0', { 'LICENSE.txt': `${APACHE.replace(/\n/g, '  \r\n')}\r\n` }),
    'lib/own-source.ts',
  ];

  // WHEN
  const text = thirdPartyLicenses(root, [...inputs, inputs[0]], 'Header.\n');

  // THEN the text once, after the three packages in name order
  expect(text.split('TERMS AND CONDITIONS FOR USE')).toHaveLength(2);
  expect(text).toContain(
    '3 packages:\n  @aws-sdk/a@1.0.0 (Apache-2.0)\n  @aws-sdk/b@1.0.0 (Apache-2.0)\n  @smithy/c@1.0.0 (Apache-2.0)\n\nApache License',
  );
  expect(text).toMatch(/^Header\.\n3 packages, 1 distinct licence and notice texts\.\n/);
});

test('keeps texts that differ apart (an MIT copyright line, a NOTICE), and names packages with none', () => {
  // GIVEN
  const inputs = [
    addPackage('alpha', 'MIT', { LICENSE: MIT('Alpha Authors') }),
    addPackage('beta', 'MIT', { 'LICENSE.md': MIT('Beta Authors') }),
    addPackage('gamma', 'Apache-2.0', { LICENSE: APACHE, NOTICE: 'Gamma\nCopyright Gamma Inc.' }),
    addPackage('delta', 'Apache-2.0', { LICENSE: APACHE }),
    addPackage('epsilon', 'ISC', {}),
  ];

  // WHEN
  const text = thirdPartyLicenses(root, inputs, 'Header.\n');

  // THEN every text once, the shared one first, and each copyright kept
  expect(text).toMatch(/^Header\.\n5 packages, 4 distinct licence and notice texts\.\n/);
  expect(text.split('TERMS AND CONDITIONS FOR USE')).toHaveLength(2);
  expect(text.indexOf('2 packages:\n  delta@1.0.0 (Apache-2.0)\n  gamma@1.0.0 (Apache-2.0)')).toBeLessThan(
    text.indexOf('Package:\n  alpha@1.0.0 (MIT)'),
  );
  for (const expected of [
    'Package:\n  alpha@1.0.0 (MIT)\n\nMIT License\n\nCopyright (c) Alpha Authors',
    'Package:\n  beta@1.0.0 (MIT)\n\nMIT License\n\nCopyright (c) Beta Authors',
    'Package:\n  gamma@1.0.0 (Apache-2.0)\n\nGamma\nCopyright Gamma Inc.',
    'Package:\n  epsilon@1.0.0 (ISC)\n\nThese packages ship no licence file',
  ]) {
    expect(text).toContain(expected);
  }
  // and the same inputs in another order give the same bytes
  expect(thirdPartyLicenses(root, [...inputs].reverse(), 'Header.\n')).toBe(text);
});
