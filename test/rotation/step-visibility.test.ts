import { TestBed, waitFor, waitForJob } from '../support/test-bed';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import { describeJob } from '../../src/http/job-view';

/**
 * What an operator sees of a job's step (GET /rotations/:jobId, `rotator status`, the dashboard):
 * a step shows once it has lasted PROGRESS_AFTER_MS, whichever step it is, and a failed attempt
 * keeps the step it failed in. Steps that end sooner write nothing (no Redis round trip).
 */
describe('the step a rotation job shows', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 2, label: 'step-visibility', config: { revokePreviousAfter: '0s', rotation: { attempts: 1 } } });
    runtime = await bed.runtime();
    // First keys, so the rotations below are ordinary ones (stage as AWSPENDING, then verify).
    // Waiting for the jobs themselves (not only the keys): a request made while one is still
    // finishing would be deduplicated into it and hold no step at all.
    for (const mailboxId of bed.mailboxIds) await waitForJob(runtime, await rotate(mailboxId));
  });
  afterAll(async () => {
    await bed.close();
  });

  async function rotate(mailboxId: string): Promise<string> {
    const [outcome] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
    if (!outcome || outcome.status !== 'enqueued') throw new Error(`rotation of ${mailboxId} not enqueued as a new job: ${JSON.stringify(outcome)}`);
    return outcome.jobId;
  }

  it('names a step that is held, even one that is not a Sendmux call (stage)', async () => {
    // Held long enough to be seen on any machine; on a loaded one an earlier step (look, mint) may
    // also last past the threshold and show first, so this waits for the stage step itself.
    bed.standIn.faults.inject({ operation: 'PutSecretValue', kind: 'delay', delayMs: 5_000, times: 1 });
    const jobId = await rotate(bed.mailboxIds[0]!);
    const stepOf = async () => ((await runtime.queue.queue.getJob(jobId))?.progress as { step?: string } | number | undefined);
    await waitFor(async () => { const p = await stepOf(); return typeof p === 'object' && p.step === 'stage'; }, 10_000, 'the stage step written while PutSecretValue is held');
    const view = await describeJob((await runtime.queue.queue.getJob(jobId))!);
    expect([view.state, view.step]).toEqual(['active', 'stage']);
    await waitFor(async () => (await runtime.queue.queue.getJob(jobId))?.finishedOn !== undefined, 10_000, 'the rotation finished');
    expect((await describeJob((await runtime.queue.queue.getJob(jobId))!)).step).toBe('done');
  }, 30_000);

  it('keeps the step a fast failure stopped at', async () => {
    bed.sandbox.faults.inject({ kind: 'wrongMailboxMe', mailboxId: bed.mailboxIds[1]! });
    const jobId = await rotate(bed.mailboxIds[1]!);
    await waitFor(async () => (await runtime.queue.queue.getJob(jobId))?.failedReason !== undefined, 10_000, 'the rotation failed');
    const view = await describeJob((await runtime.queue.queue.getJob(jobId))!);
    expect([view.state, view.step]).toEqual(['failed', 'verify']);
    expect(view.failedReason).toContain('step verify');
  }, 30_000);
});
