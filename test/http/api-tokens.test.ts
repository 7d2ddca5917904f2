import { TokenRegistry, roleAllows } from '../../src/http/auth';
import { TEST_API_TOKEN, basic, bearer, getJson, postJson, startHarness, type HttpHarness } from './support/http-harness';

const VIEWER_TOKEN = 'viewer-token-5f1d0c9a7e3b2846a1d0';
const OPERATOR_TOKEN = 'operator-token-c2b7e94f0a1d3865e7f2';

async function postEmpty(url: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { method: 'POST', headers });
  return { status: response.status, body: await response.json() };
}

describe('named API tokens with roles', () => {
  let harness: HttpHarness;

  beforeAll(async () => {
    harness = await startHarness({
      label: 'http-roles',
      server: () => ({
        apiTokens: [
          { name: 'grafana', role: 'viewer', token: VIEWER_TOKEN },
          { name: 'oncall', role: 'operator', token: OPERATOR_TOKEN },
        ],
      }),
    });
  });
  afterAll(async () => harness?.close());

  it('serves the read routes, /metrics, the dashboard and its API to a viewer token', async () => {
    expect((await getJson(`${harness.url}/queue`, bearer(VIEWER_TOKEN))).status).toBe(200);
    expect((await fetch(`${harness.url}/metrics`, { headers: bearer(VIEWER_TOKEN) })).status).toBe(200);
    expect((await fetch(`${harness.url}/mailboxes/${harness.bed.mailboxIds[0]}/history`, { headers: bearer(VIEWER_TOKEN) })).status).toBe(200);
    expect((await fetch(`${harness.url}/admin/queues`, { headers: basic('anyone', VIEWER_TOKEN) })).status).toBe(200);
    expect((await fetch(`${harness.url}/admin/queues/api/queues`, { headers: basic('anyone', VIEWER_TOKEN) })).status).toBe(200);
  });

  it.each([
    ['POST /rotations', '/rotations', { mailboxIds: ['mbx_test_0001'] }],
    ['POST /queue/pause', '/queue/pause', undefined],
    ['POST /queue/resume', '/queue/resume', undefined],
    ['POST /rotations/:jobId/retry', '/rotations/rotate__mbx_test_0001__x/retry', undefined],
    ['POST /mailboxes/:id/keys/:keyId/revoke', '/mailboxes/mbx_test_0001/keys/smx_key_1/revoke', undefined],
  ])('answers 403 insufficient_role to a viewer token on %s, and does nothing', async (_name, path, body) => {
    const answer = body === undefined ? await postEmpty(`${harness.url}${path}`, bearer(VIEWER_TOKEN)) : await postJson(`${harness.url}${path}`, body, bearer(VIEWER_TOKEN)).then(async (r) => ({ status: r.status, body: await r.json() }));
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ error: 'insufficient_role', tokenName: 'grafana', role: 'viewer', requiredRole: 'operator' });
    expect(await harness.runtime.queue.queue.isPaused()).toBe(false);
    expect(await harness.runtime.queue.queue.count()).toBe(0);
  });

  it('lets an operator token rotate, and the job says which token asked for it', async () => {
    const response = await postJson(`${harness.url}/rotations`, { mailboxIds: [harness.bed.mailboxIds[0]] }, bearer(OPERATOR_TOKEN));
    expect(response.status).toBe(202);
    const [rotation] = ((await response.json()) as { rotations: Array<{ jobId: string }> }).rotations;
    const job = await harness.runtime.queue.getJob(rotation!.jobId);
    expect((job?.data as { requestedBy?: string }).requestedBy).toBe('api:oncall');
  });

  it('keeps ROTATOR_API_TOKEN working as the operator token named "default"', async () => {
    const paused = await postEmpty(`${harness.url}/queue/pause`, bearer(TEST_API_TOKEN));
    expect(paused.status).toBe(200);
    const resumed = await postEmpty(`${harness.url}/queue/resume`, bearer(TEST_API_TOKEN));
    expect(resumed.status).toBe(200);
    const line = harness.bed.logs.parsed().find((l) => l['msg'] === 'rotation queue paused through the API');
    expect(line?.['tokenName']).toBe('default');
  });

  it('names the token on the request log line, never the token itself', async () => {
    await getJson(`${harness.url}/queue?probe=named-token-log`, bearer(VIEWER_TOKEN));
    const line = harness.bed.logs.parsed().find((l) => l['msg'] === 'http request' && String(l['url']).includes('probe='));
    expect(line).toMatchObject({ tokenName: 'grafana', statusCode: 200 });
    const text = harness.bed.logs.text();
    for (const token of [VIEWER_TOKEN, OPERATOR_TOKEN, TEST_API_TOKEN]) expect(text).not.toContain(token);
  });
});

describe('TokenRegistry', () => {
  const registry = new TokenRegistry([
    { name: 'default', role: 'operator', token: 'first-token-0123456789abcdef' },
    { name: 'grafana', role: 'viewer', token: 'second-token-0123456789abcdef' },
  ]);

  it('identifies each token by name and role', () => {
    expect(registry.identify('first-token-0123456789abcdef')).toEqual({ name: 'default', role: 'operator' });
    expect(registry.identify('second-token-0123456789abcdef')).toEqual({ name: 'grafana', role: 'viewer' });
  });

  it.each([['a missing token', undefined], ['an empty token', ''], ['a prefix', 'first-token'], ['an extension', 'first-token-0123456789abcdef0'], ['the token in another case', 'FIRST-TOKEN-0123456789ABCDEF']])(
    'identifies nobody for %s',
    (_name, candidate) => {
      expect(registry.identify(candidate)).toBeUndefined();
    },
  );

  it('lets a viewer use only safe methods and an operator everything', () => {
    expect(['GET', 'HEAD'].every((method) => roleAllows('viewer', method))).toBe(true);
    expect(['POST', 'PUT', 'PATCH', 'DELETE'].some((method) => roleAllows('viewer', method))).toBe(false);
    expect(['GET', 'POST', 'PUT', 'DELETE'].every((method) => roleAllows('operator', method))).toBe(true);
  });
});
