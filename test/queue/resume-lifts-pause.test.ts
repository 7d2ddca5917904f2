import { TestBed, waitForJob } from '../support/test-bed';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import { resumeProcessing } from '../../src/queue/queue-control';

/** "An operator's resume always wins" (docs/design.md): real Redis, worker, sandbox and stand-in. */
describe('resume during a queue-wide rate-limit pause', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 1, label: 'resume-pause' });
    runtime = await bed.runtime();
  });
  afterAll(async () => bed.close());

  it('lets a worker that is already asleep on the pause take the next job within seconds, not after the pause', async () => {
    await runtime.queue.pauseFor(120_000);
    const [outcome] = await runtime.queue.requestRotations([{ mailboxId: bed.mailboxIds[0]!, reason: 'manual', requestedBy: 'test', force: true }]);
    if (outcome?.status !== 'enqueued') throw new Error(`not enqueued: ${JSON.stringify(outcome)}`);
    // Long enough for the worker to find the queue rate-limited and go to sleep on it.
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    const resumedAt = Date.now();
    await resumeProcessing(runtime.queue.queue);
    const finished = await waitForJob(runtime, outcome.jobId, 20_000);

    expect(finished.state).toBe('completed');
    expect(Date.now() - resumedAt).toBeLessThan(10_000);
  });
});
