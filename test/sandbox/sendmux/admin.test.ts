import { startSendmuxSandbox } from '../../../standins/sendmux';
import type { SendmuxSandbox } from '../../../standins/sendmux';
import { isLoopback } from '../../../standins/sendmux/admin-api';
import { ACTIVE, admin, call, me, mint } from './helpers';

describe('Sendmux sandbox admin API (/_sandbox, not part of the vendor contract)', () => {
  let sandbox: SendmuxSandbox;

  beforeEach(async () => {
    sandbox = await startSendmuxSandbox({ mailboxes: [ACTIVE], rateLimit: null });
  });
  afterEach(() => sandbox.close());

  it('GET /state shows mailboxes, keys with their secrets, logs, counters and injected faults', async () => {
    const minted = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-state', appName: 'state-test' });
    sandbox.faults.inject({ operation: 'listMailboxes', kind: 'status500' });
    await call(sandbox, 'GET', '/mailboxes');

    const state = await admin(sandbox, 'GET', '/state');

    expect(state.status).toBe(200);
    expect(state.json.mailboxes).toEqual([expect.objectContaining({ id: ACTIVE.id, status: 'active' })]);
    expect(state.json.keys).toEqual([
      expect.objectContaining({ id: minted.json.data.credential.public_id, secret: minted.json.data.credential.secret, appName: 'state-test', idempotencyKey: 'rot-state' }),
    ]);
    expect(state.json.mintLog).toHaveLength(1);
    expect(state.json.counters.requests).toEqual({ mintMailboxKey: { '201': 1 }, listMailboxes: { '500': 1 } });
    expect(state.json.injected).toEqual({ status500: 1 });
    expect(state.json.idempotencyEntries).toBe(1);
  });

  it('POST /faults injects a rule and DELETE /faults clears every pending rule', async () => {
    const injected = await admin(sandbox, 'POST', '/faults', { operation: 'getMailbox', kind: 'status503', times: 5 });
    const during = await call(sandbox, 'GET', `/mailboxes/${ACTIVE.id}`);
    const cleared = await admin(sandbox, 'DELETE', '/faults');
    const after = await call(sandbox, 'GET', `/mailboxes/${ACTIVE.id}`);

    expect(injected.status).toBe(201);
    expect(during.status).toBe(503);
    expect(cleared.status).toBe(200);
    expect(after.status).toBe(200);
  });

  it('POST /faults refuses an invalid rule with 400 naming the field', async () => {
    const response = await admin(sandbox, 'POST', '/faults', { kind: 'status500', delayMs: -1 });

    expect(response.status).toBe(400);
    expect(response.json.error.message).toMatch(/delayMs/);
  });

  it('POST /clock/advance moves the sandbox clock (and so idempotency TTLs)', async () => {
    const first = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-clock' });
    const before = sandbox.clock.now();

    const advanced = await admin(sandbox, 'POST', '/clock/advance', { ms: 25 * 60 * 60 * 1000 });
    const second = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-clock' });

    expect(advanced.status).toBe(200);
    expect(sandbox.clock.now() - before).toBeGreaterThanOrEqual(25 * 60 * 60 * 1000);
    expect(second.json.data.credential.public_id).not.toBe(first.json.data.credential.public_id);
  });

  it('POST /mailboxes adds a mailbox and POST /mailboxes/:id/status changes its status', async () => {
    const added = await admin(sandbox, 'POST', '/mailboxes', { id: 'mbx_added', email: 'added@example.test', status: 'active' });
    const minted = await mint(sandbox, 'mbx_added');
    const suspended = await admin(sandbox, 'POST', '/mailboxes/mbx_added/status', { status: 'suspended' });
    const check = await me(sandbox, minted.json.data.credential.secret);

    expect(added.status).toBe(201);
    expect(minted.status).toBe(201);
    expect(suspended.status).toBe(200);
    expect(check.status).toBe(401);
  });

  it('POST /mailboxes refuses a duplicate id and a bad email with 400', async () => {
    const duplicate = await admin(sandbox, 'POST', '/mailboxes', { id: ACTIVE.id, email: 'again@example.test' });
    const badEmail = await admin(sandbox, 'POST', '/mailboxes', { id: 'mbx_bad', email: 'not-an-email' });

    expect(duplicate.status).toBe(400);
    expect(duplicate.json.error.message).toMatch(/already exists/);
    expect(badEmail.status).toBe(400);
    expect(badEmail.json.error.message).toMatch(/email/);
  });

  it('POST /keys seeds a live key that works without a mint call', async () => {
    const seeded = await admin(sandbox, 'POST', '/keys', { mailboxId: ACTIVE.id, appName: 'pre-existing' });

    expect(seeded.status).toBe(201);
    expect((await me(sandbox, seeded.json.key.secret)).status).toBe(200);
    expect(sandbox.state.mintLog).toHaveLength(0);
  });

  it('POST /config switches the mint shape, rate limit and credential limits at runtime', async () => {
    const configured = await admin(sandbox, 'POST', '/config', {
      mintShape: 'legacy',
      rateLimit: { max: 10, windowMs: 60_000 },
      maxActiveKeysPerMailbox: 1,
    });
    const legacy = await mint(sandbox, ACTIVE.id);
    const refused = await mint(sandbox, ACTIVE.id);

    expect(configured.json.config).toMatchObject({ mintShape: 'legacy', rateLimit: { max: 10, windowMs: 60_000 }, maxActiveKeysPerMailbox: 1 });
    expect(legacy.json.data.api_key.key).toMatch(/^smx_mbx_/);
    expect(legacy.headers.get('x-ratelimit-limit')).toBe('10');
    expect(refused.json.error.code).toBe('limit_exceeded');
  });

  it('POST /config adds latency to every vendor response, but not to admin calls', async () => {
    await admin(sandbox, 'POST', '/config', { latencyMs: 200 });

    const startedApi = Date.now();
    await call(sandbox, 'GET', '/mailboxes');
    const apiMs = Date.now() - startedApi;
    const startedAdmin = Date.now();
    await admin(sandbox, 'GET', '/state');
    const adminMs = Date.now() - startedAdmin;

    expect(apiMs).toBeGreaterThanOrEqual(190);
    expect(adminMs).toBeLessThan(190);
  });

  it('POST /config refuses unknown settings with 400', async () => {
    const response = await admin(sandbox, 'POST', '/config', { mintShape: 'v3' });

    expect(response.status).toBe(400);
    expect(response.json.error.message).toMatch(/mintShape/);
  });

  it('treats only loopback addresses as local', () => {
    expect(['127.0.0.1', '127.0.0.53', '::1', '::ffff:127.0.0.1'].map(isLoopback)).toEqual([true, true, true, true]);
    expect(['10.0.0.7', '::ffff:192.168.1.2', '2001:db8::1', undefined].map(isLoopback)).toEqual([false, false, false, false]);
  });
});

describe('Sendmux sandbox latency', () => {
  it('draws each response delay from a configured range', async () => {
    const sandbox = await startSendmuxSandbox({ latencyMs: { min: 100, max: 150 }, random: () => 1 });
    try {
      const started = Date.now();
      await call(sandbox, 'GET', '/mailboxes');

      expect(Date.now() - started).toBeGreaterThanOrEqual(145);
    } finally {
      await sandbox.close();
    }
  });

  it('refuses a range whose max is below its min', async () => {
    await expect(startSendmuxSandbox({ latencyMs: { min: 50, max: 10 } })).rejects.toThrow(/min <= max/);
  });
});
