/**
 * `npm run test:unit`: the fast subset for the edit-test loop — test files that start no server,
 * spawn no process and open no Redis or network connection (no globalSetup build either). A file
 * is in the subset when its source names none of the markers below; everything else runs in
 * `npm test` only. The markers are what a test needs to reach a server, so a new integration test
 * drops out of the subset by itself.
 */
const fs = require('node:fs');
const path = require('node:path');
const base = require('./jest.config.js');

const SERVER_MARKERS = [
  /support\/(redis|test-bed|rotator-process|canned-http-server|redis-topologies|socket-writes)/,
  /from 'ioredis'/,
  /from 'bullmq'/,
  /node:child_process/,
  /node:net'/,
  /node:http'/,
  /sandbox/,
  /standin|stand-in/i,
  /startRotatorService|startHttpServer|createHttpServer|buildServer|\.listen\(/,
  /playwright/,
  /support\/redis-server-process|http\/support/,
  /fetch\(/,
  /REDIS_URL/,
];

function testFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(full);
    return entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

const root = __dirname;
const testDir = path.join(root, 'test');

/** The file and every test-local module it imports (relative imports under test/), transitively. */
function sourcesOf(file, seen = new Set()) {
  if (seen.has(file) || !fs.existsSync(file)) return seen;
  seen.add(file);
  const source = fs.readFileSync(file, 'utf8');
  for (const [, spec] of source.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
    const resolved = path.resolve(path.dirname(file), spec);
    if (!resolved.startsWith(testDir)) continue;
    for (const candidate of [resolved, `${resolved}.ts`, path.join(resolved, 'index.ts')]) {
      if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) sourcesOf(candidate, seen);
    }
  }
  return seen;
}

const unit = testFiles(testDir).filter((file) =>
  ![...sourcesOf(file)].some((source) => SERVER_MARKERS.some((marker) => marker.test(fs.readFileSync(source, 'utf8')))),
);

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  globalSetup: undefined,
  testMatch: undefined,
  // Exact paths, so the subset is exactly the files chosen above.
  testRegex: unit.map((file) => `${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
};
