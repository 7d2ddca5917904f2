import type { Queue } from 'bullmq';

/**
 * An operator's resume wins over every stop: it lifts a BullMQ pause and a queue-wide
 * rate-limit pause (the limiter key a 429 or the rate-limit guard set). Deleting the key also
 * drops the limiter's count for the current window, so at most one window's worth of jobs more
 * may start at once. Workers asleep on the old pause look again within BullMQ's
 * `maximumRateLimitDelay`, which the rotation worker sets to 1 s (RATE_LIMIT_RECHECK_MS).
 */
export async function resumeProcessing(queue: Queue): Promise<void> {
  await queue.resume();
  await queue.removeRateLimitKey();
}

/**
 * Ms left on a queue-wide rate-limit pause (0 when none), so status can show it next to `paused`.
 * A pause (Queue.rateLimit, after a 429 or the X-RateLimit-Remaining guard) sets the limiter's
 * counter to Number.MAX_SAFE_INTEGER; asking BullMQ with that as the maximum counts only such a
 * pause, not the limiter's ordinary per-second pacing (whose key always has a TTL while jobs run).
 */
export async function rateLimitRemainingMs(queue: Pick<Queue, 'getRateLimitTtl'>): Promise<number> {
  const ttl = await queue.getRateLimitTtl(Number.MAX_SAFE_INTEGER);
  return ttl > 0 ? ttl : 0;
}
