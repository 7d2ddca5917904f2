import type { Redis } from 'ioredis';
import { createRedisConnection } from '../../src/queue/redis-connection';
import { redisTargetFromUrl } from '../../src/config';
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from '../support/redis';
import { countSocketWrites } from '../support/socket-writes';

describe('socket writes of a rotator Redis connection', () => {
  let redis: Redis;
  let prefix: string;

  beforeEach(async () => {
    redis = createRedisConnection(redisTargetFromUrl(TEST_REDIS_URL), 'producer') as Redis;
    prefix = uniquePrefix('socket-writes');
    await redis.ping();
  });
  afterEach(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
  });

  it('sends the commands issued during one event-loop turn in one write, answered in order', async () => {
    const writes = countSocketWrites(redis);
    const replies = await Promise.all(Array.from({ length: 20 }, () => redis.incr(`${prefix}:n`)));
    expect(replies).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(writes.count()).toBe(1);
  });

  it('sends the commands of separate turns separately, without holding any back', async () => {
    const writes = countSocketWrites(redis);
    await redis.set(`${prefix}:a`, '1');
    await redis.set(`${prefix}:b`, '2');
    expect(await redis.mget(`${prefix}:a`, `${prefix}:b`)).toEqual(['1', '2']);
    expect(writes.count()).toBe(3);
  });

  it('covers the socket of a reconnection too', async () => {
    redis.disconnect(true);
    await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
    const writes = countSocketWrites(redis);
    await Promise.all([redis.set(`${prefix}:x`, '1'), redis.set(`${prefix}:y`, '2')]);
    expect(writes.count()).toBe(1);
  });
});
