// Snapshot serializer that masks asset hashes, so a snapshot changes when the template
// changes, not when the handler bundle does (the asset hash has its own test).
'use strict';
const HASH = /\b[0-9a-f]{64}\b/;

module.exports = {
  test: (value) => typeof value === 'string' && HASH.test(value),
  serialize: (value, config, indentation, depth, refs, printer) =>
    printer(value.replace(new RegExp(HASH.source, 'g'), 'ASSET-HASH'), config, indentation, depth, refs),
};
