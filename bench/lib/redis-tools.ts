import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A BullMQ prefix used by one bench run only, so cleaning up never touches anyone else's keys. */
export function benchPrefix(label: string): string {
  return `rotator-bench-${label}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** Deletes every key under `prefix:` (and only those); returns how many. */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** `used_memory` from INFO memory, in bytes. */
export async function usedMemoryBytes(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  const match = /^used_memory:(\d+)/m.exec(info);
  if (!match) throw new Error('INFO memory has no used_memory line');
  return Number(match[1]);
}

/** Sum of MEMORY USAGE over every key under `prefix:` — immune to other clients of the same Redis. */
export async function memoryUsageOfPrefix(redis: Redis, prefix: string): Promise<{ bytes: number; keys: number }> {
  let cursor = '0';
  let bytes = 0;
  let keys = 0;
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
    cursor = next;
    if (batch.length === 0) continue;
    const pipeline = redis.pipeline();
    for (const key of batch) pipeline.memory('USAGE', key, 'SAMPLES', '0');
    const results = (await pipeline.exec()) ?? [];
    for (const [err, value] of results) if (!err && typeof value === 'number') bytes += value;
    keys += batch.length;
  } while (cursor !== '0');
  return { bytes, keys };
}

/** Total calls per Redis command from INFO commandstats (to count round trips per job). */
export async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]));
  return calls;
}
