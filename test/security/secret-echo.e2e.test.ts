import { AlertNotifier } from '../../src/alerts/alert-notifier';
import { createLogger } from '../../src/logging/logger';
import { WebhookReceiver } from '../alerts/webhook-receiver';
import { TestBed, waitForJob } from '../support/test-bed';

/**
 * Finding 4: a Secrets Manager answer that quotes the request body (SecretString and all) must
 * not carry the minted key into logs, Redis (failedReason, stacktrace, data, return value) or
 * alerts.
 */
describe('a Secrets Manager error that echoes the request body', () => {
  let bed: TestBed;
  let receiver: WebhookReceiver;
  let alerts: AlertNotifier;

  beforeAll(async () => {
    bed = await TestBed.start({ label: 'secret-echo', config: { rotation: { attempts: 2 } } });
    receiver = await WebhookReceiver.start();
  });
  afterAll(async () => {
    await alerts?.close();
    await bed?.close();
    await receiver?.close();
  });

  it('leaves no minted secret in logs, Redis, failure reasons or alerts', async () => {
    // The production logger (its serializers and redaction), writing into the bed's capture.
    const logger = createLogger({ level: 'debug', destination: bed.logs.stream });
    alerts = new AlertNotifier({ webhookUrl: receiver.url, redis: bed.redis, prefix: bed.settings.env.queuePrefix, logger });
    const runtime = await bed.runtime({ logger, events: alerts });
    bed.standIn.faults.inject({ operation: 'PutSecretValue', kind: 'echoRequest' });

    const [outcome] = await runtime.queue.requestRotations([{ mailboxId: bed.mailboxIds[0]!, reason: 'manual', requestedBy: 'test', force: true }]);
    const finished = await waitForJob(runtime, (outcome as { jobId: string }).jobId, 30_000);
    await alerts.flush();

    // The scenario really happened: a key was minted, the stand-in echoed it, the job failed, an alert went out.
    expect(bed.mintedSecrets().length).toBeGreaterThan(0);
    expect(bed.standIn.faults.injected.echoRequest).toBeGreaterThan(0);
    expect(finished.state).toBe('failed');
    expect(receiver.received.length).toBeGreaterThan(0);

    const job = await runtime.queue.getJob((outcome as { jobId: string }).jobId);
    const jobText = JSON.stringify({ failedReason: job?.failedReason, stacktrace: job?.stacktrace, data: job?.data, returnvalue: job?.returnvalue });
    const alertText = JSON.stringify(receiver.received);
    expect(await bed.findLeakedSecrets(`${jobText}\n${alertText}`)).toEqual([]);
    expect(`${bed.logs.text()}\n${jobText}\n${alertText}`).not.toMatch(/smx_mbx_[A-Za-z0-9]{12,}/);
  });
});
