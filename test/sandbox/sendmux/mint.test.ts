import { MAX_BODY_BYTES, startSendmuxSandbox } from '../../../standins/sendmux';
import type { SendmuxSandbox } from '../../../standins/sendmux';
import { ACTIVE, DELETED, OTHER_ACTIVE, SUSPENDED, call, me, mint, revoke } from './helpers';

describe('Sendmux sandbox mint (POST /mailboxes/{id}/keys)', () => {
  let sandbox: SendmuxSandbox;

  beforeEach(async () => {
    sandbox = await startSendmuxSandbox({ mailboxes: [ACTIVE, OTHER_ACTIVE, SUSPENDED, DELETED], rateLimit: null });
  });
  afterEach(() => sandbox.close());

  it('answers 201 with data.credential, a Location naming the new key, and records the mint', async () => {
    const response = await mint(sandbox, ACTIVE.id, { appName: 'rotator 2030-01-01', idempotencyKey: 'rot-x-1' });

    expect(response.status).toBe(201);
    const credential = response.json.data.credential;
    expect(credential.public_id).toMatch(/^smx_[a-z0-9]{24}$/);
    expect(credential.secret).toMatch(/^smx_mbx_[A-Za-z0-9]{40}$/);
    expect(credential.key_prefix).toBe(credential.secret.slice(0, 12));
    expect(credential.key_suffix).toBe(credential.secret.slice(-4));
    expect(credential).toMatchObject({ server: 'mail.sandbox.sendmux.test', imap_port: 993, smtp_port: 587, username: ACTIVE.email });
    expect(response.headers.get('location')).toBe(`/api/v1/mailboxes/${ACTIVE.id}/keys/${credential.public_id}`);
    expect(sandbox.state.keys.get(credential.public_id)).toMatchObject({
      mailboxId: ACTIVE.id,
      secret: credential.secret,
      status: 'live',
      appName: 'rotator 2030-01-01',
      idempotencyKey: 'rot-x-1',
      requestId: response.json.meta.request_id,
      revokedAt: null,
    });
    expect(sandbox.state.mintLog).toEqual([expect.objectContaining({ keyId: credential.public_id, idempotencyKey: 'rot-x-1', shape: 'credential' })]);
  });

  it('mints a key that works on /mailbox/me immediately', async () => {
    const response = await mint(sandbox, ACTIVE.id);

    const check = await me(sandbox, response.json.data.credential.secret);

    expect(check.status).toBe(200);
    expect(check.json.data.id).toBe(ACTIVE.id);
  });

  it('answers in the legacy shape (data.api_key + data.imap_smtp_credentials) once switched at runtime', async () => {
    sandbox.setMintShape('legacy');

    const response = await mint(sandbox, ACTIVE.id);

    expect(response.status).toBe(201);
    const { api_key: apiKey, imap_smtp_credentials: imap } = response.json.data;
    expect(response.json.data.credential).toBeUndefined();
    expect(apiKey.key).toMatch(/^smx_mbx_[A-Za-z0-9]{40}$/);
    expect(imap).toEqual({ server: 'mail.sandbox.sendmux.test', imap_port: 993, smtp_port: 587, username: ACTIVE.email, password: apiKey.key });
    expect(response.headers.get('location')).toBe(`/api/v1/mailboxes/${ACTIVE.id}/keys/${apiKey.public_id}`);
    expect(sandbox.state.mintLog[0]!.shape).toBe('legacy');
  });

  it.each([
    ['no body', undefined, 'missing_parameter', 'app_name'],
    ['an empty object', '{}', 'missing_parameter', 'app_name'],
    ['invalid JSON', '{"app_name":', 'invalid_parameter', undefined],
    ['a JSON array', '["x"]', 'invalid_parameter', undefined],
    ['an unknown field', '{"app_name":"x","expires_at":"2031-01-01"}', 'invalid_parameter', 'expires_at'],
    ['a non-string app_name', '{"app_name":42}', 'invalid_parameter', 'app_name'],
    ['a null app_name', '{"app_name":null}', 'invalid_parameter', 'app_name'],
    ['an empty app_name', '{"app_name":""}', 'invalid_parameter', 'app_name'],
    ['a 256-character app_name', JSON.stringify({ app_name: 'a'.repeat(256) }), 'invalid_parameter', 'app_name'],
  ])('answers 400 to %s without minting', async (_label, rawBody, code, param) => {
    const response = await call(sandbox, 'POST', `/mailboxes/${ACTIVE.id}/keys`, rawBody === undefined ? {} : { rawBody });

    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe(code);
    expect(response.json.error.param).toBe(param);
    expect(response.json.error.retryable).toBe(false);
    expect(sandbox.state.mintLog).toHaveLength(0);
  });

  it('accepts an app_name of exactly 255 characters', async () => {
    const response = await mint(sandbox, ACTIVE.id, { appName: 'a'.repeat(255) });

    expect(response.status).toBe(201);
  });

  it('answers 413 payload_too_large to a body over 64 KiB', async () => {
    const response = await call(sandbox, 'POST', `/mailboxes/${ACTIVE.id}/keys`, { rawBody: JSON.stringify({ app_name: 'a'.repeat(MAX_BODY_BYTES) }) });

    expect(response.status).toBe(413);
    expect(response.json.error).toMatchObject({ code: 'payload_too_large', retryable: false });
    expect(response.headers.get('x-request-id')).toBe(response.json.meta.request_id);
  });

  it('answers 404 not_found for an unknown mailbox', async () => {
    const response = await mint(sandbox, 'mbx_unknown');

    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe('not_found');
  });

  it.each([
    ['suspended', SUSPENDED.id],
    ['deleted', DELETED.id],
  ])('answers 422 validation_error for a %s mailbox', async (_status, mailboxId) => {
    const response = await mint(sandbox, mailboxId);

    expect(response.status).toBe(422);
    expect(response.json.error).toMatchObject({ code: 'validation_error', retryable: false });
    expect(sandbox.state.mintLog).toHaveLength(0);
  });

  it('answers 409 limit_exceeded (not retryable) at the per-mailbox limit, and mints again once a key is revoked', async () => {
    sandbox.setCredentialLimits({ perMailbox: 2 });
    const first = await mint(sandbox, ACTIVE.id);
    await mint(sandbox, ACTIVE.id);

    const refused = await mint(sandbox, ACTIVE.id);
    const elsewhere = await mint(sandbox, OTHER_ACTIVE.id);
    await revoke(sandbox, ACTIVE.id, first.json.data.credential.public_id);
    const afterRevoke = await mint(sandbox, ACTIVE.id);

    expect(refused.status).toBe(409);
    expect(refused.json.error).toMatchObject({ code: 'limit_exceeded', retryable: false });
    expect(elsewhere.status).toBe(201);
    expect(afterRevoke.status).toBe(201);
  });

  it('answers 409 limit_exceeded at the team limit across mailboxes', async () => {
    await sandbox.close();
    sandbox = await startSendmuxSandbox({ mailboxes: [ACTIVE, OTHER_ACTIVE], maxActiveKeysPerTeam: 2 });
    await mint(sandbox, ACTIVE.id);
    await mint(sandbox, OTHER_ACTIVE.id);

    const refused = await mint(sandbox, ACTIVE.id);

    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe('limit_exceeded');
  });

  it('counts keys seeded with addKey towards the limit', async () => {
    await sandbox.close();
    sandbox = await startSendmuxSandbox({ mailboxes: [ACTIVE], maxActiveKeysPerMailbox: 1 });
    sandbox.addKey(ACTIVE.id);

    expect((await mint(sandbox, ACTIVE.id)).status).toBe(409);
  });
});
