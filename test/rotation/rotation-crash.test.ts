import { TestBed, waitForJob, waitFor } from '../support/test-bed';
import { RotatorProcess, writeConfigFile } from '../support/rotator-process';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import type { RotationJobData, RotationResult } from '../../src/rotation/job-data';
import { renderSecretName } from '../../src/config';

/**
 * Real worker processes (the built `rotator start --role worker`) killed with SIGKILL between the
 * mint and the staging, then replaced by a new process.
 */
describe('a worker killed with SIGKILL after the mint and before staging', () => {
  let bed: TestBed;
  let producer: RotatorRuntime;
  let configPath: string;
  const processes: RotatorProcess[] = [];

  const startWorker = () => {
    const proc = new RotatorProcess(['start', '--role', 'worker', '--config', configPath], bed.env());
    processes.push(proc);
    return proc;
  };

  beforeAll(async () => {
    bed = await TestBed.start({
      mailboxes: 3,
      label: 'crash',
      // A dead worker's job is taken over once its 2 s lock expires.
      config: { rotation: { lockDuration: '2s', stalledInterval: '1s' } },
    });
    configPath = writeConfigFile(bed.configObject);
    producer = await bed.runtime({ runWorker: false });
  });
  afterEach(async () => {
    // Each test owns its workers: none may linger into the next one and take its job.
    await Promise.all(processes.map((p) => p.stop()));
    bed.standIn.faults.clear();
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await bed.close();
  });

  async function killAfterMint(mailboxId: string): Promise<{ jobId: string; data: RotationJobData; mintedKeyId: string }> {
    // Staging hangs, so the kill lands after the mint and before anything is stored.
    bed.standIn.faults.inject({ operation: 'CreateSecret', kind: 'delay', delayMs: 4_000, times: 1 });
    const first = startWorker();
    const [outcome] = await producer.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
    const jobId = (outcome as { jobId: string }).jobId;
    await waitFor(() => bed.sandbox.state.mintLog.some((m) => m.mailboxId === mailboxId), 20_000, 'the mint');
    // The job records the new key's id right after the mint; kill once that is in Redis.
    await waitFor(async () => Boolean(((await producer.queue.getJob(jobId))?.data as RotationJobData).mintedKeyId), 5_000, 'the key id recorded');
    first.kill('SIGKILL');
    await first.exited;
    const job = await producer.queue.getJob(jobId);
    const data = job!.data as RotationJobData;
    expect(data.mintedKeyId).toBeDefined();
    const description = await producer.secrets.describeSecret(renderSecretName(bed.settings.file.secretName, mailboxId));
    expect(description?.versionIdsToStages[data.clientRequestToken]).toBeUndefined();
    return { jobId, data, mintedKeyId: data.mintedKeyId! };
  }

  async function currentKeyId(mailboxId: string): Promise<string> {
    const current = await producer.secrets.getSecretVersion(renderSecretName(bed.settings.file.secretName, mailboxId), {
      versionStage: 'AWSCURRENT',
    });
    return (JSON.parse(current!.secretString) as { key_id: string }).key_id;
  }

  it('completes with the same key once a new worker takes the job over', async () => {
    const mailboxId = 'mbx_test_0001';
    const { jobId, data, mintedKeyId } = await killAfterMint(mailboxId);

    const second = startWorker();
    const finished = await waitForJob(producer, jobId, 30_000);
    expect(finished.state).toBe('completed');
    expect((finished.returnvalue as RotationResult).newKeyId).toBe(mintedKeyId);
    expect(bed.sandbox.state.mintsWithIdempotencyKey(data.idempotencyKey)).toHaveLength(1);
    expect(await currentKeyId(mailboxId)).toBe(mintedKeyId);
    expect(bed.sandbox.state.liveKeys(mailboxId).map((k) => k.id)).toEqual([mintedKeyId]);
    expect(await bed.findLeakedSecrets(second.output() + processes.map((p) => p.output()).join('\n'))).toEqual([]);
  });

  it('stores a new key and reports the orphaned one, left live, when the idempotency window expired meanwhile', async () => {
    const mailboxId = 'mbx_test_0002';
    const { jobId, mintedKeyId: orphan } = await killAfterMint(mailboxId);
    bed.sandbox.clock.advance(25 * 60 * 60 * 1000);

    startWorker();
    const finished = await waitForJob(producer, jobId, 30_000);
    expect(finished.state).toBe('completed');
    const newKeyId = (finished.returnvalue as RotationResult).newKeyId!;
    expect(newKeyId).not.toBe(orphan);
    // Only the job data names the orphan: it is reported (log, alert, history), never revoked on that word.
    expect(bed.sandbox.state.keys.get(orphan)?.status).toBe('live');
    expect(await currentKeyId(mailboxId)).toBe(newKeyId);
    expect(bed.sandbox.state.liveKeys(mailboxId).map((k) => k.id).sort()).toEqual([newKeyId, orphan].sort());
    expect(processes.map((p) => p.output()).join('\n')).toMatch(new RegExp(`"revocation":"refused"[^\n]*"orphanKeyId":"${orphan}"|"orphanKeyId":"${orphan}"[^\n]*"revocation":"refused"`));
    expect(await bed.findLeakedSecrets(processes.map((p) => p.output()).join('\n'))).toEqual([]);
  });

  it('revokes the recorded key when the job finally fails by stalling too often', async () => {
    const mailboxId = 'mbx_test_0003';
    const { jobId, mintedKeyId } = await killAfterMint(mailboxId);
    // A replica that tolerates no stall fails the dead worker's job at its next stalled check.
    const strict = await bed.runtime({ workerTuning: { maxStalledCount: 0 } });
    const finished = await waitForJob(producer, jobId, 30_000);
    expect(finished.state).toBe('failed');
    expect(finished.failedReason).toMatch(/stalled/);
    await waitFor(() => bed.sandbox.state.keys.get(mintedKeyId)?.status === 'revoked', 10_000, 'the abandoned key revoked');
    expect(bed.logs.text()).toContain('rotation abandoned');
    await strict.close();
  });
});
