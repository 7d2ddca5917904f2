import { matchesEmailGlob } from '../../src/scheduler/email-glob';

describe('matchesEmailGlob', () => {
  it('lets * match any run of characters, including none', () => {
    expect(matchesEmailGlob('*@sales.example.com', 'alice@sales.example.com')).toBe(true);
    expect(matchesEmailGlob('*@sales.example.com', '@sales.example.com')).toBe(true);
    expect(matchesEmailGlob('ops-*@example.com', 'ops-eu-west@example.com')).toBe(true);
  });

  it('lets ? match exactly one character', () => {
    expect(matchesEmailGlob('desk-?@example.com', 'desk-7@example.com')).toBe(true);
    expect(matchesEmailGlob('desk-?@example.com', 'desk-17@example.com')).toBe(false);
    expect(matchesEmailGlob('desk-?@example.com', 'desk-@example.com')).toBe(false);
  });

  it('ignores case on both sides', () => {
    expect(matchesEmailGlob('*@Sales.Example.COM', 'Bob@SALES.example.com')).toBe(true);
  });

  it('matches the whole address, not a part of it', () => {
    expect(matchesEmailGlob('*@example.com', 'a@example.com.evil.test')).toBe(false);
    expect(matchesEmailGlob('a@example.com', 'xa@example.com')).toBe(false);
  });

  it('treats regular-expression characters literally', () => {
    expect(matchesEmailGlob('a.b+c@example.com', 'a.b+c@example.com')).toBe(true);
    expect(matchesEmailGlob('a.b+c@example.com', 'aXb+c@example.com')).toBe(false);
    expect(matchesEmailGlob('(x)|[y]@example.com', '(x)|[y]@example.com')).toBe(true);
  });

  it('answers quickly for a pattern that makes a backtracking RegExp explode', () => {
    const glob = `${'*a'.repeat(20)}*b`;
    const email = `${'a'.repeat(300)}@example.com`;
    const started = performance.now();
    expect(matchesEmailGlob(glob, email)).toBe(false);
    expect(performance.now() - started).toBeLessThan(200);
  });
});
