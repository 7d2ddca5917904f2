import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * Some tests run the real `rotator` binary (crash tests, CLI end to end), so the suite builds
 * dist/ once before any test starts. tsc still emits on type errors; those are reported here and
 * fail `npm run typecheck`, while the tests that need dist/ fail on their own if it is unusable.
 */
export default function globalSetup(): void {
  const root = path.resolve(__dirname, '../..');
  // The service, then the stand-ins the tests start as processes (standins/, not in the production build).
  for (const project of ['tsconfig.build.json', 'tsconfig.standins.json']) {
    try {
      execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', project], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      const output = String((err as { stdout?: Buffer }).stdout ?? '');
      process.stderr.write(`\n[global-setup] tsc reported errors while building dist/ (${project}):\n${output.slice(0, 4000)}\n`);
    }
  }
}
