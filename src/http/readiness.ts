import { pingRedis, type RedisClient } from '../queue/redis-connection';
import { withDeadline } from '../shared/deadline';
import { errorText } from '../logging/error-summary';

export const READINESS_PING_TIMEOUT_MS = 1_000;

export type RedisCheck = { ok: true } | { ok: false; reason: string };

/**
 * Whether Redis answers PING within `timeoutMs` (every master, in a cluster: see pingRedis). A
 * connection that is not `ready` fails at once: ioredis would otherwise park the PING in its
 * offline queue until it reconnects.
 */
export async function checkRedis(redis: RedisClient, timeoutMs = READINESS_PING_TIMEOUT_MS): Promise<RedisCheck> {
  if (redis.status !== 'ready') return { ok: false, reason: `connection is ${redis.status}` };
  const pinged = pingRedis(redis).then(
    (answer): RedisCheck => (answer === 'PONG' ? { ok: true } : { ok: false, reason: `PING answered ${JSON.stringify(answer).slice(0, 40)}` }),
    (err: unknown): RedisCheck => ({ ok: false, reason: `PING failed: ${errorText(err)}`.slice(0, 200) }),
  );
  return withDeadline(pinged, timeoutMs, () => new Error('timeout')).catch((): RedisCheck => ({ ok: false, reason: `PING got no answer within ${timeoutMs}ms` }));
}
