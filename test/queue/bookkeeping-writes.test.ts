import { Redis } from 'ioredis';
import { BookkeepingWrites } from '../../src/queue/bookkeeping-writes';
import { createRedisConnection } from '../../src/queue/redis-connection';
import { redisTargetFromUrl } from '../../src/config';
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from '../support/redis';
import { countSocketWrites } from '../support/socket-writes';

describe('BookkeepingWrites', () => {
  let redis: Redis;
  let prefix: string;

  beforeEach(async () => {
    // A rotator connection, as the service hands it in: its socket writes are batched per turn.
    redis = createRedisConnection(redisTargetFromUrl(TEST_REDIS_URL), 'producer') as Redis;
    prefix = uniquePrefix('bookkeeping');
    await redis.ping();
  });
  afterEach(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
  });

  it('sends the writes issued during one event-loop turn in one socket write, applied in order', async () => {
    const socketWrites = countSocketWrites(redis);
    const writes = new BookkeepingWrites(redis);
    for (let i = 0; i < 20; i++) writes.write((r) => [r.rpush(`${prefix}:list`, String(i))], () => undefined);
    await writes.flush();
    expect(socketWrites.count()).toBe(1);
    expect(await redis.lrange(`${prefix}:list`, 0, -1)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  });

  it('uses no ioredis Pipeline (each would copy every BullMQ script onto itself)', async () => {
    const pipeline = jest.spyOn(redis, 'pipeline');
    const multi = jest.spyOn(redis, 'multi');
    const writes = new BookkeepingWrites(redis);
    await writes.request((r) => [r.incr(`${prefix}:n`), r.incr(`${prefix}:n`)]);
    expect(pipeline).not.toHaveBeenCalled();
    expect(multi).not.toHaveBeenCalled();
  });

  it('gives each write its own replies, and a refused command fails only the write that sent it', async () => {
    await redis.set(`${prefix}:string`, 'not a hash');
    const writes = new BookkeepingWrites(redis);
    const refused = writes.request((r) => [r.hset(`${prefix}:string`, 'field', 'value')]);
    const counted = writes.request((r) => [r.incr(`${prefix}:counter`), r.incr(`${prefix}:counter`)]);
    await expect(refused).rejects.toThrow(/WRONGTYPE/);
    await expect(counted).resolves.toEqual([1, 2]);
  });

  it('reports writes that could not be sent (connection closed) to each of their writers', async () => {
    const writes = new BookkeepingWrites(redis);
    redis.disconnect();
    const outcomes = await Promise.allSettled([
      writes.request((r) => [r.set(`${prefix}:a`, '1')]),
      writes.request((r) => [r.set(`${prefix}:b`, '1')]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    redis = new Redis(TEST_REDIS_URL);
  });

  it('reports a command builder that throws to its own writer and never throws to the caller', async () => {
    const writes = new BookkeepingWrites(redis);
    const settled: unknown[] = [];
    expect(() =>
      writes.write(
        () => {
          throw new Error('bad arguments');
        },
        (err) => settled.push(err),
      ),
    ).not.toThrow();
    await writes.flush();
    expect(settled).toEqual([new Error('bad arguments')]);
  });

  it('keeps settling the other writes when one settle callback throws', async () => {
    const writes = new BookkeepingWrites(redis);
    writes.write((r) => [r.set(`${prefix}:a`, '1')], () => {
      throw new Error('a sink bug');
    });
    const second = writes.request((r) => [r.set(`${prefix}:b`, '2')]);
    await expect(second).resolves.toEqual(['OK']);
    await writes.flush();
  });

  it('flush resolves only once every issued write has been answered', async () => {
    const writes = new BookkeepingWrites(redis);
    let answered = 0;
    for (let i = 0; i < 3; i++) writes.write((r) => [r.incr(`${prefix}:n`)], () => (answered += 1));
    await writes.flush();
    expect(answered).toBe(3);
    expect(await redis.get(`${prefix}:n`)).toBe('3');
  });
});

describe('BookkeepingWrites with a slow command beside a refused one', () => {
  it('settles a write, and lets flush return, only once every one of its commands is answered', async () => {
    const redis = createRedisConnection(redisTargetFromUrl(TEST_REDIS_URL), 'producer') as Redis;
    const prefix = uniquePrefix('bookkeeping-slow');
    try {
      await redis.set(`${prefix}:string`, 'not a hash');
      const writes = new BookkeepingWrites(redis);
      let settledWith: unknown;
      writes.write((r) => [r.hset(`${prefix}:string`, 'f', 'v'), r.blpop(`${prefix}:empty-list`, 0.3)], (err) => (settledWith = err));
      const started = Date.now();
      await writes.flush();
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(String(settledWith)).toMatch(/WRONGTYPE/);
    } finally {
      await deleteKeysWithPrefix(redis, prefix);
      redis.disconnect();
    }
  });
});
