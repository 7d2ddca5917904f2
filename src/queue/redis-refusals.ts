import { isRedisConnectionError } from './redis-outage-log';

/**
 * Why Redis could not take a write, for an answer or a retry decision:
 * - `redis_out_of_memory`: Redis is at `maxmemory` with `maxmemory-policy noeviction` and refuses
 *   writes ("OOM command not allowed when used memory > 'maxmemory'", Redis docs: key eviction);
 * - `redis_unavailable`: it cannot be reached, is loading its data set, is a read-only replica
 *   after a failover, or its cluster is down (the client's retries ran out).
 * Both heal by themselves or by an operator freeing memory; neither is the request's fault.
 */
export interface RedisRefusal {
  code: 'redis_out_of_memory' | 'redis_unavailable';
  /** One line, safe to show: Redis error texts carry no data. */
  reason: string;
}

const OUT_OF_MEMORY = /\bOOM command not allowed\b/;
const SERVER_SIDE_UNAVAILABLE = /\b(MASTERDOWN|TRYAGAIN|NOREPLICAS|BUSY)\b/;

/** The refusal `err` stands for, or undefined when it is no Redis availability problem. */
export function redisRefusalOf(err: unknown): RedisRefusal | undefined {
  const message = typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string'
    ? ((err as { message: string }).message.split('\n')[0] ?? '')
    : String(err);
  if (OUT_OF_MEMORY.test(message)) return { code: 'redis_out_of_memory', reason: message.trim() };
  if (isRedisConnectionError(err) || SERVER_SIDE_UNAVAILABLE.test(message)) return { code: 'redis_unavailable', reason: message.trim() };
  return undefined;
}
