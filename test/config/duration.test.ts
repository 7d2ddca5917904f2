import { ConfigError, parseDuration } from '../../src/config';

describe('parseDuration', () => {
  it.each([
    ['24h', 86_400_000],
    ['30m', 1_800_000],
    ['0s', 0],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['250ms', 250],
    ['1.5h', 5_400_000],
    [' 15m ', 900_000],
  ])('reads %j as %d milliseconds', (text, expected) => {
    expect(parseDuration('field', text, { allowNever: false })).toBe(expected);
  });

  it('reads "never" as null where never is allowed', () => {
    expect(parseDuration('revokePreviousAfter', 'never', { allowNever: true })).toBeNull();
  });

  it.each([
    ['never', 'where never is not allowed'],
    ['24 hours', 'in long form'],
    ['100', 'without a unit'],
    ['-1h', 'when negative'],
    ['5M', 'with an upper-case unit'],
    ['1y', 'in years (their length is ambiguous)'],
    ['0.1ms', 'below one millisecond'],
    ['abc', 'that is not a duration'],
    ['', 'that is empty'],
    ['NaNs', 'that is NaN'],
    ['99999999999999999999d', 'beyond the safe integer range'],
  ])('rejects %j %s', (text) => {
    expect(() => parseDuration('minRotationInterval', text, { allowNever: false })).toThrow(ConfigError);
  });

  it('names the field, the value and the accepted forms when it rejects', () => {
    let caught: unknown;
    try {
      parseDuration('revokePreviousAfter', '24 hours', { allowNever: true });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).message).toContain(
      'revokePreviousAfter: got "24 hours" — expected a duration like "24h", "30m", "0s", or "never"',
    );
  });
});
