import type { Job } from 'bullmq';
import { TestBed, waitFor, waitForJob } from '../support/test-bed';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import { renderSecretName } from '../../src/config';
import { REVOKE_JOB_NAME, ROTATE_JOB_NAME, type RevocationJobData, type RotationJobData, type RotationResult } from '../../src/rotation/job-data';
import { rotationJobId } from '../../src/rotation/identity';
import { createAbandonedRotationHandler } from '../../jobs/rotate-mailbox-key';
import { bullmqJobDirectory } from '../../src/rotation/exclusion';
import { Reconciler, queueRevocationJobs } from '../../src/reconcile/reconciler';

/**
 * What someone with write access to the deployment's Redis can make the worker do (docs/design.md,
 * "A key is revoked only when it is proven ours and not in use"): job data, return values and job
 * hashes name keys, and none of them is a proof. For every forged variant: no live key that
 * Secrets Manager holds as AWSCURRENT (nor a key the rotator never managed) is revoked, AWSCURRENT
 * still names a key that authenticates, and the refusal is logged at warn.
 */

const GRACE = '1h';

/** Requests a forced rotation of `mailboxId` and waits for it to complete. */
async function rotateNowIn(runtime: RotatorRuntime, mailboxId: string): Promise<RotationResult> {
  const [outcome] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
  if (!outcome || outcome.status !== 'enqueued') throw new Error(`not enqueued: ${JSON.stringify(outcome)}`);
  const finished = await waitForJob(runtime, outcome.jobId);
  if (finished.state !== 'completed') throw new Error(`rotation of ${mailboxId} ${finished.state}: ${finished.failedReason}`);
  return finished.returnvalue as RotationResult;
}

/** The key AWSCURRENT holds, after proving it authenticates for its mailbox (GET /mailbox/me answers 200). */
async function currentKeyIn(bed: TestBed, runtime: RotatorRuntime, mailboxId: string): Promise<string> {
  const current = await runtime.secrets.getCurrentVersion(renderSecretName(bed.settings.file.secretName, mailboxId));
  const document = JSON.parse(current!.secretString) as { key_id: string; api_key: string };
  const me = await runtime.sendmux.getMailboxMe(document.api_key);
  expect(me.data.id).toBe(mailboxId);
  return document.key_id;
}

/** The stalled-job handler the worker would run, over the runtime's own clients. */
function abandonedHandlerOf(bed: TestBed, runtime: RotatorRuntime) {
  return createAbandonedRotationHandler({
    file: runtime.settings.file, sendmux: runtime.sendmux, mailboxes: runtime.sendmux, secrets: runtime.secrets, ledger: runtime.ledger,
    jobs: bullmqJobDirectory(runtime.queue.queue), scheduleRevocation: (d, delayMs) => runtime.queue.scheduleRevocation(d, delayMs),
    pauseQueueFor: (ms) => runtime.queue.pauseFor(ms), logger: bed.logs.logger,
  });
}

describe('forged jobs and edited Redis fields', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    bed = await TestBed.start({
      mailboxes: 8,
      label: 'forged',
      config: { mailboxes: bed8(), revokePreviousAfter: GRACE, rotation: { attempts: 1 } },
    });
    runtime = await bed.runtime();
  });
  afterAll(async () => bed.close());

  function bed8(): string[] {
    return Array.from({ length: 7 }, (_, i) => `mbx_test_${String(i + 1).padStart(4, '0')}`);
  }

  const secretNameOf = (mailboxId: string) => renderSecretName(bed.settings.file.secretName, mailboxId);
  const rotateNow = (mailboxId: string) => rotateNowIn(runtime, mailboxId);
  const currentKeyThatAuthenticates = (mailboxId: string) => currentKeyIn(bed, runtime, mailboxId);

  function status(keyId: string): string | undefined {
    return bed.sandbox.state.keys.get(keyId)?.status;
  }

  function refusalsOf(keyId: string): Array<Record<string, unknown>> {
    return bed.logs.parsed().filter((line) => line['revocation'] === 'refused' && (line['keyId'] === keyId || line['orphanKeyId'] === keyId) && line['level'] === 40);
  }

  async function addRotation(mailboxId: string, extra: Partial<RotationJobData>): Promise<string> {
    const data = { ...runtime.queue.buildRotationJobData({ mailboxId, reason: 'manual', requestedBy: 'forger', force: true }), ...extra };
    const jobId = rotationJobId(mailboxId, data.slot);
    await runtime.queue.queue.add(ROTATE_JOB_NAME, data, { jobId, attempts: 1 });
    return jobId;
  }

  it('a failing rotation whose data names the AWSCURRENT key as its minted key leaves that key live and logs the refusal', async () => {
    const mailboxId = 'mbx_test_0001';
    const { newKeyId: current } = await rotateNow(mailboxId);
    bed.sandbox.faults.inject({ operation: 'getMailboxMe', kind: 'wrongMailboxMe', mailboxId, times: 1 });
    // A job that has not minted yet, whose data already "records" the current key.
    const jobId = await addRotation(mailboxId, { mintedKeyId: current!, mintedAt: new Date().toISOString() });
    const finished = await waitForJob(runtime, jobId);
    expect(finished.state).toBe('failed');
    await waitFor(() => refusalsOf(current!).length > 0, 10_000, 'the refusal logged');
    expect(status(current!)).toBe('live');
    expect(await currentKeyThatAuthenticates(mailboxId)).toBe(current);
    // The key the job really minted was its own (the mint answer proves it): revoked by the clean-up.
    const minted = (await runtime.queue.getJob(jobId))!.data as RotationJobData;
    expect(minted.mintedKeyId).not.toBe(current);
    expect(status(minted.mintedKeyId!)).toBe('revoked');
  });

  it('a rotation whose data names the AWSCURRENT key as an orphan leaves it live, whether the rotation fails or succeeds', async () => {
    const mailboxId = 'mbx_test_0002';
    const { newKeyId: current } = await rotateNow(mailboxId);
    bed.sandbox.faults.inject({ operation: 'getMailboxMe', kind: 'wrongMailboxMe', mailboxId, times: 1 });
    const failing = await addRotation(mailboxId, { orphanKeyId: current! });
    expect((await waitForJob(runtime, failing)).state).toBe('failed');
    await waitFor(() => refusalsOf(current!).length > 0, 10_000, 'the refusal logged');
    expect(status(current!)).toBe('live');
    expect(await currentKeyThatAuthenticates(mailboxId)).toBe(current);

    const succeeding = await addRotation(mailboxId, { orphanKeyId: current! });
    const finished = await waitForJob(runtime, succeeding);
    expect(finished.state).toBe('completed');
    // Superseded now, but its grace period (1 h) has not passed: still live, as every consumer expects.
    expect(status(current!)).toBe('live');
    expect(await currentKeyThatAuthenticates(mailboxId)).toBe((finished.returnvalue as RotationResult).newKeyId);
  });

  it('a failing rotation whose data names a key the rotator never managed leaves that key live', async () => {
    const mailboxId = 'mbx_test_0003';
    await rotateNow(mailboxId);
    const byHand = bed.sandbox.state.createKey({ mailboxId, appName: 'made by hand', idempotencyKey: null, requestId: null });
    bed.sandbox.faults.inject({ operation: 'getMailboxMe', kind: 'wrongMailboxMe', mailboxId, times: 1 });
    const jobId = await addRotation(mailboxId, { mintedKeyId: byHand.id, mintedAt: new Date().toISOString() });
    expect((await waitForJob(runtime, jobId)).state).toBe('failed');
    await waitFor(() => refusalsOf(byHand.id).length > 0, 10_000, 'the refusal logged');
    expect(status(byHand.id)).toBe('live');
    expect(bed.sandbox.state.revokeLog.map((entry) => entry.keyId)).not.toContain(byHand.id);
    await currentKeyThatAuthenticates(mailboxId);
  });

  it('the stalled-job handler of a job whose data names the AWSCURRENT key revokes nothing of the mailbox’s', async () => {
    const mailboxId = 'mbx_test_0004';
    const { newKeyId: current } = await rotateNow(mailboxId);
    const data = { ...runtime.queue.buildRotationJobData({ mailboxId, reason: 'manual', requestedBy: 'forger', force: true }), mintedKeyId: current!, mintedAt: new Date().toISOString() };
    const jobId = rotationJobId(mailboxId, data.slot);
    // Added paused-free but never processed by a worker: the handler is called as BullMQ would after too many stalls.
    const job = { id: jobId, data, attemptsMade: 1, deduplicationId: undefined, updateData: async () => undefined, name: ROTATE_JOB_NAME } as unknown as Job<RotationJobData>;
    const onAbandoned = abandonedHandlerOf(bed, runtime);
    await onAbandoned(job, data, 'job stalled more than allowable limit');
    expect(status(current!)).toBe('live');
    expect(refusalsOf(current!).length).toBeGreaterThan(0);
    expect(await currentKeyThatAuthenticates(mailboxId)).toBe(current);
  });

  it('a revocation job naming the AWSCURRENT key fails for good, revokes nothing, and says which proof was missing', async () => {
    const mailboxId = 'mbx_test_0005';
    const { newKeyId: current } = await rotateNow(mailboxId);
    for (const cause of ['superseded', 'stale-pending'] as const) {
      const jobId = `forged-revoke-current-${cause}`;
      const data: RevocationJobData = { mailboxId, keyId: current!, cause, requestedAt: new Date().toISOString(),
        ...(cause === 'stale-pending' ? { versionId: (await runtime.secrets.getCurrentVersion(secretNameOf(mailboxId)))!.versionId } : {}) };
      await runtime.queue.queue.add(REVOKE_JOB_NAME, data, { jobId, attempts: 1 });
      await waitForJob(runtime, jobId);
    }
    expect(status(current!)).toBe('live');
    expect(refusalsOf(current!)).toEqual(expect.arrayContaining([expect.objectContaining({ proofMissing: 'superseded', refusal: 'current_key' })]));
    expect(await currentKeyThatAuthenticates(mailboxId)).toBe(current);
  });

  it("a revocation job naming another mailbox's current key, or a mailbox the configuration does not cover, revokes nothing", async () => {
    const { newKeyId: otherCurrent } = await rotateNow('mbx_test_0006');
    await rotateNow('mbx_test_0005');
    const jobs: Array<[string, RevocationJobData]> = [
      ['forged-other-mailbox', { mailboxId: 'mbx_test_0005', keyId: otherCurrent!, cause: 'superseded', requestedAt: new Date().toISOString() }],
      ['forged-not-covered', { mailboxId: 'mbx_test_0008', keyId: otherCurrent!, cause: 'superseded', requestedAt: new Date().toISOString() }],
    ];
    for (const [jobId, data] of jobs) {
      await runtime.queue.queue.add(REVOKE_JOB_NAME, data, { jobId, attempts: 1 });
      const finished = await waitForJob(runtime, jobId);
      expect(finished.state).toBe('failed');
    }
    expect((await runtime.queue.getJob('forged-not-covered'))!.failedReason).toContain('not covered by the configuration');
    expect(refusalsOf(otherCurrent!)).toEqual([expect.objectContaining({ mailboxId: 'mbx_test_0005', proofMissing: 'superseded', refusal: 'not_recorded' })]);
    expect(status(otherCurrent!)).toBe('live');
    expect(await currentKeyThatAuthenticates('mbx_test_0006')).toBe(otherCurrent);
  });

  it('a return value edited after the job completed makes nothing revoke the key it names', async () => {
    const mailboxId = 'mbx_test_0007';
    const first = await rotateNow(mailboxId);
    const [outcome] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
    const jobId = (outcome as { jobId: string }).jobId;
    expect((await waitForJob(runtime, jobId)).state).toBe('completed');
    const current = await currentKeyThatAuthenticates(mailboxId);
    // The job hash's returnvalue field, rewritten to name the current key as the one to retire.
    const client = await runtime.queue.queue.client;
    const edited: RotationResult = { outcome: 'rotated', mailboxId, previousKeyId: current, newKeyId: first.newKeyId!, revocation: { jobId: 'x', notBefore: new Date().toISOString() }, requestIds: {} };
    await (client as unknown as { hset(key: string, field: string, value: string): Promise<number> }).hset(`${runtime.queue.queue.keys['']}${jobId}`, 'returnvalue', JSON.stringify(edited));
    const reconciler = new Reconciler({ file: runtime.settings.file, secrets: runtime.secrets, sendmux: runtime.sendmux,
      jobs: bullmqJobDirectory(runtime.queue.queue), revocations: queueRevocationJobs(runtime.queue), logger: bed.logs.logger });
    await reconciler.reconcileMailbox(mailboxId);
    expect(status(current)).toBe('live');
    expect(await currentKeyThatAuthenticates(mailboxId)).toBe(current);
  });

  it('a dashboard retry of a failed rotation whose data was edited to name the AWSCURRENT key leaves that key live', async () => {
    const mailboxId = 'mbx_test_0003';
    const current = await currentKeyThatAuthenticates(mailboxId);
    bed.sandbox.faults.inject({ operation: 'getMailboxMe', kind: 'wrongMailboxMe', mailboxId, times: 1 });
    const jobId = await addRotation(mailboxId, {});
    expect((await waitForJob(runtime, jobId)).state).toBe('failed');
    const job = (await runtime.queue.getJob(jobId))!;
    await job.updateData({ ...(job.data as RotationJobData), mintedKeyId: current });
    await job.retry('failed');
    // The retry's mint replays the job's own key, which is not the one its data now names: refused, reported.
    await waitFor(() => refusalsOf(current).length > 0, 20_000, 'the refusal logged');
    await waitFor(async () => ['failed', 'completed'].includes(await (await runtime.queue.getJob(jobId))!.getState()), 20_000, 'the retried job finished');
    expect(status(current)).toBe('live');
    expect(await currentKeyThatAuthenticates(mailboxId)).toBe(current);
  });
});

describe('forged work against a rotation that is still running, and a forged stall of a finished one', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 3, label: 'forged-live', config: { revokePreviousAfter: GRACE, rotation: { attempts: 1 } } });
    runtime = await bed.runtime();
  });
  afterAll(async () => bed.close());

  const status = (keyId: string) => bed.sandbox.state.keys.get(keyId)?.status;
  const rotateNow = (mailboxId: string) => rotateNowIn(runtime, mailboxId);
  const currentAuthenticates = (mailboxId: string) => currentKeyIn(bed, runtime, mailboxId);

  /** A rotation held in verify, taken out of BullMQ's active list, and a forged stale-pending revocation of its key. */
  async function forgeStalePendingDuringVerify(mailboxId: string, alsoDropLock: boolean): Promise<{ rotationJobId: string; minted: string }> {
    const delaysBefore = bed.sandbox.faults.injected.delay ?? 0;
    bed.sandbox.faults.inject({ operation: 'getMailboxMe', kind: 'delay', delayMs: 1500, mailboxId, times: 1 });
    const [outcome] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
    const rotationJobId = (outcome as { jobId: string }).jobId;
    await waitFor(() => (bed.sandbox.faults.injected.delay ?? 0) === delaysBefore + 1, 10_000, 'verification held');
    const minted = ((await runtime.queue.getJob(rotationJobId))!.data as RotationJobData).mintedKeyId!;
    expect(minted).toBeDefined();
    const client = (await runtime.queue.queue.client) as unknown as { lrem(key: string, count: number, value: string): Promise<number>; del(key: string): Promise<number> };
    await client.lrem(runtime.queue.queue.keys.active!, 0, rotationJobId);
    if (alsoDropLock) await client.del(`${runtime.queue.queue.keys['']}${rotationJobId}:lock`);
    await runtime.queue.queue.add(REVOKE_JOB_NAME, { mailboxId, keyId: minted, cause: 'stale-pending', requestedAt: new Date().toISOString() }, { jobId: `forged-stale-${mailboxId}`, attempts: 1 });
    return { rotationJobId, minted };
  }

  it('a forged stale-pending revocation waits while the worker still holds the rotation’s lock, and the rotation completes with a key that authenticates', async () => {
    const mailboxId = 'mbx_test_0001';
    await rotateNow(mailboxId);
    const { minted } = await forgeStalePendingDuringVerify(mailboxId, false);
    await waitFor(async () => (await currentAuthenticates(mailboxId)) === minted, 20_000, 'the rotation promoted its key');
    expect(status(minted)).toBe('live');
    await (await runtime.queue.getJob(`forged-stale-${mailboxId}`))?.remove().catch(() => undefined);
  });

  it('with the lock deleted too, the clean-up may take the label and the key, but the rotation then refuses to promote: AWSCURRENT keeps a key that authenticates', async () => {
    const mailboxId = 'mbx_test_0002';
    await rotateNow(mailboxId);
    const before = await currentAuthenticates(mailboxId);
    const { rotationJobId, minted } = await forgeStalePendingDuringVerify(mailboxId, true);
    await waitFor(async () => ['completed', 'failed'].includes(await (await runtime.queue.getJob(`forged-stale-${mailboxId}`))!.getState()), 20_000, 'the forged clean-up ran');
    // The rotation's own last line (BullMQ may not record its end: its lock is gone).
    await waitFor(() => bed.logs.parsed().some((l) => l['jobId'] === rotationJobId && /^rotation (rotated|failed)/.test(String(l['msg']))), 20_000, 'the rotation ended');
    const current = await currentAuthenticates(mailboxId);
    expect([before, minted]).toContain(current);
    if (current === minted) expect(status(minted)).toBe('live');
  });

  it('a forged "stalled too often" copy of a finished rotation does not revoke the superseded key before its grace period', async () => {
    const mailboxId = 'mbx_test_0003';
    await rotateNow(mailboxId);
    const [outcome] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
    const oldJobId = (outcome as { jobId: string }).jobId;
    const oldResult = (await waitForJob(runtime, oldJobId)).returnvalue as RotationResult;
    await rotateNow(mailboxId); // the old job's key is now AWSPREVIOUS, within its 1 h grace period
    const oldJob = (await runtime.queue.getJob(oldJobId))!;
    const onAbandoned = abandonedHandlerOf(bed, runtime);
    await onAbandoned(oldJob as Job<RotationJobData>, oldJob.data as RotationJobData, 'job stalled more than allowable limit');
    expect(status(oldResult.newKeyId!)).toBe('live');
    await currentAuthenticates(mailboxId);
  });
});
