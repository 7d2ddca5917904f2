import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { parseSettings } from '../../src/config';
import { MINIMAL_YAML, VALID_ENV } from './fixtures';

const EXAMPLE_PATH = path.resolve(__dirname, '../../config/rotator.example.yaml');
const exampleText = readFileSync(EXAMPLE_PATH, 'utf8');

describe('config/rotator.example.yaml', () => {
  it('is a valid configuration', () => {
    expect(() => parseSettings(exampleText, VALID_ENV, EXAMPLE_PATH)).not.toThrow();
  });

  it('rotates all mailboxes weekly in UTC', () => {
    const { file } = parseSettings(exampleText, VALID_ENV, EXAMPLE_PATH);
    expect(file).toMatchObject({ mailboxes: 'all', schedule: '0 3 * * 1', timezone: 'UTC' });
  });

  it('writes out exactly the defaults for every optional setting', () => {
    const example = parseSettings(exampleText, VALID_ENV, EXAMPLE_PATH).file;
    const defaults = parseSettings(MINIMAL_YAML, VALID_ENV, EXAMPLE_PATH).file;
    expect(example).toEqual(defaults);
  });

  it('mentions every top-level setting, set or commented', () => {
    const keys = ['mailboxes', 'schedule', 'timezone', 'secretName', 'revokePreviousAfter', 'minRotationInterval', 'maxKeyAge', 'reconcileInterval', 'kmsKeyId', 'tags', 'groups', 'rotation', 'rateLimit', 'sendmux', 'retention', 'alerts'];
    for (const key of keys) expect(exampleText).toMatch(new RegExp(`^#? ?${key}:`, 'm'));
  });

  it('has no YAML warnings', () => {
    expect(parseDocument(exampleText).warnings).toEqual([]);
  });
});
