import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { errorSummary, errorText, errorTextWithName } from '../../src/logging/error-summary';

const ROOT = path.resolve(__dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((name) => {
    const relative = path.join(dir, name);
    if (statSync(path.join(ROOT, relative)).isDirectory()) return sourceFiles(relative);
    return relative.endsWith('.ts') ? [relative] : [];
  });
}

/** An error becomes text one way: src/logging/error-summary.ts. */
describe('error to text', () => {
  it('gives the message of an Error, and the value itself of anything else', () => {
    expect(errorText(new TypeError('bad input'))).toBe('bad input');
    expect(errorText('plain string')).toBe('plain string');
    expect(errorText(undefined)).toBe('undefined');
    expect(errorSummary(new TypeError('bad input'))).toEqual({ name: 'TypeError', message: 'bad input' });
    expect(errorTextWithName(new RangeError('too far'))).toBe('RangeError: too far');
    expect(errorTextWithName(42)).toBe('42');
  });

  it('is not written again by hand anywhere in src/ or jobs/ (no inline instanceof-or-String, no hand-built err: { message })', () => {
    const handWritten = /instanceof Error \? [A-Za-z]+\.message : String\(|\berr: \{ (name: [^,]+, )?message:/;
    const offenders = [...sourceFiles('src'), ...sourceFiles('jobs')]
      .filter((file) => file !== 'src/logging/error-summary.ts')
      .filter((file) => handWritten.test(readFileSync(path.join(ROOT, file), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
