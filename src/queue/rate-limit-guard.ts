import type { Logger } from 'pino';
import type { SendmuxCallRecord } from '../sendmux/types';

export interface RateLimitGuardOptions {
  /** Stops every worker of the queue, on every replica, for `ms` (BullMQ's queue-wide limiter key). */
  pauseQueueFor(ms: number): Promise<void>;
  logger: Logger;
  /**
   * Share of the key's per-window limit left for management requests already on their way when
   * the guard acts (jobs past their look-up step, requests in flight). Default 0.01 (6 of 600).
   */
  reserveFraction?: number;
  /** Unix ms; the guard compares it with X-RateLimit-Reset. */
  now?: () => number;
}

/** Reset times further away than this are not believed (a broken header must not stop the queue for long). */
const MAX_PAUSE_MS = 5 * 60_000;
/** GET /mailbox/me is authenticated with the mailbox key: it does not spend the management key's budget. */
const UNMETERED: ReadonlySet<SendmuxCallRecord['operation']> = new Set(['getMailboxMe']);

/**
 * Paces the queue with the management key's own counters, before a 429 happens. The BullMQ
 * limiter spaces jobs out, but it counts jobs in windows that start at its first job, while
 * Sendmux counts requests in fixed windows aligned to the clock, shared with anything else using
 * the key (the scheduler's GET /mailboxes, another replica with another limiter, an operator).
 * When a response says that only the reserve is left in the current window, the guard pauses the
 * whole queue until X-RateLimit-Reset, once per window.
 */
export class RateLimitGuard {
  private readonly reserveFraction: number;
  private readonly now: () => number;
  private pausedUntilMs = 0;

  constructor(private readonly opts: RateLimitGuardOptions) {
    const fraction = opts.reserveFraction ?? 0.01;
    if (!(fraction >= 0 && fraction < 1)) {
      throw new RangeError(`RateLimitGuard reserveFraction must be at least 0 and below 1, got ${fraction}`);
    }
    this.reserveFraction = fraction;
    this.now = opts.now ?? Date.now;
  }

  /** Hook for SendmuxClient's onCall: never throws, never delays the call it observes. */
  observe(record: SendmuxCallRecord): void {
    if (UNMETERED.has(record.operation)) return;
    const { limit, remaining, resetAtSeconds } = record.rateLimit;
    if (remaining === undefined || resetAtSeconds === undefined) return;
    const reserve = limit === undefined ? 0 : Math.floor(limit * this.reserveFraction);
    if (remaining > reserve) return;
    const now = this.now();
    const resetAtMs = resetAtSeconds * 1000;
    if (resetAtMs <= this.pausedUntilMs || resetAtMs <= now) return;
    const pauseMs = Math.min(resetAtMs - now, MAX_PAUSE_MS);
    this.pausedUntilMs = resetAtMs;
    this.opts.logger.info(
      { operation: record.operation, rateLimitRemaining: remaining, rateLimitLimit: limit, reserve, pauseMs },
      `management key has ${remaining} request(s) left in this rate-limit window; pausing the queue ${pauseMs} ms until it resets`,
    );
    this.opts.pauseQueueFor(pauseMs).catch((err: unknown) => {
      // A failed pause only means the next request may meet a 429, which the jobs handle.
      this.pausedUntilMs = 0;
      this.opts.logger.warn({ err: { message: err instanceof Error ? err.message : String(err) } }, 'could not pause the queue before the rate-limit reset');
    });
  }
}
