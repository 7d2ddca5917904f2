/**
 * The one reader of delays a server hands us (Sendmux, Secrets Manager, an alert webhook).
 * A server may ask us to wait; it may not stop the rotator: every delay is bounded by
 * `rotation.backoffMaxDelay`, and anything that is not a sane duration is ignored (the caller
 * then uses its own backoff).
 */

/** `rotation.backoffMaxDelay`'s default (5 minutes), for callers built without settings. */
export const DEFAULT_MAX_SERVER_DELAY_MS = 5 * 60_000;

export interface ServerDelayBounds {
  /** Upper bound in ms (`rotation.backoffMaxDelay`); a longer delay is cut to it. */
  maxMs: number;
  /** Unix ms that an HTTP-date is measured from. Default Date.now(). */
  nowMs?: number;
}

const DELTA_SECONDS = /^\d+$/;
// RFC 9110 §5.6.7: IMF-fixdate is what servers must send; rfc850 and asctime are the obsolete
// forms a recipient must still accept. Date.parse alone would also take ISO strings, signed
// numbers and local times, which the RFC does not allow.
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC850_DATE = /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * Clamps a delay in ms to `[0, maxMs]`, rounded to whole ms. Returns undefined for anything that
 * is not a finite, non-negative number (NaN, ±Infinity, negative, a non-number): the caller falls
 * back to its own backoff rather than trusting it.
 */
export function clampServerDelay(ms: unknown, maxMs: number): number | undefined {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return undefined;
  return Math.min(Math.round(ms), boundOf(maxMs));
}

/**
 * RFC 9110 §10.2.3 `Retry-After` as ms to wait, clamped to `bounds.maxMs`: delta-seconds
 * (`120`) or an HTTP-date (`Fri, 01 Jan 2100 00:00:00 GMT`, measured from `bounds.nowMs`; a date
 * in the past means 0). Undefined when absent, empty, unparseable (`-5`, `1.5`, `soon`, an ISO
 * date) or non-finite (a delta-seconds too long to be a number).
 */
export function parseRetryAfter(value: string | null | undefined, bounds: ServerDelayBounds): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (DELTA_SECONDS.test(text)) return clampServerDelay(Number(text) * 1000, bounds.maxMs);
  const at = parseHttpDate(text);
  if (at === undefined) return undefined;
  return clampServerDelay(Math.max(0, at - (bounds.nowMs ?? Date.now())), bounds.maxMs);
}

/**
 * The delay an AWS error answer asks for, clamped to `bounds.maxMs`: a standard `Retry-After`
 * header first, else `x-amz-retry-after` (milliseconds, sent by some AWS services; the SDK's
 * own retry strategy reads both). Header names are matched case-insensitively.
 */
export function parseAwsThrottlingHint(
  headers: Record<string, unknown> | undefined,
  bounds: ServerDelayBounds,
): number | undefined {
  if (!headers) return undefined;
  const retryAfter = parseRetryAfter(headerValue(headers, 'retry-after'), bounds);
  if (retryAfter !== undefined) return retryAfter;
  const amzMs = headerValue(headers, 'x-amz-retry-after')?.trim();
  if (amzMs === undefined || !DELTA_SECONDS.test(amzMs)) return undefined;
  return clampServerDelay(Number(amzMs), bounds.maxMs);
}

function headerValue(headers: Record<string, unknown>, name: string): string | undefined {
  const value = Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  return typeof value === 'string' ? value : undefined;
}

function parseHttpDate(text: string): number | undefined {
  let candidate: string;
  if (IMF_FIXDATE.test(text) || RFC850_DATE.test(text)) candidate = text;
  // asctime carries no zone; RFC 9110 says it is UTC.
  else if (ASCTIME_DATE.test(text)) candidate = `${text} GMT`;
  else return undefined;
  const at = Date.parse(candidate);
  return Number.isFinite(at) ? at : undefined;
}

function boundOf(maxMs: number): number {
  if (!Number.isFinite(maxMs) || maxMs < 0) throw new RangeError(`maximum server delay must be a finite, non-negative number of ms (got ${maxMs})`);
  return maxMs;
}
