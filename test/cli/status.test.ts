import { AuditLog } from '../../src/audit/audit-log';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import { collectStatus } from '../../src/cli/status';
import { LogCapture, TestBed } from '../support/test-bed';

/** No failure streaks: the alert counters are not what these tests look at. */
const noFailures = { consecutiveFailures: async () => new Map<string, number>() };

/** `rotator status` against real Redis and the Sendmux sandbox. */
describe('status of a mailbox an emailGlob group claims', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    bed = await TestBed.start({
      mailboxes: 2,
      label: 'status-glob',
      config: {
        mailboxes: ['mbx_test_0001', 'mbx_test_0002'],
        schedule: '0 3 * * 1',
        groups: [{ name: 'sales', emailGlob: 'test-0002@*', schedule: '30 4 * * *' }],
      },
    });
    runtime = await bed.runtime({ runWorker: false });
  });
  afterAll(async () => {
    await bed.close();
  });

  it("shows the group's schedule and its next run, and the default schedule's for the other mailbox", async () => {
    const now = new Date('2030-01-01T12:00:00Z'); // a Tuesday
    const audit = new AuditLog({ redis: runtime.redis, prefix: bed.settings.env.queuePrefix, logger: new LogCapture().logger });
    const status = await collectStatus({ settings: bed.settings, queue: runtime.queue, ledger: runtime.ledger, audit, alerts: noFailures, sendmux: runtime.sendmux, now: () => now });

    // Soonest due first, as in rotator plan.
    expect(status.mailboxes.map(({ mailboxId, schedule, nextRun }) => ({ mailboxId, schedule, nextRun }))).toEqual([
      { mailboxId: 'mbx_test_0002', schedule: 'sales', nextRun: '2030-01-02T04:30:00.000Z' },
      { mailboxId: 'mbx_test_0001', schedule: '(default)', nextRun: '2030-01-07T03:00:00.000Z' },
    ]);
    expect(status.notes).toEqual([]);
  });

  it('without the mailbox emails, says it cannot tell instead of showing the default schedule', async () => {
    const audit = new AuditLog({ redis: runtime.redis, prefix: bed.settings.env.queuePrefix, logger: new LogCapture().logger });
    const status = await collectStatus({ settings: bed.settings, queue: runtime.queue, ledger: runtime.ledger, audit, alerts: noFailures });

    expect(status.mailboxes.find((m) => m.mailboxId === 'mbx_test_0002')).toEqual(expect.objectContaining({ schedule: null, nextRun: null }));
    expect(status.notes).toEqual([expect.stringContaining('emailGlob groups')]);
  });
});

describe('status of a mailbox only a group lists', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    bed = await TestBed.start({
      mailboxes: 2,
      label: 'status-group-only',
      config: {
        mailboxes: ['mbx_test_0001'],
        schedule: '0 3 * * 1',
        groups: [{ name: 'g', mailboxes: ['mbx_test_0002'], schedule: '30 4 * * *' }],
      },
    });
    runtime = await bed.runtime({ runWorker: false });
  });
  afterAll(async () => {
    await bed.close();
  });

  it('lists it with its group, as the scheduler rotates it', async () => {
    const audit = new AuditLog({ redis: runtime.redis, prefix: bed.settings.env.queuePrefix, logger: new LogCapture().logger });
    const status = await collectStatus({ settings: bed.settings, queue: runtime.queue, ledger: runtime.ledger, audit, alerts: noFailures });

    // Soonest due first (the group's schedule fires sooner), as in rotator plan.
    expect(status.mailboxes.map(({ mailboxId, schedule }) => ({ mailboxId, schedule }))).toEqual(
      [...status.mailboxes].sort((a, b) => Date.parse(a.nextRun!) - Date.parse(b.nextRun!) || a.mailboxId.localeCompare(b.mailboxId)).map(({ mailboxId, schedule }) => ({ mailboxId, schedule })),
    );
    expect(status.mailboxes.map(({ mailboxId, schedule }) => ({ mailboxId, schedule })).sort((a, b) => a.mailboxId.localeCompare(b.mailboxId))).toEqual([
      { mailboxId: 'mbx_test_0001', schedule: '(default)' },
      { mailboxId: 'mbx_test_0002', schedule: 'g' },
    ]);
  });
});
