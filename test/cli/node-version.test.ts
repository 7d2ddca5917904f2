import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { nodeVersionRefusal } from '../../src/cli/node-version';

const root = path.resolve(__dirname, '../..');

describe('nodeVersionRefusal', () => {
  it.each(['24.0.0', '24.22.3', '25.1.0', 'v26.0.0'])('accepts Node %s', (version) => {
    expect(nodeVersionRefusal(version)).toBeUndefined();
  });

  it.each(['20.20.2', '22.11.0', '23.9.9', 'v18.0.0'])('refuses Node %s in one line naming it and the command that gets Node 24', (version) => {
    const refusal = nodeVersionRefusal(version)!;
    expect(refusal).toBe(`rotator needs Node.js 24 or newer (this is v${version.replace(/^v/, '')}); get it with: source scripts/use-node24.sh (in the repository), or install it from https://nodejs.org/`);
    expect(refusal).not.toContain('\n');
  });

  it('refuses a version it cannot read', () => {
    expect(nodeVersionRefusal('unknown')).toMatch(/^rotator needs Node\.js 24 or newer/);
  });

  it('names a command that exists in the repository', () => {
    expect(existsSync(path.join(root, 'scripts/use-node24.sh'))).toBe(true);
    expect(readFileSync(path.join(root, 'README.md'), 'utf8')).toContain('source scripts/use-node24.sh');
  });
});

// This machine's Debian node is Node 20 (where it exists): the built CLI must refuse it at once.
const OLD_NODE = '/usr/bin/node';
const oldNodeMajor = existsSync(OLD_NODE) ? Number(spawnSync(OLD_NODE, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).stdout.trim()) : NaN;
const describeOldNode = Number.isInteger(oldNodeMajor) && oldNodeMajor < 24 ? describe : describe.skip;

describeOldNode(`the built CLI on ${OLD_NODE} (Node ${oldNodeMajor})`, () => {
  it.each([['status'], ['start', '--role', 'worker'], ['demo']])('refuses `rotator %s` with one line on stderr and exit 1, before anything starts', (...args) => {
    const result = spawnSync(OLD_NODE, [path.join(root, 'dist/src/cli/main.js'), ...args], {
      cwd: mkdtempSync(path.join(tmpdir(), 'rotator-old-node-')),
      env: { PATH: '/usr/bin:/bin', REDIS_URL: 'redis://127.0.0.1:1' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^rotator needs Node\.js 24 or newer \(this is v\d+\.\d+\.\d+\); get it with: source scripts\/use-node24\.sh/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});
