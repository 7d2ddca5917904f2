import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { claimEnvFile, demoProcessRuns, DemoEnvFileError, envFileMarker, formatEnvFile } from '../../src/cli/demo/env-file';

const OPTION = '--cli-env-file';
const claim = (file: string, content: string, isAlive: (pid: number) => boolean = () => false) => claimEnvFile(file, content, OPTION, isAlive);

const dir = () => mkdtempSync(path.join(tmpdir(), 'rotator-env-file-'));

describe('the demo’s env file', () => {
  it('is read back by `node --env-file` exactly, values with spaces or quotes included', () => {
    const variables = { REDIS_URL: 'redis://127.0.0.1:6390', ROTATOR_CONFIG: "/home/a user/it's \"demo\" #1\\new.yaml", EMPTY: '' };
    const file = path.join(dir(), 'demo.env');
    claim(file, formatEnvFile(['a comment line'], variables));
    const seen = execFileSync(process.execPath, [`--env-file=${file}`, '-e', 'process.stdout.write(JSON.stringify([process.env.REDIS_URL, process.env.ROTATOR_CONFIG, process.env.EMPTY]))'], {
      env: { PATH: process.env.PATH },
    }).toString();
    expect(JSON.parse(seen)).toEqual([variables.REDIS_URL, variables.ROTATOR_CONFIG, '']);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses a value with a line break rather than write a file that means something else', () => {
    expect(() => formatEnvFile([], { A: 'x\nB=y' })).toThrow(/A holds a line break/);
  });

  it('remove() deletes the file it wrote, but not one that was since edited or replaced (same content, other file)', () => {
    const file = path.join(dir(), 'demo.env');
    claim(file, 'A=1\n').remove();
    expect(existsSync(file)).toBe(false);

    const edited = claim(file, 'A=1\n');
    writeFileSync(file, 'A=2\n');
    edited.remove();
    expect(readFileSync(file, 'utf8')).toBe('A=2\n');

    const other = path.join(dir(), 'demo.env');
    const replaced = claim(other, 'A=1\n');
    const copy = `${other}.copy`;
    writeFileSync(copy, 'A=1\n');
    renameSync(copy, other);
    replaced.remove();
    expect(readFileSync(other, 'utf8')).toBe('A=1\n');
  });

  it('write() replaces the content of the file it created, and remove() then deletes it', () => {
    const file = path.join(dir(), 'demo.env');
    const claimed = claim(file, '# starting\n');
    claimed.write('A=1\n');
    expect(readFileSync(file, 'utf8')).toBe('A=1\n');
    claimed.remove();
    expect(existsSync(file)).toBe(false);
  });

  it.each([
    ['a project .env', 'SENDMUX_API_KEY_SECRET_ID=prod/key\n'],
    ['an empty file', ''],
    ['a file that only mentions the demo later on', `# mine\n# ${envFileMarker(1)}\n`],
  ])('never writes over or deletes a file it did not create (%s), and names the option', (_name, content) => {
    const file = path.join(dir(), '.env');
    writeFileSync(file, content);
    expect(() => claim(file, 'A=1\n')).toThrow(DemoEnvFileError);
    expect(() => claim(file, 'A=1\n')).toThrow(/the file exists and was not written by rotator demo.*--cli-env-file/);
    expect(readFileSync(file, 'utf8')).toBe(content);
  });

  it('refuses a directory or a symbolic link in place of the file', () => {
    const base = dir();
    expect(() => claim(base, 'A=1\n')).toThrow(/not written by rotator demo/);
    const target = path.join(base, 'target');
    writeFileSync(target, formatEnvFile([envFileMarker(4242)], { A: '1' }));
    const link = path.join(base, 'link.env');
    symlinkSync(target, link);
    expect(() => claim(link, 'B=2\n', () => false)).toThrow(/not written by rotator demo/);
    expect(readFileSync(target, 'utf8')).toContain('A=1');
  });

  it('refuses the env file of a demo that is still running, naming its pid, and leaves it alone', () => {
    const file = path.join(dir(), '.rotator-demo.env');
    const live = formatEnvFile([envFileMarker(4242)], { A: '1' });
    writeFileSync(file, live);
    expect(() => claim(file, 'B=2\n', (pid) => pid === 4242)).toThrow(/another rotator demo \(pid 4242\) is running and uses this file.*--cli-env-file/);
    expect(readFileSync(file, 'utf8')).toBe(live);
  });

  it('replaces the env file of a demo that no longer runs, and says whose it was', () => {
    const file = path.join(dir(), '.rotator-demo.env');
    writeFileSync(file, formatEnvFile([envFileMarker(4242)], { A: '1' }));
    const claimed = claim(file, 'B=2\n', () => false);
    expect(claimed.replacedStalePid).toBe(4242);
    expect(readFileSync(file, 'utf8')).toBe('B=2\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses a path whose directory does not exist or is not writable, creating nothing', () => {
    expect(() => claim('/nonexistent/dir/x.env', 'A=1\n')).toThrow(/--cli-env-file \/nonexistent\/dir\/x\.env: the directory \/nonexistent\/dir does not exist/);
    const readOnly = dir();
    chmodSync(readOnly, 0o500);
    try {
      if (process.getuid?.() !== 0) expect(() => claim(path.join(readOnly, 'x.env'), 'A=1\n')).toThrow(/is not writable by this user/);
    } finally {
      chmodSync(readOnly, 0o700);
    }
  });

  it('counts a writer pid as a running demo only while that process runs with a `demo` argument (not a reused pid)', async () => {
    expect(demoProcessRuns(process.pid)).toBe(false);
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', 'demo'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => child.once('spawn', resolve));
      expect(demoProcessRuns(child.pid!)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((resolve) => child.once('exit', resolve));
    expect(demoProcessRuns(child.pid!)).toBe(false);
  });
});
