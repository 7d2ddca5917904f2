import { TestBed } from '../support/test-bed';
import { collectMailboxOverview } from '../../src/overview/mailbox-overview';

/**
 * A pending revocation shows when it is due: BullMQ writes `delay: 0` on a delayed job once it is
 * due (promoted), so the time came out as the job's creation, one grace period too early, for a
 * revocation waiting behind a backlog or a paused queue.
 */
describe('the pending revocation of the mailbox overview', () => {
  let bed: TestBed;
  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 1, label: 'pending-revocation-time', config: { mailboxes: ['mbx_test_0001'] } });
  });
  afterAll(async () => bed.close());

  it('is due at the job’s creation plus the delay it was added with, after BullMQ made it due', async () => {
    const runtime = await bed.runtime({ runWorker: false });
    const mailboxId = bed.mailboxIds[0]!;
    const delayMs = 3_600_000;
    const { jobId } = await runtime.queue.scheduleRevocation({ mailboxId, keyId: 'smx_pendingkey0001', cause: 'superseded', requestedAt: new Date().toISOString() }, delayMs);
    const job = (await runtime.queue.getJob(jobId))!;
    await job.promote();
    const overview = await collectMailboxOverview({
      file: bed.settings.file, ledger: runtime.ledger, audit: { forMailbox: async () => [] }, queue: runtime.queue.queue,
      alerts: { consecutiveFailures: async () => new Map() },
    });
    const row = overview.mailboxes.find((m) => m.mailboxId === mailboxId)!;
    expect(row.pendingRevocation).toEqual(expect.objectContaining({ keyId: 'smx_pendingkey0001', at: new Date(job.timestamp + delayMs).toISOString() }));
    await runtime.close();
  });
});
