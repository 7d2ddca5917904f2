import { Redis, type RedisOptions } from 'ioredis';

export type RedisPurpose = 'worker' | 'producer';

/**
 * ioredis connections with the options BullMQ needs. Workers block on Redis and must never give
 * up a command (`maxRetriesPerRequest: null`, a BullMQ requirement); producers (HTTP API, CLI,
 * scheduler) should fail a call quickly when Redis is down so the caller gets an error.
 */
export function createRedisConnection(url: string, purpose: RedisPurpose, extra: RedisOptions = {}): Redis {
  const options: RedisOptions = {
    maxRetriesPerRequest: purpose === 'worker' ? null : 2,
    enableReadyCheck: true,
    connectionName: `rotator-${purpose}`,
    // Reconnect forever with a capped delay: a Redis restart must not kill a long-running service.
    retryStrategy: (times) => Math.min(200 * times, 5_000),
    ...extra,
  };
  return new Redis(url, options);
}

/** Hides the password of a redis:// URL for logs and error messages. */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '****';
    return parsed.toString();
  } catch {
    return '(unparseable REDIS_URL)';
  }
}
