import type { SandboxClock, SandboxRateLimit } from './types';

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Unix seconds at which the current window ends (the X-RateLimit-Reset value). */
  resetAtSeconds: number;
  /** Whole seconds until the window ends, at least 1 (the Retry-After value). */
  retryAfterSeconds: number;
}

/**
 * Fixed windows of `windowMs` aligned to the epoch, one counter per management key — the
 * vendor's "600 requests per 60 seconds per key". Windows follow the injectable clock.
 */
export class FixedWindowRateLimiter {
  private readonly windows = new Map<string, { windowStartMs: number; count: number }>();

  constructor(
    private readonly clock: SandboxClock,
    private config: SandboxRateLimit | null,
  ) {
    assertRateLimit(config);
  }

  get current(): SandboxRateLimit | null {
    return this.config;
  }

  /** Changing the limit starts every key on a fresh window. */
  reconfigure(config: SandboxRateLimit | null): void {
    assertRateLimit(config);
    this.config = config;
    this.windows.clear();
  }

  /** Counts one request for `subject`; undefined when the sandbox is unlimited. */
  consume(subject: string): RateLimitDecision | undefined {
    if (!this.config) return undefined;
    const { max, windowMs } = this.config;
    const now = this.clock.now();
    const windowStartMs = Math.floor(now / windowMs) * windowMs;
    let window = this.windows.get(subject);
    if (!window || window.windowStartMs !== windowStartMs) {
      window = { windowStartMs, count: 0 };
      this.windows.set(subject, window);
    }
    window.count += 1;
    const resetAtMs = windowStartMs + windowMs;
    return {
      allowed: window.count <= max,
      limit: max,
      remaining: Math.max(0, max - window.count),
      resetAtSeconds: Math.ceil(resetAtMs / 1000),
      retryAfterSeconds: Math.max(1, Math.ceil((resetAtMs - now) / 1000)),
    };
  }
}

function assertRateLimit(config: SandboxRateLimit | null): void {
  if (config === null) return;
  if (!Number.isInteger(config.max) || config.max < 1) {
    throw new RangeError(`rateLimit.max must be an integer >= 1, got ${String(config.max)}`);
  }
  if (!Number.isFinite(config.windowMs) || config.windowMs < 1) {
    throw new RangeError(`rateLimit.windowMs must be a number of milliseconds >= 1, got ${String(config.windowMs)}`);
  }
}
