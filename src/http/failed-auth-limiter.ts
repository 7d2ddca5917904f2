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
 * Counts failed authentications per client address with rate-limiter-flexible: in Redis
 * (RateLimiterRedis, one key per address, expiring with its window) so every replica refuses an
 * address that failed on any of them; with an in-memory limiter as insurance when Redis is not
 * ready or does not answer within FAILED_AUTH_REDIS_DEADLINE_MS, so an outage neither lets a
 * brute force run unbounded nor holds requests. Only failures are counted: a valid token is never
 * charged, but an address that is limited is refused before its token is looked at.
 */
export class FailedAuthLimiter {
  readonly max: number;
  readonly windowMs: number;
  private readonly store: RateLimiterAbstract;
  private readonly insurance: RateLimiterMemory;

  constructor(options: FailedAuthLimiterOptions) {
    this.max = options.max ?? DEFAULT_FAILED_AUTH_MAX;
    const seconds = Math.max(1, Math.ceil((options.windowMs ?? DEFAULT_FAILED_AUTH_WINDOW_MS) / 1000));
    this.windowMs = seconds * 1000;
    this.insurance = new RateLimiterMemory({ keyPrefix: options.keyPrefix, points: this.max, duration: seconds });
    this.store = options.redis
      ? new RateLimiterRedis({
          storeClient: options.redis,
          keyPrefix: options.keyPrefix,
          points: this.max,
          duration: seconds,
          rejectIfRedisNotReady: true,
          insuranceLimiter: this.insurance,
        })
      : this.insurance;
  }

  /** Whether `address` has used up its failures for the current window (then refuse it, 429). */
  async check(address: string): Promise<LimitVerdict> {
    const state = await this.call((limiter) => limiter.get(address));
    if (state === null || state.consumedPoints < this.max) return { limited: false };
    return { limited: true, retryAfterMs: Math.max(1, state.msBeforeNext) };
  }

  /** Counts one failure of `address`. Never rejects. */
  async recordFailure(address: string): Promise<FailureRecord> {
    const state = await this.call((limiter) => limiter.consume(address).catch((rejection: unknown) => {
      // consume rejects with the state itself once the allowance is used up; anything else is a store error.
      if (rejection instanceof RateLimiterRes) return rejection;
      throw rejection;
    }));
    const failures = state?.consumedPoints ?? 1;
    return { failures, reachedLimit: failures === this.max, resetsInMs: state?.msBeforeNext ?? this.windowMs };
  }

  /** The Redis limiter's answer, else (error or no answer in time) the in-memory one's. */
  private async call<T>(work: (limiter: RateLimiterAbstract) => Promise<T>): Promise<T | null> {
    try {
      return await withDeadline(work(this.store), FAILED_AUTH_REDIS_DEADLINE_MS, () => new Error('the failed-authentication count in Redis did not answer'));
    } catch {
      try {
        return await work(this.insurance);
      } catch {
        return null;
      }
    }
  }
}
