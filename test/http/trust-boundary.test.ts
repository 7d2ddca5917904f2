import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { startHttpServer, type RunningHttpServer } from '../../src/http';
import { RotatorMetrics } from '../../src/metrics/rotator-metrics';
import { REVOKE_JOB_NAME } from '../../src/rotation/job-data';
import { InMemoryHistory, TEST_API_TOKEN, basic, bearer, getJson, postJson, startHarness, type HttpHarness } from './support/http-harness';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http rather than fetch: fetch does not let a caller set Host or Sec-Fetch-Site. */
function raw(url: string, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<RawAnswer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: target.hostname, port: target.port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers, setHost: !opts.headers?.host },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

describe('security headers (finding 8)', () => {
  let harness: HttpHarness;
  beforeAll(async () => {
    harness = await startHarness({ label: 'http-headers' });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it.each([
    ['the API', '/queue', bearer()],
    ['the dashboard', '/admin/queues', basic('ops', TEST_API_TOKEN)],
    ['a probe', '/healthz', {}],
    ['an error', '/no-such-route', bearer()],
    ['a refused request', '/queue', {}],
  ])('%s carries X-Frame-Options, frame-ancestors, nosniff and Referrer-Policy', async (_name, path, headers) => {
    const response = await fetch(`${harness.url}${path}`, { headers });
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  });
});

describe('the dashboard is read-only by default (finding 2)', () => {
  let harness: HttpHarness;
  beforeAll(async () => {
    harness = await startHarness({ label: 'http-readonly' });
  });
  afterAll(async () => {
    await harness?.close();
  });

  const queueName = 'sendmux-keys';
  it.each([
    ['add a job', 'POST', `/api/queues/${queueName}/add`, { name: REVOKE_JOB_NAME, data: {} }],
    ['retry failed jobs', 'PUT', `/api/queues/${queueName}/retry/failed`, {}],
    ['promote delayed jobs', 'PUT', `/api/queues/${queueName}/promote`, {}],
    ['clean completed jobs', 'PUT', `/api/queues/${queueName}/clean/completed`, {}],
    ['empty the queue', 'PUT', `/api/queues/${queueName}/empty`, {}],
    ['release the rate limit', 'PUT', `/api/queues/${queueName}/rate-limit/release`, {}],
    ['pause every queue', 'PUT', '/api/queues/pause', {}],
  ])('refuses to %s with 405', async (_name, method, path, body) => {
    const response = await fetch(`${harness.url}/admin/queues${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...basic('ops', TEST_API_TOKEN) },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(405);
  });

  it('cannot promote a delayed revocation early or edit its data', async () => {
    const { jobId } = await harness.runtime.queue.scheduleRevocation(
      { mailboxId: harness.bed.mailboxIds[0]!, keyId: 'key_readonly_probe', secretId: 'sendmux/mailboxes/x', reason: 'rotation' } as never,
      3_600_000,
    );
    const promote = await fetch(`${harness.url}/admin/queues/api/queues/${queueName}/${jobId}/promote`, {
      method: 'PUT',
      headers: basic('ops', TEST_API_TOKEN),
    });
    const edit = await fetch(`${harness.url}/admin/queues/api/queues/${queueName}/${jobId}/update-data`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', ...basic('ops', TEST_API_TOKEN) },
      body: JSON.stringify({ jobData: { keyId: 'key_other' } }),
    });
    expect([promote.status, edit.status]).toEqual([405, 405]);
    const job = await harness.runtime.queue.getJob(jobId);
    expect(await job?.getState()).toBe('delayed');
    expect((job?.data as { keyId?: string }).keyId).toBe('key_readonly_probe');
  });

  it('still shows the queue', async () => {
    const { status, body } = await getJson(`${harness.url}/admin/queues/api/queues`, basic('ops', TEST_API_TOKEN));
    expect(status).toBe(200);
    expect((body as { queues: Array<{ name: string; readOnlyMode: boolean }> }).queues[0]).toMatchObject({ name: queueName, readOnlyMode: true });
  });
});

describe('dashboard.readOnly: false (explicit opt-in)', () => {
  let harness: HttpHarness;
  beforeAll(async () => {
    harness = await startHarness({ label: 'http-readwrite', server: () => ({ dashboardReadOnly: false }) });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('enables the job actions', async () => {
    const response = await fetch(`${harness.url}/admin/queues/api/queues/sendmux-keys/promote`, { method: 'PUT', headers: basic('ops', TEST_API_TOKEN) });
    expect(response.status).toBe(200);
  });
});

describe('token-less loopback mode refuses foreign hosts and cross-site callers (finding 3)', () => {
  let harness: HttpHarness;
  let server: RunningHttpServer;
  let port: string;
  beforeAll(async () => {
    harness = await startHarness({ label: 'http-loopback-guard' });
    server = await startHttpServer({
      logger: harness.bed.logs.logger,
      queue: harness.runtime.queue,
      redis: harness.runtime.redis,
      metrics: new RotatorMetrics({ collectDefaultMetrics: false }),
      host: '127.0.0.1',
      port: 0,
      history: new InMemoryHistory(),
      resolveAllMailboxIds: async () => [...harness.bed.mailboxIds],
    });
    port = new URL(server.url).port;
  });
  afterAll(async () => {
    await server?.close();
    await harness?.close();
  });

  it.each([
    ['a rebinding Host', { host: `attacker.example:PORT` }],
    ['a LAN Host', { host: `192.168.1.10:PORT` }],
    ['a cross-site Origin', { host: '127.0.0.1:PORT', origin: 'https://evil.example' }],
    ['another local origin', { host: '127.0.0.1:PORT', origin: 'http://127.0.0.1:1' }],
    ['an opaque Origin', { host: '127.0.0.1:PORT', origin: 'null' }],
    ['Sec-Fetch-Site: cross-site', { host: '127.0.0.1:PORT', 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site', { host: 'localhost:PORT', 'sec-fetch-site': 'same-site' }],
  ])('answers 403 to POST /queue/pause with %s, and the queue keeps running', async (_name, headers) => {
    const withPort = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.replace('PORT', port)]));
    const answer = await raw(server.url, { method: 'POST', path: '/queue/pause', headers: withPort });
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'forbidden' });
    expect(await harness.runtime.queue.queue.isPaused()).toBe(false);
  });

  it.each([
    ['127.0.0.1', { host: '127.0.0.1:PORT' }],
    ['localhost', { host: 'localhost:PORT' }],
    ['a same-origin browser request', { host: '127.0.0.1:PORT', origin: 'http://127.0.0.1:PORT', 'sec-fetch-site': 'same-origin' }],
    ['a typed-in URL', { host: 'localhost:PORT', 'sec-fetch-site': 'none' }],
  ])('serves %s', async (_name, headers) => {
    const withPort = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.replace('PORT', port)]));
    const answer = await raw(server.url, { path: '/queue', headers: withPort });
    expect(answer.status).toBe(200);
  });

  it.each([
    ['two Host headers, the loopback one first', (p: string) => `POST /queue/pause HTTP/1.1\r\nHost: localhost:${p}\r\nHost: evil.example\r\nContent-Length: 0\r\n\r\n`],
    ['an absolute-form request target naming another host', (p: string) => `POST http://evil.example/queue/pause HTTP/1.1\r\nHost: localhost:${p}\r\nContent-Length: 0\r\n\r\n`],
  ])('answers 403 to a request with %s, and the queue keeps running', async (_name, request) => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.end(request(port)));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 403 /);
    expect(await harness.runtime.queue.queue.isPaused()).toBe(false);
  });
});

describe('request timeouts (finding 6, the slow-body part)', () => {
  let harness: HttpHarness;
  beforeAll(async () => {
    harness = await startHarness({ label: 'http-timeouts', server: () => ({ requestTimeoutMs: 500 }) });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('closes a connection whose body does not finish arriving within requestTimeout', async () => {
    const { hostname, port } = new URL(harness.url);
    const closedAfterMs = await new Promise<number>((resolve, reject) => {
      const started = Date.now();
      const socket = connect(Number(port), hostname, () => {
        socket.write(
          `POST /rotations HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${TEST_API_TOKEN}\r\n` +
            'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"mailboxIds":',
        );
      });
      // Keep trickling so that only the whole-request deadline (not idleness) can end it.
      const drip = setInterval(() => socket.write(' '), 100);
      socket.on('data', () => undefined);
      socket.on('close', () => {
        clearInterval(drip);
        resolve(Date.now() - started);
      });
      socket.on('error', () => undefined);
      setTimeout(() => {
        clearInterval(drip);
        socket.destroy();
        reject(new Error('the server kept the slow request open for 8 s'));
      }, 8_000).unref();
    });
    expect(closedAfterMs).toBeLessThan(8_000);
  });
});

describe('on-demand rotations of mailboxes outside the configuration (finding 5)', () => {
  let harness: HttpHarness;
  beforeAll(async () => {
    harness = await startHarness({ label: 'http-not-configured', mailboxes: 2, config: { mailboxes: ['mbx_test_0001'] } });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('answers 404 not_configured for an id the configuration does not list, and enqueues nothing', async () => {
    const response = await postJson(`${harness.url}/rotations`, { mailboxIds: ['mbx_test_0002', 'mbx_made_up_1'] });
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: string; rotations: Array<{ mailboxId: string; reason: string }> };
    expect(body.error).toBe('not_configured');
    expect(body.rotations.map((r) => [r.mailboxId, r.reason])).toEqual([
      ['mbx_test_0002', 'not_configured'],
      ['mbx_made_up_1', 'not_configured'],
    ]);
    const counts = await harness.runtime.queue.queue.getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    expect(harness.bed.sandbox.state.keys.size).toBe(0);
  });

  it('enqueues the configured ids of a mixed request and marks the others refused', async () => {
    const response = await postJson(`${harness.url}/rotations`, { mailboxIds: ['mbx_test_0001', 'mbx_made_up_2'] });
    expect(response.status).toBe(202);
    const body = (await response.json()) as { rotations: Array<{ mailboxId: string; status: string; reason?: string }> };
    expect(body.rotations).toEqual([
      expect.objectContaining({ mailboxId: 'mbx_test_0001', status: 'enqueued' }),
      expect.objectContaining({ mailboxId: 'mbx_made_up_2', status: 'refused', reason: 'not_configured' }),
    ]);
  });
});

describe('on-demand rotations with "mailboxes: all"', () => {
  let harness: HttpHarness;
  beforeAll(async () => {
    harness = await startHarness({ label: 'http-not-configured-all' });
    // Closing a worker that is still connecting makes BullMQ emit "Connection is closed".
    await harness.runtime.worker?.waitUntilReady();
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('answers 404 not_configured for a mailbox Sendmux does not know, and mints nothing', async () => {
    const response = await postJson(`${harness.url}/rotations`, { mailboxIds: ['mbx_made_up_3'] });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: string }).error).toBe('not_configured');
    expect(harness.bed.sandbox.state.keys.size).toBe(0);
  });
});

describe('resume lifts a rate-limit pause (finding 1)', () => {
  let harness: HttpHarness;
  beforeAll(async () => {
    harness = await startHarness({ label: 'http-resume' });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('POST /queue/resume clears a queue-wide rate-limit pause that GET /queue reports', async () => {
    await harness.runtime.queue.queue.rateLimit(1_000_000_000);
    const before = await getJson(`${harness.url}/queue`);
    expect(before.body.rateLimitedForMs).toBeGreaterThan(0);
    const resumed = await postJson(`${harness.url}/queue/resume`, {});
    expect(resumed.status).toBe(200);
    expect(await harness.runtime.queue.queue.getRateLimitTtl()).toBeLessThanOrEqual(0);
    expect(((await resumed.json()) as { rateLimitedForMs: number }).rateLimitedForMs).toBe(0);
  });
});
