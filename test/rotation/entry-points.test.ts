import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeleteSecretCommand } from '@aws-sdk/client-secrets-manager';
import { TestBed, waitFor, waitForJob } from '../support/test-bed';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import { renderSecretName } from '../../src/config';
import { REVOKE_JOB_NAME, ROTATE_JOB_NAME, type RotationJobData, type RotationResult } from '../../src/rotation/job-data';
import { rotationJobId } from '../../src/rotation/identity';

/**
 * The invariants on every path that can start or touch a rotation (docs/design.md, "Where the truth
 * lives"), not only the ones the scheduler and API take: a dashboard retry racing a new rotation,
 * jobs written straight into Redis, a vendor that mints for the wrong mailbox, a retry after the
 * idempotency window, a secret scheduled for deletion. Real Redis, sandbox and stand-in.
 */

function secretNameOf(bed: TestBed, mailboxId: string): string {
  return renderSecretName(bed.settings.file.secretName, mailboxId);
}

async function requestRotation(runtime: RotatorRuntime, mailboxId: string): Promise<string> {
  const [outcome] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
  if (!outcome || outcome.status !== 'enqueued') throw new Error(`rotation not enqueued: ${JSON.stringify(outcome)}`);
  return outcome.jobId;
}

async function rotateNow(runtime: RotatorRuntime, mailboxId: string): Promise<RotationResult> {
  const finished = await waitForJob(runtime, await requestRotation(runtime, mailboxId));
  if (finished.state !== 'completed') throw new Error(`rotation of ${mailboxId} ${finished.state}: ${finished.failedReason}`);
  return finished.returnvalue as RotationResult;
}

function storedVersions(bed: TestBed, mailboxId: string): Array<{ versionId: string; stages: string[]; createdDate: Date; keyId: string; mailboxId: string }> {
  return (bed.standIn.secret(secretNameOf(bed, mailboxId))?.versions ?? []).map((v) => {
    const doc = JSON.parse(v.secretString ?? '{}') as { key_id: string; mailbox_id: string };
    return { versionId: v.versionId, stages: v.stages, createdDate: v.createdDate, keyId: doc.key_id, mailboxId: doc.mailbox_id };
  });
}

function currentKeyId(bed: TestBed, mailboxId: string): string | undefined {
  return storedVersions(bed, mailboxId).find((v) => v.stages.includes('AWSCURRENT'))?.keyId;
}

describe('a failed rotation retried from the dashboard while a new forced rotation is in flight (case 1)', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;
  const mailboxId = 'mbx_test_0001';

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 1, label: 'retry-race', config: { rotation: { attempts: 1 }, revokePreviousAfter: '0s' } });
    runtime = await bed.runtime();
  });
  afterAll(async () => bed.close());

  it('waits for the rotation in flight instead of calling its AWSPENDING stale: AWSCURRENT is always a live key', async () => {
    await rotateNow(runtime, mailboxId);
    bed.sandbox.state.setMailboxStatus(mailboxId, 'suspended');
    const failed = await requestRotation(runtime, mailboxId);
    expect((await waitForJob(runtime, failed)).state).toBe('failed');
    bed.sandbox.state.setMailboxStatus(mailboxId, 'active');

    bed.sandbox.setLatency(1000);
    const inFlight = await requestRotation(runtime, mailboxId);
    await new Promise((r) => setTimeout(r, 1200));
    await (await runtime.queue.getJob(failed))!.retry('failed');

    const [n, f] = await Promise.all([waitForJob(runtime, inFlight, 40_000), waitForJob(runtime, failed, 40_000)]);
    bed.sandbox.setLatency(null);
    await waitFor(async () => (await runtime.queue.queue.getJobCounts('delayed', 'waiting', 'active')).delayed === 0, 20_000, 'revocations done');

    // The mailbox's current key works, and no key was revoked before a newer key was stored in its place.
    const current = currentKeyId(bed, mailboxId)!;
    expect(bed.sandbox.state.keys.get(current)?.status).toBe('live');
    const versions = storedVersions(bed, mailboxId); // newest first
    versions.forEach((version, i) => {
      const key = bed.sandbox.state.keys.get(version.keyId)!;
      if (key.status !== 'revoked') return;
      const successor = versions[i - 1];
      expect(successor).toBeDefined();
      expect(Date.parse(key.revokedAt!)).toBeGreaterThanOrEqual(successor!.createdDate.getTime());
    });
    // Both rotations ran, one after the other.
    expect([n.state, f.state, f.failedReason ?? null]).toEqual(['completed', 'completed', null]);
    expect(bed.logs.text()).toContain(`rotation ${inFlight} of mailbox ${mailboxId} is in progress`);
  });
});

describe('jobs written straight into Redis (case 2)', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 3, label: 'crafted', config: { mailboxes: ['mbx_test_0001', 'mbx_test_0002'], revokePreviousAfter: 'never' } });
    runtime = await bed.runtime();
  });
  afterAll(async () => bed.close());

  it('a revocation naming the AWSCURRENT key and a secret that does not exist fails for good and revokes nothing', async () => {
    const { newKeyId } = await rotateNow(runtime, 'mbx_test_0001');
    await runtime.queue.queue.add(
      REVOKE_JOB_NAME,
      { mailboxId: 'mbx_test_0001', keyId: newKeyId!, secretName: 'sendmux/mailboxes/no-such-secret', cause: 'superseded', requestedAt: new Date().toISOString() } as never,
      { jobId: 'crafted-revoke-current' },
    );
    const finished = await waitForJob(runtime, 'crafted-revoke-current');
    expect(finished.state).toBe('failed');
    expect(finished.failedReason).toContain('it is the AWSCURRENT key');
    expect(bed.sandbox.state.keys.get(newKeyId!)?.status).toBe('live');
  });

  it('a revocation of a live key no version records as superseded fails closed', async () => {
    const unrecorded = await runtime.sendmux.mintMailboxKey('mbx_test_0001', { appName: 'elsewhere', idempotencyKey: 'crafted-unrecorded' });
    await runtime.queue.queue.add(
      REVOKE_JOB_NAME,
      // secretName is what the processors used to trust; it names this mailbox's own secret here.
      { mailboxId: 'mbx_test_0001', keyId: unrecorded.data.keyId, secretName: secretNameOf(bed, 'mbx_test_0001'), cause: 'superseded', requestedAt: new Date().toISOString() } as never,
      { jobId: 'crafted-revoke-unrecorded' },
    );
    const finished = await waitForJob(runtime, 'crafted-revoke-unrecorded');
    expect(finished.state).toBe('failed');
    expect(finished.failedReason).toContain('does not prove it superseded');
    expect(bed.sandbox.state.keys.get(unrecorded.data.keyId)?.status).toBe('live');
  });

  it("a rotation whose data names another mailbox's secret still writes only its own mailbox's secret", async () => {
    await rotateNow(runtime, 'mbx_test_0002');
    const otherBefore = storedVersions(bed, 'mbx_test_0002');
    const data = runtime.queue.buildRotationJobData({ mailboxId: 'mbx_test_0001', reason: 'manual', requestedBy: 'crafted', force: true });
    const jobId = rotationJobId(data.mailboxId, data.slot);
    await runtime.queue.queue.add(ROTATE_JOB_NAME, { ...data, secretName: secretNameOf(bed, 'mbx_test_0002') } as never, { jobId });
    const finished = await waitForJob(runtime, jobId);
    expect(finished.state).toBe('completed');
    expect(storedVersions(bed, 'mbx_test_0002')).toEqual(otherBefore);
    expect(currentKeyId(bed, 'mbx_test_0001')).toBe((finished.returnvalue as RotationResult).newKeyId);
  });

  it('a rotation of a mailbox the configuration does not cover fails for good before any request', async () => {
    const data = runtime.queue.buildRotationJobData({ mailboxId: 'mbx_test_0003', reason: 'manual', requestedBy: 'crafted', force: true });
    const jobId = rotationJobId(data.mailboxId, data.slot);
    await runtime.queue.queue.add(ROTATE_JOB_NAME, data as RotationJobData, { jobId, attempts: 3 });
    const finished = await waitForJob(runtime, jobId);
    expect(finished.state).toBe('failed');
    expect(finished.attemptsMade).toBe(1);
    expect(finished.failedReason).toContain('not covered by the configuration');
    expect(bed.sandbox.state.mintLog.filter((m) => m.mailboxId === 'mbx_test_0003')).toEqual([]);
    expect(bed.standIn.secret(secretNameOf(bed, 'mbx_test_0003'))).toBeUndefined();
  });
});

describe('a rotation job added straight to Redis while another rotation of the mailbox is minting (case 1, before any AWSPENDING)', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;
  const mailboxId = 'mbx_test_0001';

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 1, label: 'crafted-race' });
    runtime = await bed.runtime();
  });
  afterAll(async () => bed.close());

  it('waits until the running rotation is over before minting, then rotates after it', async () => {
    await rotateNow(runtime, mailboxId);
    bed.sandbox.faults.inject({ operation: 'mintMailboxKey', kind: 'delay', delayMs: 1500, mailboxId, times: 1 });
    const running = await requestRotation(runtime, mailboxId);
    await waitFor(() => bed.sandbox.faults.injected.delay === 1, 10_000, 'the first mint held');

    // Not deduplicated: BullMQ's enqueue-time deduplication only saves work; the processor enforces.
    const data = runtime.queue.buildRotationJobData({ mailboxId, reason: 'manual', requestedBy: 'crafted', force: true });
    const crafted = rotationJobId(mailboxId, data.slot);
    await runtime.queue.queue.add(ROTATE_JOB_NAME, data, { jobId: crafted, attempts: 1 });

    const [first, second] = await Promise.all([waitForJob(runtime, running), waitForJob(runtime, crafted)]);
    expect([first.state, second.state]).toEqual(['completed', 'completed']);
    const firstFinishedAt = (await runtime.queue.getJob(running))!.finishedOn!;
    const craftedMint = bed.sandbox.state.mintsWithIdempotencyKey(data.idempotencyKey);
    expect(craftedMint).toHaveLength(1);
    expect(Date.parse(craftedMint[0]!.at)).toBeGreaterThanOrEqual(firstFinishedAt);
    expect(currentKeyId(bed, mailboxId)).toBe((second.returnvalue as RotationResult).newKeyId);
    expect(bed.logs.text()).toContain(`rotation ${running} of mailbox ${mailboxId} is in progress; this one waits its turn`);
  });
});

describe('rotation jobs of one mailbox written straight into Redis at the same moment', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;
  const mailboxId = 'mbx_test_0001';

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 1, label: 'crafted-burst', config: { rotation: { concurrency: 4 } } });
    runtime = await bed.runtime();
  });
  afterAll(async () => bed.close());

  it('claim the mailbox one at a time: no two mint at once, and every one rotates', async () => {
    await rotateNow(runtime, mailboxId);
    bed.sandbox.faults.inject({ operation: 'mintMailboxKey', kind: 'delay', delayMs: 400, mailboxId, times: 3 });
    const crafted = ['burst1', 'burst2', 'burst3'].map((tag) => runtime.queue.buildRotationJobData({ mailboxId, reason: 'manual', requestedBy: tag, force: true }));
    // Not deduplicated, and all waiting before a worker picks any: only the processor can keep them apart.
    await Promise.all(crafted.map((data) => runtime.queue.queue.add(ROTATE_JOB_NAME, data, { jobId: rotationJobId(mailboxId, data.slot), attempts: 1 })));

    const finished = await Promise.all(crafted.map((data) => waitForJob(runtime, rotationJobId(mailboxId, data.slot), 60_000)));
    expect(finished.map((f) => [f.state, (f.returnvalue as RotationResult | undefined)?.outcome])).toEqual([
      ['completed', 'rotated'],
      ['completed', 'rotated'],
      ['completed', 'rotated'],
    ]);
    // Each mint starts only after the previous rotation finished (its job was over before the next minted).
    const mintTimes = crafted.map((data) => Date.parse(bed.sandbox.state.mintsWithIdempotencyKey(data.idempotencyKey)[0]!.at)).sort((a, b) => a - b);
    const finishTimes = await Promise.all(crafted.map(async (data) => (await runtime.queue.getJob(rotationJobId(mailboxId, data.slot)))!.finishedOn!));
    finishTimes.sort((a, b) => a - b);
    expect(mintTimes[1]).toBeGreaterThanOrEqual(finishTimes[0]! - 50);
    expect(mintTimes[2]).toBeGreaterThanOrEqual(finishTimes[1]! - 50);
    expect(currentKeyId(bed, mailboxId)).toBeDefined();
  });
});

/** A Sendmux in front of the sandbox whose mint for `from` creates the key in `to` (a vendor bug). */
async function startMisroutingProxy(target: string, from: string, to: string): Promise<{ url: string; server: Server }> {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').replace(`/mailboxes/${from}/keys`, req.method === 'POST' ? `/mailboxes/${to}/keys` : `/mailboxes/${from}/keys`);
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: `${upstream.pathname.replace(/\/$/, '')}${path.slice(upstream.pathname.replace(/\/$/, '').length)}`, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}${upstream.pathname}`, server };
}

describe('a key minted for the wrong mailbox (case 3)', () => {
  let bed: TestBed;
  let proxy: { url: string; server: Server };

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 2, label: 'wrong-mint', config: { rotation: { attempts: 1 } } });
    proxy = await startMisroutingProxy(bed.sandbox.url, 'mbx_test_0001', 'mbx_test_0002');
  });
  afterAll(async () => {
    await bed.close();
    await new Promise((r) => proxy.server.close(r));
  });

  it('is revoked where verification says it lives and proven dead, and the log says exactly that', async () => {
    const runtime = await bed.runtimeWithEnv({ sendmuxApiUrl: proxy.url });
    const finished = await waitForJob(runtime, await requestRotation(runtime, 'mbx_test_0001'));
    expect(finished.state).toBe('failed');
    expect(finished.failedReason).toContain('answered for mailbox mbx_test_0002');

    const minted = [...bed.sandbox.state.keys.values()].filter((k) => k.appName.startsWith('rotator '));
    expect(minted).toHaveLength(1);
    await waitFor(() => bed.sandbox.state.keys.get(minted[0]!.id)?.status === 'revoked', 5_000, 'the wrongly minted key revoked');
    const line = bed.logs.parsed().find((l) => l.keyId === minted[0]!.id && typeof l.revocation === 'string');
    expect(line).toEqual(expect.objectContaining({ revocation: 'revoked', keyMailboxId: 'mbx_test_0002', proof: 'dead' }));
    expect(String(line!.msg)).toContain('confirmed it no longer authenticates');
    expect(currentKeyId(bed, 'mbx_test_0001')).toBeUndefined();
  });
});

describe('a retry after the idempotency window expired (case 4)', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;
  const mailboxId = 'mbx_test_0001';

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 1, label: 'window', config: { rotation: { backoffInitialDelay: '1500ms', backoffMaxDelay: '3s' } } });
    runtime = await bed.runtime();
  });
  afterAll(async () => bed.close());

  it('records the new key id, and reports the orphaned one without revoking it (only the job data names it)', async () => {
    bed.standIn.faults.inject({ operation: 'PutSecretValue', kind: 'throttle', times: 1 });
    const jobId = await requestRotation(runtime, mailboxId);
    const dataOf = async () => (await runtime.queue.getJob(jobId))!;
    await waitFor(async () => (await dataOf()).attemptsMade === 1, 10_000, 'first attempt failed');
    const orphan = (await dataOf()).data as RotationJobData;
    expect(orphan.mintedKeyId).toBeDefined();
    bed.sandbox.clock.advance(25 * 60 * 60 * 1000);

    const finished = await waitForJob(runtime, jobId);
    expect(finished.state).toBe('completed');
    const recorded = ((await dataOf()).data as RotationJobData).mintedKeyId;
    const fresh = bed.sandbox.state.liveKeys(mailboxId).find((k) => k.id !== orphan.mintedKeyId)!;
    expect(recorded).toBe(fresh.id);
    expect(bed.sandbox.state.keys.get(orphan.mintedKeyId!)?.status).toBe('live');
    expect(bed.sandbox.state.revokeLog.map((r) => r.keyId)).not.toContain(orphan.mintedKeyId);
    expect(bed.logs.parsed().some((line) => line['revocation'] === 'refused' && line['orphanKeyId'] === orphan.mintedKeyId)).toBe(true);
    expect(currentKeyId(bed, mailboxId)).toBe(fresh.id);
  });
});

describe('a secret scheduled for deletion (case 5)', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;
  const mailboxId = 'mbx_test_0001';

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 1, label: 'deleted-secret' });
    runtime = await bed.runtime();
  });
  afterAll(async () => bed.close());

  it('fails the rotation for good at look, before anything is minted', async () => {
    await runtime.secrets.createSecretIfMissing(secretNameOf(bed, mailboxId));
    await bed.smClient.send(new DeleteSecretCommand({ SecretId: secretNameOf(bed, mailboxId), RecoveryWindowInDays: 7 }));
    const finished = await waitForJob(runtime, await requestRotation(runtime, mailboxId));
    expect(finished.state).toBe('failed');
    expect(finished.attemptsMade).toBe(1);
    expect(finished.failedReason).toContain('scheduled for deletion');
    expect(bed.sandbox.state.mintLog).toEqual([]);
  });
});
