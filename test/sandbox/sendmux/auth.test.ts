import { startSendmuxSandbox } from '../../../standins/sendmux';
import type { SendmuxSandbox } from '../../../standins/sendmux';
import { ACTIVE, OTHER_ACTIVE, ROOT_KEY, call, me, mint, mintSecret, revoke } from './helpers';

const READ_ONLY_KEY = 'smx_root_read_only_auditor';

describe('Sendmux sandbox authentication and permissions', () => {
  let sandbox: SendmuxSandbox;

  beforeEach(async () => {
    sandbox = await startSendmuxSandbox({ mailboxes: [ACTIVE, OTHER_ACTIVE], readOnlyManagementKeys: [READ_ONLY_KEY], rateLimit: null });
  });
  afterEach(() => sandbox.close());

  describe('management routes', () => {
    it.each([
      ['no Authorization header', undefined],
      ['an unknown root key', 'Bearer smx_root_unknown'],
      ['a non-Bearer scheme', `Basic ${ROOT_KEY}`],
      ['an empty Bearer token', 'Bearer '],
    ])('answer 401 authentication_required to %s', async (_label, authorization) => {
      const response = await call(sandbox, 'GET', '/mailboxes', { key: null, headers: authorization ? { authorization } : {} });

      expect(response.status).toBe(401);
      expect(response.json.error).toMatchObject({ code: 'authentication_required', retryable: false });
    });

    it('answer 403 insufficient_permissions to a mailbox key', async () => {
      const { secret } = await mintSecret(sandbox, ACTIVE.id);

      const response = await call(sandbox, 'GET', `/mailboxes/${ACTIVE.id}`, { key: secret });

      expect(response.status).toBe(403);
      expect(response.json.error.code).toBe('insufficient_permissions');
    });

    it('answer 401 to a revoked mailbox key', async () => {
      const { keyId, secret } = await mintSecret(sandbox, ACTIVE.id);
      await revoke(sandbox, ACTIVE.id, keyId);

      const response = await call(sandbox, 'GET', '/mailboxes', { key: secret });

      expect(response.status).toBe(401);
    });

    it('let a read-only root key list and read mailboxes', async () => {
      const list = await call(sandbox, 'GET', '/mailboxes', { key: READ_ONLY_KEY });
      const one = await call(sandbox, 'GET', `/mailboxes/${ACTIVE.id}`, { key: READ_ONLY_KEY });

      expect([list.status, one.status]).toEqual([200, 200]);
    });

    it('refuse mint and revoke to a read-only root key with 403 insufficient_permissions', async () => {
      const { keyId } = await mintSecret(sandbox, ACTIVE.id);

      const minted = await mint(sandbox, ACTIVE.id, { key: READ_ONLY_KEY });
      const revoked = await revoke(sandbox, ACTIVE.id, keyId, { key: READ_ONLY_KEY });

      expect(minted.status).toBe(403);
      expect(revoked.status).toBe(403);
      expect(minted.json.error.code).toBe('insufficient_permissions');
      expect(sandbox.liveKeys(ACTIVE.id)).toHaveLength(1);
    });

    it('accept every configured management key', async () => {
      await sandbox.close();
      sandbox = await startSendmuxSandbox({ mailboxes: [ACTIVE], managementKeys: ['smx_root_one', 'smx_root_two'] });

      const one = await call(sandbox, 'GET', '/mailboxes', { key: 'smx_root_one' });
      const two = await call(sandbox, 'GET', '/mailboxes', { key: 'smx_root_two' });
      const defaultKey = await call(sandbox, 'GET', '/mailboxes', { key: ROOT_KEY });

      expect([one.status, two.status, defaultKey.status]).toEqual([200, 200, 401]);
    });
  });

  describe('GET /mailbox/me', () => {
    it('returns the mailbox a live key is scoped to', async () => {
      const { secret } = await mintSecret(sandbox, ACTIVE.id);

      const response = await me(sandbox, secret);

      expect(response.status).toBe(200);
      expect(response.json.data).toMatchObject({ id: ACTIVE.id, email: ACTIVE.email, status: 'active' });
    });

    it('answers 403 insufficient_permissions to a root key', async () => {
      const response = await me(sandbox, ROOT_KEY);

      expect(response.status).toBe(403);
      expect(response.json.error.code).toBe('insufficient_permissions');
    });

    it('answers 401 to an unknown key and to no key', async () => {
      const unknown = await me(sandbox, 'smx_mbx_notakeythesandboxhasevermintedxxxxxxxxx');
      const none = await me(sandbox, null);

      expect([unknown.status, none.status]).toEqual([401, 401]);
      expect(unknown.json.error.code).toBe('authentication_required');
    });

    it('answers 401 to a revoked key', async () => {
      const { keyId, secret } = await mintSecret(sandbox, ACTIVE.id);
      await revoke(sandbox, ACTIVE.id, keyId);

      expect((await me(sandbox, secret)).status).toBe(401);
    });

    it('answers 401 while the mailbox is suspended and 200 again once it is active', async () => {
      const { secret } = await mintSecret(sandbox, ACTIVE.id);

      sandbox.setMailboxStatus(ACTIVE.id, 'suspended');
      const suspended = await me(sandbox, secret);
      sandbox.setMailboxStatus(ACTIVE.id, 'active');
      const reactivated = await me(sandbox, secret);

      expect(suspended.status).toBe(401);
      expect(reactivated.status).toBe(200);
    });

    it('answers 401 to a key of a deleted mailbox', async () => {
      const { secret } = await mintSecret(sandbox, ACTIVE.id);
      sandbox.setMailboxStatus(ACTIVE.id, 'deleted');

      expect((await me(sandbox, secret)).status).toBe(401);
    });

    it('answers 404 when mailbox_id names a mailbox the key is not scoped to, 200 when it is its own', async () => {
      const { secret } = await mintSecret(sandbox, ACTIVE.id);

      const other = await me(sandbox, secret, `?mailbox_id=${OTHER_ACTIVE.id}`);
      const own = await me(sandbox, secret, `?mailbox_id=${ACTIVE.id}`);

      expect(other.status).toBe(404);
      expect(own.status).toBe(200);
    });

    it('sends a weak ETag and answers 304 to a matching If-None-Match', async () => {
      const { secret } = await mintSecret(sandbox, ACTIVE.id);
      const first = await me(sandbox, secret);
      const etag = first.headers.get('etag');

      const notModified = await call(sandbox, 'GET', '/mailbox/me', { key: secret, headers: { 'if-none-match': etag ?? '' } });

      expect(etag).toMatch(/^W\/"[0-9a-f]+"$/);
      expect(notModified.status).toBe(304);
      expect(notModified.text).toBe('');
    });
  });

  it('never repeats the presented key in an error response', async () => {
    const { keyId, secret } = await mintSecret(sandbox, ACTIVE.id);
    await revoke(sandbox, ACTIVE.id, keyId);
    const rejectedRoot = 'smx_root_supposedly_secret_value';

    const responses = [
      await call(sandbox, 'GET', '/mailboxes', { key: secret }),
      await call(sandbox, 'GET', '/mailboxes', { key: rejectedRoot }),
      await me(sandbox, secret),
      await me(sandbox, ROOT_KEY),
    ];

    for (const response of responses) {
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.text).not.toContain(secret);
      expect(response.text).not.toContain(rejectedRoot);
      expect(response.text).not.toContain(ROOT_KEY);
    }
  });
});
