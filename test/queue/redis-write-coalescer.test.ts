import { Redis } from 'ioredis';
import { RedisWriteCoalescer } from '../../src/queue/redis-write-coalescer';
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from '../support/redis';

/** A real connection whose pipelines are counted (each one is a socket write of its own). */
function countingPipelines(redis: Redis): { count: () => number } {
  let pipelines = 0;
  const original = redis.pipeline.bind(redis);
  redis.pipeline = ((...args: Parameters<Redis['pipeline']>) => {
    pipelines += 1;
    return original(...args);
  }) as Redis['pipeline'];
  return { count: () => pipelines };
}

describe('RedisWriteCoalescer', () => {
  let redis: Redis;
  let prefix: string;

  beforeEach(() => {
    redis = new Redis(TEST_REDIS_URL);
    prefix = uniquePrefix('coalescer');
  });
  afterEach(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
  });

  it('sends the writes made during one event-loop turn in one pipeline, in order', async () => {
    const pipelines = countingPipelines(redis);
    const writes = new RedisWriteCoalescer(redis);
    for (let i = 0; i < 20; i++) writes.write(1, (p) => p.rpush(`${prefix}:list`, String(i)), () => undefined);
    await writes.flush();
    expect(pipelines.count()).toBe(1);
    expect(await redis.lrange(`${prefix}:list`, 0, -1)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  });

  it('puts writes made while a batch is on its way into the next batch, not one each', async () => {
    const pipelines = countingPipelines(redis);
    const writes = new RedisWriteCoalescer(redis);
    writes.write(1, (p) => p.rpush(`${prefix}:list`, 'first'), () => undefined);
    await new Promise((resolve) => setImmediate(resolve)); // the first batch is sent
    for (let i = 0; i < 5; i++) writes.write(1, (p) => p.rpush(`${prefix}:list`, `later-${i}`), () => undefined);
    await writes.flush();
    expect(pipelines.count()).toBe(2);
    expect(await redis.llen(`${prefix}:list`)).toBe(6);
  });

  it('gives each write its own replies, and a refused command fails only the write that sent it', async () => {
    await redis.set(`${prefix}:string`, 'not a hash');
    const writes = new RedisWriteCoalescer(redis);
    const refused = writes.request(1, (p) => p.hset(`${prefix}:string`, 'field', 'value'));
    const counted = writes.request(2, (p) => p.incr(`${prefix}:counter`).incr(`${prefix}:counter`));
    await expect(refused).rejects.toThrow(/WRONGTYPE/);
    await expect(counted).resolves.toEqual([1, 2]);
  });

  it('reports a batch that could not be sent to every write in it', async () => {
    const writes = new RedisWriteCoalescer(redis);
    redis.disconnect();
    const outcomes = await Promise.allSettled([
      writes.request(1, (p) => p.set(`${prefix}:a`, '1')),
      writes.request(1, (p) => p.set(`${prefix}:b`, '1')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    redis = new Redis(TEST_REDIS_URL);
  });

  it('keeps settling the other writes of a batch when one settle callback throws', async () => {
    const writes = new RedisWriteCoalescer(redis);
    writes.write(1, (p) => p.set(`${prefix}:a`, '1'), () => {
      throw new Error('a sink bug');
    });
    const second = writes.request(1, (p) => p.set(`${prefix}:b`, '2'));
    await expect(second).resolves.toEqual(['OK']);
    await writes.flush();
  });

  it('flush resolves only once every queued write has been answered', async () => {
    const writes = new RedisWriteCoalescer(redis);
    let answered = 0;
    for (let i = 0; i < 3; i++) writes.write(1, (p) => p.incr(`${prefix}:n`), () => (answered += 1));
    await writes.flush();
    expect(answered).toBe(3);
    expect(await redis.get(`${prefix}:n`)).toBe('3');
  });
});
