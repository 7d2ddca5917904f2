/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // @bull-board/fastify → @fastify/static → content-disposition 3, which is ESM-only. Node ≥ 22
    // require()s it natively, but Jest's own module loader does not (checked on Node 24.22 with
    // Jest 30: "Cannot use import statement outside a module"), so it is transformed to CommonJS.
    '^.+/node_modules/content-disposition/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true }, isolatedModules: true }],
  },
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
  // Integration tests start real servers and talk to the real Redis; give them room.
  testTimeout: 30000,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  maxWorkers: 2,
};
