/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type-checking happens once, in `npm test`'s tsc step; jest only transpiles.
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  setupFiles: ['<rootDir>/rehearsal/quiet-sdk.js', '<rootDir>/test/support/handler-env.js'],
  snapshotSerializers: ['<rootDir>/test/support/stable-snapshot.js'],
  testTimeout: 60000,
};
