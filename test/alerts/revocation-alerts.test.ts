import { Redis } from 'ioredis';
import { AlertNotifier, REVOCATION_OVERDUE_AFTER_ATTEMPTS, REVOCATION_OVERDUE_REMIND_EVERY } from '../../src/alerts/alert-notifier';
import { LogCapture } from '../support/test-bed';
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from '../support/redis';
import { revocationEvent } from '../audit/sample-events';
import { WebhookReceiver } from './webhook-receiver';

/**
 * The alerts of revocations the rotator could not finish: a key it left live because nothing
 * proves it its own (revocation_refused), and a superseded key still live because its revocation
 * keeps failing (revocation_overdue: after a few failed attempts, then as a reminder).
 */
describe('revocation alerts', () => {
  let redis: Redis;
  let prefix: string;
  let receiver: WebhookReceiver;
  let alerts: AlertNotifier;

  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  });
  beforeEach(async () => {
    prefix = uniquePrefix('revocation-alerts');
    receiver = await WebhookReceiver.start();
    alerts = new AlertNotifier({ webhookUrl: receiver.url, redis, prefix, logger: new LogCapture().logger, retry: { attempts: 2, initialDelayMs: 20, maxDelayMs: 100 }, flushTimeoutMs: 5_000 });
  });
  afterEach(async () => {
    await alerts.close();
    await receiver.close();
    await deleteKeysWithPrefix(redis, prefix);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('posts revocation_refused for a key left live without a proof, naming the key and why', async () => {
    alerts.record(revocationEvent({ outcome: 'refused', keyId: 'smx_key_orphan', message: 'the job recorded key smx_key_orphan …; it was NOT revoked' }));
    await alerts.flush();
    expect(receiver.bodies()).toEqual([expect.objectContaining({ type: 'revocation_refused', keyId: 'smx_key_orphan', message: expect.stringContaining('NOT revoked') })]);
  });

  it('posts revocation_overdue once a revocation has failed a few times in a row, then only every reminder interval', async () => {
    const attempts = Array.from({ length: 2 * REVOCATION_OVERDUE_REMIND_EVERY }, (_, i) => i + 1);
    for (const attempt of attempts) alerts.record(revocationEvent({ outcome: 'retrying', attempt, message: 'Secrets Manager refused GetSecretValue (KMSDisabledException)' }));
    await alerts.flush();
    const posted = receiver.bodies<{ type: string; attempts: number }>();
    expect(posted.map((body) => body.type)).toEqual(['revocation_overdue', 'revocation_overdue', 'revocation_overdue']);
    expect(posted.map((body) => body.attempts)).toEqual([REVOCATION_OVERDUE_AFTER_ATTEMPTS, REVOCATION_OVERDUE_REMIND_EVERY, 2 * REVOCATION_OVERDUE_REMIND_EVERY]);
  });
});
