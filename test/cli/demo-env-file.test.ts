import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatEnvFile, writeEnvFile } from '../../src/cli/demo/env-file';

const dir = () => mkdtempSync(path.join(tmpdir(), 'rotator-env-file-'));

describe('the demo’s env file', () => {
  it('is read back by `node --env-file` exactly, values with spaces or quotes included', () => {
    const variables = { REDIS_URL: 'redis://127.0.0.1:6390', ROTATOR_CONFIG: "/home/a user/it's \"demo\" #1\\new.yaml", EMPTY: '' };
    const file = path.join(dir(), 'demo.env');
    writeEnvFile(file, formatEnvFile(['a comment line'], variables));
    const seen = execFileSync(process.execPath, [`--env-file=${file}`, '-e', 'process.stdout.write(JSON.stringify([process.env.REDIS_URL, process.env.ROTATOR_CONFIG, process.env.EMPTY]))'], {
      env: { PATH: process.env.PATH },
    }).toString();
    expect(JSON.parse(seen)).toEqual([variables.REDIS_URL, variables.ROTATOR_CONFIG, '']);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses a value with a line break rather than write a file that means something else', () => {
    expect(() => formatEnvFile([], { A: 'x\nB=y' })).toThrow(/A holds a line break/);
  });

  it('remove() deletes the file it wrote, but not one another demo has since replaced', () => {
    const file = path.join(dir(), 'demo.env');
    writeEnvFile(file, 'A=1\n').remove();
    expect(existsSync(file)).toBe(false);

    const first = writeEnvFile(file, 'A=1\n');
    writeFileSync(file, 'A=2\n');
    first.remove();
    expect(readFileSync(file, 'utf8')).toBe('A=2\n');
  });
});
