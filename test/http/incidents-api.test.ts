import { randomUUID } from 'node:crypto';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { AuditLog } from '../../src/audit/audit-log';
import { SecretStore } from '../../src/aws/secret-store';
import { renderSecretName } from '../../src/config';
import type { RotationJobData, RotationResult } from '../../src/rotation/job-data';
import { bearer, postJson, startHarness, waitForJobState, type HttpHarness } from './support/http-harness';
import { waitFor } from '../support/test-bed';

/**
 * The incident routes (issue 13, item 5): POST /mailboxes/:mailboxId/keys/:keyId/revoke and
 * POST /rotations/:jobId/retry, behind the same Bearer token as the rest of the API. Real Redis,
 * the Sendmux sandbox and the Secrets Manager stand-in.
 */
describe('incident routes', () => {
  let harness: HttpHarness;
  const [mailbox, other, handMade] = ['mbx_test_0001', 'mbx_test_0002', 'mbx_test_0003'];

  beforeAll(async () => {
    harness = await startHarness({
      label: 'http-incidents',
      mailboxes: 3,
      overview: true,
      config: { mailboxes: [mailbox, other, handMade], revokePreviousAfter: '1h', rotation: { attempts: 1 } },
    });
  });
  afterAll(async () => harness?.close());

  async function rotate(mailboxId: string, expected: 'completed' | 'failed' = 'completed'): Promise<{ jobId: string; result: RotationResult; failedReason?: string }> {
    const response = await postJson(`${harness.url}/rotations`, { mailboxIds: [mailboxId], force: true });
    const jobId = ((await response.json()) as { rotations: Array<{ jobId: string }> }).rotations[0]!.jobId;
    return waitForJobState(harness, jobId, expected);
  }
  const post = (path: string, headers = bearer()) => fetch(`${harness.url}${path}`, { method: 'POST', headers });
  const keyStatus = (keyId: string) => harness.bed.sandbox.state.keys.get(keyId)?.status;

  describe('the bodies of the incident routes', () => {
    it.each([
      ['POST /mailboxes/:mailboxId/keys/:keyId/revoke', '/mailboxes/mbx_test_0001/keys/smx_abcdefghijklmnopqrstuvwx/revoke'],
      ['POST /rotations/:jobId/retry', '/rotations/rotate__mbx_test_0001__nope/retry'],
    ])('%s answers 400 naming an unknown body field, and does nothing', async (_route, path) => {
      const response = await fetch(`${harness.url}${path}`, {
        method: 'POST', headers: { ...bearer(), 'content-type': 'application/json' }, body: JSON.stringify({ x: 1 }),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_body', problems: [expect.objectContaining({ field: 'x', message: expect.stringContaining('unknown field') })] });
    });
  });

  describe('POST /mailboxes/:mailboxId/keys/:keyId/revoke', () => {
    let previousKey: string;
    let currentKey: string;

    beforeAll(async () => {
      previousKey = (await rotate(mailbox)).result.newKeyId!;
      currentKey = (await rotate(mailbox)).result.newKeyId!;
    });

    it('refuses the AWSCURRENT key with 409, pointing to rotate --revoke-now, and revokes nothing', async () => {
      const response = await post(`/mailboxes/${mailbox}/keys/${currentKey}/revoke`);
      expect(response.status).toBe(409);
      const body = (await response.json()) as { error: string; message: string };
      expect(body.error).toBe('current_key');
      expect(body.message).toContain(`rotator rotate ${mailbox} --revoke-now`);
      expect(keyStatus(currentKey)).toBe('live');
    });

    it('revokes a previous key the rotator holds and confirms it dead (GET /mailbox/me answers 401), with an audit entry', async () => {
      expect(keyStatus(previousKey)).toBe('live');
      const response = await post(`/mailboxes/${mailbox}/keys/${previousKey}/revoke`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ outcome: 'revoked', confirmation: 'no-longer-authenticates', mailboxId: mailbox, keyId: previousKey });
      expect(keyStatus(previousKey)).toBe('revoked');
      const audit = new AuditLog({ redis: harness.bed.redis, prefix: harness.bed.prefix, logger: harness.bed.logs.logger });
      // The route's audit write is not awaited by the response: wait for the entry, not for a time.
      const expected = expect.objectContaining({ kind: 'revocation', keyId: previousKey, outcome: 'revoked', jobId: `revoke-by-hand__${mailbox}__${previousKey}` });
      const matches = (events: unknown[]) => events.some((event) => { try { expect(event).toEqual(expected); return true; } catch { return false; } });
      await waitFor(async () => matches((await audit.forMailbox(mailbox, 50)).map((e) => e.event)), 10_000, 'the revocation audit entry');
      expect((await audit.forMailbox(mailbox, 50)).map((e) => e.event)).toContainEqual(expected);
    });

    it('revokes a key the rotator never stored on Sendmux’s 200 alone, and says so', async () => {
      const stray = harness.bed.sandbox.state.createKey({ mailboxId: mailbox, appName: 'stray', idempotencyKey: null, requestId: null });
      const response = await post(`/mailboxes/${mailbox}/keys/${stray.id}/revoke`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ outcome: 'revoked', confirmation: 'delete-acknowledged' });
      expect(keyStatus(stray.id)).toBe('revoked');
    });

    it('answers 404 key_not_found for a key Sendmux does not know in the mailbox', async () => {
      const response = await post(`/mailboxes/${mailbox}/keys/smx_doesnotexist000000000000/revoke`);
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: 'key_not_found' });
    });

    it('answers 404 not_configured for a mailbox the configuration does not cover, and 400 for an invalid key id', async () => {
      const refused = await post(`/mailboxes/mbx_not_configured/keys/${previousKey}/revoke`);
      expect(refused.status).toBe(404);
      expect(await refused.json()).toMatchObject({ error: 'not_configured' });
      const invalid = await post(`/mailboxes/${mailbox}/keys/${encodeURIComponent('bad.key')}/revoke`);
      expect(invalid.status).toBe(400);
      expect(await invalid.json()).toMatchObject({ error: 'invalid_request', problems: [expect.objectContaining({ field: 'keyId' })] });
    });

    it('refuses the AWSPENDING key (a rotation in progress owns it) with 409 pending_key', async () => {
      const secrets = new SecretStore({ client: harness.bed.smClient });
      const name = renderSecretName(harness.bed.settings.file.secretName, mailbox);
      const current = JSON.parse((await secrets.getSecretVersion(name, { versionStage: 'AWSCURRENT' }))!.secretString) as Record<string, unknown>;
      const pendingKey = harness.bed.sandbox.state.createKey({ mailboxId: mailbox, appName: 'pending', idempotencyKey: null, requestId: null });
      const versionId = randomUUID();
      await secrets.putSecretVersion(name, { clientRequestToken: versionId, versionStages: ['AWSPENDING'],
        secretString: JSON.stringify({ ...current, key_id: pendingKey.id, api_key: pendingKey.secret, slot: 'pending-slot' }) });
      try {
        const response = await post(`/mailboxes/${mailbox}/keys/${pendingKey.id}/revoke`);
        expect(response.status).toBe(409);
        expect(await response.json()).toMatchObject({ error: 'pending_key' });
        expect(keyStatus(pendingKey.id)).toBe('live');
      } finally {
        await secrets.moveStage(name, { stage: 'AWSPENDING', removeFromVersionId: versionId });
      }
    });

    it('refuses any key while the AWSCURRENT value does not name its key id (409 current_key_unknown): it could be that key', async () => {
      const original = harness.bed.sandbox.state.createKey({ mailboxId: handMade, appName: 'by hand', idempotencyKey: null, requestId: null });
      await harness.bed.smClient.send(new CreateSecretCommand({ Name: renderSecretName(harness.bed.settings.file.secretName, handMade), SecretString: original.secret }));
      const response = await post(`/mailboxes/${handMade}/keys/${original.id}/revoke`);
      expect(response.status).toBe(409);
      expect(await response.json()).toMatchObject({ error: 'current_key_unknown', message: expect.stringContaining('rotate the mailbox first') });
      expect(keyStatus(original.id)).toBe('live');
      expect(await harness.bed.findLeakedSecrets()).toEqual([]);
    });

    it('needs the API token', async () => {
      const response = await post(`/mailboxes/${mailbox}/keys/${previousKey}/revoke`, {});
      expect(response.status).toBe(401);
    });
  });

  describe('POST /rotations/:jobId/retry', () => {
    async function failedRotationOf(mailboxId: string): Promise<string> {
      harness.bed.sandbox.state.setMailboxStatus(mailboxId, 'suspended');
      try {
        return (await rotate(mailboxId, 'failed')).jobId;
      } finally {
        harness.bed.sandbox.state.setMailboxStatus(mailboxId, 'active');
      }
    }

    it('runs a failed rotation again with the same job id, slot and Idempotency-Key', async () => {
      const failed = await failedRotationOf(other);
      const before = (await harness.runtime.queue.getJob(failed))!.data as RotationJobData;

      const response = await post(`/rotations/${failed}/retry`);
      expect(response.status).toBe(202);
      expect(await response.json()).toMatchObject({ outcome: 'retried', jobId: failed, mailboxId: other, slot: before.slot });
      const done = await waitForJobState(harness, failed, 'completed');
      expect(done.result.outcome).toBe('rotated');
      const after = (await harness.runtime.queue.getJob(failed))!.data as RotationJobData;
      expect(after).toMatchObject({ slot: before.slot, idempotencyKey: before.idempotencyKey, clientRequestToken: before.clientRequestToken });
    });

    it('holds the mailbox like any rotation: a new request while the retry is queued gets the retried job back', async () => {
      const failed = await failedRotationOf(other);
      await harness.runtime.queue.queue.pause();
      try {
        expect((await post(`/rotations/${failed}/retry`)).status).toBe(202);
        const newer = await postJson(`${harness.url}/rotations`, { mailboxIds: [other], force: true });
        expect(((await newer.json()) as { rotations: unknown[] }).rotations).toEqual([expect.objectContaining({ status: 'existing', jobId: failed })]);
      } finally {
        await harness.runtime.queue.queue.resume();
      }
      await waitForJobState(harness, failed, 'completed');
    });

    it('accepts exactly one of several concurrent retries of the same failed job; the others get 409, never 500', async () => {
      const failed = await failedRotationOf(other);
      const responses = await Promise.all(Array.from({ length: 5 }, () => post(`/rotations/${failed}/retry`)));
      const statuses = responses.map((response) => response.status).sort();
      expect(statuses).toEqual([202, 409, 409, 409, 409]);
      for (const response of responses.filter((r) => r.status === 409)) {
        expect(['not_failed', 'rotation_in_progress']).toContain(((await response.json()) as { error: string }).error);
      }
      await waitForJobState(harness, failed, 'completed');
    });

    it('refuses, with 409, to race a newer rotation of the mailbox: queued or running, or finished since', async () => {
      const failed = await failedRotationOf(other);
      await harness.runtime.queue.queue.pause();
      let newerJobId: string;
      try {
        const newer = await postJson(`${harness.url}/rotations`, { mailboxIds: [other], force: true });
        newerJobId = ((await newer.json()) as { rotations: Array<{ jobId: string }> }).rotations[0]!.jobId;
        const racing = await post(`/rotations/${failed}/retry`);
        expect(racing.status).toBe(409);
        expect(await racing.json()).toMatchObject({ error: 'rotation_in_progress', message: expect.stringContaining(newerJobId) });
      } finally {
        await harness.runtime.queue.queue.resume();
      }
      await waitForJobState(harness, newerJobId!, 'completed');
      const late = await post(`/rotations/${failed}/retry`);
      expect(late.status).toBe(409);
      expect(await late.json()).toMatchObject({ error: 'rotated_since' });
      expect(await (await harness.runtime.queue.getJob(failed))!.getState()).toBe('failed');
    });

    it('refuses a failed rotation that had minted a key (a retry would replay that revoked key)', async () => {
      harness.bed.standIn.faults.inject({ operation: 'PutSecretValue', kind: 'echoRequest', times: 1 });
      const failed = (await rotate(other, 'failed')).jobId;
      harness.bed.standIn.faults.clear();
      const response = await post(`/rotations/${failed}/retry`);
      expect(response.status).toBe(409);
      expect(await response.json()).toMatchObject({ error: 'key_minted', message: expect.stringContaining(`rotator rotate ${other}`) });
    });

    it('refuses a job that is not failed (409) and an unknown job (404)', async () => {
      const completed = (await rotate(mailbox)).jobId;
      const notFailed = await post(`/rotations/${completed}/retry`);
      expect(notFailed.status).toBe(409);
      expect(await notFailed.json()).toMatchObject({ error: 'not_failed', message: expect.stringContaining('completed') });
      const unknown = await post('/rotations/rotate__mbx_test_0001__nope/retry');
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ error: 'job_not_found' });
    });

    it('refuses a failed rotation of a mailbox the configuration does not cover (404 not_configured)', async () => {
      const [outcome] = await harness.runtime.queue.requestRotations([{ mailboxId: 'mbx_not_configured', reason: 'manual', requestedBy: 'test', force: true }]);
      const jobId = (outcome as { jobId: string }).jobId;
      await waitForJobState(harness, jobId, 'failed');
      const response = await post(`/rotations/${jobId}/retry`);
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: 'not_configured' });
    });
  });
});
