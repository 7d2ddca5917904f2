import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { AlertNotifier, type AlertNotifierOptions } from '../../src/alerts/alert-notifier';
import { LogCapture, waitFor } from '../support/test-bed';
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from '../support/redis';
import { failedRotationEvent, revocationEvent, rotationEvent } from '../audit/sample-events';
import { CannedHttpServer } from '../support/canned-http-server';
import { WEBHOOK_SECRET_PATH, WebhookReceiver, refusedWebhookUrl } from './webhook-receiver';

const FAST_RETRY = { attempts: 3, initialDelayMs: 40, maxDelayMs: 1_000 };

describe('AlertNotifier', () => {
  let redis: Redis;
  let prefix: string;
  let logs: LogCapture;
  let receiver: WebhookReceiver;
  const notifiers: AlertNotifier[] = [];

  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  });
  beforeEach(async () => {
    prefix = uniquePrefix('alerts');
    logs = new LogCapture();
    receiver = await WebhookReceiver.start();
  });
  afterEach(async () => {
    for (const notifier of notifiers.splice(0)) await notifier.close();
    await receiver.close();
    await deleteKeysWithPrefix(redis, prefix);
  });
  afterAll(async () => {
    await redis.quit();
  });

  function notifier(extra: Partial<AlertNotifierOptions> = {}): AlertNotifier {
    const created = new AlertNotifier({ webhookUrl: receiver.url, redis, prefix, logger: logs.logger, retry: FAST_RETRY, flushTimeoutMs: 5_000, ...extra });
    notifiers.push(created);
    return created;
  }

  function logMessages(): string[] {
    return logs.parsed().map((l) => String(l.msg));
  }

  describe('when a rotation fails for good', () => {
    it('posts exactly one rotation_failed event as JSON with the mailbox, job, step, message and streak', async () => {
      const alerts = notifier();
      const event = failedRotationEvent();
      alerts.record(event);
      await alerts.flush();

      expect(receiver.received).toHaveLength(1);
      const [request] = receiver.received;
      expect(request).toEqual(expect.objectContaining({ method: 'POST', path: WEBHOOK_SECRET_PATH, contentType: 'application/json' }));
      expect(request!.body).toEqual({
        type: 'rotation_failed',
        text: expect.any(String),
        mailboxId: 'mbx_a',
        jobId: event.jobId,
        step: 'mint',
        message: event.message,
        consecutiveFailures: 1,
        at: event.at,
      });
    });

    it('writes a one-line Slack text naming the mailbox, step, job and streak, with Slack control characters escaped', async () => {
      const alerts = notifier();
      alerts.record(failedRotationEvent({ message: 'step mint: <html> & friends\nsecond line' }));
      await alerts.flush();

      const text = receiver.bodies<{ text: string }>()[0]?.text;
      expect(text).not.toContain('\n');
      expect(text).toContain('`mbx_a`');
      expect(text).toContain('`mint`');
      expect(text).toContain('1 in a row');
      expect(text).toContain('step mint: &lt;html&gt; &amp; friends second line');
    });

    it('counts failures in a row per mailbox and reports the streak in each alert', async () => {
      const alerts = notifier();
      for (let i = 0; i < 3; i++) alerts.record(failedRotationEvent({ jobId: `rotate__mbx_a__s${i}` }));
      alerts.record(failedRotationEvent({ mailboxId: 'mbx_b' }));
      await alerts.flush();

      expect(receiver.bodies().map((b) => [b.mailboxId, b.consecutiveFailures])).toEqual([
        ['mbx_a', 1],
        ['mbx_a', 2],
        ['mbx_a', 3],
        ['mbx_b', 1],
      ]);
      expect(await alerts.consecutiveFailures()).toEqual(new Map([['mbx_a', 3], ['mbx_b', 1]]));
    });
  });

  it('neither alerts nor counts on attempts that will be retried, are rate-limited, skipped or already done', async () => {
    const alerts = notifier();
    for (const outcome of ['retrying', 'rate-limited', 'skipped', 'already-done'] as const) alerts.record(rotationEvent({ outcome }));
    alerts.record(revocationEvent({ outcome: 'retrying' }));
    alerts.record(revocationEvent({ outcome: 'revoked' }));
    await alerts.flush();

    expect(receiver.received).toEqual([]);
    expect(await alerts.consecutiveFailures()).toEqual(new Map());
  });

  describe('when a failing mailbox rotates again', () => {
    it('posts one rotation_recovered event with the streak it ended, and resets the counter', async () => {
      const alerts = notifier();
      alerts.record(failedRotationEvent());
      alerts.record(failedRotationEvent());
      const success = rotationEvent({ jobId: 'rotate__mbx_a__later' });
      alerts.record(success);
      alerts.record(rotationEvent({ jobId: 'rotate__mbx_a__even_later' }));
      await alerts.flush();

      expect(receiver.bodies().map((b) => b.type)).toEqual(['rotation_failed', 'rotation_failed', 'rotation_recovered']);
      expect(receiver.bodies()[2]).toEqual({
        type: 'rotation_recovered',
        text: expect.stringContaining('after 2 failures in a row'),
        mailboxId: 'mbx_a',
        jobId: success.jobId,
        previousConsecutiveFailures: 2,
        at: success.at,
      });
      expect(await alerts.consecutiveFailures()).toEqual(new Map());
    });

    it('posts nothing for a success of a mailbox that was not failing', async () => {
      const alerts = notifier();
      alerts.record(failedRotationEvent({ mailboxId: 'mbx_other' }));
      alerts.record(rotationEvent({ mailboxId: 'mbx_a' }));
      await alerts.flush();

      expect(receiver.bodies().map((b) => [b.type, b.mailboxId])).toEqual([['rotation_failed', 'mbx_other']]);
      expect(await alerts.consecutiveFailures()).toEqual(new Map([['mbx_other', 1]]));
    });

    it('shares the counter between replicas, so the streak and the recovery span them and the recovery is announced once', async () => {
      const replicaA = notifier();
      const replicaB = notifier();
      replicaA.record(failedRotationEvent());
      await replicaA.flush();
      replicaB.record(failedRotationEvent());
      await replicaB.flush();
      replicaA.record(rotationEvent());
      replicaB.record(rotationEvent());
      await Promise.all([replicaA.flush(), replicaB.flush()]);

      expect(receiver.bodies().map((b) => [b.type, b.consecutiveFailures ?? b.previousConsecutiveFailures])).toEqual([
        ['rotation_failed', 1],
        ['rotation_failed', 2],
        ['rotation_recovered', 2],
      ]);
    });
  });

  it('posts a revocation_failed event with the key id for a revocation that failed for good, without counting it', async () => {
    const alerts = notifier();
    const event = revocationEvent({ outcome: 'failed', message: 'revoke smx_old_0001: Sendmux answered 500 (request req_9)' });
    alerts.record(event);
    await alerts.flush();

    expect(receiver.bodies()).toEqual([
      {
        type: 'revocation_failed',
        text: expect.stringContaining('`smx_old_0001`'),
        mailboxId: 'mbx_a',
        jobId: event.jobId,
        keyId: 'smx_old_0001',
        message: event.message,
        at: event.at,
      },
    ]);
    expect(await alerts.consecutiveFailures()).toEqual(new Map());
  });

  it('keeps counters but posts nothing when no webhook URL is configured', async () => {
    const alerts = notifier({ webhookUrl: undefined });
    alerts.record(failedRotationEvent());
    alerts.record(failedRotationEvent());
    alerts.record(revocationEvent({ outcome: 'failed' }));
    await alerts.flush();
    expect(await alerts.consecutiveFailures()).toEqual(new Map([['mbx_a', 2]]));

    alerts.record(rotationEvent());
    await alerts.flush();
    expect(await alerts.consecutiveFailures()).toEqual(new Map());
    expect(receiver.received).toEqual([]);
    expect(alerts.webhookOrigin).toBeUndefined();
  });

  describe('delivery', () => {
    it('retries with exponential backoff until the webhook accepts the alert, sending the same body each time', async () => {
      receiver.answer = (i) => [500, 503][i] ?? 200;
      const alerts = notifier();
      alerts.record(failedRotationEvent());
      await alerts.flush();

      expect(receiver.received).toHaveLength(3);
      expect(new Set(receiver.received.map((r) => JSON.stringify(r.body))).size).toBe(1);
      const [first, second, third] = receiver.received.map((r) => r.at);
      expect(second! - first!).toBeGreaterThanOrEqual(FAST_RETRY.initialDelayMs - 5);
      expect(third! - second!).toBeGreaterThanOrEqual(2 * FAST_RETRY.initialDelayMs - 5);
      expect(logMessages().filter((m) => m === 'alert delivery failed; will retry')).toHaveLength(2);
      expect(logMessages().filter((m) => m === 'alert delivered')).toHaveLength(1);
    });

    it('gives up after the configured number of tries and says so in the log', async () => {
      receiver.answer = () => 502;
      const alerts = notifier();
      alerts.record(failedRotationEvent());
      await alerts.flush();

      expect(receiver.received).toHaveLength(FAST_RETRY.attempts);
      const gaveUp = logs.parsed().find((l) => l.msg === 'alert not delivered: giving up after the last try');
      expect(gaveUp).toEqual(expect.objectContaining({ type: 'rotation_failed', mailboxId: 'mbx_a', attempts: 3, problem: 'HTTP 502' }));
    });

    it('does not retry an alert the webhook rejects with a 4xx', async () => {
      receiver.answer = () => 404;
      const alerts = notifier();
      alerts.record(failedRotationEvent());
      await alerts.flush();

      expect(receiver.received).toHaveLength(1);
      expect(logs.parsed().find((l) => String(l.msg).startsWith('alert rejected by the webhook'))).toEqual(expect.objectContaining({ status: 404 }));
    });

    it('neither follows nor retries a redirect: it is answered like a 4xx', async () => {
      receiver.answer = () => 307;
      const alerts = notifier();
      alerts.record(failedRotationEvent());
      await alerts.flush();

      expect(receiver.received).toHaveLength(1);
      expect(logs.parsed().find((l) => String(l.msg).startsWith('alert rejected by the webhook'))).toEqual(expect.objectContaining({ status: 307 }));
    });

    it('gives up on a request the webhook never answers after timeoutMs, and tries again', async () => {
      receiver.answer = (i) => (i === 0 ? 'hang' : 200);
      const alerts = notifier({ timeoutMs: 200 });
      alerts.record(failedRotationEvent());
      await alerts.flush();

      expect(receiver.received).toHaveLength(2);
      // The order of events, not a wall-clock gap: the client gave up on the hanging request (closed
      // its connection) before it sent the second try.
      expect(receiver.abandonedAt[0]).toBeDefined();
      expect(receiver.abandonedAt[0]!).toBeLessThanOrEqual(receiver.received[1]!.at);
      expect(logs.parsed().find((l) => l.msg === 'alert delivery failed; will retry')).toEqual(
        expect.objectContaining({ problem: 'no answer within 200ms' }),
      );
      expect(logMessages()).toContain('alert delivered');
    });

    it('delivers alerts one at a time in the order the events were recorded', async () => {
      receiver.answer = (i) => (i === 0 ? 500 : 200);
      const alerts = notifier();
      alerts.record(failedRotationEvent({ mailboxId: 'mbx_1' }));
      alerts.record(failedRotationEvent({ mailboxId: 'mbx_2' }));
      alerts.record(rotationEvent({ mailboxId: 'mbx_1' }));
      await alerts.flush();

      expect(receiver.bodies().map((b) => [b.type, b.mailboxId])).toEqual([
        ['rotation_failed', 'mbx_1'],
        ['rotation_failed', 'mbx_1'],
        ['rotation_failed', 'mbx_2'],
        ['rotation_recovered', 'mbx_1'],
      ]);
    });

    it('drops the oldest waiting alerts beyond maxQueued, with a log line for each', async () => {
      receiver.answer = (i) => (i === 0 ? 'hang' : 200);
      const alerts = notifier({ maxQueued: 2, timeoutMs: 300 });
      for (let i = 1; i <= 5; i++) alerts.record(failedRotationEvent({ mailboxId: `mbx_${i}` }));
      await alerts.flush();

      // mbx_1 was already being delivered; of the four waiting behind it only the newest two are kept.
      expect(receiver.bodies().map((b) => b.mailboxId)).toEqual(['mbx_1', 'mbx_1', 'mbx_4', 'mbx_5']);
      const dropped = logs.parsed().filter((l) => l.msg === 'alert dropped: too many alerts waiting for the webhook');
      expect(dropped.map((l) => l.mailboxId)).toEqual(['mbx_2', 'mbx_3']);
      // The counters are kept even for alerts that were dropped.
      expect((await alerts.consecutiveFailures()).size).toBe(5);
    });

    it('returns from record at once while the webhook hangs, and close gives up on the delivery after flushTimeoutMs', async () => {
      receiver.answer = () => 'hang';
      const alerts = notifier({ timeoutMs: 60_000, flushTimeoutMs: 300 });
      // record() is synchronous: it returns nothing to wait for, and all 100 are taken before the
      // first delivery can even reach the webhook (that needs the event loop this loop holds).
      const returned = Array.from({ length: 100 }, (_, i) => alerts.record(failedRotationEvent({ jobId: `rotate__mbx_a__s${i}` })));
      expect(returned.every((value) => value === undefined)).toBe(true);
      expect(receiver.received).toHaveLength(0);

      await waitFor(() => receiver.hanging.length === 1, 5_000, 'the first alert to reach the webhook');
      // The webhook never answers and the request timeout is 60 s, beyond this test's own timeout:
      // close() resolving at all means it gave up after flushTimeoutMs, not after the webhook.
      await alerts.close();
      expect(receiver.hanging[0]!.writableEnded).toBe(false);
      expect(await alerts.consecutiveFailures()).toEqual(new Map([['mbx_a', 100]]));
      // Every alert not delivered is named: the 99 queued and the one in flight.
      expect(logMessages().filter((m) => m === 'alert not delivered before shutdown')).toHaveLength(100);
    });
  });

  describe('the webhook URL', () => {
    it('never appears in a log line beyond its origin, whether delivery succeeds or fails', async () => {
      const delivered = notifier();
      delivered.record(failedRotationEvent());
      await delivered.flush();
      const refused = notifier({ webhookUrl: await refusedWebhookUrl() });
      refused.record(failedRotationEvent());
      await refused.flush();

      const text = logs.text();
      expect(logMessages()).toEqual(expect.arrayContaining(['alert delivered', 'alert not delivered: giving up after the last try']));
      expect(text).toContain(receiver.origin);
      expect(text).not.toContain(WEBHOOK_SECRET_PATH);
      expect(text).not.toContain('xoxb-webhook-token-do-not-log');
      const refusal = logs.parsed().find((l) => l.msg === 'alert not delivered: giving up after the last try');
      expect(String(refusal?.problem)).toContain('ECONNREFUSED');
    });

    it('is refused when it is not an http(s) URL, with an error that does not echo it', () => {
      const build = (webhookUrl: string) => () => new AlertNotifier({ webhookUrl, redis, prefix, logger: logs.logger });
      expect(build('hooks.example.test/services/xoxb-secret-token')).toThrow(
        'alerts webhookUrl is not a valid URL: give an absolute http:// or https:// URL',
      );
      expect(build('ftp://hooks.example.test/xoxb-secret-token')).toThrow('alerts webhookUrl must use http:// or https:// (got ftp://)');
      expect(build('hooks.example.test/services/xoxb-secret-token')).not.toThrow(/xoxb/);
    });
  });

  it('never throws from record, even for an event it cannot handle', () => {
    const alerts = notifier();
    expect(() => alerts.record(null as never)).not.toThrow();
    expect(logMessages()).toContain('alert notifier failed to record an event');
  });

  describe('trust boundary', () => {
    it('sends alerts.webhookHeaders with every POST', async () => {
      const canned = await CannedHttpServer.start();
      try {
        canned.reply(200);
        const alerts = notifier({ webhookUrl: `${canned.baseUrl}/hook`, webhookHeaders: { Authorization: 'Bearer hook-credential-123' } });
        alerts.record(failedRotationEvent());
        await alerts.flush();
        expect(canned.lastRequest().headers.authorization).toBe('Bearer hook-credential-123');
      } finally {
        await canned.close();
      }
    });

    it('waits for a 503 Retry-After no longer than maxServerDelayMs, however long it says', async () => {
      const canned = await CannedHttpServer.start();
      try {
        canned.reply(503, undefined, { 'retry-after': '1000000000' }).reply(200);
        const alerts = notifier({ webhookUrl: `${canned.baseUrl}/hook`, maxServerDelayMs: 200 });
        alerts.record(failedRotationEvent());
        expect(await alerts.flush(5_000)).toBe(true);
        expect(canned.received).toHaveLength(2);
      } finally {
        await canned.close();
      }
    });

    it('scrubs key-shaped text from every field of an alert', async () => {
      const alerts = notifier();
      alerts.record(failedRotationEvent({ message: 'AWS said Value smx_mbx_ECHOEDkey0123456789abcdef is invalid' }));
      await alerts.flush();
      expect(JSON.stringify(receiver.received)).not.toContain('smx_mbx_ECHOEDkey0123456789abcdef');
    });

    it('signs each alert per Standard Webhooks with ALERT_WEBHOOK_SECRET, the same id on every try', async () => {
      const secret = `whsec_${randomBytes(32).toString('base64')}`;
      receiver.answer = (index) => (index === 0 ? 503 : 200);
      const alerts = notifier({ signingSecrets: [secret] });
      const event = failedRotationEvent();
      alerts.record(event);
      await alerts.flush();

      expect(receiver.received).toHaveLength(2);
      const ids = receiver.received.map((request) => request.headers['webhook-id']);
      expect(ids[0]).toMatch(/^alert_/);
      expect(ids[1]).toBe(ids[0]);
      for (const request of receiver.received) {
        expect(new Webhook(secret).verify(request.rawBody, request.headers)).toEqual(expect.objectContaining({ type: 'rotation_failed', jobId: event.jobId }));
      }
    });

    it('while the alert secret is replaced, signs with both: a receiver verifying with either accepts, with neither refuses', async () => {
      const [next, previous, other] = [0, 1, 2].map(() => `whsec_${randomBytes(32).toString('base64')}`) as [string, string, string];
      const alerts = notifier({ signingSecrets: [next, previous] });
      alerts.record(failedRotationEvent());
      await alerts.flush();

      const [request] = receiver.received;
      expect(request!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
      expect(new Webhook(next).verify(request!.rawBody, request!.headers)).toEqual(expect.objectContaining({ type: 'rotation_failed' }));
      expect(new Webhook(previous).verify(request!.rawBody, request!.headers)).toEqual(expect.objectContaining({ type: 'rotation_failed' }));
      expect(() => new Webhook(other).verify(request!.rawBody, request!.headers)).toThrow(/No matching signature/);
    });

    it('refuses a webhook URL with credentials or a metadata target at construction, without quoting it', () => {
      expect(() => notifier({ webhookUrl: 'https://u:hunter2pw@hooks.example.com/x' })).toThrow(/webhookHeaders/);
      expect(() => notifier({ webhookUrl: 'https://u:hunter2pw@hooks.example.com/x' })).not.toThrow(/hunter2pw/);
      expect(() => notifier({ webhookUrl: 'http://169.254.169.254/latest' })).toThrow(/https/);
      expect(() => notifier({ webhookUrl: 'https://169.254.169.254/latest' })).toThrow(/alerts\.allowPrivateNetwork: true/);
    });

    it('prunes the failure counters of mailboxes that left the configuration', async () => {
      const alerts = notifier();
      alerts.record(failedRotationEvent({ mailboxId: 'mbx_a' }));
      alerts.record(failedRotationEvent({ mailboxId: 'mbx_gone' }));
      await alerts.flush();
      expect(await alerts.pruneFailureCounters(new Set(['mbx_a']))).toBe(1);
      expect([...(await alerts.consecutiveFailures()).keys()]).toEqual(['mbx_a']);
    });
  });
});
