import { randomUUID } from 'node:crypto';
import { AuditLog } from '../../src/audit/audit-log';
import { renderSecretName } from '../../src/config';
import { collectStatus } from '../../src/cli/status';
import { buildRotationPlan } from '../../src/planning/plan';
import { RotationScheduler } from '../../src/scheduler/rotation-scheduler';
import { LogCapture, TestBed } from '../support/test-bed';

/** No failure streaks: the alert counters are not what these tests look at. */
const noFailures = { consecutiveFailures: async () => new Map<string, number>() };

/** The scheduler, `rotator plan` and `rotator status` give one mailbox the same next run. */
describe('next run of "0 3 1 * 1" (the 1st of the month or a Monday) from Sunday 2026-11-29', () => {
  let bed: TestBed;
  const now = new Date('2026-11-29T12:00:00Z');
  const mailboxId = 'mbx_test_0001';

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 1, label: 'next-run', config: { mailboxes: [mailboxId], schedule: '0 3 1 * 1' } });
  });
  afterAll(async () => {
    await bed.close();
  });

  it('is Monday 2026-11-30 03:00Z from the scheduler, the plan and the status alike', async () => {
    const runtime = await bed.runtime({ runWorker: false });
    const secretName = renderSecretName(bed.settings.file.secretName, mailboxId);
    // A current key, so the plan dates the mailbox by its cron rather than "now, never rotated".
    await runtime.secrets.createSecretIfMissing(secretName);
    await runtime.secrets.putSecretVersion(secretName, { clientRequestToken: randomUUID(), secretString: '{"seed":true}', versionStages: ['AWSCURRENT'] });

    const scheduler = new RotationScheduler({
      file: bed.settings.file,
      queue: runtime.queue,
      sendmux: runtime.sendmux,
      secrets: runtime.secrets,
      renderSecretName: (id) => renderSecretName(bed.settings.file.secretName, id),
      logger: new LogCapture().logger,
      now: () => now,
    });
    const plan = await buildRotationPlan({
      file: bed.settings.file,
      sendmux: runtime.sendmux,
      secrets: runtime.secrets,
      renderSecretName: (id) => renderSecretName(bed.settings.file.secretName, id),
      now: () => now,
    });
    const audit = new AuditLog({ redis: runtime.redis, prefix: bed.settings.env.queuePrefix, logger: new LogCapture().logger });
    const status = await collectStatus({ settings: bed.settings, queue: runtime.queue, ledger: runtime.ledger, audit, alerts: noFailures, sendmux: runtime.sendmux, now: () => now });

    const expected = '2026-11-30T03:00:00.000Z';
    expect({
      scheduler: scheduler.nextRunFor(mailboxId)?.toISOString(),
      plan: plan.mailboxes.find((m) => m.mailboxId === mailboxId)?.nextDue,
      status: status.mailboxes.find((m) => m.mailboxId === mailboxId)?.nextRun,
    }).toEqual({ scheduler: expected, plan: expected, status: expected });
  });
});
