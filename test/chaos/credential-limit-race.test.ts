import { TestBed, waitFor, waitForJob } from '../support/test-bed';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import type { RotationRequest } from '../../src/queue/rotation-queue';
import type { RotationResult } from '../../src/rotation/job-data';
import { renderSecretName } from '../../src/config';

/**
 * Found by the chaos suite (scenario 6, with the policy): at the TEAM credential limit, the slot a
 * rotation frees by revoking its AWSPREVIOUS key can be taken by another mailbox's mint before
 * its own mint arrives. The rotation must then try again, not fail for good.
 */
describe('onLimitExceeded: revoke-previous at the team limit, when a concurrent mint takes the freed slot', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;
  const [A, B] = ['mbx_test_0001', 'mbx_test_0002'] as const;

  beforeAll(async () => {
    bed = await TestBed.start({
      mailboxes: 2,
      label: 'limit-race',
      config: { rotation: { onLimitExceeded: 'revoke-previous', attempts: 25 } },
    });
    runtime = await bed.runtime();
  });
  afterAll(async () => bed.close());

  async function rotate(mailboxId: string, extra: Partial<RotationRequest> = {}): Promise<string> {
    const [outcome] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true, ...extra }]);
    if (outcome?.status !== 'enqueued') throw new Error(`not enqueued: ${JSON.stringify(outcome)}`);
    return outcome.jobId;
  }

  function previousKeyId(mailboxId: string): string {
    const secret = bed.standIn.secret(renderSecretName(bed.settings.file.secretName, mailboxId));
    const previous = secret?.versions.find((v) => v.stages.includes('AWSPREVIOUS'));
    return (JSON.parse(previous!.secretString!) as { key_id: string }).key_id;
  }

  it('retries and completes instead of failing with limit_exceeded', async () => {
    // Each mailbox holds a current and a previous key (kept: "never"); the team is then full.
    for (const mailboxId of [A, B, A, B]) {
      expect((await waitForJob(runtime, await rotate(mailboxId, { revokePreviousAfterMs: null }))).state).toBe('completed');
    }
    bed.sandbox.setCredentialLimits({ perTeam: bed.sandbox.state.liveKeys().length });
    const previousOfA = previousKeyId(A);

    // A's revocation of its AWSPREVIOUS key is done at once but answered late, so B mints first.
    bed.sandbox.faults.inject({ operation: 'revokeMailboxKey', kind: 'delay', delayMs: 800, mailboxId: A, times: 1 });
    const jobA = await rotate(A);
    await waitFor(() => bed.sandbox.state.revokeLog.some((r) => r.keyId === previousOfA && r.wasLive), 10_000, "A's slot freed");
    // B takes the slot, and frees one of its own only 1.5 s after its promotion.
    const jobB = await rotate(B, { revokePreviousAfterMs: 1_500 });
    expect((await waitForJob(runtime, jobB)).state).toBe('completed');

    const finishedA = await waitForJob(runtime, jobA, 30_000);
    expect(finishedA.state === 'completed' ? 'completed' : `${finishedA.state}: ${finishedA.failedReason}`).toBe('completed');
    expect(bed.sandbox.state.keys.get((finishedA.returnvalue as RotationResult).newKeyId!)?.status).toBe('live');
    expect(finishedA.attemptsMade).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
