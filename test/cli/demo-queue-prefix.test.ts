import { Redis } from 'ioredis';
import { deleteQueuePrefixKeys, demoQueuePrefix } from '../../src/cli/demo/queue-prefix';
import { TEST_REDIS_URL } from '../support/redis';

describe('the demo’s queue prefix', () => {
  it('is new for every run unless ROTATOR_QUEUE_PREFIX is set, and only a made-up one is the demo’s to delete', () => {
    const a = demoQueuePrefix(undefined);
    const b = demoQueuePrefix('');
    expect(a).toEqual({ prefix: expect.stringMatching(/^rotator-demo-[0-9a-f]{6}$/), generated: true });
    expect(b.generated).toBe(true);
    expect(b.prefix).not.toBe(a.prefix);
    expect(demoQueuePrefix('{mine}')).toEqual({ prefix: '{mine}', generated: false });
  });

  it('deleteQueuePrefixKeys deletes every `<prefix>:*` key and nothing else, however many there are', async () => {
    const prefix = `rotator-demo-test${process.pid}${Date.now().toString(36)}`;
    const redis = new Redis(TEST_REDIS_URL);
    const others = [`${prefix}x:kept`, `${prefix}`, `other:${prefix}:kept`];
    try {
      const pipeline = redis.pipeline();
      for (let i = 0; i < 1_200; i++) pipeline.set(`${prefix}:k${i}`, '1');
      for (const key of others) pipeline.set(key, '1');
      await pipeline.exec();

      expect(await deleteQueuePrefixKeys(TEST_REDIS_URL, prefix)).toBe(1_200);
      expect(await redis.keys(`${prefix}:*`)).toEqual([]);
      expect(await redis.exists(...others)).toBe(others.length);
    } finally {
      await redis.del(...others);
      redis.disconnect();
    }
  });
});
