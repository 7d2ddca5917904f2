import { TestBed, waitFor, waitForJob } from '../support/test-bed';
import { deleteKeysWithPrefix } from '../support/redis';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import { startRotatorService, type RotatorService } from '../../src/app/service';
import { renderSecretName } from '../../src/config';
import { bullmqJobDirectory } from '../../src/rotation/exclusion';
import { clientRequestTokenFor, idempotencyKeyFor, revocationJobId, rotationJobId } from '../../src/rotation/identity';
import type { RevocationResult, RotationResult } from '../../src/rotation/job-data';
import { buildStoredMailboxSecret } from '../../src/rotation/secret-value';
import { Reconciler, queueRevocationJobs, reconciledNotBefore } from '../../src/reconcile/reconciler';
import { RETIRED_KEY_TAG } from '../../src/reconcile/retired-key-tag';

async function rotate(runtime: RotatorRuntime, mailboxId: string): Promise<RotationResult> {
  const [outcome] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
  if (!outcome || outcome.status !== 'enqueued') throw new Error(`rotation not enqueued: ${JSON.stringify(outcome)}`);
  const finished = await waitForJob(runtime, outcome.jobId);
  if (finished.state !== 'completed') throw new Error(`rotation ${outcome.jobId} ${finished.state}: ${finished.failedReason}`);
  return finished.returnvalue as RotationResult;
}

function reconcilerOf(bed: TestBed, runtime: RotatorRuntime): Reconciler {
  return new Reconciler({
    file: runtime.settings.file,
    secrets: runtime.secrets,
    sendmux: runtime.sendmux,
    jobs: bullmqJobDirectory(runtime.queue.queue),
    revocations: queueRevocationJobs(runtime.queue),
    logger: bed.logs.logger,
  });
}

function secretNameOf(bed: TestBed, mailboxId: string): string {
  return renderSecretName(bed.settings.file.secretName, mailboxId);
}

/** The AWSCURRENT key of a mailbox still opens it: GET /mailbox/me with its secret answers 200. */
async function currentKeyAuthenticates(bed: TestBed, runtime: RotatorRuntime, mailboxId: string): Promise<boolean> {
  const current = await runtime.secrets.getSecretVersion(secretNameOf(bed, mailboxId), { versionStage: 'AWSCURRENT' });
  const { api_key } = JSON.parse(current!.secretString) as { api_key: string };
  const me = await runtime.sendmux.getMailboxMe(api_key).catch(() => null);
  return me?.data.id === mailboxId;
}

/**
 * Writes an AWSPENDING version the way a rotation's stage step does (minted key, document naming
 * its slot, the slot's ClientRequestToken), without the rotation job: its job is gone.
 */
async function stageWithoutJob(bed: TestBed, runtime: RotatorRuntime, mailboxId: string, slot: string): Promise<{ keyId: string; versionId: string }> {
  const idempotencyKey = idempotencyKeyFor(mailboxId, slot);
  const minted = await runtime.sendmux.mintMailboxKey(mailboxId, { appName: `rotator ${slot}`, idempotencyKey });
  const current = await runtime.secrets.getSecretVersion(secretNameOf(bed, mailboxId), { versionStage: 'AWSCURRENT' });
  const currentKeyId = (JSON.parse(current!.secretString) as { key_id: string }).key_id;
  const versionId = clientRequestTokenFor(idempotencyKey);
  await runtime.secrets.putSecretVersion(secretNameOf(bed, mailboxId), {
    clientRequestToken: versionId,
    versionStages: ['AWSPENDING'],
    secretString: buildStoredMailboxSecret({
      mailboxId,
      minted: minted.data,
      rotatedAt: new Date().toISOString(),
      idempotencyKey,
      sendmuxRequestId: minted.requestId,
      slot,
      supersedes: { key_id: currentKeyId, version_id: current!.versionId },
      revokeNotBefore: new Date().toISOString(),
    }),
  });
  return { keyId: minted.data.keyId, versionId };
}

describe('the reconciler after Redis lost every key of the prefix', () => {
  const GRACE_MS = 8_000;
  const INTERVAL_MS = 1_000;
  let bed: TestBed;
  let service: RotatorService | undefined;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 4, label: 'reconcile-loss', config: { revokePreviousAfter: '8s', reconcileInterval: '1s' } });
  });
  afterAll(async () => {
    await service?.close();
    await bed.close();
  });

  it('revokes every superseded key within grace + reconcileInterval of the restart, and never an AWSCURRENT key', async () => {
    const runtime = await bed.runtime();
    const superseded: Array<{ mailboxId: string; keyId: string }> = [];
    const promotedAt = new Map<string, number>();
    for (const mailboxId of bed.mailboxIds) await rotate(runtime, mailboxId); // first key: nothing to revoke
    // Two rotations each within one grace period: AWSPREVIOUS and the key before it both wait.
    for (let round = 0; round < 2; round++) {
      for (const mailboxId of bed.mailboxIds) {
        const result = await rotate(runtime, mailboxId);
        superseded.push({ mailboxId, keyId: result.previousKeyId! });
        promotedAt.set(mailboxId, Date.now());
      }
    }
    await runtime.close();
    // Failover / flush / changed prefix: the delayed revocation jobs were the only record in Redis.
    expect(await deleteKeysWithPrefix(bed.redis, bed.prefix)).toBeGreaterThan(0);
    expect(superseded.every(({ keyId }) => bed.sandbox.state.keys.get(keyId)?.status === 'live')).toBe(true);

    const restartedAt = Date.now();
    service = await startRotatorService({ settings: bed.settings, logger: bed.logs.logger, roles: new Set(['worker', 'scheduler']), secretsManagerClient: bed.smClient });
    const slack = 15_000; // a loaded CI machine; the bound under test is GRACE_MS + INTERVAL_MS
    await waitFor(
      () => superseded.every(({ keyId }) => bed.sandbox.state.keys.get(keyId)?.status === 'revoked'),
      GRACE_MS + INTERVAL_MS + slack,
      'every superseded key revoked',
    );
    expect(Date.now() - restartedAt).toBeLessThan(GRACE_MS + INTERVAL_MS + slack);

    for (const { mailboxId, keyId } of superseded) {
      const revokedAt = Date.parse(bed.sandbox.state.keys.get(keyId)!.revokedAt!);
      // promotedAt is taken just after the job completed, a little after the promotion itself.
      expect(revokedAt).toBeGreaterThanOrEqual(promotedAt.get(mailboxId)! + GRACE_MS - 500);
      expect(await currentKeyAuthenticates(bed, service.runtime, mailboxId)).toBe(true);
      expect(bed.sandbox.state.liveKeys(mailboxId)).toHaveLength(1);
    }
    expect(await bed.findLeakedSecrets()).toEqual([]);
  });
});

describe('the reconciler of a running scheduler', () => {
  let bed: TestBed;
  let service: RotatorService | undefined;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 2, label: 'reconcile-live', config: { revokePreviousAfter: '4s', reconcileInterval: '1s' } });
  });
  afterAll(async () => {
    await service?.close();
    await bed.close();
  });

  it('rebuilds revocations lost while it runs on its next pass, not only at start-up', async () => {
    const first = await bed.runtime();
    for (const mailboxId of bed.mailboxIds) await rotate(first, mailboxId); // first keys, before the scheduler's catch-up sees no secret
    await first.close();
    service = await startRotatorService({ settings: bed.settings, logger: bed.logs.logger, roles: new Set(['worker', 'scheduler']), secretsManagerClient: bed.smClient });
    const runtime = service.runtime;
    const superseded: string[] = [];
    for (const mailboxId of bed.mailboxIds) superseded.push((await rotate(runtime, mailboxId)).previousKeyId!);
    // Let the start-up pass be long over, then lose the delayed jobs under the running service.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const keyId of superseded) await (await runtime.queue.getJob(revocationJobId(keyIdOwner(bed, keyId), keyId)))?.remove();
    expect(superseded.every((keyId) => bed.sandbox.state.keys.get(keyId)?.status === 'live')).toBe(true);

    await waitFor(() => superseded.every((keyId) => bed.sandbox.state.keys.get(keyId)?.status === 'revoked'), 4_000 + 1_000 + 15_000, 'superseded keys revoked');
    for (const mailboxId of bed.mailboxIds) expect(await currentKeyAuthenticates(bed, runtime, mailboxId)).toBe(true);
  });
});

function keyIdOwner(bed: TestBed, keyId: string): string {
  return bed.sandbox.state.keys.get(keyId)!.mailboxId;
}

describe('a reconcile pass', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 5, label: 'reconcile-pass', config: { revokePreviousAfter: '1h', rotation: { lockDuration: '1s' } } });
    runtime = await bed.runtime();
  });
  afterAll(async () => bed.close());

  it('adds nothing while the revocation jobs still exist', async () => {
    const mailboxId = 'mbx_test_0001';
    await rotate(runtime, mailboxId);
    const second = await rotate(runtime, mailboxId);
    const before = await runtime.queue.queue.getJobCounts('delayed', 'waiting');

    const report = await reconcilerOf(bed, runtime).reconcileMailbox(mailboxId);

    expect(report).toEqual([{ mailboxId, action: 'revocation-exists', keyId: second.previousKeyId, jobId: revocationJobId(mailboxId, second.previousKeyId!) }]);
    expect(await runtime.queue.queue.getJobCounts('delayed', 'waiting')).toEqual(before);
    expect(bed.sandbox.state.keys.get(second.previousKeyId!)?.status).toBe('live');
  });

  it('adds one job per lost revocation however many replicas reconcile at once', async () => {
    const mailboxId = 'mbx_test_0005';
    await rotate(runtime, mailboxId);
    const second = await rotate(runtime, mailboxId);
    const jobId = revocationJobId(mailboxId, second.previousKeyId!);
    await (await runtime.queue.getJob(jobId))!.remove();
    const delayedBefore = await runtime.queue.queue.getDelayedCount();

    const replicas = [reconcilerOf(bed, runtime), reconcilerOf(bed, runtime), reconcilerOf(bed, runtime)];
    const findings = (await Promise.all(replicas.map((r) => r.reconcileMailbox(mailboxId)))).flat();

    expect(findings.map((f) => f.action).every((a) => a === 'revocation-scheduled' || a === 'revocation-exists')).toBe(true);
    expect(await runtime.queue.queue.getDelayedCount()).toBe(delayedBefore + 1);
    const job = await runtime.queue.getJob(jobId);
    expect(await job!.getState()).toBe('delayed');
    // The rebuilt job waits out the grace period counted from the promotion (1h here).
    expect(job!.timestamp + job!.opts.delay!).toBeGreaterThan(Date.now() + 3_500_000);
  });

  it('clears a stale AWSPENDING whose rotation job vanished and revokes its key', async () => {
    const mailboxId = 'mbx_test_0002';
    await rotate(runtime, mailboxId);
    const stale = await stageWithoutJob(bed, runtime, mailboxId, 'tstale01');

    const [finding] = await reconcilerOf(bed, runtime).reconcileMailbox(mailboxId);
    expect(finding).toMatchObject({ action: 'stale-pending-scheduled', keyId: stale.keyId, versionId: stale.versionId });
    const finished = await waitForJob(runtime, revocationJobId(mailboxId, stale.keyId), 20_000);

    expect(finished.state).toBe('completed');
    expect((finished.returnvalue as RevocationResult).outcome).toBe('revoked');
    expect(bed.sandbox.state.keys.get(stale.keyId)?.status).toBe('revoked');
    const description = await runtime.secrets.describeSecret(secretNameOf(bed, mailboxId));
    expect(Object.values(description!.versionIdsToStages).flat()).not.toContain('AWSPENDING');
    expect(await currentKeyAuthenticates(bed, runtime, mailboxId)).toBe(true);
  });

  it('leaves an AWSPENDING alone while its rotation job may still run', async () => {
    const mailboxId = 'mbx_test_0003';
    await rotate(runtime, mailboxId);
    const slot = 'talive01';
    const pending = await stageWithoutJob(bed, runtime, mailboxId, slot);
    // The rotation job of that slot exists, delayed (as after a transient failure): it is alive.
    const jobId = rotationJobId(mailboxId, slot);
    const data = runtime.queue.buildRotationJobData({ mailboxId, reason: 'scheduled', slot, requestedBy: 'test' });
    await runtime.queue.queue.add('rotate-mailbox-key', data, { jobId, delay: 3_600_000 });

    const findings = await reconcilerOf(bed, runtime).reconcileMailbox(mailboxId);

    expect(findings).toEqual([{ mailboxId, action: 'pending-in-progress', rotationJobId: jobId }]);
    expect(await runtime.queue.getJob(revocationJobId(mailboxId, pending.keyId))).toBeUndefined();
    expect(bed.sandbox.state.keys.get(pending.keyId)?.status).toBe('live');
    const description = await runtime.secrets.describeSecret(secretNameOf(bed, mailboxId));
    expect(description!.versionIdsToStages[pending.versionId]).toEqual(['AWSPENDING']);
    await (await runtime.queue.getJob(jobId))!.remove();
  });

  it('reports, and leaves alone, an AWSPENDING version that names no rotation', async () => {
    const mailboxId = 'mbx_test_0004';
    await rotate(runtime, mailboxId);
    const minted = await runtime.sendmux.mintMailboxKey(mailboxId, { appName: 'by hand', idempotencyKey: 'by-hand-0004' });
    const versionId = clientRequestTokenFor('by-hand-0004');
    const document = JSON.parse(buildStoredMailboxSecret({
      mailboxId, minted: minted.data, rotatedAt: new Date().toISOString(), idempotencyKey: 'by-hand-0004',
      sendmuxRequestId: undefined, slot: 'unused', supersedes: null, revokeNotBefore: null,
    })) as Record<string, unknown>;
    delete document.slot; // written by something else than a rotation job: its owner cannot be named
    await runtime.secrets.putSecretVersion(secretNameOf(bed, mailboxId), { clientRequestToken: versionId, versionStages: ['AWSPENDING'], secretString: JSON.stringify(document) });

    const findings = await reconcilerOf(bed, runtime).reconcileMailbox(mailboxId);

    expect(findings).toEqual([{ mailboxId, action: 'problem', reason: expect.stringContaining(`AWSPENDING version ${versionId} that names no rotation`) }]);
    expect(await runtime.queue.getJob(revocationJobId(mailboxId, minted.data.keyId))).toBeUndefined();
    expect(bed.sandbox.state.keys.get(minted.data.keyId)?.status).toBe('live');
  });

  it('treats a previous key revoked behind its back as done: the rebuilt job completes, and the next pass adds nothing', async () => {
    const shortGrace = await TestBed.start({ mailboxes: 1, label: 'reconcile-revoked', config: { revokePreviousAfter: '2s' } });
    try {
      const rt = await shortGrace.runtime();
      const mailboxId = shortGrace.mailboxIds[0]!;
      await rotate(rt, mailboxId);
      const second = await rotate(rt, mailboxId);
      const keyId = second.previousKeyId!;
      await rt.close();
      await deleteKeysWithPrefix(shortGrace.redis, shortGrace.prefix);
      // Revoked outside the rotator (or by a job whose record is lost): no tag on the secret.
      await shortGrace.sandbox.state.revokeKey(shortGrace.sandbox.state.keys.get(keyId)!);
      const description = await rt.secrets.describeSecret(secretNameOf(shortGrace, mailboxId));
      expect(description!.tags[RETIRED_KEY_TAG]).toBeUndefined();

      const restarted = await shortGrace.runtime();
      const reconciler = reconcilerOf(shortGrace, restarted);
      const [first] = await reconciler.reconcileMailbox(mailboxId);
      expect(first).toMatchObject({ action: 'revocation-scheduled', keyId });
      const finished = await waitForJob(restarted, revocationJobId(mailboxId, keyId));
      expect(finished.state).toBe('completed');
      expect((finished.returnvalue as RevocationResult).outcome).toBe('revoked');

      await deleteKeysWithPrefix(shortGrace.redis, shortGrace.prefix);
      const report = await reconciler.runPass();
      expect(report.findings).toEqual([{ mailboxId, action: 'already-retired', keyId }]);
      expect(await restarted.queue.getJob(revocationJobId(mailboxId, keyId))).toBeUndefined();
      expect(await currentKeyAuthenticates(shortGrace, restarted, mailboxId)).toBe(true);
    } finally {
      await shortGrace.close();
    }
  });
});

describe('reconciledNotBefore', () => {
  const minted = Date.parse('2026-11-30T00:00:00Z');
  const GRACE = 60_000;

  it('waits a full grace after the last change of the secret (plus a second for truncation), even right after the mint', () => {
    expect(
      reconciledNotBefore({ revokeNotBefore: new Date(minted + GRACE).toISOString(), mintedAt: new Date(minted).toISOString(), configuredGraceMs: GRACE, lastChangedDate: new Date(minted + 1_000), nowMs: minted + 5_000 }),
    ).toBe(minted + 1_000 + 1_000 + GRACE); // + 1 s in case LastChangedDate was truncated to seconds
  });

  it('counts the grace from the promotion (last change) when the rotation was promoted long after its mint', () => {
    const promoted = minted + 3_600_000;
    expect(
      reconciledNotBefore({ revokeNotBefore: new Date(minted + GRACE).toISOString(), mintedAt: new Date(minted).toISOString(), configuredGraceMs: GRACE, lastChangedDate: new Date(promoted), nowMs: promoted + 1_000 }),
    ).toBe(promoted + 1_000 + GRACE);
  });

  it('applies the longer of the recorded and the configured grace', () => {
    expect(
      reconciledNotBefore({ revokeNotBefore: new Date(minted).toISOString(), mintedAt: new Date(minted).toISOString(), configuredGraceMs: GRACE, lastChangedDate: new Date(minted), nowMs: minted }),
    ).toBe(minted + 1_000 + GRACE);
  });

  it('measures from now when Secrets Manager gives no LastChangedDate', () => {
    const now = minted + 10_000;
    expect(
      reconciledNotBefore({ revokeNotBefore: new Date(minted + GRACE).toISOString(), mintedAt: new Date(minted).toISOString(), configuredGraceMs: GRACE, lastChangedDate: undefined, nowMs: now }),
    ).toBe(now + GRACE);
  });
});

describe('reconciling a secret the rotator has not adopted yet', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 1, label: 'reconcile-foreign' });
    runtime = await bed.runtime({ runWorker: false });
  });
  afterAll(async () => bed.close());

  it('reports it as awaiting adoption, not as a problem, and adds nothing', async () => {
    const mailboxId = bed.mailboxIds[0]!;
    const minted = await runtime.sendmux.mintMailboxKey(mailboxId, { appName: 'stored by hand', idempotencyKey: 'by-hand-foreign' });
    await runtime.secrets.createSecretIfMissing(secretNameOf(bed, mailboxId));
    // The team stored the bearer token as a plain string before installing the rotator.
    await runtime.secrets.putSecretVersion(secretNameOf(bed, mailboxId), {
      clientRequestToken: clientRequestTokenFor('by-hand-foreign'),
      versionStages: ['AWSCURRENT'],
      secretString: minted.data.secret,
    });

    const findings = await reconcilerOf(bed, runtime).reconcileMailbox(mailboxId);

    expect(findings).toEqual([{ mailboxId, action: 'awaiting-adoption' }]);
    expect(await runtime.queue.queue.getJobCounts('delayed', 'waiting')).toEqual(expect.objectContaining({ delayed: 0, waiting: 0 }));
  });
});
