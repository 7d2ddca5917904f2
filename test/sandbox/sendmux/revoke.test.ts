import { startSendmuxSandbox } from '../../../standins/sendmux';
import type { SendmuxSandbox } from '../../../standins/sendmux';
import { ACTIVE, OTHER_ACTIVE, me, mintSecret, revoke } from './helpers';

describe('Sendmux sandbox revoke (DELETE /mailboxes/{id}/keys/{key_id})', () => {
  let sandbox: SendmuxSandbox;

  beforeEach(async () => {
    sandbox = await startSendmuxSandbox({ mailboxes: [ACTIVE, OTHER_ACTIVE], rateLimit: null });
  });
  afterEach(() => sandbox.close());

  it('answers 200 {deleted: true, id} and the key stops working at once', async () => {
    const { keyId, secret } = await mintSecret(sandbox, ACTIVE.id);

    const response = await revoke(sandbox, ACTIVE.id, keyId);

    expect(response.status).toBe(200);
    expect(response.json.data).toEqual({ deleted: true, id: keyId });
    expect((await me(sandbox, secret)).status).toBe(401);
    expect(sandbox.state.keys.get(keyId)).toMatchObject({ status: 'revoked', revokedAt: expect.any(String) });
    expect(sandbox.state.revokeLog).toEqual([expect.objectContaining({ keyId, mailboxId: ACTIVE.id, wasLive: true })]);
  });

  it('answers 200 again for an already revoked key (idempotent)', async () => {
    const { keyId } = await mintSecret(sandbox, ACTIVE.id);
    await revoke(sandbox, ACTIVE.id, keyId);
    const revokedAt = sandbox.state.keys.get(keyId)!.revokedAt;

    const again = await revoke(sandbox, ACTIVE.id, keyId);

    expect(again.status).toBe(200);
    expect(again.json.data).toEqual({ deleted: true, id: keyId });
    expect(sandbox.state.keys.get(keyId)!.revokedAt).toBe(revokedAt);
    expect(sandbox.state.revokeLog.map((entry) => entry.wasLive)).toEqual([true, false]);
  });

  it('leaves the mailbox’s other keys working', async () => {
    const old = await mintSecret(sandbox, ACTIVE.id);
    const current = await mintSecret(sandbox, ACTIVE.id);

    await revoke(sandbox, ACTIVE.id, old.keyId);

    expect((await me(sandbox, current.secret)).status).toBe(200);
    expect(sandbox.liveKeys(ACTIVE.id).map((k) => k.id)).toEqual([current.keyId]);
  });

  it('answers 404 not_found for an unknown mailbox', async () => {
    const { keyId } = await mintSecret(sandbox, ACTIVE.id);

    const response = await revoke(sandbox, 'mbx_unknown', keyId);

    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe('not_found');
    expect(sandbox.liveKeys(ACTIVE.id)).toHaveLength(1);
  });

  it('answers 404 not_found for an unknown key', async () => {
    const response = await revoke(sandbox, ACTIVE.id, 'smx_000000000000000000000000');

    expect(response.status).toBe(404);
    expect(response.json.error).toMatchObject({ code: 'not_found', param: 'key_id', retryable: false });
  });

  it("answers 404 for another mailbox's key and leaves that key live", async () => {
    const { keyId } = await mintSecret(sandbox, OTHER_ACTIVE.id);

    const response = await revoke(sandbox, ACTIVE.id, keyId);

    expect(response.status).toBe(404);
    expect(sandbox.state.keys.get(keyId)!.status).toBe('live');
  });

  it('revokes a key seeded with addKey', async () => {
    const seeded = sandbox.addKey(ACTIVE.id, { appName: 'pre-existing' });

    const response = await revoke(sandbox, ACTIVE.id, seeded.id);

    expect(response.status).toBe(200);
    expect(sandbox.liveKeys(ACTIVE.id)).toHaveLength(0);
  });
});
