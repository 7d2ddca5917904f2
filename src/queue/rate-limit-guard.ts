import type { Logger } from 'pino';
import type { SendmuxCallRecord } from '../sendmux/types';
import { DEFAULT_MAX_SERVER_DELAY_MS, clampServerDelay } from '../retry/server-delay';
import { errorSummary } from '../logging/error-summary';

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
  /**
   * Longest pause in ms (`rotation.backoffMaxDelay`): a reset time further away is not believed,
   * since a broken or hostile header must not stop the queue for long. Default 5 minutes.
   */
  maxPauseMs?: number;
}

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
  private readonly maxPauseMs: number;
  private pausedUntilMs = 0;

  constructor(private readonly opts: RateLimitGuardOptions) {
    const fraction = opts.reserveFraction ?? 0.01;
    if (!(fraction >= 0 && fraction < 1)) {
      throw new RangeError(`RateLimitGuard reserveFraction must be at least 0 and below 1, got ${fraction}`);
    }
    this.reserveFraction = fraction;
    this.now = opts.now ?? Date.now;
    this.maxPauseMs = opts.maxPauseMs ?? DEFAULT_MAX_SERVER_DELAY_MS;
  }

  /** Hook for SendmuxClient's onCall: never throws, never delays the call it observes. */
  observe(record: SendmuxCallRecord): void {
    if (UNMETERED.has(record.operation)) return;
    // A 429 is the job's to handle: it pauses the queue for the answer's (bounded) Retry-After,
    // which replaces any pause set here, so a pause until the window's reset would be misreported.
    if (record.status === 429) return;
    const { limit, remaining, resetAtSeconds } = record.rateLimit;
    if (remaining === undefined || resetAtSeconds === undefined) return;
    const reserve = limit === undefined ? 0 : Math.floor(limit * this.reserveFraction);
    if (remaining > reserve) return;
    const now = this.now();
    const resetAtMs = resetAtSeconds * 1000;
    // While a pause set here runs, responses already in flight must not extend it past the bound.
    if (now < this.pausedUntilMs || resetAtMs <= this.pausedUntilMs || resetAtMs <= now) return;
    const untilReset = resetAtMs - now;
    const pauseMs = clampServerDelay(untilReset, this.maxPauseMs) ?? 0;
    this.pausedUntilMs = now + pauseMs;
    const until = pauseMs < untilReset ? `for ${pauseMs} ms (the most rotation.backoffMaxDelay allows; the window resets in ${untilReset} ms)` : `${pauseMs} ms until it resets`;
    this.opts.pauseQueueFor(pauseMs).then(() => {
      // Logged once the pause is really set, with the duration that was set.
      this.opts.logger.info(
        { operation: record.operation, rateLimitRemaining: remaining, rateLimitLimit: limit, reserve, pauseMs },
        `management key has ${remaining} request(s) left in this rate-limit window; paused the queue ${until}`,
      );
    }, (err: unknown) => {
      // A failed pause only means the next request may meet a 429, which the jobs handle.
      this.pausedUntilMs = 0;
      this.opts.logger.warn({ err: errorSummary(err) }, 'could not pause the queue before the rate-limit reset');
    });
  }
}
