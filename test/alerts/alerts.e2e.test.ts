import { AlertNotifier, type AlertNotifierOptions } from '../../src/alerts/alert-notifier';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import { TestBed, waitForJob, type FinishedJob } from '../support/test-bed';
import { WebhookReceiver, refusedWebhookUrl } from './webhook-receiver';

/** Alerts from real jobs: BullMQ workers on real Redis, the Sendmux sandbox and the Secrets Manager stand-in. */
describe('alerts from real rotations', () => {
  const suspended = 'mbx_suspended';
  let bed: TestBed;
  const receivers: WebhookReceiver[] = [];
  const notifiers: AlertNotifier[] = [];

  beforeAll(async () => {
    bed = await TestBed.start({
      mailboxes: 3,
      label: 'alerts',
      sandbox: { mailboxes: [{ id: suspended, email: 'suspended@example.test', status: 'suspended' }] },
    });
  });
  afterEach(async () => {
    for (const notifier of notifiers.splice(0)) await notifier.close();
    for (const receiver of receivers.splice(0)) await receiver.close();
  });
  afterAll(async () => {
    await bed.close();
  });

  async function receiver(): Promise<WebhookReceiver> {
    const started = await WebhookReceiver.start();
    receivers.push(started);
    return started;
  }

  function notifier(options: Partial<AlertNotifierOptions>): AlertNotifier {
    const created = new AlertNotifier({ redis: bed.redis, prefix: bed.settings.env.queuePrefix, logger: bed.logs.logger, ...options });
    notifiers.push(created);
    return created;
  }

  async function rotateAll(runtime: RotatorRuntime, mailboxIds: string[]): Promise<Map<string, FinishedJob & { jobId: string }>> {
    const outcomes = await runtime.queue.requestRotations(mailboxIds.map((mailboxId) => ({ mailboxId, reason: 'manual', requestedBy: 'test', force: true })));
    const finished = new Map<string, FinishedJob & { jobId: string }>();
    await Promise.all(
      outcomes.map(async (outcome) => {
        if (outcome.status === 'refused') throw new Error(`rotation refused: ${outcome.message}`);
        const { state } = await waitForJob(runtime, outcome.jobId);
        // Read the job again: waitForJob may have loaded it just before it finished.
        const job = (await runtime.queue.getJob(outcome.jobId))!;
        finished.set(outcome.mailboxId, {
          jobId: outcome.jobId,
          state,
          attemptsMade: job.attemptsMade,
          failedReason: job.failedReason,
          returnvalue: job.returnvalue,
        });
      }),
    );
    return finished;
  }

  it('posts one failure alert when a suspended mailbox fails for good, and one recovery alert once it is resumed and rotated', async () => {
    const webhook = await receiver();
    const alerts = notifier({ webhookUrl: webhook.url });
    const runtime = await bed.runtime({ events: alerts });

    const failed = (await rotateAll(runtime, [suspended])).get(suspended)!;
    expect(failed.state).toBe('failed');
    await alerts.flush();
    expect(webhook.bodies()).toEqual([
      expect.objectContaining({
        type: 'rotation_failed',
        mailboxId: suspended,
        jobId: failed.jobId,
        step: 'mint',
        message: expect.stringContaining('validation_error'),
        consecutiveFailures: 1,
      }),
    ]);
    expect(await alerts.consecutiveFailures()).toEqual(new Map([[suspended, 1]]));

    bed.sandbox.setMailboxStatus(suspended, 'active');
    const rotated = (await rotateAll(runtime, [suspended])).get(suspended)!;
    expect(rotated.state).toBe('completed');
    await alerts.flush();
    expect(webhook.bodies()).toHaveLength(2);
    expect(webhook.bodies()[1]).toEqual(
      expect.objectContaining({ type: 'rotation_recovered', mailboxId: suspended, jobId: rotated.jobId, previousConsecutiveFailures: 1 }),
    );
    expect(await alerts.consecutiveFailures()).toEqual(new Map());
    await runtime.close();
  });

  describe('a dead webhook does not slow or fail rotations', () => {
    // Were delivery in the job's path, a failing job would take at least one webhook timeout.
    const webhookTimeoutMs = 5_000;

    async function rotateWithAlertsTo(webhookUrl: string, options: Partial<AlertNotifierOptions> = {}) {
      bed.sandbox.setMailboxStatus(suspended, 'suspended');
      const alerts = notifier({ webhookUrl, timeoutMs: webhookTimeoutMs, flushTimeoutMs: 300, ...options });
      const runtime = await bed.runtime({ events: alerts });
      const started = Date.now();
      const jobs = await rotateAll(runtime, [suspended, ...bed.mailboxIds]);
      const elapsedMs = Date.now() - started;
      await runtime.close();
      return { alerts, jobs, elapsedMs };
    }

    function expectNormalOutcomes(jobs: Map<string, FinishedJob>): void {
      expect(jobs.get(suspended)).toEqual(expect.objectContaining({ state: 'failed', attemptsMade: 1 }));
      for (const mailboxId of bed.mailboxIds) expect(jobs.get(mailboxId)?.state).toBe('completed');
    }

    it('when the webhook accepts connections but never answers', async () => {
      const webhook = await receiver();
      webhook.answer = () => 'hang';
      const { alerts, jobs, elapsedMs } = await rotateWithAlertsTo(webhook.url);

      expectNormalOutcomes(jobs);
      expect(elapsedMs).toBeLessThan(webhookTimeoutMs / 2);
      // The alert really was on its way while the jobs finished.
      expect(webhook.hanging).toHaveLength(1);
      expect(webhook.bodies()[0]).toEqual(expect.objectContaining({ type: 'rotation_failed', mailboxId: suspended }));
      expect((await alerts.consecutiveFailures()).get(suspended)).toBeGreaterThanOrEqual(1);
    });

    it('when the webhook refuses connections', async () => {
      const { alerts, jobs, elapsedMs } = await rotateWithAlertsTo(await refusedWebhookUrl(), {
        retry: { attempts: 3, initialDelayMs: 50, maxDelayMs: 200 },
      });

      expectNormalOutcomes(jobs);
      expect(elapsedMs).toBeLessThan(webhookTimeoutMs / 2);
      expect(await alerts.flush(5_000)).toBe(true);
      const gaveUp = bed.logs.parsed().filter((l) => l.msg === 'alert not delivered: giving up after the last try');
      expect(gaveUp.at(-1)).toEqual(expect.objectContaining({ mailboxId: suspended, attempts: 3, problem: expect.stringContaining('ECONNREFUSED') }));
    });
  });
});
