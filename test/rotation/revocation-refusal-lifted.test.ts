import { TestBed, waitFor, waitForJob } from '../support/test-bed';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import { REVOKE_JOB_NAME, type RevocationJobData, type RotationResult } from '../../src/rotation/job-data';
import { revocationJobId } from '../../src/rotation/identity';
import { bullmqJobDirectory } from '../../src/rotation/exclusion';
import { Reconciler, queueRevocationJobs } from '../../src/reconcile/reconciler';
import { retryRotation } from '../../src/incidents/retry-rotation';

/**
 * A refusal during the grace period must not leave the superseded key live for a month: the
 * revocation retries until the refusal is lifted (a KMS key disabled, then enabled again, answered
 * by the Secrets Manager stand-in as AWS documents it), and a revocation that did fail for good is
 * not "done" for the reconciler or for `rotator retry`.
 */
describe('a revocation refused while its cause lasts', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;
  /** Run as a rotation enters its retire step: after its own reads, before its revocation exists. */
  let onRetire: (() => void) | undefined;

  beforeAll(async () => {
    bed = await TestBed.start({
      mailboxes: 3,
      label: 'revocation-lifted',
      config: { revokePreviousAfter: '0s', rotation: { backoffInitialDelay: '100ms', backoffMaxDelay: '400ms' } },
    });
    runtime = await bed.runtime({
      onStep: (_job, step) => {
        if (step !== 'retire' || !onRetire) return;
        onRetire();
        onRetire = undefined;
      },
    });
  });
  afterAll(async () => bed.close());

  async function rotateNow(mailboxId: string): Promise<RotationResult> {
    const [outcome] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
    const finished = await waitForJob(runtime, (outcome as { jobId: string }).jobId);
    if (finished.state !== 'completed') throw new Error(`rotation of ${mailboxId} ${finished.state}: ${finished.failedReason}`);
    return finished.returnvalue as RotationResult;
  }

  const status = (keyId: string) => bed.sandbox.state.keys.get(keyId)?.status;

  it('retries the revocation with backoff while KMS refuses, and revokes the old key once KMS is back', async () => {
    const mailboxId = 'mbx_test_0001';
    const { newKeyId: old } = await rotateNow(mailboxId);
    // KMS disabled for the next three reads of the secret once the rotation is done reading: the revocation's first attempts.
    onRetire = () => bed.standIn.faults.inject({ operation: 'GetSecretValue', kind: 'kms', kmsError: 'KMSDisabledException', times: 3 });
    const second = await rotateNow(mailboxId);
    const jobId = revocationJobId(mailboxId, old!);
    expect(second.revocation).toEqual(expect.objectContaining({ jobId }));
    const finished = await waitForJob(runtime, jobId, 30_000);
    expect(finished.state).toBe('completed');
    expect(status(old!)).toBe('revoked');
    expect((await runtime.queue.getJob(jobId))!.attemptsMade).toBeGreaterThanOrEqual(3);
    const retried = bed.logs.parsed().filter((line) => line['jobId'] === jobId && line['outcome'] === 'retrying');
    expect(retried.length).toBeGreaterThanOrEqual(1);
    expect(String(retried[0]!['msg'])).toMatch(/KMS/);
  });

  /**
   * A revocation job that failed for good on a KMS refusal, as a release before this one left it
   * (attempts: 1 here), the refusal since lifted. The rotation's own revocation keeps retrying
   * while KMS refuses; it is taken out between two attempts and replaced by that job.
   */
  async function failedRevocationOf(mailboxId: string): Promise<{ jobId: string; old: string }> {
    const { newKeyId: old } = await rotateNow(mailboxId);
    const jobId = revocationJobId(mailboxId, old!);
    onRetire = () => bed.standIn.faults.inject({ operation: 'GetSecretValue', kind: 'kms', kmsError: 'AccessDeniedException' });
    await rotateNow(mailboxId);
    await waitFor(async () => {
      const job = await runtime.queue.getJob(jobId);
      if (!job) return true;
      if (job.attemptsMade === 0) return false;
      return job.remove().then(() => true, () => false); // locked while an attempt runs: next time
    }, 20_000, 'the retrying revocation taken out between two attempts');
    const data: RevocationJobData = { mailboxId, keyId: old!, cause: 'superseded', requestedAt: new Date().toISOString() };
    await runtime.queue.queue.add(REVOKE_JOB_NAME, data, { jobId, attempts: 1 });
    const failed = await waitForJob(runtime, jobId, 30_000);
    bed.standIn.faults.clear();
    expect(failed.state).toBe('failed');
    expect(failed.failedReason).toMatch(/KMS/);
    expect(status(old!)).toBe('live');
    return { jobId, old: old! };
  }

  it('has the reconciler queue a failed revocation again instead of counting it as scheduled', async () => {
    const { jobId, old } = await failedRevocationOf('mbx_test_0002');
    const reconciler = new Reconciler({ file: runtime.settings.file, secrets: runtime.secrets, sendmux: runtime.sendmux,
      jobs: bullmqJobDirectory(runtime.queue.queue), revocations: queueRevocationJobs(runtime.queue), logger: bed.logs.logger });
    const findings = await reconciler.reconcileMailbox('mbx_test_0002');
    expect(findings).toContainEqual(expect.objectContaining({ action: 'revocation-retried', keyId: old, jobId }));
    await waitFor(() => status(old) === 'revoked', 20_000, 'the old key revoked');
  });

  it('lets rotator retry run a failed revocation again', async () => {
    const { jobId, old } = await failedRevocationOf('mbx_test_0003');
    const outcome = await retryRotation(
      { queue: runtime.queue, ledger: runtime.ledger, covers: async () => ({ covered: true }) as never },
      jobId,
      'test',
    );
    expect(outcome).toEqual(expect.objectContaining({ outcome: 'retried', jobId }));
    await waitFor(() => status(old) === 'revoked', 20_000, 'the old key revoked');
  });
});
