import { TestBed, waitForJob } from '../support/test-bed';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import type { RotationJobData } from '../../src/rotation/job-data';
import type { RotatorEvent } from '../../src/rotation/events';
import { retryRotation } from '../../src/incidents/retry-rotation';

/**
 * Issue 13 (tester item 1): the clean-up of a rotation whose mint failed for good replays the mint
 * only when the outcome is unknown (no answer came back), never after a definite Sendmux error
 * envelope — that replay would mint a brand-new key. A key a replay does obtain is recorded in the
 * job before it is revoked, so `retry` refuses the job and the failure event names the key.
 */
describe('clean-up after a mint that failed for good', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;
  const events: RotatorEvent[] = [];

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 2, label: 'mint-cleanup', config: { rotation: { attempts: 3 } } });
    runtime = await bed.runtime({ events: { record: (event) => events.push(event) } });
  });
  afterAll(async () => bed.close());

  async function failedRotation(mailboxId: string) {
    const [outcome] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
    if (!outcome || outcome.status === 'refused') throw new Error(`rotation refused: ${JSON.stringify(outcome)}`);
    const finished = await waitForJob(runtime, outcome.jobId);
    expect(finished.state).toBe('failed');
    const job = await runtime.queue.getJob(outcome.jobId);
    return { jobId: outcome.jobId, data: job!.data as RotationJobData };
  }

  const retry = (jobId: string) =>
    retryRotation({ queue: runtime.queue, ledger: runtime.ledger, covers: async () => ({ covered: true }) }, jobId, 'test');

  it('mints nothing when every mint attempt was answered 503 service_unavailable', async () => {
    const mailboxId = 'mbx_test_0001';
    const liveBefore = bed.sandbox.state.liveKeys(mailboxId).length;
    bed.sandbox.faults.inject({ operation: 'mintMailboxKey', kind: 'status503', times: 3, mailboxId });
    const { jobId, data } = await failedRotation(mailboxId);
    expect(bed.sandbox.state.mintsWithIdempotencyKey(data.idempotencyKey)).toHaveLength(0);
    expect(bed.sandbox.state.liveKeys(mailboxId)).toHaveLength(liveBefore);
    expect(data.mintedKeyId).toBeUndefined();
    expect(await retry(jobId)).toEqual(expect.objectContaining({ outcome: 'retried' }));
    expect((await waitForJob(runtime, jobId)).state).toBe('completed');
  });

  it('records the key a replayed mint returns before revoking it, so retry refuses the job and the failure event names the key', async () => {
    const mailboxId = 'mbx_test_0002';
    bed.sandbox.faults.inject({ operation: 'mintMailboxKey', kind: 'commitThenDrop', times: 3, mailboxId });
    const { jobId, data } = await failedRotation(mailboxId);
    const minted = bed.sandbox.state.mintsWithIdempotencyKey(data.idempotencyKey);
    expect(minted).toHaveLength(1);
    const keyId = minted[0]!.keyId;
    expect(data.mintedKeyId).toBe(keyId);
    expect(bed.sandbox.state.keys.get(keyId)?.status).toBe('revoked');
    const failure = events.find((event) => event.kind === 'rotation' && event.jobId === jobId && event.outcome === 'failed');
    expect(failure).toEqual(expect.objectContaining({ newKeyId: keyId }));
    expect(await retry(jobId)).toEqual(expect.objectContaining({ outcome: 'refused', reason: 'key_minted' }));
  });
});
