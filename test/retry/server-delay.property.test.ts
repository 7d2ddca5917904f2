import fc from 'fast-check';
import { clampServerDelay, parseAwsThrottlingHint, parseRetryAfter } from '../../src/retry/server-delay';

const MAX_MS = 300_000;
const NOW_MS = Date.UTC(2026, 10, 29, 12, 0, 0);
const bounds = { maxMs: MAX_MS, nowMs: NOW_MS };

describe('parseRetryAfter (RFC 9110 Retry-After)', () => {
  it('never returns anything but undefined or a whole number of ms within [0, maxMs], whatever the header says', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^-?\d{0,500}(\.\d*)?$/), fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toUTCString()))), (header) => {
        const ms = parseRetryAfter(header, bounds);
        if (ms === undefined) return;
        expect(Number.isInteger(ms)).toBe(true);
        expect(ms).toBeGreaterThanOrEqual(0);
        expect(ms).toBeLessThanOrEqual(MAX_MS);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads delta-seconds within the bound exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_MS / 1000 }), (seconds) => {
        expect(parseRetryAfter(String(seconds), bounds)).toBe(seconds * 1000);
        expect(parseRetryAfter(` ${seconds} `, bounds)).toBe(seconds * 1000);
      }),
    );
  });

  it('cuts any longer delta-seconds to maxMs', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: BigInt(MAX_MS / 1000 + 1), max: 10n ** 300n }), (seconds) => {
        expect(parseRetryAfter(seconds.toString(), bounds)).toBe(MAX_MS);
      }),
    );
    expect(parseRetryAfter('1000000000', bounds)).toBe(MAX_MS);
  });

  it('ignores a delta-seconds too long to be a finite number (400 nines)', () => {
    expect(parseRetryAfter('9'.repeat(400), bounds)).toBeUndefined();
  });

  it('ignores negative, fractional, signed and non-numeric values', () => {
    for (const header of ['-5', '-0.5', '1.5', '+3', '1e3', 'soon', 'NaN', 'Infinity', '0x10', '', '   ']) {
      expect(parseRetryAfter(header, bounds)).toBeUndefined();
    }
    expect(parseRetryAfter(null, bounds)).toBeUndefined();
    expect(parseRetryAfter(undefined, bounds)).toBeUndefined();
  });

  it('measures an HTTP-date from the injected now, clamped, and treats a past date as 0', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10 * 365 * 86_400, max: 100 * 365 * 86_400 }), (offsetSeconds) => {
        const header = new Date(NOW_MS + offsetSeconds * 1000).toUTCString();
        expect(parseRetryAfter(header, bounds)).toBe(Math.min(Math.max(0, offsetSeconds * 1000), MAX_MS));
      }),
    );
    expect(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', bounds)).toBe(MAX_MS);
  });

  it('accepts the obsolete rfc850 and asctime date forms RFC 9110 requires recipients to read', () => {
    expect(parseRetryAfter('Sunday, 29-Nov-26 12:00:07 GMT', bounds)).toBe(7000);
    expect(parseRetryAfter('Sun Nov 29 12:00:09 2026', bounds)).toBe(9000);
  });

  it('refuses date forms RFC 9110 does not allow (ISO 8601, a zone other than GMT)', () => {
    expect(parseRetryAfter('2026-11-29T12:00:09Z', bounds)).toBeUndefined();
    expect(parseRetryAfter('Sun, 29 Nov 2026 12:00:09 +0100', bounds)).toBeUndefined();
  });
});

describe('clampServerDelay', () => {
  it('keeps finite non-negative values within [0, maxMs] and drops everything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.integer(), fc.constantFrom(Infinity, -Infinity, NaN, -1)), (ms) => {
        const clamped = clampServerDelay(ms, MAX_MS);
        if (!Number.isFinite(ms) || ms < 0) expect(clamped).toBeUndefined();
        else expect(clamped).toBe(Math.min(Math.round(ms), MAX_MS));
      }),
    );
    expect(clampServerDelay('5', MAX_MS)).toBeUndefined();
  });
});

describe('parseAwsThrottlingHint', () => {
  it('prefers Retry-After (any header case) and falls back to x-amz-retry-after in ms, both clamped', () => {
    expect(parseAwsThrottlingHint({ 'Retry-After': '2', 'x-amz-retry-after': '9000' }, bounds)).toBe(2000);
    expect(parseAwsThrottlingHint({ 'x-amz-retry-after': '1500' }, bounds)).toBe(1500);
    expect(parseAwsThrottlingHint({ 'x-amz-retry-after': '99999999999' }, bounds)).toBe(MAX_MS);
    expect(parseAwsThrottlingHint({ 'retry-after': '-1', 'x-amz-retry-after': 'later' }, bounds)).toBeUndefined();
    expect(parseAwsThrottlingHint(undefined, bounds)).toBeUndefined();
  });

  it('never returns anything outside [0, maxMs] for arbitrary header values', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (retryAfter, amz) => {
        const ms = parseAwsThrottlingHint({ 'retry-after': retryAfter, 'x-amz-retry-after': amz }, bounds);
        if (ms !== undefined) expect(ms >= 0 && ms <= MAX_MS).toBe(true);
      }),
    );
  });
});
