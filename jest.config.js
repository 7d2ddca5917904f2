/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', }],
  },
  // Integration tests start real servers and talk to the real Redis; give them room.
  testTimeout: 30000,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  maxWorkers: 2,
};
