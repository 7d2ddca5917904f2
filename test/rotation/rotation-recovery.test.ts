import { TestBed, waitForJob, waitFor } from '../support/test-bed';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import type { RotationResult } from '../../src/rotation/job-data';
import { renderSecretName } from '../../src/config';

async function enqueue(runtime: RotatorRuntime, mailboxId: string, force = true): Promise<string> {
  const [outcome] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force }]);
  if (!outcome || outcome.status === 'refused') throw new Error(`rotation refused: ${JSON.stringify(outcome)}`);
  return outcome.jobId;
}

async function rotate(runtime: RotatorRuntime, mailboxId: string) {
  const jobId = await enqueue(runtime, mailboxId);
  const finished = await waitForJob(runtime, jobId);
  const job = await runtime.queue.getJob(jobId);
  return { jobId, ...finished, result: finished.returnvalue as RotationResult, data: job!.data as { idempotencyKey: string } };
}

function secretName(runtime: RotatorRuntime, mailboxId: string): string {
  return renderSecretName(runtime.settings.file.secretName, mailboxId);
}

async function expectCleanEndState(bed: TestBed, runtime: RotatorRuntime, mailboxId: string, newKeyId: string) {
  const current = await runtime.secrets.getSecretVersion(secretName(runtime, mailboxId), { versionStage: 'AWSCURRENT' });
  const stored = JSON.parse(current!.secretString) as { key_id: string; api_key: string };
  expect(stored.key_id).toBe(newKeyId);
  expect(bed.sandbox.state.keys.get(newKeyId)).toEqual(expect.objectContaining({ status: 'live', secret: stored.api_key }));
  const description = await runtime.secrets.describeSecret(secretName(runtime, mailboxId));
  expect(Object.values(description!.versionIdsToStages).flat()).not.toContain('AWSPENDING');
}

describe('a rotation retried after a failure at each step', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 4, label: 'retry' });
    runtime = await bed.runtime();
  });
  afterAll(async () => bed.close());

  const cases: Array<[string, string, (bed: TestBed) => void]> = [
    ['the mint response is lost after Sendmux committed it', 'mbx_test_0001', (b) => b.sandbox.faults.inject({ operation: 'mintMailboxKey', kind: 'commitThenDrop' })],
    ['staging is throttled by Secrets Manager', 'mbx_test_0002', (b) => b.standIn.faults.inject({ operation: 'PutSecretValue', kind: 'throttle', times: 1 })],
    ['verification answers 503', 'mbx_test_0003', (b) => b.sandbox.faults.inject({ operation: 'getMailboxMe', kind: 'status503' })],
    ['promotion fails with a 500', 'mbx_test_0004', (b) => b.standIn.faults.inject({ operation: 'UpdateSecretVersionStage', kind: 'internalError', times: 1 })],
  ];

  it.each(cases)('ends with exactly one new key and the same end state when %s', async (_label, mailboxId, injectFault) => {
    injectFault(bed);
    const run = await rotate(runtime, mailboxId);
    expect(run.state === 'completed' ? 'completed' : `${run.state}: ${run.failedReason}`).toBe('completed');
    expect(run.attemptsMade).toBeGreaterThanOrEqual(2);
    expect(bed.sandbox.state.mintsWithIdempotencyKey(run.data.idempotencyKey)).toHaveLength(1);
    expect(bed.sandbox.state.liveKeys(mailboxId)).toHaveLength(1);
    await expectCleanEndState(bed, runtime, mailboxId, run.result.newKeyId!);
  });
});

describe('permanent errors', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    bed = await TestBed.start({
      mailboxes: 3,
      label: 'permanent',
      sandbox: {
        mailboxes: [{ id: 'mbx_suspended', email: 'suspended@example.test', status: 'suspended' }],
        maxActiveKeysPerMailbox: 1,
      },
      config: { revokePreviousAfter: 'never' },
    });
    runtime = await bed.runtime();
  });
  afterAll(async () => bed.close());

  async function expectFailsOnceNaming(mailboxId: string, code: string) {
    const jobId = await enqueue(runtime, mailboxId);
    const finished = await waitForJob(runtime, jobId);
    expect(finished.state).toBe('failed');
    expect(finished.attemptsMade).toBe(1);
    expect(finished.failedReason).toContain(mailboxId);
    expect(finished.failedReason).toContain(code);
    expect(finished.failedReason).toMatch(/request req_/);
    return finished.failedReason!;
  }

  it('fails a suspended mailbox (422) in one attempt with a message an operator can act on', async () => {
    const reason = await expectFailsOnceNaming('mbx_suspended', 'validation_error');
    expect(reason).toMatch(/resume it .* or remove it from the config/);
  });

  it('fails an unknown mailbox (404) in one attempt', async () => {
    await expectFailsOnceNaming('mbx_does_not_exist', 'not_found');
  });

  it('fails at the credential limit (409 limit_exceeded) in one attempt by default and mints nothing', async () => {
    const first = await rotate(runtime, 'mbx_test_0001');
    expect(first.state).toBe('completed');
    const reason = await expectFailsOnceNaming('mbx_test_0001', 'limit_exceeded');
    expect(reason).toContain('onLimitExceeded: revoke-previous');
    expect(bed.sandbox.state.liveKeys('mbx_test_0001')).toHaveLength(1);
  });

});

describe('a rejected management key', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await TestBed.start({
      mailboxes: 1,
      label: 'auth',
      sandbox: { readOnlyManagementKeys: ['smx_root_read_only_key_0000000000'] },
    });
  });
  afterAll(async () => bed.close());

  it('fails with 401 in one attempt, pointing at SENDMUX_API_KEY', async () => {
    const runtime = await bed.runtimeWithEnv({ sendmuxApiKey: 'smx_root_not_a_real_key_0000000000' });
    try {
      const jobId = await enqueue(runtime, 'mbx_test_0001');
      const finished = await waitForJob(runtime, jobId);
      expect(finished.state).toBe('failed');
      expect(finished.attemptsMade).toBe(1);
      expect(finished.failedReason).toContain('authentication_required');
      expect(finished.failedReason).toContain('SENDMUX_API_KEY');
      expect(finished.failedReason).toMatch(/request req_/);
    } finally {
      await runtime.close();
    }
  });

  it('fails with 403 in one attempt when the key may only read', async () => {
    const runtime = await bed.runtimeWithEnv({ sendmuxApiKey: 'smx_root_read_only_key_0000000000' });
    try {
      const jobId = await enqueue(runtime, 'mbx_test_0001');
      const finished = await waitForJob(runtime, jobId);
      expect(finished.state).toBe('failed');
      expect(finished.attemptsMade).toBe(1);
      expect(finished.failedReason).toContain('insufficient_permissions');
      expect(finished.failedReason).toMatch(/request req_/);
      expect(bed.sandbox.state.mintLog).toHaveLength(0);
    } finally {
      await runtime.close();
    }
  });
});

describe('the credential-limit policy revoke-previous', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    bed = await TestBed.start({
      mailboxes: 1,
      label: 'limit-policy',
      sandbox: { maxActiveKeysPerMailbox: 2 },
      config: { revokePreviousAfter: 'never', rotation: { onLimitExceeded: 'revoke-previous' } },
    });
    runtime = await bed.runtime();
  });
  afterAll(async () => bed.close());

  it('revokes the AWSPREVIOUS key to free a slot, never the AWSCURRENT one', async () => {
    const first = await rotate(runtime, 'mbx_test_0001');
    const second = await rotate(runtime, 'mbx_test_0001');
    expect(bed.sandbox.state.liveKeys('mbx_test_0001')).toHaveLength(2);
    const third = await rotate(runtime, 'mbx_test_0001');
    expect(third.state).toBe('completed');
    expect(bed.sandbox.state.keys.get(first.result.newKeyId!)?.status).toBe('revoked');
    expect(bed.sandbox.state.keys.get(second.result.newKeyId!)?.status).toBe('live');
    await expectCleanEndState(bed, runtime, 'mbx_test_0001', third.result.newKeyId!);
  });
});

describe('rate limits', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    // A Retry-After is bounded by rotation.backoffMaxDelay (500 ms in the test bed): allow 1 s here.
    bed = await TestBed.start({ mailboxes: 1, label: 'ratelimit', config: { rotation: { backoffMaxDelay: '2s' } } });
    runtime = await bed.runtime();
  });
  afterAll(async () => bed.close());

  it('waits for Retry-After after a 429 and then succeeds without using an attempt', async () => {
    bed.sandbox.faults.inject({ operation: 'mintMailboxKey', kind: 'status429', retryAfterSeconds: 1 });
    const started = Date.now();
    const run = await rotate(runtime, 'mbx_test_0001');
    expect(run.state).toBe('completed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(run.attemptsMade).toBe(1);
    expect(bed.sandbox.faults.injected.status429).toBe(1);
  });
});

describe('recovery from abandoned work', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    bed = await TestBed.start({
      mailboxes: 2,
      label: 'abandoned',
      config: { rotation: { backoffInitialDelay: '1500ms', backoffMaxDelay: '3s' } },
    });
    runtime = await bed.runtime();
  });
  afterAll(async () => bed.close());

  it('does not let a stale AWSPENDING block the next rotation, and revokes its key', async () => {
    const mailboxId = 'mbx_test_0001';
    await rotate(runtime, mailboxId);
    // An abandoned rotation: a key minted and staged under another token, never promoted, whose
    // job (rotate__<mailbox>__abandoned1) is gone from Redis.
    const stale = await runtime.sendmux.mintMailboxKey(mailboxId, { appName: 'abandoned', idempotencyKey: 'abandoned-1' });
    await runtime.secrets.putSecretVersion(secretName(runtime, mailboxId), {
      clientRequestToken: '11111111-2222-4333-8444-555555555555',
      secretString: JSON.stringify({
        mailbox_id: mailboxId, key_id: stale.data.keyId, api_key: stale.data.secret, password: stale.data.password,
        username: stale.data.username, server: stale.data.server, imap_port: stale.data.imapPort, smtp_port: stale.data.smtpPort,
        rotated_at: new Date().toISOString(), idempotency_key: 'abandoned-1', sendmux_request_id: stale.requestId ?? null,
        slot: 'abandoned1',
      }),
      versionStages: ['AWSPENDING'],
    });

    const run = await rotate(runtime, mailboxId);
    expect(run.state).toBe('completed');
    expect(bed.sandbox.state.keys.get(stale.data.keyId)?.status).toBe('revoked');
    await expectCleanEndState(bed, runtime, mailboxId, run.result.newKeyId!);
  });

  it('reports the orphaned key and leaves it live when a retry comes after the 24 h idempotency window (only the job data names it)', async () => {
    const mailboxId = 'mbx_test_0002';
    bed.standIn.faults.inject({ operation: 'PutSecretValue', kind: 'throttle', times: 1 });
    const jobId = await enqueue(runtime, mailboxId);
    await waitFor(() => (bed.standIn.faults.injected.throttle ?? 0) >= 1, 10_000, 'staging throttled');
    const orphan = bed.sandbox.state.liveKeys(mailboxId)[0]!;
    bed.sandbox.clock.advance(25 * 60 * 60 * 1000);

    const finished = await waitForJob(runtime, jobId);
    expect(finished.state === 'completed' ? 'completed' : `${finished.state}: ${finished.failedReason}`).toBe('completed');
    const result = finished.returnvalue as RotationResult;
    expect(result.newKeyId).not.toBe(orphan.id);
    // Nothing proves the orphan the rotator's (the vendor's replay names the new key): never revoked on the job's word.
    expect(bed.sandbox.state.keys.get(orphan.id)?.status).toBe('live');
    expect(bed.sandbox.state.liveKeys(mailboxId).map((k) => k.id).sort()).toEqual([orphan.id, result.newKeyId].sort());
    await expectCleanEndState(bed, runtime, mailboxId, result.newKeyId!);
    expect(bed.logs.text()).toContain('idempotency window had expired');
    const refusal = bed.logs.parsed().find((line) => line['revocation'] === 'refused' && line['orphanKeyId'] === orphan.id);
    expect(refusal).toEqual(expect.objectContaining({ level: 40, mailboxId, proofMissing: 'own-mint' }));
    expect(String(refusal!['msg'])).toContain(`rotator revoke ${mailboxId} ${orphan.id}`);
  });
});

describe('concurrency and exclusivity', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 20, label: 'race', config: { minRotationInterval: '15m' } });
  });
  afterAll(async () => bed.close());

  it('three workers racing on the same tick mint exactly one key per mailbox', async () => {
    const replicas = await Promise.all([bed.runtime(), bed.runtime(), bed.runtime()]);
    const slot = 't20261127T030000Z';
    const outcomes = await Promise.all(
      replicas.map((r) =>
        r.queue.requestRotations(bed.mailboxIds.map((mailboxId) => ({ mailboxId, reason: 'scheduled' as const, slot, requestedBy: 'cron' }))),
      ),
    );
    const jobIds = new Set(outcomes.flat().map((o) => (o.status === 'refused' ? '' : o.jobId)));
    expect(jobIds.size).toBe(bed.mailboxIds.length);
    for (const jobId of jobIds) expect((await waitForJob(replicas[0]!, jobId)).state).toBe('completed');
    for (const mailboxId of bed.mailboxIds) {
      expect(bed.sandbox.state.mintLog.filter((m) => m.mailboxId === mailboxId)).toHaveLength(1);
    }
    await Promise.all(replicas.slice(1).map((r) => r.close()));
  });

  it('returns the running job to a second request, and refuses a third within minRotationInterval unless forced', async () => {
    const runtime = await bed.runtime();
    const mailboxId = 'mbx_test_0001';
    bed.sandbox.faults.inject({ operation: 'getMailboxMe', kind: 'delay', delayMs: 1500, mailboxId });
    const [first] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
    await waitFor(async () => (await runtime.queue.getJob((first as { jobId: string }).jobId))?.isActive() ?? false, 5000, 'first active');
    const [second] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
    expect(second).toEqual(expect.objectContaining({ status: 'existing', jobId: (first as { jobId: string }).jobId }));
    await waitForJob(runtime, (first as { jobId: string }).jobId);

    const [third] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test' }]);
    expect(third!.status).toBe('refused');
    expect((third as { message: string }).message).toMatch(/within minRotationInterval .* use --force/);
    const [forced] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
    expect(forced!.status).toBe('enqueued');
    expect((await waitForJob(runtime, (forced as { jobId: string }).jobId)).state).toBe('completed');
  });

  it('recognises a late duplicate of an already completed slot without minting again', async () => {
    const runtime = await bed.runtime();
    const slot = 't20261127T030000Z';
    const mintsBefore = bed.sandbox.state.mintLog.length;
    const [again] = await runtime.queue.requestRotations([{ mailboxId: 'mbx_test_0005', reason: 'scheduled', slot, requestedBy: 'cron' }]);
    expect(again!.status).not.toBe('refused');
    const finished = await waitForJob(runtime, (again as { jobId: string }).jobId);
    expect(finished.state).toBe('completed');
    expect(bed.sandbox.state.mintLog.length).toBe(mintsBefore);
  });

  it('detects from Secrets Manager that a slot is done even after its completed job was removed', async () => {
    const runtime = await bed.runtime();
    const slot = 't20261127T030000Z';
    const mailboxId = 'mbx_test_0006';
    const [original] = await runtime.queue.requestRotations([{ mailboxId, reason: 'scheduled', slot, requestedBy: 'cron' }]);
    const jobId = (original as { jobId: string }).jobId;
    expect((await waitForJob(runtime, jobId)).state).toBe('completed');
    await (await runtime.queue.getJob(jobId))!.remove();
    const mintsBefore = bed.sandbox.state.mintLog.length;

    const [late] = await runtime.queue.requestRotations([{ mailboxId, reason: 'scheduled', slot, requestedBy: 'cron' }]);
    expect(late).toEqual(expect.objectContaining({ status: 'enqueued', jobId }));
    const finished = await waitForJob(runtime, jobId);
    expect(finished.state).toBe('completed');
    expect(bed.sandbox.state.mintLog.length).toBe(mintsBefore);
  });
});
