import type { Job } from 'bullmq';
import { TestBed } from '../support/test-bed';
import { createRotateMailboxKeyProcessor } from '../../jobs/rotate-mailbox-key';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import type { RotationJobData } from '../../src/rotation/job-data';
import { renderSecretName } from '../../src/config';
import { bullmqJobDirectory } from '../../src/rotation/exclusion';

/**
 * Two runs of the same job at once: what happens when a worker's lock expires while Redis is
 * unreachable and another worker takes the job over while the first is still going.
 */
describe('two overlapping runs of one rotation job', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 2, label: 'overlap' });
    runtime = await bed.runtime({ runWorker: false });
  });
  afterAll(async () => bed.close());

  function processor() {
    const process = createRotateMailboxKeyProcessor({
      file: runtime.settings.file,
      sendmux: runtime.sendmux,
      mailboxes: runtime.sendmux,
      secrets: runtime.secrets,
      ledger: runtime.ledger,
      jobs: bullmqJobDirectory(runtime.queue.queue),
      scheduleRevocation: (data, delayMs) => runtime.queue.scheduleRevocation(data, delayMs),
      pauseQueueFor: (ms) => runtime.queue.pauseFor(ms),
      logger: bed.logs.logger,
    });
    return (job: Job<RotationJobData>) => process(job, job.data);
  }

  async function jobFor(mailboxId: string): Promise<Job<RotationJobData>> {
    const [outcome] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
    return (await runtime.queue.getJob((outcome as { jobId: string }).jobId)) as Job<RotationJobData>;
  }

  it.each([
    ['a first key', 'mbx_test_0001', false],
    ['a key that replaces a current one', 'mbx_test_0002', true],
  ])('both complete with the same single key for %s', async (_label, mailboxId, rotateFirst) => {
    if (rotateFirst) await processor()(await jobFor(mailboxId));
    const job = await jobFor(mailboxId);
    const copy = (await runtime.queue.getJob(String(job.id))) as Job<RotationJobData>;
    // Delay verification a little so both runs are in the promote step together.
    bed.sandbox.faults.inject({ operation: 'getMailboxMe', kind: 'delay', delayMs: 200, times: 2 });

    const [a, b] = await Promise.all([processor()(job), processor()(copy)]);
    expect(a.outcome).toBe('rotated');
    expect(b.outcome).toBe('rotated');
    expect(a.newKeyId).toBe(b.newKeyId);
    expect(bed.sandbox.state.mintsWithIdempotencyKey(job.data.idempotencyKey)).toHaveLength(1);
    const description = await runtime.secrets.describeSecret(renderSecretName(runtime.settings.file.secretName, mailboxId));
    expect(description!.versionIdsToStages[job.data.clientRequestToken]).toEqual(['AWSCURRENT']);
  });
});
