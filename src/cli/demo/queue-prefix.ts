import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The prefix a demo run uses, and whether the demo made it up (only then may it delete its keys). */
export interface DemoQueuePrefix {
  prefix: string;
  generated: boolean;
}

/**
 * ROTATOR_QUEUE_PREFIX when set; otherwise `rotator-demo-<6 hex>`, new for every run, so two demos
 * on one Redis never run each other's jobs, and a new run never meets an old run's delayed
 * revocations, history or finished job ids.
 */
export function demoQueuePrefix(configured: string | undefined, random: () => string = () => randomBytes(3).toString('hex')): DemoQueuePrefix {
  if (configured !== undefined && configured !== '') return { prefix: configured, generated: false };
  return { prefix: `rotator-demo-${random()}`, generated: true };
}

/** `text` with Redis glob characters escaped, for SCAN MATCH. */
function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * Deletes every key `<prefix>:*` at `redisUrl` (SCAN with MATCH, UNLINK in batches; never FLUSH,
 * the Redis may hold anybody's data). Returns how many keys were deleted. Only for a prefix the
 * demo generated (demoQueuePrefix), never one a person chose.
 */
export async function deleteQueuePrefixKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 2_000 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${globLiteral(prefix)}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}
