import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RedisClient } from '../queue/redis-connection';
import { withDeadline } from '../shared/deadline';

/** Defaults of `api.failedAuth`: 10 wrong or missing credentials per client address per minute. */
export const DEFAULT_FAILED_AUTH_MAX = 10;
export const DEFAULT_FAILED_AUTH_WINDOW_MS = 60_000;
/** A limiter call waits at most this on Redis, then the process's own in-memory count decides. */
export const FAILED_AUTH_REDIS_DEADLINE_MS = 500;

export interface FailedAuthLimiterOptions {
  /** Where the counts live, shared by every replica; absent: in this process only (tests, loopback use). */
  redis?: RedisClient;
  /** Redis key prefix, e.g. `rotator:auth-failures` (the queue prefix keeps deployments apart). */
  keyPrefix: string;
  /** Failures allowed per address per window; every request from it after that, until the window ends, is answered 429. */
  max?: number;
  /** Fixed window, in ms, counted from an address's first failure; rounded up to whole seconds (Redis EX). */
  windowMs?: number;
}

export type LimitVerdict = { limited: false } | { limited: true; retryAfterMs: number };
export interface FailureRecord {
  /** Failures of this address in the current window, this one included. */
  failures: number;
  /** True for the failure that used up the allowance: the moment to log at warn. */
  reachedLimit: boolean;
  /** When the window ends, in ms from now. */
  resetsInMs: number;
}

/**
 * Counts failed authentications per client address with rate-limiter-flexible, twice: in Redis
 * (RateLimiterRedis, one key per address, expiring with its window) so every replica refuses an
 * address that failed on any of them, and in this process (RateLimiterMemory), so a Redis that is
 * not ready, fails or does not answer within FAILED_AUTH_REDIS_DEADLINE_MS neither lets a brute
 * force run unbounded nor holds requests. An address is limited when either count has reached the
 * allowance. Only failures are counted: a valid token is never charged, but an address that is
 * limited is refused before its token is looked at.
 */
export class FailedAuthLimiter {
  readonly max: number;
  readonly windowMs: number;
  private readonly shared: RateLimiterRedis | undefined;
  private readonly local: RateLimiterMemory;

  constructor(options: FailedAuthLimiterOptions) {
    this.max = options.max ?? DEFAULT_FAILED_AUTH_MAX;
    const seconds = Math.max(1, Math.ceil((options.windowMs ?? DEFAULT_FAILED_AUTH_WINDOW_MS) / 1000));
    this.windowMs = seconds * 1000;
    this.local = new RateLimiterMemory({ keyPrefix: options.keyPrefix, points: this.max, duration: seconds });
    this.shared = options.redis
      ? new RateLimiterRedis({ storeClient: options.redis, keyPrefix: options.keyPrefix, points: this.max, duration: seconds, rejectIfRedisNotReady: true })
      : undefined;
  }

  /** Whether `address` has used up its failures for the current window (then refuse it, 429). Never rejects. */
  async check(address: string): Promise<LimitVerdict> {
    const states = await this.both((limiter) => limiter.get(address));
    const limiting = states.filter((state) => state.consumedPoints >= this.max);
    if (limiting.length === 0) return { limited: false };
    return { limited: true, retryAfterMs: Math.max(1, ...limiting.map((state) => state.msBeforeNext)) };
  }

  /** Counts one failure of `address`. Never rejects. */
  async recordFailure(address: string): Promise<FailureRecord> {
    const states = await this.both((limiter) =>
      limiter.consume(address).catch((rejection: unknown) => {
        // consume rejects with the state itself once the allowance is used up; anything else is a store error.
        if (rejection instanceof RateLimiterRes) return rejection;
        throw rejection;
      }),
    );
    const failures = Math.max(1, ...states.map((state) => state.consumedPoints));
    const resetsInMs = Math.max(0, ...states.map((state) => state.msBeforeNext));
    return { failures, reachedLimit: failures === this.max, resetsInMs: resetsInMs || this.windowMs };
  }

  /** The answers of the local count and, when it answers in time, the shared one. */
  private async both(work: (limiter: RateLimiterAbstract) => Promise<RateLimiterRes | null>): Promise<RateLimiterRes[]> {
    const shared = this.shared
      ? withDeadline(work(this.shared), FAILED_AUTH_REDIS_DEADLINE_MS, () => new Error('the failed-authentication count in Redis did not answer')).catch(() => null)
      : Promise.resolve(null);
    const local = work(this.local).catch(() => null);
    return (await Promise.all([shared, local])).filter((state): state is RateLimiterRes => state !== null);
  }
}
