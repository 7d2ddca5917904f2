import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { RotatorMetrics } from '../../src/metrics/rotator-metrics';
import { MailboxLedger } from '../../src/rotation/mailbox-ledger';
import type { RotationAttemptEvent, RevocationAttemptEvent } from '../../src/rotation/events';
import type { SendmuxCallRecord } from '../../src/sendmux/types';
import { randomBytes } from 'node:crypto';
import { SendmuxClient } from '../../src/sendmux/client';
import { HTTP_STATUS_LABELS, SENDMUX_CODE_LABELS } from '../../src/metrics/metric-labels';
import { CannedHttpServer } from '../support/canned-http-server';
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from '../support/redis';
import { parsePrometheusText, sampleValue, samplesNamed } from './support/prometheus-text';
import { freePort } from './support/redis-server-process';

function rotationEvent(outcome: RotationAttemptEvent['outcome'], durationMs = 1500): RotationAttemptEvent {
  return {
    kind: 'rotation',
    at: new Date().toISOString(),
    jobId: 'rotate__mbx_a__t1',
    mailboxId: 'mbx_a',
    reason: 'manual',
    slot: 't1',
    requestedBy: 'test',
    attempt: 1,
    step: 'done',
    outcome,
    durationMs,
  };
}

function revocationEvent(outcome: RevocationAttemptEvent['outcome']): RevocationAttemptEvent {
  return { kind: 'revocation', at: new Date().toISOString(), jobId: 'revoke__mbx_a__k1', mailboxId: 'mbx_a', keyId: 'k1', attempt: 1, outcome, durationMs: 10 };
}

function sendmuxCall(status: number | null, code?: string): SendmuxCallRecord {
  return { operation: 'mintMailboxKey', method: 'POST', path: '/mailboxes/mbx_a/keys', status, code, durationMs: 12, rateLimit: {} };
}

async function scrape(metrics: RotatorMetrics) {
  return parsePrometheusText(await metrics.registry.metrics());
}

describe('RotatorMetrics from events', () => {
  it('counts every rotation attempt by outcome', async () => {
    const metrics = new RotatorMetrics({ collectDefaultMetrics: false });
    for (const outcome of ['rotated', 'rotated', 'retrying', 'rate-limited', 'failed', 'skipped', 'already-done'] as const) {
      metrics.record(rotationEvent(outcome));
    }
    const exposition = await scrape(metrics);
    expect(sampleValue(exposition, 'rotator_rotations_total', { outcome: 'rotated' })).toBe(2);
    for (const outcome of ['retrying', 'rate-limited', 'failed', 'skipped', 'already-done']) {
      expect(sampleValue(exposition, 'rotator_rotations_total', { outcome })).toBe(1);
    }
  });

  it('observes the duration only of attempts that completed the job', async () => {
    const metrics = new RotatorMetrics({ collectDefaultMetrics: false });
    metrics.record(rotationEvent('retrying', 100));
    metrics.record(rotationEvent('failed', 100));
    metrics.record(rotationEvent('rotated', 1500));
    metrics.record(rotationEvent('already-done', 300));
    const exposition = await scrape(metrics);
    expect(sampleValue(exposition, 'rotator_rotation_duration_seconds_count')).toBe(2);
    expect(sampleValue(exposition, 'rotator_rotation_duration_seconds_sum')).toBeCloseTo(1.8, 6);
    expect(sampleValue(exposition, 'rotator_rotation_duration_seconds_bucket', { le: '1' })).toBe(1);
  });

  it('counts revocation attempts by outcome', async () => {
    const metrics = new RotatorMetrics({ collectDefaultMetrics: false });
    metrics.record(revocationEvent('revoked'));
    metrics.record(revocationEvent('retrying'));
    metrics.record(revocationEvent('revoked'));
    const exposition = await scrape(metrics);
    expect(sampleValue(exposition, 'rotator_revocations_total', { outcome: 'revoked' })).toBe(2);
    expect(sampleValue(exposition, 'rotator_revocations_total', { outcome: 'retrying' })).toBe(1);
    expect(samplesNamed(exposition, 'rotator_rotations_total')).toEqual([]);
  });

  it('counts Sendmux calls by operation, status and code, and 429s separately', async () => {
    const metrics = new RotatorMetrics({ collectDefaultMetrics: false });
    metrics.onSendmuxCall(sendmuxCall(201));
    metrics.onSendmuxCall(sendmuxCall(429, 'rate_limit_exceeded'));
    metrics.onSendmuxCall(sendmuxCall(429, 'rate_limit_exceeded'));
    metrics.onSendmuxCall(sendmuxCall(null, 'network_error'));
    const exposition = await scrape(metrics);
    expect(sampleValue(exposition, 'rotator_sendmux_requests_total', { operation: 'mintMailboxKey', status: '201', code: '' })).toBe(1);
    expect(sampleValue(exposition, 'rotator_sendmux_requests_total', { operation: 'mintMailboxKey', status: '429', code: 'rate_limit_exceeded' })).toBe(2);
    expect(sampleValue(exposition, 'rotator_sendmux_requests_total', { operation: 'mintMailboxKey', status: 'none', code: 'network_error' })).toBe(1);
    expect(sampleValue(exposition, 'rotator_sendmux_rate_limited_total')).toBe(2);
  });

  it('keeps rotator_sendmux_requests_total bounded when the upstream answers a new error code and status on each of 50 requests', async () => {
    const upstream = await CannedHttpServer.start('/api/v1');
    try {
      const metrics = new RotatorMetrics({ collectDefaultMetrics: false });
      const client = new SendmuxClient({ baseUrl: upstream.baseUrl, managementKey: 'smx_root_METRICSTEST0123456789', onCall: (record) => metrics.onSendmuxCall(record) });
      for (let i = 0; i < 50; i++) {
        const code = `made_up_${randomBytes(6).toString('hex')}`;
        upstream.reply(400 + ((i * 7) % 200), { ok: false, error: { code, message: 'invented' } });
        await client.getMailbox('mbx_1').catch(() => undefined);
      }
      const series = samplesNamed(await scrape(metrics), 'rotator_sendmux_requests_total');
      expect(series.reduce((sum, sample) => sum + sample.value, 0)).toBe(50);
      expect(series.every((sample) => SENDMUX_CODE_LABELS.includes(sample.labels.code!) && HTTP_STATUS_LABELS.includes(sample.labels.status!))).toBe(true);
      // The invented codes all fell into "other"; one operation gives at most one series per status label and code label.
      expect(series.filter((sample) => sample.labels.code === 'other').length).toBeGreaterThan(0);
      expect(series.some((sample) => sample.labels.code!.startsWith('made_up_'))).toBe(false);
      expect(series.length).toBeLessThanOrEqual(HTTP_STATUS_LABELS.length + SENDMUX_CODE_LABELS.length);
    } finally {
      await upstream.close();
    }
  });

  it('keeps a contract code and a known status as they are, and maps the rest onto closed sets', async () => {
    const metrics = new RotatorMetrics({ collectDefaultMetrics: false });
    metrics.onSendmuxCall(sendmuxCall(409, 'idempotency_conflict'));
    metrics.onSendmuxCall(sendmuxCall(418, 'http_418'));
    metrics.onSendmuxCall(sendmuxCall(799, 'something_new'));
    const exposition = await scrape(metrics);
    expect(sampleValue(exposition, 'rotator_sendmux_requests_total', { operation: 'mintMailboxKey', status: '409', code: 'idempotency_conflict' })).toBe(1);
    expect(sampleValue(exposition, 'rotator_sendmux_requests_total', { operation: 'mintMailboxKey', status: '4xx', code: 'http_error' })).toBe(1);
    expect(sampleValue(exposition, 'rotator_sendmux_requests_total', { operation: 'mintMailboxKey', status: 'other', code: 'other' })).toBe(1);
  });

  it('registers the default process metrics unless told not to', async () => {
    expect((await scrape(new RotatorMetrics())).types.get('process_resident_memory_bytes')).toBe('gauge');
    expect((await scrape(new RotatorMetrics({ collectDefaultMetrics: false }))).types.has('process_resident_memory_bytes')).toBe(false);
  });
});

describe('RotatorMetrics at scrape time', () => {
  const prefix = uniquePrefix('metrics');
  let redis: Redis;
  let ledger: MailboxLedger;
  let queue: Queue;

  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
    ledger = new MailboxLedger(redis, prefix);
    queue = new Queue('metrics-test', { connection: redis, prefix });
  });
  afterAll(async () => {
    await queue.close();
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });

  it('reads queue counts, key-age buckets, the oldest age and failure counts from their sources', async () => {
    const now = Date.UTC(2026, 0, 10, 12, 0, 0);
    await ledger.recordRotation('mbx_fresh', now - 60_000, 'key_1');
    await ledger.recordRotation('mbx_stale', now - 3 * 86_400_000, 'key_2');
    await queue.add('x', {}, { delay: 60_000 });
    await queue.add('y', {});
    const metrics = new RotatorMetrics({
      collectDefaultMetrics: false,
      queue,
      lastRotations: () => ledger.allLastRotations(),
      consecutiveFailures: async () => new Map([['mbx_stale', 3], ['mbx_fresh', 1]]),
      maxKeyAgeMs: 2 * 86_400_000,
      now: () => now,
    });

    const exposition = await scrape(metrics);
    expect(sampleValue(exposition, 'rotator_queue_jobs', { state: 'delayed' })).toBe(1);
    expect(sampleValue(exposition, 'rotator_queue_jobs', { state: 'waiting' })).toBe(1);
    expect(sampleValue(exposition, 'rotator_queue_jobs', { state: 'failed' })).toBe(0);
    expect(sampleValue(exposition, 'rotator_mailboxes_by_key_age', { le: '3600' })).toBe(1);
    expect(sampleValue(exposition, 'rotator_mailboxes_by_key_age', { le: '86400' })).toBe(1);
    expect(sampleValue(exposition, 'rotator_mailboxes_by_key_age', { le: '604800' })).toBe(2);
    expect(sampleValue(exposition, 'rotator_mailboxes_by_key_age', { le: '+Inf' })).toBe(2);
    expect(sampleValue(exposition, 'rotator_oldest_rotation_age_seconds')).toBe(3 * 86_400);
    expect(sampleValue(exposition, 'rotator_mailboxes_over_max_key_age')).toBe(1);
    expect(sampleValue(exposition, 'rotator_mailboxes_failing')).toBe(2);
    expect(sampleValue(exposition, 'rotator_max_consecutive_failures')).toBe(3);
  });

  it('reports whether the queue is paused (1) or running (0), for the paused-too-long alert', async () => {
    const metrics = new RotatorMetrics({ collectDefaultMetrics: false, queue });
    await queue.pause();
    expect(sampleValue(await scrape(metrics), 'rotator_queue_paused')).toBe(1);
    await queue.resume();
    expect(sampleValue(await scrape(metrics), 'rotator_queue_paused')).toBe(0);
  });

  it('exports the configured maxKeyAge in seconds, and nothing when it is off', async () => {
    const withAge = new RotatorMetrics({ collectDefaultMetrics: false, maxKeyAgeMs: 30 * 86_400_000 });
    expect(sampleValue(await scrape(withAge), 'rotator_max_key_age_seconds')).toBe(30 * 86_400);
    const without = new RotatorMetrics({ collectDefaultMetrics: false, maxKeyAgeMs: null });
    expect((await scrape(without)).types.has('rotator_max_key_age_seconds')).toBe(false);
  });

  it('exports O(1) series for N mailboxes: the same series for 3 mailboxes as for 2,000', async () => {
    const seriesFor = async (n: number) => {
      const entries = new Map(Array.from({ length: n }, (_, i) => [`mbx_${i}`, { at: 1000 * i, keyId: 'k' }] as const));
      const failures = new Map(Array.from({ length: n }, (_, i) => [`mbx_${i}`, 1 + (i % 5)] as const));
      const metrics = new RotatorMetrics({
        collectDefaultMetrics: false,
        lastRotations: async () => entries,
        consecutiveFailures: async () => failures,
        maxKeyAgeMs: 86_400_000,
        now: () => 10_000_000,
      });
      const exposition = await scrape(metrics);
      return [...exposition.samples].map((sample) => `${sample.name}${JSON.stringify(sample.labels)}`).sort();
    };
    const small = await seriesFor(3);
    const large = await seriesFor(2_000);
    expect(large).toEqual(small);
    expect(large.some((series) => series.includes('"mailbox"'))).toBe(false);
  });
});

describe('RotatorMetrics fleet gauges for configured mailboxes only (finding 5)', () => {
  it('leaves out mailboxes the configuration does not cover, and drops one that leaves it', async () => {
    let configured = new Set(['mbx_a', 'mbx_b']);
    const metrics = new RotatorMetrics({
      collectDefaultMetrics: false,
      lastRotations: async () => new Map([['mbx_a', { at: 0, keyId: 'k' }], ['mbx_b', { at: 0, keyId: 'k' }], ['mbx_made_up', { at: 0, keyId: 'k' }]]),
      consecutiveFailures: async () => new Map([['mbx_a', 1], ['mbx_made_up', 7]]),
      isConfiguredMailbox: (mailboxId) => configured.has(mailboxId),
      now: () => 1000,
    });
    const first = await scrape(metrics);
    expect(sampleValue(first, 'rotator_mailboxes_by_key_age', { le: '+Inf' })).toBe(2);
    expect(sampleValue(first, 'rotator_mailboxes_failing')).toBe(1);
    expect(sampleValue(first, 'rotator_max_consecutive_failures')).toBe(1);
    configured = new Set(['mbx_b']);
    const second = await scrape(metrics);
    expect(sampleValue(second, 'rotator_mailboxes_by_key_age', { le: '+Inf' })).toBe(1);
    expect(sampleValue(second, 'rotator_mailboxes_failing')).toBe(0);
    expect(sampleValue(second, 'rotator_max_consecutive_failures')).toBe(0);
  });
});

describe('RotatorMetrics when Redis is down', () => {
  let deadRedis: Redis;
  let hangingRedis: Redis;
  let deadQueue: Queue;

  beforeAll(async () => {
    const port = await freePort(); // nothing listens here
    // Fails commands at once while disconnected.
    deadRedis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 200, disconnectTimeout: 10 });
    // Queues commands forever while disconnected, like a worker connection (maxRetriesPerRequest: null).
    hangingRedis = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null, retryStrategy: () => 200, disconnectTimeout: 10 });
    deadRedis.on('error', () => undefined);
    hangingRedis.on('error', () => undefined);
    deadQueue = new Queue('metrics-dead', { connection: deadRedis });
    deadQueue.on('error', () => undefined);
  });
  afterAll(async () => {
    deadRedis.disconnect();
    hangingRedis.disconnect();
    await deadQueue.close().catch(() => undefined);
  });

  it('still answers the scrape, leaving the Redis-backed gauges without samples', async () => {
    const ledger = new MailboxLedger(deadRedis, 'nowhere');
    const metrics = new RotatorMetrics({
      collectDefaultMetrics: false,
      queue: deadQueue,
      lastRotations: () => ledger.allLastRotations(),
      consecutiveFailures: async () => {
        throw new Error('alerts store unavailable');
      },
    });
    metrics.record(rotationEvent('rotated'));
    const exposition = await scrape(metrics);
    expect(sampleValue(exposition, 'rotator_rotations_total', { outcome: 'rotated' })).toBe(1);
    expect(samplesNamed(exposition, 'rotator_queue_jobs')).toEqual([]);
    expect(samplesNamed(exposition, 'rotator_mailboxes_by_key_age')).toEqual([]);
    expect(samplesNamed(exposition, 'rotator_oldest_rotation_age_seconds')).toEqual([]);
    expect(samplesNamed(exposition, 'rotator_mailboxes_failing')).toEqual([]);
    expect(samplesNamed(exposition, 'rotator_max_consecutive_failures')).toEqual([]);
  });

  it('gives up on a Redis read that hangs after collectTimeoutMs instead of holding the scrape', async () => {
    const ledger = new MailboxLedger(hangingRedis, 'nowhere');
    const metrics = new RotatorMetrics({ collectDefaultMetrics: false, lastRotations: () => ledger.allLastRotations(), collectTimeoutMs: 300 });
    const started = Date.now();
    const exposition = await scrape(metrics);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(samplesNamed(exposition, 'rotator_oldest_rotation_age_seconds')).toEqual([]);
  });
});
