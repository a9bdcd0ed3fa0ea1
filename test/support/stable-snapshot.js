// Snapshot serializer that masks asset hashes, so a snapshot changes when the template
// changes, not when the handler bundle does (the asset hash has its own test), and the
// example app's random local-only password, which differs on every synth.
'use strict';
const HASH = /\b[0-9a-f]{64}\b/;
const LOCAL_ONLY = /Local-Only-[A-Za-z0-9_-]{16}-1a!/;

module.exports = {
  test: (value) => typeof value === 'string' && (HASH.test(value) || LOCAL_ONLY.test(value)),
  serialize: (value, config, indentation, depth, refs, printer) =>
    printer(
      value
        .replace(new RegExp(HASH.source, 'g'), 'ASSET-HASH')
        .replace(new RegExp(LOCAL_ONLY.source, 'g'), 'LOCAL-ONLY-RANDOM'),
      config,
      indentation,
      depth,
      refs,
    ),
};
