import pino from 'pino';
import { RateLimitGuard } from '../../src/queue/rate-limit-guard';
import type { SendmuxCallRecord } from '../../src/sendmux/types';

const NOW_MS = Date.UTC(2030, 0, 1, 12, 0, 30);
const RESET_S = Date.UTC(2030, 0, 1, 12, 1, 0) / 1000;

function call(remaining: number | undefined, overrides: Partial<SendmuxCallRecord> = {}): SendmuxCallRecord {
  return {
    operation: 'mintMailboxKey',
    method: 'POST',
    path: '/mailboxes/mbx_a/keys',
    status: 201,
    durationMs: 50,
    rateLimit: remaining === undefined ? {} : { limit: 600, remaining, resetAtSeconds: RESET_S },
    ...overrides,
  };
}

function guardWithPauses(now = NOW_MS, extra: { maxPauseMs?: number } = {}) {
  const pauses: number[] = [];
  const lines: Array<{ msg: string; pauseMs?: number }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
  let clock = now;
  const guard = new RateLimitGuard({
    pauseQueueFor: async (ms) => {
      pauses.push(ms);
    },
    logger,
    now: () => clock,
    ...extra,
  });
  return { guard, pauses, lines, advance: (ms: number) => void (clock += ms) };
}

describe('RateLimitGuard', () => {
  it('pauses the queue until X-RateLimit-Reset once only the reserve (1% of the limit) is left', () => {
    const { guard, pauses } = guardWithPauses();
    guard.observe(call(6));
    expect(pauses).toEqual([30_000]);
  });

  it('leaves the queue alone while more than the reserve is left', () => {
    const { guard, pauses } = guardWithPauses();
    guard.observe(call(7));
    guard.observe(call(300));
    expect(pauses).toEqual([]);
  });

  it('pauses once per rate-limit window, however many responses report the low count', () => {
    const { guard, pauses } = guardWithPauses();
    guard.observe(call(5));
    guard.observe(call(4));
    guard.observe(call(0, { status: 429, operation: 'revokeMailboxKey' }));
    expect(pauses).toHaveLength(1);
  });

  it('ignores GET /mailbox/me, which the mailbox key pays for', () => {
    const { guard, pauses } = guardWithPauses();
    guard.observe(call(0, { operation: 'getMailboxMe', method: 'GET', path: '/mailbox/me' }));
    expect(pauses).toEqual([]);
  });

  it('ignores responses without rate-limit headers and resets already past', () => {
    const { guard, pauses } = guardWithPauses(RESET_S * 1000 + 1);
    guard.observe(call(undefined));
    guard.observe(call(0));
    expect(pauses).toEqual([]);
  });

  it('does not believe a reset more than 5 minutes away', () => {
    const { guard, pauses } = guardWithPauses();
    guard.observe(call(0, { rateLimit: { limit: 600, remaining: 0, resetAtSeconds: RESET_S + 3600 } }));
    expect(pauses).toEqual([5 * 60_000]);
  });

  it('never pauses longer than maxPauseMs (rotation.backoffMaxDelay), and says so with the duration really set', async () => {
    const { guard, pauses, lines } = guardWithPauses(NOW_MS, { maxPauseMs: 2_000 });
    guard.observe(call(0));
    await new Promise((resolve) => setImmediate(resolve));
    expect(pauses).toEqual([2_000]);
    expect(lines.find((line) => line.pauseMs !== undefined)?.msg).toMatch(/paused the queue for 2000 ms .*resets in 30000 ms/);
  });

  it('does not extend a running pause when responses already in flight report the low count', () => {
    const { guard, pauses, advance } = guardWithPauses(NOW_MS, { maxPauseMs: 2_000 });
    guard.observe(call(0));
    advance(1_000);
    guard.observe(call(0));
    advance(1_500);
    guard.observe(call(0));
    expect(pauses).toEqual([2_000, 2_000]);
  });

  it('leaves a 429 to the job, which pauses for its Retry-After instead of until the window resets', () => {
    const { guard, pauses } = guardWithPauses();
    guard.observe(call(0, { status: 429 }));
    expect(pauses).toEqual([]);
  });

  it('rejects a reserve fraction outside [0, 1)', () => {
    expect(() => new RateLimitGuard({ pauseQueueFor: async () => undefined, logger: pino({ level: 'silent' }), reserveFraction: 1 })).toThrow(
      /reserveFraction must be at least 0 and below 1, got 1/,
    );
  });
});
