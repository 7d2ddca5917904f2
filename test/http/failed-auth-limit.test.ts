import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { startHttpServer, type RunningHttpServer } from '../../src/http';
import { TEST_API_TOKEN, bearer, startHarness, type HttpHarness } from './support/http-harness';

const WRONG = 'wrong-token-0123456789abcdef0123';

/** GET `path` with `headers`, sent from the local address `from` (any 127.0.0.0/8 address reaches the server). */
function getFrom(baseUrl: string, path: string, headers: Record<string, string>, from = '127.0.0.1'): Promise<{ status: number; retryAfter?: string; body: any }> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, headers, localAddress: from }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(res.headers['retry-after'] === undefined ? {} : { retryAfter: String(res.headers['retry-after']) }), body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function fail(url: string, times: number, from = '127.0.0.1'): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < times; i++) statuses.push((await getFrom(url, '/queue', bearer(WRONG), from)).status);
  return statuses;
}

describe('failed authentication, limited per client address', () => {
  let harness: HttpHarness;
  const MAX = 5;

  beforeEach(async () => {
    harness = await startHarness({ label: 'http-auth-limit', server: (deps) => ({ failedAuth: { ...deps.failedAuth, max: MAX, windowMs: 60_000 } }) });
  });
  afterEach(async () => harness?.close());

  it('answers 429 with Retry-After once an address has used up its failures, and logs it at warn once', async () => {
    expect(await fail(harness.url, MAX)).toEqual(Array(MAX).fill(401));
    const limited = await getFrom(harness.url, '/queue', bearer(WRONG));
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ error: 'too_many_failed_authentications' });
    expect(Number(limited.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(limited.retryAfter)).toBeLessThanOrEqual(60);
    await getFrom(harness.url, '/queue', bearer(WRONG));
    const warnings = harness.bed.logs.parsed().filter((l) => l['level'] === 40 && String(l['msg']).startsWith('failed authentication limit reached'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ remoteAddress: '127.0.0.1', failures: MAX });
    expect(harness.bed.logs.text()).not.toContain(WRONG);
  });

  it('refuses a valid token from a limited address before looking at it', async () => {
    await fail(harness.url, MAX);
    expect((await getFrom(harness.url, '/queue', bearer(TEST_API_TOKEN))).status).toBe(429);
  });

  it('limits only the address that failed: another address is still served', async () => {
    await fail(harness.url, MAX, '127.0.0.1');
    expect((await getFrom(harness.url, '/queue', bearer(TEST_API_TOKEN), '127.0.0.2')).status).toBe(200);
    expect((await getFrom(harness.url, '/queue', bearer(WRONG), '127.0.0.2')).status).toBe(401);
  });

  it('does not count requests with a valid token', async () => {
    for (let i = 0; i < MAX * 2; i++) expect((await getFrom(harness.url, '/queue', bearer(TEST_API_TOKEN))).status).toBe(200);
    expect(await fail(harness.url, MAX)).toEqual(Array(MAX).fill(401));
  });

  it('limits the dashboard\'s Basic credentials the same way', async () => {
    const basicWrong = { authorization: `Basic ${Buffer.from(`admin:${WRONG}`).toString('base64')}` };
    for (let i = 0; i < MAX; i++) expect((await getFrom(harness.url, '/admin/queues', basicWrong)).status).toBe(401);
    expect((await getFrom(harness.url, '/admin/queues', basicWrong)).status).toBe(429);
  });

  it('shares the count with every replica through Redis', async () => {
    let replica: RunningHttpServer | undefined;
    try {
      replica = await startHttpServer({
        logger: harness.bed.logs.logger,
        queue: harness.runtime.queue,
        redis: harness.runtime.redis,
        metrics: harness.metrics,
        apiToken: TEST_API_TOKEN,
        failedAuth: { keyPrefix: `${harness.bed.prefix}:auth-failures`, max: MAX, windowMs: 60_000 },
        host: '127.0.0.1',
        port: 0,
        history: harness.history,
        resolveAllMailboxIds: async () => [...harness.bed.mailboxIds],
      });
      // The count is shared once the connection is ready; until then each process counts alone.
      if (harness.runtime.redis.status !== 'ready') await once(harness.runtime.redis, 'ready');
      await fail(harness.url, MAX);
      expect((await getFrom(replica.url, '/queue', bearer(TEST_API_TOKEN))).status).toBe(429);
    } finally {
      await replica?.close();
    }
  });

  it('serves the address again once its window has passed', async () => {
    await harness.close();
    harness = await startHarness({ label: 'http-auth-window', server: (deps) => ({ failedAuth: { ...deps.failedAuth, max: 2, windowMs: 1_000 } }) });
    await fail(harness.url, 2);
    const limited = await getFrom(harness.url, '/queue', bearer(TEST_API_TOKEN));
    expect(limited.status).toBe(429);
    // Retry-After is the promise under test: poll until it is kept (the key expires in Redis).
    const deadline = Date.now() + 20_000;
    let status = limited.status;
    while (status === 429 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await getFrom(harness.url, '/queue', bearer(TEST_API_TOKEN))).status;
    }
    expect(status).toBe(200);
  });
});
