// Snapshot serializer that masks asset hashes, so a snapshot changes when the template
// changes, not when the handler bundle does (the asset hash has its own test).
'use strict';
const HASH = /\b[0-9a-f]{64}\b/g;

module.exports = {
  test: (value) => typeof value === 'string' && HASH.test(value) && (HASH.lastIndex = 0) === 0,
  serialize: (value, config, indentation, depth, refs, printer) =>
    printer(value.replace(HASH, 'ASSET-HASH'), config, indentation, depth, refs),
};
