import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { TestBed, waitFor, waitForJob } from '../support/test-bed';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import { renderSecretName } from '../../src/config';
import type { RotationResult } from '../../src/rotation/job-data';
import { combineSinks, type RotatorEvent } from '../../src/rotation/events';
import { AuditLog } from '../../src/audit/audit-log';
import { collectStatus } from '../../src/cli/status';

/**
 * Adoption (issue 13, item 1): a secret that existed before the rotator — a plain bearer token or
 * the team's own JSON — is adopted by the first rotation: the foreign value stays as AWSPREVIOUS,
 * the new document keeps the operator's fields, and the original key is revoked after the grace
 * period when the value named it, else reported once as "must be revoked by hand". End to end:
 * real Redis, the Sendmux sandbox and the Secrets Manager stand-in.
 */
describe('adopting secrets the rotator did not write', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;
  let audit: AuditLog;
  const events: RotatorEvent[] = [];
  const [plainId, knownId, unknownId, aliasId, foreignId, largeId] = ['mbx_test_0001', 'mbx_test_0002', 'mbx_test_0003', 'mbx_test_0004', 'mbx_test_0005', 'mbx_test_0006'];

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 6, label: 'adoption', config: { revokePreviousAfter: '0s' } });
    audit = new AuditLog({ redis: bed.redis, prefix: bed.prefix, logger: bed.logs.logger });
    runtime = await bed.runtime({ events: combineSinks([audit, { record: (event) => events.push(event) }]) });
  });
  afterAll(async () => bed.close());

  const secretNameOf = (mailboxId: string) => renderSecretName(bed.settings.file.secretName, mailboxId);
  const originalKey = (mailboxId: string) => bed.sandbox.state.createKey({ mailboxId, appName: 'hand-made', idempotencyKey: null, requestId: null });

  async function storeByHand(mailboxId: string, secretString: string): Promise<string> {
    const created = await bed.smClient.send(new CreateSecretCommand({ Name: secretNameOf(mailboxId), SecretString: secretString }));
    return created.VersionId!;
  }

  async function rotate(mailboxId: string): Promise<RotationResult> {
    const [outcome] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test' }]);
    if (outcome?.status !== 'enqueued') throw new Error(`not enqueued: ${JSON.stringify(outcome)}`);
    const finished = await waitForJob(runtime, outcome.jobId);
    if (finished.state !== 'completed') throw new Error(`rotation of ${mailboxId} ${finished.state}: ${finished.failedReason}`);
    return finished.returnvalue as RotationResult;
  }

  function versions(mailboxId: string) {
    return bed.standIn.secret(secretNameOf(mailboxId))!.versions.map((v) => ({ versionId: v.versionId, stages: v.stages, value: v.secretString ?? '' }));
  }
  const current = (mailboxId: string) => JSON.parse(versions(mailboxId).find((v) => v.stages.includes('AWSCURRENT'))!.value) as Record<string, unknown>;
  const previous = (mailboxId: string) => versions(mailboxId).find((v) => v.stages.includes('AWSPREVIOUS'));

  it('adopts a plain bearer token: it stays AWSPREVIOUS, and its key is reported as to be revoked by hand, once', async () => {
    const original = originalKey(plainId);
    const adoptedVersion = await storeByHand(plainId, original.secret);

    const result = await rotate(plainId);

    expect(result.outcome).toBe('rotated');
    expect(result.revocation).toEqual({ skipped: 'original-key-unknown' });
    expect(result.note).toMatch(`original key of ${plainId} must be revoked by hand`);
    expect(previous(plainId)).toMatchObject({ versionId: adoptedVersion, value: original.secret });
    expect(current(plainId)).toMatchObject({ mailbox_id: plainId, key_id: result.newKeyId, adopted: { version_id: adoptedVersion, format: 'plain', key_id: null }, supersedes: null });
    expect(bed.sandbox.state.keys.get(original.id)?.status).toBe('live');
    const warnings = bed.logs.parsed().filter((l) => l.level === 40 && String(l.msg).includes(`original key of ${plainId} must be revoked by hand`));
    expect(warnings).toHaveLength(1);
    expect(events.find((e) => e.kind === 'rotation' && e.mailboxId === plainId && e.outcome === 'rotated')).toMatchObject({
      adopted: { versionId: adoptedVersion, format: 'plain', keyId: null },
      message: expect.stringContaining('must be revoked by hand'),
    });
  });

  it('adopts the team’s JSON naming its key id: keeps its own fields, and revokes the original key after the grace period', async () => {
    const original = originalKey(knownId);
    const adoptedVersion = await storeByHand(knownId, JSON.stringify({ api_key: original.secret, key_id: original.id, note: 'owned by billing' }));

    const result = await rotate(knownId);

    expect(result.outcome).toBe('rotated');
    expect(result.previousKeyId).toBe(original.id);
    expect(result.revocation).toHaveProperty('jobId');
    const document = current(knownId);
    expect(document).toMatchObject({
      note: 'owned by billing', key_id: result.newKeyId, supersedes: { key_id: original.id, version_id: adoptedVersion },
      adopted: { version_id: adoptedVersion, format: 'json', key_id: original.id },
    });
    expect(document.api_key).not.toBe(original.secret);
    expect(bed.sandbox.state.keyBySecret(document.api_key as string)?.id).toBe(result.newKeyId);
    expect(previous(knownId)?.versionId).toBe(adoptedVersion);
    await waitFor(() => bed.sandbox.state.keys.get(original.id)?.status === 'revoked', 20_000, 'original key revoked');
    expect(bed.sandbox.state.keys.get(result.newKeyId!)?.status).toBe('live');
  });

  it('adopts the team’s JSON without a key id: rotates, keeps its fields, and leaves the original key for the operator', async () => {
    const original = originalKey(unknownId);
    await storeByHand(unknownId, JSON.stringify({ api_key: original.secret, note: 'no id here' }));

    const result = await rotate(unknownId);

    expect(result.outcome).toBe('rotated');
    expect(result.revocation).toEqual({ skipped: 'original-key-unknown' });
    expect(current(unknownId)).toMatchObject({ note: 'no id here', adopted: { format: 'json', key_id: null } });
    expect(bed.sandbox.state.keys.get(original.id)?.status).toBe('live');
  });

  it('puts the new token and key id in the fields that held the old ones (public_id, a token under another name)', async () => {
    const original = originalKey(aliasId);
    await storeByHand(aliasId, JSON.stringify({ token: original.secret, public_id: original.id, owner: 'ops' }));

    const result = await rotate(aliasId);

    const document = current(aliasId);
    expect(document).toMatchObject({ owner: 'ops', public_id: result.newKeyId, token: document.api_key, supersedes: { key_id: original.id } });
    expect(JSON.stringify(document)).not.toContain(original.secret);
    await waitFor(() => bed.sandbox.state.keys.get(original.id)?.status === 'revoked', 20_000, 'original key revoked');
  });

  it('the next rotation of an adopted mailbox keeps the operator’s fields and reads its own document', async () => {
    const result = await rotate(knownId);
    expect(result.outcome).toBe('rotated');
    expect(current(knownId)).toMatchObject({ note: 'owned by billing', key_id: result.newKeyId });
    expect(current(knownId)).not.toHaveProperty('adopted');
  });

  it('rotator status lists the original keys that must be revoked by hand, from the audit entries of the adoptions', async () => {
    await audit.flush();
    const status = await collectStatus({ settings: bed.settings, queue: runtime.queue, ledger: runtime.ledger, audit,
      alerts: { consecutiveFailures: async () => new Map() } });
    expect(status.notes.filter((n) => n.includes('must be revoked by hand'))).toEqual([
      expect.stringMatching(new RegExp(`^original key of ${plainId} must be revoked by hand`)),
      expect.stringMatching(new RegExp(`^original key of ${unknownId} must be revoked by hand`)),
    ]);
  });

  it('says the original key must be revoked by hand when the key id the adopted JSON named is unknown to Sendmux in the mailbox (404)', async () => {
    const original = originalKey(foreignId);
    const elsewhere = originalKey(plainId);
    await storeByHand(foreignId, JSON.stringify({ api_key: original.secret, key_id: elsewhere.id }));

    const result = await rotate(foreignId);
    expect(result.previousKeyId).toBe(elsewhere.id);
    await waitFor(() => events.some((e) => e.kind === 'revocation' && e.mailboxId === foreignId && e.outcome === 'not-found'), 20_000, 'revocation answered 404');

    const notice = `original key of ${foreignId} must be revoked by hand`;
    expect(events.find((e) => e.kind === 'revocation' && e.mailboxId === foreignId)).toMatchObject({ revokeByHand: true, message: expect.stringContaining(notice) });
    expect(bed.logs.parsed().filter((l) => l.level === 40 && String(l.msg).includes(notice))).toHaveLength(1);
    expect(bed.sandbox.state.keys.get(original.id)?.status).toBe('live');
    expect(bed.sandbox.state.keys.get(elsewhere.id)?.status).toBe('live');
    await audit.flush();
    const status = await collectStatus({ settings: bed.settings, queue: runtime.queue, ledger: runtime.ledger, audit,
      alerts: { consecutiveFailures: async () => new Map() } });
    expect(status.notes).toContainEqual(expect.stringMatching(new RegExp(`^${notice}: the adopted secret named key ${elsewhere.id}`)));
  });

  it('fails for good at look, minting nothing, when the fields it would keep leave no room in Secrets Manager\'s 65,536-byte SecretString', async () => {
    const original = originalKey(largeId);
    await storeByHand(largeId, JSON.stringify({ api_key: original.secret, key_id: original.id, blob: 'x'.repeat(62_000) }));

    const [outcome] = await runtime.queue.requestRotations([{ mailboxId: largeId, reason: 'manual', requestedBy: 'test' }]);
    if (outcome?.status !== 'enqueued') throw new Error(`not enqueued: ${JSON.stringify(outcome)}`);
    const finished = await waitForJob(runtime, outcome.jobId);

    expect(finished.state).toBe('failed');
    expect(finished.attemptsMade).toBe(1);
    expect(finished.failedReason).toMatch(/SecretString limit of 65536 bytes.*shrink or remove the large fields.*nothing was minted/);
    expect(bed.sandbox.state.mintLog.filter((m) => m.mailboxId === largeId)).toHaveLength(0);
  });

  it('never writes an adopted secret to Redis or the logs', async () => {
    expect(await bed.findLeakedSecrets(JSON.stringify(events))).toEqual([]);
  });
});
