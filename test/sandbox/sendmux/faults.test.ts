import { HUGE_BODY_BYTES, startSendmuxSandbox } from '../../../standins/sendmux';
import type { SendmuxSandbox } from '../../../standins/sendmux';
import { ACTIVE, OTHER_ACTIVE, call, mint } from './helpers';

/** What Node's fetch reports when the server closes the connection without answering. */
async function expectNetworkError(request: Promise<unknown>): Promise<void> {
  await expect(request).rejects.toThrow('fetch failed');
}

describe('Sendmux sandbox fault injection', () => {
  let sandbox: SendmuxSandbox;

  beforeEach(async () => {
    sandbox = await startSendmuxSandbox({ mailboxes: [ACTIVE, OTHER_ACTIVE], rateLimit: null });
  });
  afterEach(() => sandbox.close());

  it('drop: closes the connection before doing the work, so nothing is minted', async () => {
    sandbox.faults.inject({ operation: 'mintMailboxKey', kind: 'drop' });

    await expectNetworkError(mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-drop' }));
    const retry = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-drop' });

    expect(retry.status).toBe(201);
    expect(sandbox.state.mintLog).toHaveLength(1);
    expect(sandbox.state.counters.requests.mintMailboxKey).toEqual({ dropped: 1, '201': 1 });
    expect(sandbox.faults.injected).toEqual({ drop: 1 });
  });

  it('commitThenDrop: mints and caches, then closes the connection; a retry replays the same key', async () => {
    sandbox.faults.inject({ operation: 'mintMailboxKey', kind: 'commitThenDrop' });

    await expectNetworkError(mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-commit' }));
    const lostKeys = sandbox.liveKeys(ACTIVE.id);
    const retry = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-commit' });

    expect(lostKeys).toHaveLength(1);
    expect(retry.status).toBe(201);
    expect(retry.json.data.credential.public_id).toBe(lostKeys[0]!.id);
    expect(retry.json.data.credential.secret).toBe(lostKeys[0]!.secret);
    expect(sandbox.state.mintsWithIdempotencyKey('rot-commit')).toHaveLength(1);
    expect(sandbox.state.counters.idempotentReplays).toBe(1);
  });

  it('delay: does the work, then holds the response for delayMs', async () => {
    sandbox.faults.inject({ operation: 'mintMailboxKey', kind: 'delay', delayMs: 300 });
    const started = Date.now();

    const response = await mint(sandbox, ACTIVE.id);

    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(response.status).toBe(201);
    expect(sandbox.liveKeys(ACTIVE.id)).toHaveLength(1);
  });

  it('nullCredential: answers 201 with a null credential, creates no key, and is not cached', async () => {
    sandbox.faults.inject({ kind: 'nullCredential' });

    const failed = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-null' });
    const retry = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-null' });

    expect(failed.status).toBe(201);
    expect(failed.json.data).toEqual({ credential: null });
    expect(failed.headers.get('location')).toBeNull();
    expect(retry.status).toBe(201);
    expect(retry.json.data.credential.secret).toMatch(/^smx_mbx_/);
    expect(sandbox.liveKeys(ACTIVE.id)).toHaveLength(1);
  });

  it('nullCredential in the legacy shape nulls both api_key and imap_smtp_credentials', async () => {
    sandbox.setMintShape('legacy');
    sandbox.faults.inject({ kind: 'nullCredential' });

    const failed = await mint(sandbox, ACTIVE.id);

    expect(failed.json.data).toEqual({ api_key: null, imap_smtp_credentials: null });
  });

  it('nullCredential only affects mints', async () => {
    sandbox.faults.inject({ kind: 'nullCredential' });

    await call(sandbox, 'GET', '/mailboxes');
    const minted = await mint(sandbox, ACTIVE.id);

    expect(minted.json.data.credential).toBeNull();
  });

  it.each([
    ['status500', 500, 'internal_error'],
    ['status503', 503, 'service_unavailable'],
    ['status429', 429, 'rate_limit_exceeded'],
  ] as const)('%s: answers %i %s (retryable) without doing the work', async (kind, status, code) => {
    sandbox.faults.inject({ operation: 'mintMailboxKey', kind, retryAfterSeconds: 7 });

    const response = await mint(sandbox, ACTIVE.id, { idempotencyKey: `rot-${kind}` });
    const retry = await mint(sandbox, ACTIVE.id, { idempotencyKey: `rot-${kind}` });

    expect(response.status).toBe(status);
    expect(response.json.error).toMatchObject({ code, retryable: true });
    expect(response.headers.get('x-request-id')).toBe(response.json.meta.request_id);
    if (kind !== 'status500') expect(response.headers.get('retry-after')).toBe('7');
    expect(retry.status).toBe(201);
    expect(sandbox.state.mintLog).toHaveLength(1);
  });

  it('status503 sends no Retry-After unless one is given; status429 defaults it to 1 s', async () => {
    sandbox.faults.inject({ kind: 'status503' });
    sandbox.faults.inject({ kind: 'status429' });

    const unavailable = await call(sandbox, 'GET', '/mailboxes');
    const limited = await call(sandbox, 'GET', '/mailboxes');

    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get('retry-after')).toBeNull();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
  });

  it('html502: answers a gateway HTML page with none of the API headers', async () => {
    sandbox.setRateLimit({ max: 100, windowMs: 60_000 });
    sandbox.faults.inject({ kind: 'html502' });

    const response = await mint(sandbox, ACTIVE.id);

    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('x-request-id')).toBeNull();
    expect(response.headers.get('x-ratelimit-limit')).toBeNull();
    expect(response.json).toBeUndefined();
    expect(sandbox.state.mintLog).toHaveLength(0);
  });

  it('okFalse200: answers 200 with an ok:false error envelope', async () => {
    sandbox.faults.inject({ kind: 'okFalse200' });

    const response = await mint(sandbox, ACTIVE.id);

    expect(response.status).toBe(200);
    expect(response.json.ok).toBe(false);
    expect(response.json.error.code).toBe('internal_error');
    expect(sandbox.state.mintLog).toHaveLength(0);
  });

  it('hugeBody: answers a 2xx with a body of several MB', async () => {
    sandbox.faults.inject({ kind: 'hugeBody' });

    const response = await mint(sandbox, ACTIVE.id);

    expect(response.status).toBe(201);
    expect(Buffer.byteLength(response.text)).toBeGreaterThan(HUGE_BODY_BYTES);
    expect(HUGE_BODY_BYTES).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    expect(sandbox.state.mintLog).toHaveLength(0);
  });

  it('applies a rule to exactly `times` matching requests', async () => {
    sandbox.faults.inject({ operation: 'listMailboxes', kind: 'status500', times: 2 });

    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await call(sandbox, 'GET', '/mailboxes')).status);

    expect(statuses).toEqual([500, 500, 200]);
    expect(sandbox.faults.injected).toEqual({ status500: 2 });
  });

  it('matches only the named operation and mailbox', async () => {
    sandbox.faults.inject({ operation: 'mintMailboxKey', kind: 'status500', mailboxId: OTHER_ACTIVE.id });

    const list = await call(sandbox, 'GET', '/mailboxes');
    const wrongMailbox = await mint(sandbox, ACTIVE.id);
    const target = await mint(sandbox, OTHER_ACTIVE.id);

    expect([list.status, wrongMailbox.status, target.status]).toEqual([200, 201, 500]);
  });

  it('matches /mailbox/me by the mailbox of the calling key', async () => {
    const minted = await mint(sandbox, ACTIVE.id);
    sandbox.faults.inject({ operation: 'getMailboxMe', kind: 'status503', mailboxId: ACTIVE.id });

    const response = await call(sandbox, 'GET', '/mailbox/me', { key: minted.json.data.credential.secret });

    expect(response.status).toBe(503);
  });

  it('applies a probability rule to every matching request until cleared', async () => {
    sandbox.faults.inject({ operation: 'listMailboxes', kind: 'status503', probability: 1 });
    sandbox.faults.inject({ operation: 'getMailbox', kind: 'status500', probability: 0 });

    const during = [await call(sandbox, 'GET', '/mailboxes'), await call(sandbox, 'GET', '/mailboxes')];
    const never = await call(sandbox, 'GET', `/mailboxes/${ACTIVE.id}`);
    sandbox.faults.clear();
    const after = await call(sandbox, 'GET', '/mailboxes');

    expect(during.map((r) => r.status)).toEqual([503, 503]);
    expect(never.status).toBe(200);
    expect(after.status).toBe(200);
  });

  it('rejects an invalid rule with an error naming the field', () => {
    expect(() => sandbox.faults.inject({ kind: 'explode' as never })).toThrow(/kind/);
    expect(() => sandbox.faults.inject({ kind: 'status500', probability: 2 })).toThrow(/probability/);
    expect(() => sandbox.faults.inject({ kind: 'status500', times: 0 })).toThrow(/times/);
  });
});
