// The manifest's format lives with the construct (lib/ is what the package compiles with
// jsii); the testing module and the handler read it from there.
export * from '../lib/private/manifest-format';
