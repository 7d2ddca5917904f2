import path from 'node:path';
import { runCaptured } from './capture';

const REPO_ROOT = path.resolve(__dirname, '../..');

/**
 * `-V` / `--version` answer at the top level only. commander's own version option fired on a -V
 * anywhere in the arguments, so `history <id> --limit -V` printed the version and exited 0 instead
 * of refusing the value (found by test/security/cli-args.property.test.ts).
 */
describe('the version option', () => {
  it('prints the version before a command', async () => {
    expect((await runCaptured(['-V'], { cwd: REPO_ROOT })).code).toBe(0);
  });

  it('is a value like any other after an option that takes one: --limit -V is refused as a limit, exit 2', async () => {
    const run = await runCaptured(['history', 'mbx_x', '--limit', '-V'], { cwd: REPO_ROOT });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('--limit must be a whole number from 1 to 10000, got "-V"');
  });
});
