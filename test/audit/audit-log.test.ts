import { Redis } from 'ioredis';
import { AuditLog } from '../../src/audit/audit-log';
import { LogCapture } from '../support/test-bed';
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from '../support/redis';
import { failedRotationEvent, revocationEvent, rotationEvent } from './sample-events';

describe('AuditLog', () => {
  let redis: Redis;
  let prefix: string;
  let logs: LogCapture;

  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  });
  beforeEach(() => {
    prefix = uniquePrefix('audit');
    logs = new LogCapture();
  });
  afterEach(async () => {
    await deleteKeysWithPrefix(redis, prefix);
  });
  afterAll(async () => {
    await redis.quit();
  });

  function auditLog(extra: { maxPerMailbox?: number; maxGlobal?: number } = {}): AuditLog {
    return new AuditLog({ redis, prefix, logger: logs.logger, ...extra });
  }

  it('stores a realistic event as one JSON field and reads it back unchanged', async () => {
    const audit = auditLog();
    const event = rotationEvent({ requestedBy: 'cli:alice' });
    audit.record(event);
    await audit.flush();

    const [entry] = await audit.forMailbox('mbx_a');
    expect(entry?.event).toEqual(event);
    expect(entry?.id).toMatch(/^\d+-\d+$/);
  });

  it('stores nothing but the event in both the global and the per-mailbox stream', async () => {
    const audit = auditLog();
    const event = failedRotationEvent();
    audit.record(event);
    await audit.flush();

    const keys = (await redis.keys(`${prefix}:*`)).sort();
    expect(keys).toEqual([`${prefix}:audit:all`, `${prefix}:audit:mailbox:mbx_a`]);
    for (const key of keys) {
      const entries = await redis.xrange(key, '-', '+');
      expect(entries).toHaveLength(1);
      expect(entries[0]![1]).toEqual(['event', JSON.stringify(event)]);
    }
  });

  it('returns the attempts of one mailbox oldest first, the last `limit` of them, without other mailboxes', async () => {
    const audit = auditLog();
    for (let attempt = 1; attempt <= 5; attempt++) {
      audit.record(rotationEvent({ attempt, outcome: attempt < 5 ? 'retrying' : 'rotated' }));
      audit.record(rotationEvent({ mailboxId: 'mbx_b', attempt }));
    }
    await audit.flush();

    const all = await audit.forMailbox('mbx_a');
    expect(all.map((e) => e.event.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(all.every((e) => e.event.mailboxId === 'mbx_a')).toBe(true);
    const lastTwo = await audit.forMailbox('mbx_a', 2);
    expect(lastTwo.map((e) => [e.event.attempt, e.event.outcome])).toEqual([
      [4, 'retrying'],
      [5, 'rotated'],
    ]);
  });

  it('returns an empty history for a mailbox it has never seen', async () => {
    expect(await auditLog().forMailbox('mbx_never')).toEqual([]);
  });

  it('lists recent attempts of every mailbox, oldest first', async () => {
    const audit = auditLog();
    audit.record(rotationEvent({ mailboxId: 'mbx_a' }));
    audit.record(revocationEvent({ mailboxId: 'mbx_b' }));
    audit.record(rotationEvent({ mailboxId: 'mbx_c' }));
    await audit.flush();

    expect((await audit.recent()).map((e) => [e.event.kind, e.event.mailboxId])).toEqual([
      ['rotation', 'mbx_a'],
      ['revocation', 'mbx_b'],
      ['rotation', 'mbx_c'],
    ]);
    expect((await audit.recent(1)).map((e) => e.event.mailboxId)).toEqual(['mbx_c']);
  });

  it('finds rotation and revocation failures written since a time, and nothing older or successful', async () => {
    const audit = auditLog();
    audit.record(failedRotationEvent({ mailboxId: 'mbx_old' }));
    await audit.flush();
    await new Promise((r) => setTimeout(r, 20));
    const [redisSeconds, redisMicros] = await redis.time();
    const since = Number(redisSeconds) * 1000 + Math.floor(Number(redisMicros) / 1000) + 1;
    await new Promise((r) => setTimeout(r, 5));

    audit.record(rotationEvent({ mailboxId: 'mbx_ok' }));
    audit.record(rotationEvent({ mailboxId: 'mbx_retry', outcome: 'retrying' }));
    audit.record(failedRotationEvent({ mailboxId: 'mbx_new' }));
    audit.record(revocationEvent({ mailboxId: 'mbx_rev', outcome: 'failed', message: 'step revoke: 500' }));
    await audit.flush();

    const failures = await audit.failuresSince(since);
    expect(failures.map((e) => [e.event.kind, e.event.mailboxId])).toEqual([
      ['rotation', 'mbx_new'],
      ['revocation', 'mbx_rev'],
    ]);
  });

  it('keeps both streams bounded (MAXLEN ~) however many events are recorded', async () => {
    const maxPerMailbox = 10;
    const maxGlobal = 30;
    const audit = auditLog({ maxPerMailbox, maxGlobal });
    const recorded = 600;
    for (let attempt = 1; attempt <= recorded; attempt++) audit.record(rotationEvent({ attempt }));
    await audit.flush();

    // Approximate trimming removes whole stream nodes, so a stream may exceed its bound by up to one node.
    const [, nodeSize] = (await redis.config('GET', 'stream-node-max-entries')) as [string, string];
    const slack = Number(nodeSize);
    const perMailbox = await redis.xlen(`${prefix}:audit:mailbox:mbx_a`);
    const global = await redis.xlen(`${prefix}:audit:all`);
    expect(perMailbox).toBeGreaterThanOrEqual(maxPerMailbox);
    expect(perMailbox).toBeLessThanOrEqual(maxPerMailbox + slack);
    expect(global).toBeGreaterThanOrEqual(maxGlobal);
    expect(global).toBeLessThanOrEqual(maxGlobal + slack);
    expect(perMailbox).toBeLessThan(recorded);
    // The newest attempts are the ones kept.
    const newest = await audit.forMailbox('mbx_a', 3);
    expect(newest.map((e) => e.event.attempt)).toEqual([recorded - 2, recorded - 1, recorded]);
  });

  it('logs instead of throwing when Redis cannot take the write', async () => {
    // Never connected and no offline queue: every command is refused at once, as when Redis is unreachable.
    const deadRedis = new Redis(TEST_REDIS_URL, { lazyConnect: true, enableOfflineQueue: false });
    const audit = new AuditLog({ redis: deadRedis, prefix, logger: logs.logger });
    const event = rotationEvent();

    expect(() => audit.record(event)).not.toThrow();
    await audit.flush();

    const warning = logs.parsed().find((l) => l.msg === 'could not write the audit entry of a job attempt; the job itself is unaffected');
    expect(warning).toEqual(expect.objectContaining({ jobId: event.jobId, mailboxId: 'mbx_a', outcome: 'rotated' }));
    deadRedis.disconnect();
  });

  it('refuses a bad limit with a message naming it', async () => {
    const audit = auditLog();
    await expect(audit.forMailbox('mbx_a', 0)).rejects.toThrow('limit must be a positive integer (got 0)');
    await expect(audit.recent(2.5)).rejects.toThrow('limit must be a positive integer (got 2.5)');
    expect(() => auditLog({ maxGlobal: -1 })).toThrow('maxGlobal must be a positive integer (got -1)');
  });
});
