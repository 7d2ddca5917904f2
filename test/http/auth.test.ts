import { InsecureBindError, createHttpServer, startHttpServer } from '../../src/http';
import { TokenChecker } from '../../src/http/auth';
import { RotatorMetrics } from '../../src/metrics/rotator-metrics';
import {
  InMemoryHistory,
  TEST_API_TOKEN,
  basic,
  bearer,
  postJson,
  startHarness,
  type HttpHarness,
} from './support/http-harness';

describe('API authentication', () => {
  let harness: HttpHarness;

  beforeAll(async () => {
    // Many wrong tokens on purpose: the failed-authentication limit is tested in failed-auth-limit.test.ts.
    harness = await startHarness({ label: 'http-auth', server: (deps) => ({ failedAuth: { ...deps.failedAuth, max: 1000 } }) });
  });
  afterAll(async () => {
    await harness?.close();
  });

  const protectedRequests: Array<{ name: string; method: string; path: string; body?: unknown }> = [
    { name: 'POST /rotations', method: 'POST', path: '/rotations', body: { mailboxIds: ['mbx_test_0001'] } },
    { name: 'GET /rotations/:jobId', method: 'GET', path: '/rotations/rotate__mbx_test_0001__t20200101T000000Z' },
    { name: 'GET /metrics', method: 'GET', path: '/metrics' },
    { name: 'GET /queue', method: 'GET', path: '/queue' },
    { name: 'POST /queue/pause', method: 'POST', path: '/queue/pause' },
    { name: 'POST /queue/resume', method: 'POST', path: '/queue/resume' },
    { name: 'GET /mailboxes/:id/history', method: 'GET', path: '/mailboxes/mbx_test_0001/history' },
  ];

  async function call(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Response> {
    return fetch(`${harness.url}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async function expectUnauthorized(response: Response): Promise<void> {
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="rotator"');
    expect(await response.json()).toEqual({ error: 'unauthorized', message: expect.stringContaining('Authorization: Bearer') });
  }

  it.each(protectedRequests)('answers 401 to $name without a token', async ({ method, path, body }) => {
    await expectUnauthorized(await call(method, path, {}, body));
  });

  it.each(protectedRequests)('answers 401 to $name with a wrong token of the right length', async ({ method, path, body }) => {
    const wrong = TEST_API_TOKEN.slice(0, -1) + (TEST_API_TOKEN.endsWith('x') ? 'y' : 'x');
    await expectUnauthorized(await call(method, path, bearer(wrong), body));
  });

  it('answers 401 to a token of a different length (a prefix and an extension of the real one)', async () => {
    await expectUnauthorized(await call('GET', '/queue', bearer(TEST_API_TOKEN.slice(0, 8))));
    await expectUnauthorized(await call('GET', '/queue', bearer(`${TEST_API_TOKEN}0`)));
  });

  it('never accepts the token in the query string', async () => {
    for (const param of ['token', 'access_token', 'api_token', 'apiToken']) {
      await expectUnauthorized(await call('GET', `/queue?${param}=${TEST_API_TOKEN}`, {}));
    }
  });

  it('does not accept Basic credentials on the API', async () => {
    await expectUnauthorized(await call('GET', '/queue', basic('ops', TEST_API_TOKEN)));
  });

  it('serves the API to the right Bearer token', async () => {
    const response = await call('GET', '/queue', bearer());
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ paused: false, counts: expect.any(Object) });
  });

  it('leaves /healthz and /readyz open', async () => {
    expect((await fetch(`${harness.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${harness.url}/readyz`)).status).toBe(200);
  });

  it('never writes the token or the Authorization header to the log, and masks query values', async () => {
    await call('GET', '/queue', bearer());
    await call('GET', `/queue?access_token=${TEST_API_TOKEN}&limit=3`, {});
    await postJson(`${harness.url}/rotations`, { mailboxIds: [] }, bearer('wrong-token-but-still-secret'));
    const text = harness.bed.logs.text();
    expect(text).not.toContain(TEST_API_TOKEN);
    expect(text).not.toContain('wrong-token-but-still-secret');
    expect(text.toLowerCase()).not.toContain('authorization');
    const requestLines = harness.bed.logs.parsed().filter((l) => l.msg === 'http request');
    expect(requestLines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ method: 'GET', url: '/queue', statusCode: 200, component: 'http' }),
        expect.objectContaining({ url: '/queue?access_token=[REDACTED]&limit=3', statusCode: 401 }),
      ]),
    );
  });
});

describe('dashboard authentication', () => {
  let harness: HttpHarness;

  beforeAll(async () => {
    harness = await startHarness({ label: 'http-board', server: (deps) => ({ failedAuth: { ...deps.failedAuth, max: 1000 } }) });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('challenges a browser with 401 and WWW-Authenticate: Basic realm="rotator"', async () => {
    const response = await fetch(`${harness.url}/admin/queues`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Basic realm="rotator"');
    expect(await response.json()).toEqual({ error: 'unauthorized', message: expect.stringContaining('Basic') });
  });

  it('refuses Basic credentials with the wrong password', async () => {
    const response = await fetch(`${harness.url}/admin/queues`, { headers: basic('ops', 'not-the-token-at-all') });
    expect(response.status).toBe(401);
  });

  it('serves the dashboard page, its API and its static files to any user name with the token as password', async () => {
    const page = await fetch(`${harness.url}/admin/queues`, { headers: basic('anyone', TEST_API_TOKEN) });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('<base href="/admin/queues/"');

    const queues = await fetch(`${harness.url}/admin/queues/api/queues`, { headers: basic('someone-else', TEST_API_TOKEN) });
    expect(queues.status).toBe(200);
    const body = (await queues.json()) as { queues: Array<{ name: string }> };
    expect(body.queues.map((q) => q.name)).toContain('sendmux-keys');

    const script = /src="(static\/js\/main[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect((await fetch(`${harness.url}/admin/queues/${script}`)).status).toBe(401);
    expect((await fetch(`${harness.url}/admin/queues/${script}`, { headers: basic('x', TEST_API_TOKEN) })).status).toBe(200);
  });

  it('protects the dashboard API too', async () => {
    expect((await fetch(`${harness.url}/admin/queues/api/queues`)).status).toBe(401);
  });
});

describe('running without a token', () => {
  async function depsFor(harness: HttpHarness, host: string) {
    return {
      logger: harness.bed.logs.logger,
      queue: harness.runtime.queue,
      redis: harness.runtime.redis,
      metrics: new RotatorMetrics({ collectDefaultMetrics: false }),
      host,
      port: 0,
      history: new InMemoryHistory(),
      resolveAllMailboxIds: async () => [],
    };
  }

  let harness: HttpHarness;
  beforeAll(async () => {
    harness = await startHarness({ label: 'http-notoken' });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it.each(['0.0.0.0', '::', '192.168.1.10', 'rotator.internal'])('refuses to start on HOST=%s', async (host) => {
    const attempt = createHttpServer(await depsFor(harness, host));
    await expect(attempt).rejects.toBeInstanceOf(InsecureBindError);
    await expect(attempt).rejects.toThrow(/set ROTATOR_API_TOKEN .* or bind HOST=127\.0\.0\.1/);
  });

  it('serves without authentication on 127.0.0.1 and logs a warning saying so', async () => {
    const server = await startHttpServer(await depsFor(harness, '127.0.0.1'));
    try {
      const response = await fetch(`${server.url}/queue`);
      expect(response.status).toBe(200);
      expect((await fetch(`${server.url}/admin/queues`)).status).toBe(200);
      const warning = harness.bed.logs.parsed().find((l) => l.level === 40 && String(l.msg).includes('ROTATOR_API_TOKEN is not set'));
      expect(warning?.msg).toContain('WITHOUT authentication');
    } finally {
      await server.close();
    }
  });
});

describe('TokenChecker', () => {
  const checker = new TokenChecker('the-right-token-123');

  it('accepts exactly the configured token', () => {
    expect(checker.matches('the-right-token-123')).toBe(true);
  });

  it.each([
    ['a missing token', undefined],
    ['an empty token', ''],
    ['a prefix', 'the-right'],
    ['a longer token', 'the-right-token-1234'],
    ['a different case', 'THE-RIGHT-TOKEN-123'],
  ])('rejects %s', (_name, candidate) => {
    expect(checker.matches(candidate)).toBe(false);
  });
});
