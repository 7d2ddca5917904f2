/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // @bull-board/fastify → @fastify/static → content-disposition 3, which is ESM-only: Node 20
    // loads it natively, but Jest (before Node 24.9) needs it transformed to CommonJS.
    '^.+/node_modules/content-disposition/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true }, isolatedModules: true }],
  },
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
  // Integration tests start real servers and talk to the real Redis; give them room.
  testTimeout: 30000,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  maxWorkers: 2,
};
