import { createManualClock, startSendmuxSandbox } from '../../../standins/sendmux';
import type { SendmuxSandbox } from '../../../standins/sendmux';
import { ACTIVE, ROOT_KEY, call, me, mintSecret } from './helpers';

// 10 s into a minute: the fixed 60 s window that holds it ends 50 s later.
const START_MS = Date.UTC(2030, 0, 1, 0, 0, 10);
const WINDOW_END_SECONDS = Date.UTC(2030, 0, 1, 0, 1, 0) / 1000;
const SECOND_KEY = 'smx_root_second_team_key';

describe('Sendmux sandbox rate limit', () => {
  let sandbox: SendmuxSandbox;

  beforeEach(async () => {
    sandbox = await startSendmuxSandbox({
      mailboxes: [ACTIVE],
      managementKeys: [ROOT_KEY, SECOND_KEY],
      rateLimit: { max: 3, windowMs: 60_000 },
      clock: createManualClock(START_MS),
    });
  });
  afterEach(() => sandbox.close());

  it('reports limit, remaining and reset (unix seconds) on every management response', async () => {
    const first = await call(sandbox, 'GET', '/mailboxes');
    const second = await call(sandbox, 'GET', `/mailboxes/${ACTIVE.id}`);

    expect(first.headers.get('x-ratelimit-limit')).toBe('3');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('2');
    expect(second.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(first.headers.get('x-ratelimit-reset')).toBe(String(WINDOW_END_SECONDS));
  });

  it('answers 429 rate_limit_exceeded with Retry-After until the window ends, then serves again', async () => {
    for (let i = 0; i < 3; i += 1) expect((await call(sandbox, 'GET', '/mailboxes')).status).toBe(200);

    const limited = await call(sandbox, 'GET', '/mailboxes');
    sandbox.clock.advance(49_999);
    const stillLimited = await call(sandbox, 'GET', '/mailboxes');
    sandbox.clock.advance(1);
    const recovered = await call(sandbox, 'GET', '/mailboxes');

    expect(limited.status).toBe(429);
    expect(limited.json.error).toMatchObject({ code: 'rate_limit_exceeded', retryable: true });
    expect(limited.headers.get('retry-after')).toBe('50');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(stillLimited.headers.get('retry-after')).toBe('1');
    expect(recovered.status).toBe(200);
    expect(recovered.headers.get('x-ratelimit-remaining')).toBe('2');
    expect(sandbox.state.counters.rateLimited).toBe(2);
  });

  it('counts mints and revokes against the same limit as reads', async () => {
    await mintSecret(sandbox, ACTIVE.id);
    await call(sandbox, 'DELETE', `/mailboxes/${ACTIVE.id}/keys/smx_000000000000000000000000`);
    await call(sandbox, 'GET', '/mailboxes');

    const limited = await call(sandbox, 'POST', `/mailboxes/${ACTIVE.id}/keys`, { body: { app_name: 'x' } });

    expect(limited.status).toBe(429);
    expect(sandbox.state.mintLog).toHaveLength(1);
  });

  it('counts a root key request it is not permitted to make, and carries the headers on the 403', async () => {
    await sandbox.close();
    sandbox = await startSendmuxSandbox({
      mailboxes: [ACTIVE],
      readOnlyManagementKeys: ['smx_root_read_only'],
      rateLimit: { max: 3, windowMs: 60_000 },
      clock: createManualClock(START_MS),
    });

    const refused = await call(sandbox, 'POST', `/mailboxes/${ACTIVE.id}/keys`, { key: 'smx_root_read_only', body: { app_name: 'x' } });

    expect(refused.status).toBe(403);
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('2');
  });

  it('sends no rate-limit headers when no root key was recognised', async () => {
    const response = await call(sandbox, 'GET', '/mailboxes', { key: 'smx_root_unknown' });

    expect(response.status).toBe(401);
    expect(response.headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('keeps a separate window per management key', async () => {
    for (let i = 0; i < 4; i += 1) await call(sandbox, 'GET', '/mailboxes');

    const otherKey = await call(sandbox, 'GET', '/mailboxes', { key: SECOND_KEY });

    expect(otherKey.status).toBe(200);
    expect(otherKey.headers.get('x-ratelimit-remaining')).toBe('2');
  });

  it('does not count /mailbox/me, which is called with a mailbox key, nor send rate-limit headers on it', async () => {
    sandbox.setRateLimit({ max: 1, windowMs: 60_000 });
    const { secret } = await mintSecret(sandbox, ACTIVE.id);

    const checks = await Promise.all([me(sandbox, secret), me(sandbox, secret), me(sandbox, secret)]);

    expect(checks.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(checks[0]!.headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('is unlimited and sends no rate-limit headers when the limit is null', async () => {
    sandbox.setRateLimit(null);
    const responses = [];
    for (let i = 0; i < 10; i += 1) responses.push(await call(sandbox, 'GET', '/mailboxes'));

    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(responses[0]!.headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('starts a fresh window when the limit is changed at runtime', async () => {
    for (let i = 0; i < 4; i += 1) await call(sandbox, 'GET', '/mailboxes');
    sandbox.setRateLimit({ max: 5, windowMs: 60_000 });

    const response = await call(sandbox, 'GET', '/mailboxes');

    expect(response.status).toBe(200);
    expect(response.headers.get('x-ratelimit-remaining')).toBe('4');
  });
});
