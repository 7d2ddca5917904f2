import { Redis } from 'ioredis';
import { redisTargetFromUrl } from '../../src/config';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import { startHttpServer, type RunningHttpServer } from '../../src/http';
import { RotatorMetrics } from '../../src/metrics/rotator-metrics';
import { TestBed } from '../support/test-bed';
import { RedisServerProcess } from './support/redis-server-process';
import { InMemoryHistory, TEST_API_TOKEN, postJson } from './support/http-harness';

/**
 * POST /rotations against a real redis-server that is full: `maxmemory` below what it uses, with
 * `maxmemory-policy noeviction`, so Redis refuses every write with "OOM command not allowed".
 */
describe('POST /rotations while Redis is out of memory', () => {
  let redis: RedisServerProcess;
  let admin: Redis;
  let bed: TestBed;
  let runtime: RotatorRuntime;
  let server: RunningHttpServer;

  beforeAll(async () => {
    redis = await RedisServerProcess.start();
    admin = new Redis(redis.url);
    bed = await TestBed.start({ label: 'redis-full', mailboxes: 2 });
    runtime = await bed.runtimeWithEnv({ redis: redisTargetFromUrl(redis.url) }, { runWorker: false });
    server = await startHttpServer({
      logger: bed.logs.logger,
      queue: runtime.queue,
      redis: runtime.redis,
      redisName: `${redis.url} (REDIS_URL)`,
      metrics: new RotatorMetrics({
        queue: { getJobCounts: async () => ({}), isPaused: async () => false },
        maxKeyAgeMs: null,
        lastRotations: async () => new Map(),
      }),
      apiToken: TEST_API_TOKEN,
      host: '127.0.0.1',
      port: 0,
      history: new InMemoryHistory(),
      resolveAllMailboxIds: async () => [...bed.mailboxIds],
    });
  });
  afterAll(async () => {
    await server?.close();
    await bed?.close();
    admin?.disconnect();
    await redis?.stop();
  });

  it('answers 503 redis_out_of_memory with Redis\'s reason and Retry-After, and 202 once memory is back', async () => {
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1'); // below what an empty Redis uses: every write is refused

    const refused = await postJson(`${server.url}/rotations`, { mailboxIds: [bed.mailboxIds[0]] });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    const body = (await refused.json()) as { error: string; message: string; reason: string };
    expect(body.error).toBe('redis_out_of_memory');
    expect(body.reason).toMatch(/^OOM command not allowed/);
    expect(body.message).toContain(`Redis at ${redis.url} (REDIS_URL) refused the write: it is full`);
    expect(body.message).toContain('nothing was enqueued');

    await admin.config('SET', 'maxmemory', '0');
    const accepted = await postJson(`${server.url}/rotations`, { mailboxIds: [bed.mailboxIds[0]] });
    expect(accepted.status).toBe(202);
  });
});
