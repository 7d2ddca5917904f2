import ms from 'ms';
import { ConfigError } from './problems';

export type DurationCheck = { ok: true; ms: number | null } | { ok: false; expected: string };

export interface DurationOptions {
  /** Accept `never` (returned as `null`). */
  allowNever: boolean;
  /** Reject `0s` and other zero durations. */
  positive?: boolean;
}

/**
 * Only the compact form (`<number><unit>`) is accepted. `ms` alone would also take `24 hours`,
 * `5 M` or a bare `100` (milliseconds? seconds?), which reads differently to different people.
 */
const COMPACT_DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;

export function describeExpectedDuration(options: DurationOptions): string {
  const examples = options.positive ? '"24h", "30m", "5s"' : '"24h", "30m", "0s"';
  const zero = options.positive ? ' greater than zero' : '';
  return options.allowNever
    ? `a duration${zero} like ${examples}, or "never"`
    : `a duration${zero} like ${examples} (units: ms, s, m, h, d, w)`;
}

export function checkDuration(value: unknown, options: DurationOptions): DurationCheck {
  const expected = describeExpectedDuration(options);
  if (typeof value === 'number') {
    return { ok: false, expected: `${expected} — a bare number has no unit` };
  }
  if (typeof value !== 'string') return { ok: false, expected };
  const text = value.trim();
  if (options.allowNever && text === 'never') return { ok: true, ms: null };
  if (!COMPACT_DURATION.test(text)) return { ok: false, expected };
  const millis = ms(text as ms.StringValue);
  if (!Number.isFinite(millis) || millis < 0) return { ok: false, expected };
  if (!Number.isSafeInteger(millis)) {
    return { ok: false, expected: `${expected}, a whole number of milliseconds no larger than ${Number.MAX_SAFE_INTEGER}` };
  }
  if (options.positive && millis === 0) return { ok: false, expected };
  return { ok: true, ms: millis };
}

/**
 * Parses `'24h'`, `'30m'`, `'0s'`, `'7d'` (and `'never'` when allowed) to milliseconds.
 * Throws a ConfigError naming `field` when the text is not such a duration.
 */
export function parseDuration(field: string, text: string, options: { allowNever: boolean }): number | null {
  const result = checkDuration(text, options);
  if (!result.ok) {
    throw new ConfigError([{ field, value: text, expected: result.expected, source: 'file' }]);
  }
  return result.ms;
}
