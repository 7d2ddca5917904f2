import { bearer, startHarness, type HttpHarness } from './support/http-harness';
import { waitFor } from '../support/test-bed';

/**
 * X-Request-Id: a caller's valid id is used, anything else is replaced by a generated one; either
 * way every answer carries it and so does each log line of that request.
 */
describe('X-Request-Id', () => {
  let harness: HttpHarness;
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  beforeAll(async () => {
    harness = await startHarness({ label: 'http-request-id' });
  });
  afterAll(async () => {
    await harness?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${harness.url}${path}`, { headers: { ...bearer(), ...headers } });
  const logLinesWith = (requestId: string) => harness.bed.logs.parsed().filter((line) => line.requestId === requestId);
  /** The request's log line is written once the answer has gone out, so it may trail the response. */
  const requestLogged = (requestId: string) => waitFor(() => logLinesWith(requestId).length > 0, 5_000, `the log line of ${requestId}`);

  it('echoes a valid incoming id and logs the request under it', async () => {
    const response = await get('/queue', { 'x-request-id': 'trace-01.ab:cd_ef' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('trace-01.ab:cd_ef');
    await requestLogged('trace-01.ab:cd_ef');
    expect(logLinesWith('trace-01.ab:cd_ef')).toEqual(expect.arrayContaining([expect.objectContaining({ msg: 'http request', url: '/queue', statusCode: 200 })]));
  });

  it('generates an id when none is sent, different for each request', async () => {
    const first = (await get('/queue')).headers.get('x-request-id');
    const second = (await get('/queue')).headers.get('x-request-id');
    expect(first).toMatch(UUID);
    expect(second).toMatch(UUID);
    expect(first).not.toBe(second);
    await requestLogged(first!);
    expect(logLinesWith(first!)).toHaveLength(1);
  });

  it.each([
    ['too long', 'a'.repeat(129)],
    ['a space', 'two words'],
    ['a quote', 'x"y'],
    ['a slash', 'a/b'],
  ])('replaces an id with %s by a generated one', async (_what, sent) => {
    const response = await get('/queue', { 'x-request-id': sent });
    expect(response.headers.get('x-request-id')).toMatch(UUID);
    await requestLogged(response.headers.get('x-request-id')!);
    expect(harness.bed.logs.text()).not.toContain(sent);
  });

  it('accepts 128 characters', async () => {
    const sent = 'b'.repeat(128);
    expect((await get('/queue', { 'x-request-id': sent })).headers.get('x-request-id')).toBe(sent);
  });

  it.each([
    ['a 401', '/queue', { authorization: 'Bearer wrong-token-wrong-token-0000' }, 401],
    ['a 404', '/no-such-route', {}, 404],
    ['a 400', '/mailboxes/mbx_1/history?limit=0', {}, 400],
    ['a probe', '/healthz', {}, 200],
    ['the dashboard', '/admin/queues', { authorization: `Basic ${Buffer.from('ops:test-api-token-0123456789abcdef').toString('base64')}` }, 200],
  ])('carries the id on %s', async (_what, path, headers, status) => {
    const response = await get(path, { 'x-request-id': `req-${status}-${path.length}`, ...headers });
    expect(response.status).toBe(status);
    expect(response.headers.get('x-request-id')).toBe(`req-${status}-${path.length}`);
  });
});
