import { TestBed, waitForJob, waitFor } from '../support/test-bed';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import type { RotationResult } from '../../src/rotation/job-data';
import { renderSecretName } from '../../src/config';

/**
 * The rotation pipeline end to end: real Redis (unique prefix), BullMQ workers, the Sendmux
 * sandbox and the Secrets Manager stand-in reached through the real AWS SDK.
 */

async function rotate(runtime: RotatorRuntime, mailboxId: string, extra: { force?: boolean; revokeNow?: boolean } = {}) {
  const [outcome] = await runtime.queue.requestRotations([
    { mailboxId, reason: 'manual', requestedBy: 'test', force: extra.force ?? true, revokeNow: extra.revokeNow },
  ]);
  if (!outcome || outcome.status === 'refused') throw new Error(`rotation refused: ${JSON.stringify(outcome)}`);
  const finished = await waitForJob(runtime, outcome.jobId);
  return { jobId: outcome.jobId, ...finished, result: finished.returnvalue as RotationResult };
}

async function stagesOf(runtime: RotatorRuntime, mailboxId: string): Promise<Record<string, string[]>> {
  const description = await runtime.secrets.describeSecret(renderSecretName(runtime.settings.file.secretName, mailboxId));
  return description?.versionIdsToStages ?? {};
}

async function currentKey(runtime: RotatorRuntime, mailboxId: string): Promise<{ key_id: string; api_key: string }> {
  const version = await runtime.secrets.getSecretVersion(renderSecretName(runtime.settings.file.secretName, mailboxId), {
    versionStage: 'AWSCURRENT',
  });
  if (!version) throw new Error(`no AWSCURRENT for ${mailboxId}`);
  return JSON.parse(version.secretString) as { key_id: string; api_key: string };
}

describe('a rotation', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;
  const mailboxId = 'mbx_test_0001';

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 1, label: 'pipeline', config: { revokePreviousAfter: '1500ms' } });
    runtime = await bed.runtime();
  });
  afterAll(async () => {
    await bed.close();
  });

  it('stores the first key of a mailbox as AWSCURRENT and says there is no previous key to revoke', async () => {
    const first = await rotate(runtime, mailboxId);
    expect(first.state).toBe('completed');
    expect(first.result.outcome).toBe('rotated');
    expect(first.result.previousKeyId).toBeNull();
    expect(first.result.revocation).toEqual({ skipped: 'no-previous-key' });
    const current = await currentKey(runtime, mailboxId);
    expect(current.key_id).toBe(first.result.newKeyId);
    expect(bed.sandbox.state.keys.get(current.key_id)?.secret).toBe(current.api_key);
    expect(bed.logs.text()).toContain('there is no previous key to revoke');
  });

  it("says Secrets Manager made the first version AWSCURRENT when it stored it, sends no move onto it, and claims no other run", async () => {
    // The first rotation ran above; AWS (and the stand-in) label a secret's first version AWSCURRENT
    // whatever stage PutSecretValue asks for, so promote has no AWSCURRENT to move.
    const lines = bed.logs.parsed().filter((l) => l.mailboxId === mailboxId || l.secretId === renderSecretName(runtime.settings.file.secretName, mailboxId));
    const firstRotation = lines.slice(0, lines.findIndex((l) => l.msg === 'rotation rotated') + 1);
    expect(firstRotation.some((l) => String(l.msg).includes("stored as the secret's first version: Secrets Manager made it AWSCURRENT"))).toBe(true);
    expect(firstRotation.filter((l) => l.operation === 'UpdateSecretVersionStage' && l.stage === 'AWSCURRENT')).toEqual([]);
    expect(bed.logs.text()).not.toMatch(/another run/);
  });

  it('makes the new key AWSCURRENT, the old one AWSPREVIOUS, leaves no AWSPENDING, and revokes the old key only after the grace period', async () => {
    const before = await currentKey(runtime, mailboxId);
    const mintsBefore = bed.sandbox.state.mintLog.length;

    const second = await rotate(runtime, mailboxId);
    expect(second.state).toBe('completed');
    expect(bed.sandbox.state.mintLog.length).toBe(mintsBefore + 1);

    const after = await currentKey(runtime, mailboxId);
    expect(after.key_id).toBe(second.result.newKeyId);
    expect(after.key_id).not.toBe(before.key_id);
    expect(bed.sandbox.state.keys.get(after.key_id)?.secret).toBe(after.api_key);

    const stages = await stagesOf(runtime, mailboxId);
    const labelled = Object.values(stages).flat();
    expect(labelled.filter((s) => s === 'AWSCURRENT')).toHaveLength(1);
    expect(labelled).not.toContain('AWSPENDING');
    expect(stages[second.result.secretVersionId!]).toContain('AWSCURRENT');
    const previousVersion = Object.entries(stages).find(([, s]) => s.includes('AWSPREVIOUS'))?.[0];
    const previous = await runtime.secrets.getSecretVersion(renderSecretName(runtime.settings.file.secretName, mailboxId), {
      versionId: previousVersion!,
    });
    expect(JSON.parse(previous!.secretString).key_id).toBe(before.key_id);

    // Within the grace period the old key still works; after it, it is revoked.
    expect(bed.sandbox.state.keys.get(before.key_id)?.status).toBe('live');
    await waitFor(() => bed.sandbox.state.keys.get(before.key_id)?.status === 'revoked', 10_000, 'old key revoked');
    const revokedAt = Date.parse(bed.sandbox.state.keys.get(before.key_id)!.revokedAt!);
    const notBefore = Date.parse((second.result.revocation as { notBefore: string }).notBefore);
    expect(revokedAt).toBeGreaterThanOrEqual(notBefore - 50);
    expect(bed.sandbox.state.keys.get(after.key_id)?.status).toBe('live');
  });

  it('returns ids and request ids but no secret', async () => {
    const third = await rotate(runtime, mailboxId);
    expect(third.result).toEqual(
      expect.objectContaining({
        mailboxId,
        newKeyId: expect.stringMatching(/^smx_/),
        secretArn: expect.stringContaining('arn:aws:secretsmanager:'),
        secretVersionId: expect.any(String),
        previousKeyId: expect.stringMatching(/^smx_/),
      }),
    );
    expect(third.result.requestIds.mint).toMatch(/^req_/);
    expect(third.result.requestIds.verify).toMatch(/^req_/);
    const serialized = JSON.stringify(third.result);
    for (const secret of bed.mintedSecrets()) expect(serialized).not.toContain(secret);
  });

  it('writes one log line per step with the job id, mailbox, attempt and Sendmux request id', async () => {
    const lines = bed.logs.parsed().filter((l) => l.mailboxId === mailboxId && typeof l.step === 'string');
    const mint = lines.find((l) => l.step === 'mint' && l.msg === 'new key minted');
    expect(mint).toEqual(
      expect.objectContaining({ jobId: expect.any(String), attempt: 1, sendmuxRequestId: expect.stringMatching(/^req_/), idempotencyKey: expect.any(String) }),
    );
    for (const step of ['stage', 'verify', 'promote', 'retire', 'done']) {
      expect(lines.some((l) => l.step === step)).toBe(true);
    }
  });

  it('leaves no plaintext secret anywhere in Redis or in the logs', async () => {
    expect(bed.mintedSecrets().length).toBeGreaterThanOrEqual(3);
    expect(await bed.findLeakedSecrets()).toEqual([]);
  });
});
