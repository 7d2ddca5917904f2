import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadSettings, resolveConfigPath } from '../../src/config';
import { MINIMAL_YAML, VALID_ENV } from './fixtures';

describe('loading the configuration file', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'rotator-config-'));
    mkdirSync(path.join(dir, 'config'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (relative: string, text: string): string => {
    const file = path.join(dir, relative);
    writeFileSync(file, text);
    return file;
  };

  it('falls back to config/rotator.example.yaml when config/rotator.yaml is absent', () => {
    const example = write('config/rotator.example.yaml', MINIMAL_YAML);
    expect(resolveConfigPath({ env: {}, cwd: dir }).path).toBe(example);
  });

  it('prefers config/rotator.yaml when it exists', () => {
    write('config/rotator.example.yaml', MINIMAL_YAML);
    const own = write('config/rotator.yaml', MINIMAL_YAML);
    expect(resolveConfigPath({ env: {}, cwd: dir }).path).toBe(own);
  });

  it('prefers ROTATOR_CONFIG over the default files, resolved against cwd', () => {
    write('config/rotator.yaml', MINIMAL_YAML);
    expect(resolveConfigPath({ env: { ROTATOR_CONFIG: 'elsewhere.yaml' }, cwd: dir })).toEqual({ path: path.join(dir, 'elsewhere.yaml'), origin: 'env' });
  });

  it('prefers an explicit path over ROTATOR_CONFIG', () => {
    expect(resolveConfigPath({ env: { ROTATOR_CONFIG: 'elsewhere.yaml' }, configPath: 'mine.yaml', cwd: dir })).toEqual({
      path: path.join(dir, 'mine.yaml'),
      origin: 'option',
    });
  });

  it('reads and validates the resolved file', () => {
    const file = write('config/custom.yaml', 'mailboxes: [mbx_1]\nschedule: "0 1 * * *"\n');
    const settings = loadSettings({ env: VALID_ENV, configPath: 'config/custom.yaml', cwd: dir });
    expect(settings.file.mailboxes).toEqual(['mbx_1']);
    expect(settings.env.configPath).toBe(file);
  });

  it('reports a missing file together with the environment problems', () => {
    let caught: unknown;
    try {
      loadSettings({ env: {}, configPath: 'missing.yaml', cwd: dir });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.problems.map((problem) => problem.field)).toEqual(['config file', 'SENDMUX_API_KEY']);
    expect(error.problems[0]?.expected).toContain('not found');
    expect(error.configPath).toBe(path.join(dir, 'missing.yaml'));
  });

  it('blames ROTATOR_CONFIG when the file it names is missing', () => {
    expect(() => loadSettings({ env: { ...VALID_ENV, ROTATOR_CONFIG: 'nope.yaml' }, cwd: dir })).toThrow(/env ROTATOR_CONFIG: got ".*nope\.yaml"/);
  });
});
