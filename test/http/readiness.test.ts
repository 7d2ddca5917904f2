import { createQueueClient, type QueueClient } from '../../src/app/queue-client';
import { startHttpServer, type RunningHttpServer } from '../../src/http';
import { RotatorMetrics } from '../../src/metrics/rotator-metrics';
import { createRedisConnection, type RedisClient } from '../../src/queue/redis-connection';
import { redisTargetFromUrl } from '../../src/config';
import { waitFor } from '../support/test-bed';
import { InMemoryHistory, TEST_API_TOKEN, bearer, postJson, startHarness, type HttpHarness } from './support/http-harness';
import { RedisServerProcess } from './support/redis-server-process';

/**
 * /readyz follows a Redis of its own: a second redis-server child process that the test stops
 * and starts again on the same port.
 */
describe('readiness', () => {
  let redisServer: RedisServerProcess;
  let probedRedis: RedisClient;
  let harness: HttpHarness;

  beforeAll(async () => {
    redisServer = await RedisServerProcess.start();
    // Reconnect quickly so the test does not wait out the production back-off.
    probedRedis = createRedisConnection(redisTargetFromUrl(redisServer.url), 'producer', { retryStrategy: () => 100 });
    probedRedis.on('error', () => undefined);
    harness = await startHarness({ label: 'http-ready', server: () => ({ redis: probedRedis, redisName: `${redisServer.url} (REDIS_URL)` }) });
    await waitFor(() => probedRedis.status === 'ready', 5_000, 'the probed Redis connection');
  });
  afterAll(async () => {
    await harness?.close();
    probedRedis?.disconnect();
    await redisServer?.stop();
  });

  /** GET /readyz with a token (the detailed answer) unless `headers` says otherwise. */
  async function readyz(headers: Record<string, string> = bearer()): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${harness.url}/readyz`, { headers });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('answers /healthz 200 {status: "ok"} whatever Redis does', async () => {
    const response = await fetch(`${harness.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('goes 503 with the reason when Redis stops, and back to 200 when it is started again', async () => {
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ok', redis: 'ok' } });

    await redisServer.stop();
    let down = await readyz();
    await waitFor(
      async () => {
        down = await readyz();
        return down.status === 503;
      },
      5_000,
      '/readyz to answer 503',
    );
    expect(down.body).toMatchObject({ status: 'unavailable', error: 'unavailable', redis: expect.any(String), message: expect.any(String) });
    expect(String(down.body.redis).length).toBeGreaterThan(0);
    // Liveness is independent of Redis.
    expect((await fetch(`${harness.url}/healthz`)).status).toBe(200);

    await redisServer.start();
    await waitFor(async () => (await readyz()).status === 200, 10_000, '/readyz to answer 200 again');
  });

  it('answers /readyz without a token with only ok / not ok: no Redis address, no reason', async () => {
    expect(await readyz({})).toEqual({ status: 200, body: { status: 'ok' } });
    await redisServer.stop();
    try {
      await waitFor(async () => (await readyz({})).status === 503, 5_000, '/readyz to answer 503');
      const down = await readyz({});
      expect(down.body).toEqual({ status: 'unavailable', error: 'unavailable', message: 'not ready' });
      const wrongToken = await readyz(bearer('not-the-token-0123456789abcdef'));
      expect(wrongToken.body).toEqual(down.body);
      const detailed = await readyz();
      expect(String(detailed.body.message)).toContain(redisServer.url);
    } finally {
      await redisServer.start();
      await waitFor(async () => (await readyz()).status === 200, 10_000, '/readyz to answer 200 again');
    }
  });

  it('answers 503 after about a second when Redis accepts the connection but does not answer PING', async () => {
    redisServer.freeze();
    try {
      const started = Date.now();
      const { status, body } = await readyz();
      const elapsed = Date.now() - started;
      expect(status).toBe(503);
      expect(body.redis).toBe('PING got no answer within 1000ms');
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(2_000);
    } finally {
      redisServer.thaw();
    }
    await waitFor(async () => (await readyz()).status === 200, 10_000, '/readyz to answer 200 after the freeze');
  });
});

describe('the API while its Redis is down', () => {
  let redisServer: RedisServerProcess;
  let harness: HttpHarness;
  let client: QueueClient;
  let server: RunningHttpServer;

  beforeAll(async () => {
    redisServer = await RedisServerProcess.start();
    harness = await startHarness({ label: 'http-redis-down' });
    // The server's queue and readiness both use the Redis this test can stop.
    const settings = harness.bed.settings;
    client = createQueueClient(
      { ...settings, env: { ...settings.env, redis: redisTargetFromUrl(redisServer.url) } },
      createRedisConnection(redisTargetFromUrl(redisServer.url), 'producer', { retryStrategy: () => 100 }),
    );
    client.redis.on('error', () => undefined);
    server = await startHttpServer({
      logger: harness.bed.logs.logger,
      queue: client.queue,
      redis: client.redis,
      metrics: new RotatorMetrics({ collectDefaultMetrics: false }),
      apiToken: TEST_API_TOKEN,
      host: '127.0.0.1',
      port: 0,
      history: new InMemoryHistory(),
      resolveAllMailboxIds: async () => ['mbx_test_0001'],
    });
    await waitFor(() => client.redis.status === 'ready', 5_000, 'the queue connection');
  });
  afterAll(async () => {
    await server?.close();
    await client?.queue.close().catch(() => undefined);
    client?.redis.disconnect();
    await harness?.close();
    await redisServer?.stop();
  });

  it('answers 503 redis_unavailable instead of a bare 500, and works again once Redis is back', async () => {
    await redisServer.stop();
    await waitFor(() => client.redis.status !== 'ready', 5_000, 'the connection to notice');

    const response = await postJson(`${server.url}/rotations`, { mailboxIds: ['mbx_test_0001'], force: true });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: 'redis_unavailable', message: expect.stringContaining('GET /readyz'), reason: expect.any(String) });
    const queue = await fetch(`${server.url}/queue`, { headers: bearer() });
    expect(queue.status).toBe(503);

    await redisServer.start();
    await waitFor(() => client.redis.status === 'ready', 10_000, 'the connection to come back');
    expect((await fetch(`${server.url}/queue`, { headers: bearer() })).status).toBe(200);
  });
});
