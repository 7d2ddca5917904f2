import { spawnSync } from 'node:child_process';
import path from 'node:path';

/**
 * config/prometheus/rotator-alerts.yml is valid for Prometheus (promtool check rules) and fires
 * exactly when meant to on synthetic series (promtool test rules with
 * test/monitoring/rotator-alerts.test.yml). promtool comes from Debian's prometheus package,
 * which .ci/run installs; without it this test fails rather than skips.
 */
const root = path.resolve(__dirname, '../..');
const RULES = 'config/prometheus/rotator-alerts.yml';
const RULE_TESTS = 'test/monitoring/rotator-alerts.test.yml';

function promtool(...args: string[]) {
  const result = spawnSync('promtool', args, { cwd: root, encoding: 'utf8', timeout: 60_000 });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('promtool is not installed: apt-get update && apt-get install -y prometheus (.ci/run does this)');
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('Prometheus alert rules', () => {
  it('pass promtool check rules', () => {
    const { status, output } = promtool('check', 'rules', RULES);
    expect(output).toContain('SUCCESS: 6 rules found');
    expect(status).toBe(0);
  });

  it('fire as specified on synthetic series (promtool test rules)', () => {
    const { status, output } = promtool('test', 'rules', RULE_TESTS);
    expect(output).toContain('SUCCESS');
    expect(output).not.toContain('FAILED');
    expect(status).toBe(0);
  });
});
