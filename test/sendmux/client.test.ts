import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { Logger } from 'pino';
import { createLogger } from '../../src/logging/logger';
import { SendmuxClient, type ManagementKeySource, type SendmuxClientOptions } from '../../src/sendmux/client';
import {
  InvalidSendmuxIdError,
  InvalidSendmuxInputError,
  SendmuxApiError,
  SendmuxProtocolError,
  SendmuxTransportError,
  isSendmuxError,
  type SendmuxError,
} from '../../src/sendmux/errors';
import type { SendmuxCallRecord } from '../../src/sendmux/types';
import { CannedHttpServer } from '../support/canned-http-server';

// ------------------------------------------------------------------------------------------------
// Fixtures: realistic vendor bodies (checked against the vendor's OpenAPI at the end of this file)

const MANAGEMENT_KEY = 'smx_root_MGMTsecret0123456789abcdef';
const REFRESHED_MANAGEMENT_KEY = 'smx_root_REFRESHEDsecret9876543210';
const MINTED_SECRET = 'smx_mbx_MINTEDsecretABCDEFGHIJ0123456789';
const LEGACY_PASSWORD = 'imapPASSWORDsecret-42-xyz';
const MAILBOX_KEY = 'smx_mbx_EXISTINGmailboxKEY5555';

function mailboxWire(id = 'mbx_1', overrides: Record<string, unknown> = {}) {
  return {
    id,
    email: `${id}@acme.com`,
    display_name: 'Agent One',
    quota_bytes: 1_000_000_000,
    send_scope: { type: 'all' },
    status: 'active',
    created_at: '2026-01-02T03:04:05.000Z',
    ...overrides,
  };
}

function mailboxItemBody(id = 'mbx_1', requestId = 'req_get') {
  return { ok: true, data: mailboxWire(id), meta: { request_id: requestId } };
}

function listBody(ids: string[], pagination: { has_more: boolean; next_cursor?: string }, requestId = 'req_list') {
  return { ok: true, data: ids.map((id) => mailboxWire(id)), pagination, meta: { request_id: requestId } };
}

function credentialMintBody(credential: unknown = currentCredential(), requestId = 'req_mint') {
  return { ok: true, data: { credential }, meta: { request_id: requestId } };
}

function currentCredential(overrides: Record<string, unknown> = {}) {
  return {
    public_id: 'smx_key_new1',
    secret: MINTED_SECRET,
    key_prefix: 'smx_mbx_MINT',
    key_suffix: '6789',
    server: 'mail.sendmux.ai',
    imap_port: 993,
    smtp_port: 587,
    username: 'mbx_1@acme.com',
    ...overrides,
  };
}

function legacyMintBody(
  apiKey: unknown = legacyApiKey(),
  imapSmtp: unknown = legacyImapSmtp(),
  requestId = 'req_mint',
) {
  return { ok: true, data: { api_key: apiKey, imap_smtp_credentials: imapSmtp }, meta: { request_id: requestId } };
}

function legacyApiKey(overrides: Record<string, unknown> = {}) {
  return { public_id: 'smx_key_new1', key: MINTED_SECRET, key_prefix: 'smx_mbx_MINT', key_suffix: '6789', ...overrides };
}

function legacyImapSmtp(overrides: Record<string, unknown> = {}) {
  return {
    server: 'mail.sendmux.ai',
    imap_port: 993,
    smtp_port: 587,
    username: 'mbx_1@acme.com',
    password: MINTED_SECRET,
    ...overrides,
  };
}

function errorBody(code: string, message: string, retryable?: boolean, requestId = 'req_err', extra: object = {}) {
  return {
    ok: false,
    error: { code, message, ...(retryable === undefined ? {} : { retryable }), ...extra },
    meta: { request_id: requestId },
  };
}

const MINT_REQUEST = { appName: 'rotator mbx_1 2026-01-02T03:00Z', idempotencyKey: 'rot-mbx_1-20260102T0300Z' };

// ------------------------------------------------------------------------------------------------
// Harness

let server: CannedHttpServer;

beforeEach(async () => {
  server = await CannedHttpServer.start('/api/v1');
});

afterEach(async () => {
  await server.close();
});

function clientFor(overrides: Partial<SendmuxClientOptions> = {}): SendmuxClient {
  return new SendmuxClient({ baseUrl: server.baseUrl, managementKey: MANAGEMENT_KEY, ...overrides });
}

async function failureOf(call: Promise<unknown>): Promise<SendmuxError> {
  try {
    await call;
  } catch (error) {
    if (isSendmuxError(error)) return error;
    throw error;
  }
  throw new Error('expected the Sendmux call to fail, but it succeeded');
}

async function rejectionOf(call: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await call;
  } catch (error) {
    if (error instanceof Error) return error as Error & Record<string, unknown>;
    throw error;
  }
  throw new Error('expected the call to be rejected, but it succeeded');
}

function capturingLogger(): { logger: Logger; lines: () => Record<string, unknown>[]; raw: () => string } {
  const chunks: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void chunks.push(line) } });
  return {
    logger,
    raw: () => chunks.join(''),
    lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

function expectNoSecretIn(text: string): void {
  for (const secret of [MANAGEMENT_KEY, REFRESHED_MANAGEMENT_KEY, MINTED_SECRET, LEGACY_PASSWORD, MAILBOX_KEY]) {
    expect(text).not.toContain(secret);
  }
}

// ------------------------------------------------------------------------------------------------

describe('requests the client sends', () => {
  it('authenticates management routes with the management key as a bearer token and asks for JSON', async () => {
    server.reply(200, mailboxItemBody());
    await clientFor().getMailbox('mbx_1');
    const request = server.lastRequest();
    expect(request.method).toBe('GET');
    expect(request.path).toBe('/api/v1/mailboxes/mbx_1');
    expect(request.headers.authorization).toBe(`Bearer ${MANAGEMENT_KEY}`);
    expect(request.headers.accept).toBe('application/json');
  });

  it('accepts a base URL with a trailing slash without doubling it', async () => {
    server.reply(200, mailboxItemBody());
    await clientFor({ baseUrl: `${server.baseUrl}/` }).getMailbox('mbx_1');
    expect(server.lastRequest().path).toBe('/api/v1/mailboxes/mbx_1');
  });

  it('mints with the Idempotency-Key header and a body of exactly {"app_name": appName}', async () => {
    server.reply(201, credentialMintBody());
    await clientFor().mintMailboxKey('mbx_1', MINT_REQUEST);
    const request = server.lastRequest();
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/api/v1/mailboxes/mbx_1/keys');
    expect(request.headers['idempotency-key']).toBe(MINT_REQUEST.idempotencyKey);
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.body).toBe(JSON.stringify({ app_name: MINT_REQUEST.appName }));
  });

  it('sends an identical request when a mint is repeated with the same arguments', async () => {
    server.reply(201, credentialMintBody()).reply(201, credentialMintBody());
    const client = clientFor();
    await client.mintMailboxKey('mbx_1', MINT_REQUEST);
    await client.mintMailboxKey('mbx_1', MINT_REQUEST);
    const [first, second] = server.received;
    expect(second?.body).toBe(first?.body);
    expect(second?.headers['idempotency-key']).toBe(first?.headers['idempotency-key']);
  });

  it('revokes with DELETE on the key path and sends Idempotency-Key only when one is given', async () => {
    const deleted = { ok: true, data: { deleted: true, id: 'smx_key_old' }, meta: { request_id: 'req_del' } };
    server.reply(200, deleted).reply(200, deleted);
    const client = clientFor();
    await client.revokeMailboxKey('mbx_1', 'smx_key_old', { idempotencyKey: 'revoke-mbx_1-smx_key_old' });
    await client.revokeMailboxKey('mbx_1', 'smx_key_old');
    const [withKey, withoutKey] = server.received;
    expect(withKey?.method).toBe('DELETE');
    expect(withKey?.path).toBe('/api/v1/mailboxes/mbx_1/keys/smx_key_old');
    expect(withKey?.headers['idempotency-key']).toBe('revoke-mbx_1-smx_key_old');
    expect(withoutKey?.headers).not.toHaveProperty('idempotency-key');
    expect(withoutKey?.body).toBe('');
  });

  it('passes cursor, limit and include_deleted as query parameters when listing', async () => {
    server.reply(200, listBody(['mbx_1'], { has_more: false }));
    await clientFor().listMailboxes({ cursor: 'cur_2', limit: 25, includeDeleted: true });
    const request = server.lastRequest();
    expect(request.path).toBe('/api/v1/mailboxes');
    expect(Object.fromEntries(request.query)).toEqual({ cursor: 'cur_2', limit: '25', include_deleted: 'true' });
  });

  it('calls /mailbox/me with the mailbox key it is given, not the management key', async () => {
    server.reply(200, mailboxItemBody('mbx_1', 'req_me'));
    await clientFor().getMailboxMe(MAILBOX_KEY);
    const request = server.lastRequest();
    expect(request.path).toBe('/api/v1/mailbox/me');
    expect(request.headers.authorization).toBe(`Bearer ${MAILBOX_KEY}`);
  });

  it('does not follow a redirect (the bearer token stays with the configured host)', async () => {
    server.reply(302, '', { location: 'http://127.0.0.1:1/elsewhere' });
    const error = await failureOf(clientFor().getMailbox('mbx_1'));
    expect(error).toBeInstanceOf(SendmuxApiError);
    expect(error.code).toBe('http_302');
    expect(server.received).toHaveLength(1);
  });
});

describe('successful responses', () => {
  it('maps a mailbox to camelCase and reports the request id and rate-limit headers', async () => {
    server.reply(200, mailboxItemBody('mbx_1', 'req_body'), {
      'x-request-id': 'req_header',
      'x-ratelimit-limit': '600',
      'x-ratelimit-remaining': '597',
      'x-ratelimit-reset': '1767323100',
    });
    const result = await clientFor().getMailbox('mbx_1');
    expect(result).toEqual({
      data: {
        id: 'mbx_1',
        email: 'mbx_1@acme.com',
        displayName: 'Agent One',
        status: 'active',
        createdAt: '2026-01-02T03:04:05.000Z',
      },
      status: 200,
      requestId: 'req_header',
      rateLimit: { limit: 600, remaining: 597, resetAtSeconds: 1767323100 },
    });
  });

  it('takes the request id from meta.request_id when the X-Request-Id header is absent', async () => {
    server.reply(200, mailboxItemBody('mbx_1', 'req_from_body'));
    const result = await clientFor().getMailbox('mbx_1');
    expect(result.requestId).toBe('req_from_body');
    expect(result.rateLimit).toEqual({});
  });

  it('tolerates fields the vendor adds later', async () => {
    server.reply(200, { ...mailboxItemBody(), data: { ...mailboxWire(), brand_new_field: 1 }, extra: true });
    const { data } = await clientFor().getMailbox('mbx_1');
    expect(data.id).toBe('mbx_1');
  });

  it('returns one page of mailboxes with the next cursor', async () => {
    server.reply(200, listBody(['mbx_1', 'mbx_2'], { has_more: true, next_cursor: 'cur_2' }));
    const { data } = await clientFor().listMailboxes();
    expect(data.mailboxes.map((m) => m.id)).toEqual(['mbx_1', 'mbx_2']);
    expect(data.hasMore).toBe(true);
    expect(data.nextCursor).toBe('cur_2');
  });

  it('lists every mailbox by following next_cursor until has_more is false', async () => {
    server
      .reply(200, listBody(['mbx_1', 'mbx_2'], { has_more: true, next_cursor: 'cur_2' }))
      .reply(200, listBody(['mbx_3'], { has_more: true, next_cursor: 'cur_3' }))
      .reply(200, listBody(['mbx_4'], { has_more: false }));
    const ids: string[] = [];
    for await (const mailbox of clientFor().listAllMailboxes({ pageSize: 2, includeDeleted: true })) ids.push(mailbox.id);
    expect(ids).toEqual(['mbx_1', 'mbx_2', 'mbx_3', 'mbx_4']);
    expect(server.received.map((r) => r.query.get('cursor'))).toEqual([null, 'cur_2', 'cur_3']);
    expect(server.received.every((r) => r.query.get('limit') === '2' && r.query.get('include_deleted') === 'true')).toBe(
      true,
    );
  });

  it('stops listing with invalid_response when has_more is true but no next_cursor is given', async () => {
    server.reply(200, listBody(['mbx_1'], { has_more: true }));
    const iterate = async () => {
      for await (const _ of clientFor().listAllMailboxes()) void _;
    };
    const error = await failureOf(iterate());
    expect(error).toBeInstanceOf(SendmuxProtocolError);
    expect(error.code).toBe('invalid_response');
    expect(error.message).toContain('next_cursor is missing');
  });

  it('stops listing with invalid_response when the vendor hands back a cursor it already gave', async () => {
    server
      .reply(200, listBody(['mbx_1'], { has_more: true, next_cursor: 'cur_2' }))
      .reply(200, listBody(['mbx_2'], { has_more: true, next_cursor: 'cur_2' }));
    const iterate = async () => {
      for await (const _ of clientFor().listAllMailboxes()) void _;
    };
    const error = await failureOf(iterate());
    expect(error.code).toBe('invalid_response');
    expect(server.received).toHaveLength(2);
  });

  it('returns the revocation result', async () => {
    server.reply(200, { ok: true, data: { deleted: true, id: 'smx_key_old' }, meta: { request_id: 'req_del' } });
    const result = await clientFor().revokeMailboxKey('mbx_1', 'smx_key_old');
    expect(result.data).toEqual({ deleted: true, id: 'smx_key_old' });
    expect(result.requestId).toBe('req_del');
  });

  it('reads /mailbox/me including its live usage field', async () => {
    server.reply(200, { ok: true, data: { ...mailboxWire('mbx_9'), quota_used_bytes: 1234 }, meta: { request_id: 'req_me' } });
    const { data } = await clientFor().getMailboxMe(MAILBOX_KEY);
    expect(data.id).toBe('mbx_9');
  });
});

describe('mint response shapes', () => {
  it('normalises the current data.credential shape, keeping the Location header', async () => {
    server.reply(201, credentialMintBody(), { location: '/api/v1/mailboxes/mbx_1/keys/smx_key_new1' });
    const result = await clientFor().mintMailboxKey('mbx_1', MINT_REQUEST);
    expect(result.status).toBe(201);
    expect(result.requestId).toBe('req_mint');
    expect(result.data).toEqual({
      keyId: 'smx_key_new1',
      secret: MINTED_SECRET,
      password: MINTED_SECRET,
      keyPrefix: 'smx_mbx_MINT',
      keySuffix: '6789',
      username: 'mbx_1@acme.com',
      server: 'mail.sendmux.ai',
      imapPort: 993,
      smtpPort: 587,
      location: '/api/v1/mailboxes/mbx_1/keys/smx_key_new1',
      shape: 'credential',
    });
  });

  it('normalises the legacy api_key + imap_smtp_credentials shape to the same key, differing only in shape', async () => {
    const location = { location: '/api/v1/mailboxes/mbx_1/keys/smx_key_new1' };
    server.reply(201, credentialMintBody(), location).reply(201, legacyMintBody(), location);
    const client = clientFor();
    const current = (await client.mintMailboxKey('mbx_1', MINT_REQUEST)).data;
    const legacy = (await client.mintMailboxKey('mbx_1', MINT_REQUEST)).data;
    expect(current.shape).toBe('credential');
    expect(legacy.shape).toBe('legacy');
    expect({ ...legacy, shape: undefined }).toEqual({ ...current, shape: undefined });
  });

  it('takes the legacy IMAP/SMTP password from imap_smtp_credentials when it differs from the key', async () => {
    server.reply(201, legacyMintBody(legacyApiKey(), legacyImapSmtp({ password: LEGACY_PASSWORD })));
    const { data } = await clientFor().mintMailboxKey('mbx_1', MINT_REQUEST);
    expect(data.secret).toBe(MINTED_SECRET);
    expect(data.password).toBe(LEGACY_PASSWORD);
  });

  it.each([
    ['data.credential is null', credentialMintBody(null)],
    ['data.credential is missing', { ok: true, data: {}, meta: { request_id: 'req_mint' } }],
    ['data.credential.secret is empty', credentialMintBody(currentCredential({ secret: '' }))],
    ['data.api_key is null', legacyMintBody(null)],
    ['data.imap_smtp_credentials is null', legacyMintBody(legacyApiKey(), null)],
    ['data.imap_smtp_credentials is missing', { ok: true, data: { api_key: legacyApiKey() }, meta: { request_id: 'r' } }],
    ['data.api_key.key is empty', legacyMintBody(legacyApiKey({ key: '' }))],
  ])('treats a mint whose %s as a retryable missing_credential failure, never success', async (reason, body) => {
    server.reply(201, body);
    const error = await failureOf(clientFor().mintMailboxKey('mbx_1', MINT_REQUEST));
    expect(error).toBeInstanceOf(SendmuxProtocolError);
    expect(error.code).toBe('missing_credential');
    expect(error.retryable).toBe(true);
    expect(error.status).toBe(201);
    expect(error.message).toContain(reason);
    expectNoSecretIn(error.message + JSON.stringify(error));
  });

  it('names the half-minted key on a missing_credential error so the caller can revoke it', async () => {
    server.reply(201, legacyMintBody(legacyApiKey(), null));
    const error = await failureOf(clientFor().mintMailboxKey('mbx_1', MINT_REQUEST));
    expect(error.keyId).toBe('smx_key_new1');
    expect(error.message).toContain('mintMailboxKey mbx_1 key smx_key_new1: 201 missing_credential');
  });

  it.each([
    ['current shape, empty public_id', () => credentialMintBody(currentCredential({ public_id: '' })), 'data.credential.public_id'],
    ['current shape, public_id not a Sendmux id', () => credentialMintBody(currentCredential({ public_id: 'not an id!' })), 'data.credential.public_id'],
    ['legacy shape, empty public_id', () => legacyMintBody(legacyApiKey({ public_id: '' })), 'data.api_key.public_id'],
  ])('refuses a mint whose key id cannot be stored or revoked (%s) as invalid_response', async (_, body, field) => {
    server.reply(201, body());
    const error = await failureOf(clientFor().mintMailboxKey('mbx_1', MINT_REQUEST));
    expect(error.code).toBe('invalid_response');
    expect(error.message).toContain(field);
    expectNoSecretIn(error.message + JSON.stringify(error));
  });

  it('rejects a credential of the wrong shape as invalid_response naming the field but not its value', async () => {
    server.reply(201, credentialMintBody(currentCredential({ imap_port: '993' })));
    const error = await failureOf(clientFor().mintMailboxKey('mbx_1', MINT_REQUEST));
    expect(error).toBeInstanceOf(SendmuxProtocolError);
    expect(error.code).toBe('invalid_response');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('data.credential.imap_port');
    expectNoSecretIn(error.message + JSON.stringify(error));
  });
});

describe('error responses', () => {
  it.each([
    [400, 'invalid_parameter', false],
    [400, 'missing_parameter', false],
    [401, 'authentication_required', false],
    [403, 'insufficient_permissions', false],
    [404, 'not_found', false],
    [409, 'idempotency_conflict', true],
    [409, 'idempotency_conflict', false],
    [409, 'limit_exceeded', false],
    [409, 'conflict', false],
    [413, 'payload_too_large', false],
    [422, 'validation_error', false],
    [429, 'rate_limit_exceeded', true],
    [500, 'internal_error', true],
    [503, 'service_unavailable', true],
  ])('maps %i %s (envelope retryable=%s) to a SendmuxApiError with the same code and retryability', async (status, code, retryable) => {
    server.reply(status, errorBody(code, `vendor says ${code}`, retryable, 'req_body'), { 'x-request-id': 'req_hdr' });
    const error = await failureOf(clientFor().mintMailboxKey('mbx_1', MINT_REQUEST));
    expect(error).toBeInstanceOf(SendmuxApiError);
    expect(error).toMatchObject({
      status,
      code,
      retryable,
      requestId: 'req_hdr',
      operation: 'mintMailboxKey',
      method: 'POST',
      path: '/mailboxes/mbx_1/keys',
      mailboxId: 'mbx_1',
    });
    expect(error.message).toBe(`mintMailboxKey mbx_1: ${status} ${code} — vendor says ${code} (request req_hdr)`);
  });

  it('formats the message with operation, mailbox, status, code, vendor message and request id', async () => {
    server.reply(422, errorBody('validation_error', 'Mailbox is suspended', false), { 'x-request-id': 'req_abc' });
    const error = await failureOf(clientFor().mintMailboxKey('mbx_1', MINT_REQUEST));
    expect(error.message).toBe('mintMailboxKey mbx_1: 422 validation_error — Mailbox is suspended (request req_abc)');
  });

  it('names the key as well as the mailbox when a revocation fails', async () => {
    server.reply(404, errorBody('not_found', 'Key not found', false, 'req_404'));
    const error = await failureOf(clientFor().revokeMailboxKey('mbx_1', 'smx_key_old'));
    expect(error.message).toBe('revokeMailboxKey mbx_1 key smx_key_old: 404 not_found — Key not found (request req_404)');
    expect(error.keyId).toBe('smx_key_old');
  });

  it.each([
    [429, 'rate_limit_exceeded', true],
    [500, 'internal_error', true],
    [503, 'service_unavailable', true],
    [400, 'invalid_parameter', false],
    [409, 'idempotency_conflict', false],
    [422, 'validation_error', false],
  ])('falls back to the status when the envelope omits retryable: %i %s → retryable %s', async (status, code, retryable) => {
    server.reply(status, errorBody(code, 'no retryable flag'));
    const error = await failureOf(clientFor().getMailbox('mbx_1'));
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
  });

  it('carries the offending parameter from the envelope', async () => {
    server.reply(400, errorBody('invalid_parameter', 'app_name is too long', false, 'req_p', { param: 'app_name' }));
    const error = await failureOf(clientFor().mintMailboxKey('mbx_1', MINT_REQUEST));
    expect(error.param).toBe('app_name');
  });

  it('takes the request id from meta.request_id when the error has no X-Request-Id header', async () => {
    server.reply(404, errorBody('not_found', 'Mailbox not found', false, 'req_only_in_body'));
    const error = await failureOf(clientFor().getMailbox('mbx_1'));
    expect(error.requestId).toBe('req_only_in_body');
  });

  it('reads Retry-After given in seconds', async () => {
    server.reply(429, errorBody('rate_limit_exceeded', 'Slow down', true), {
      'retry-after': '30',
      'x-ratelimit-limit': '600',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': '1767323130',
    });
    const error = await failureOf(clientFor().getMailbox('mbx_1'));
    expect(error.retryAfterMs).toBe(30_000);
    expect(error.rateLimit).toEqual({ limit: 600, remaining: 0, resetAtSeconds: 1767323130 });
  });

  it('reads Retry-After given as an HTTP-date', async () => {
    const retryAt = new Date(Date.now() + 120_000);
    server.reply(503, errorBody('service_unavailable', 'Credential setup unavailable', true), {
      'retry-after': retryAt.toUTCString(),
    });
    const error = await failureOf(clientFor().mintMailboxKey('mbx_1', MINT_REQUEST));
    // toUTCString drops the milliseconds, so the delay is up to one second shorter than 120 s.
    expect(error.retryAfterMs).toBeGreaterThan(118_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(120_000);
  });

  it('maps an HTML 502 page to http_502, retryable, without quoting the page', async () => {
    const html = '<html><body><h1>502 Bad Gateway</h1><p>upstream secret-ish details</p></body></html>';
    server.reply(502, html, { 'content-type': 'text/html; charset=utf-8' });
    const error = await failureOf(clientFor().getMailbox('mbx_1'));
    expect(error).toBeInstanceOf(SendmuxApiError);
    expect(error.code).toBe('http_502');
    expect(error.status).toBe(502);
    expect(error.retryable).toBe(true);
    expect(error.message).toBe(
      'getMailbox mbx_1: 502 http_502 — response was not a Sendmux error envelope (content-type text/html)',
    );
  });

  it.each([
    ['1e9 seconds', '1000000000'],
    ['an HTTP-date in 2100', 'Fri, 01 Jan 2100 00:00:00 GMT'],
  ])('cuts a Retry-After of %s to maxServerDelayMs (rotation.backoffMaxDelay)', async (_name, header) => {
    server.reply(429, errorBody('rate_limit_exceeded', 'Slow down', true), { 'retry-after': header });
    const error = await failureOf(clientFor({ maxServerDelayMs: 2_000 }).getMailbox('mbx_1'));
    expect(error.retryAfterMs).toBe(2_000);
  });

  it.each([
    ['400 nines', '9'.repeat(400)],
    ['a negative number', '-5'],
  ])('ignores a Retry-After of %s rather than carrying a non-finite or negative delay', async (_name, header) => {
    server.reply(503, errorBody('service_unavailable', 'Later', true), { 'retry-after': header });
    const error = await failureOf(clientFor().getMailbox('mbx_1'));
    expect(error.retryAfterMs).toBeUndefined();
  });

  it('leaves retryAfterMs unset when Retry-After is unparsable', async () => {
    server.reply(429, errorBody('rate_limit_exceeded', 'Slow down', true), { 'retry-after': 'soon' });
    const error = await failureOf(clientFor().getMailbox('mbx_1'));
    expect(error.retryAfterMs).toBeUndefined();
    expect(error.retryable).toBe(true);
  });

  it('maps a 4xx that is not an envelope to http_<status>, not retryable', async () => {
    server.reply(404, 'Not Found', { 'content-type': 'text/plain' });
    const error = await failureOf(clientFor().getMailbox('mbx_1'));
    expect(error.code).toBe('http_404');
    expect(error.retryable).toBe(false);
  });

  it('serialises to JSON with its facts and without a stack', async () => {
    server.reply(409, errorBody('limit_exceeded', 'Credential limit reached', false), { 'x-request-id': 'req_lim' });
    const error = await failureOf(clientFor().mintMailboxKey('mbx_1', MINT_REQUEST));
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'SendmuxApiError',
      message: 'mintMailboxKey mbx_1: 409 limit_exceeded — Credential limit reached (request req_lim)',
      operation: 'mintMailboxKey',
      method: 'POST',
      path: '/mailboxes/mbx_1/keys',
      status: 409,
      code: 'limit_exceeded',
      retryable: false,
      requestId: 'req_lim',
      mailboxId: 'mbx_1',
      rateLimit: {},
    });
  });
});

describe('2xx responses that break the contract', () => {
  it('rejects a body that is not JSON as invalid_response, retryable', async () => {
    server.reply(200, 'this is not json', { 'content-type': 'text/plain' });
    const error = await failureOf(clientFor().getMailbox('mbx_1'));
    expect(error).toBeInstanceOf(SendmuxProtocolError);
    expect(error.code).toBe('invalid_response');
    expect(error.retryable).toBe(true);
    expect(error.status).toBe(200);
  });

  it('rejects a 200 whose envelope says ok:false', async () => {
    server.reply(200, errorBody('internal_error', 'oops', true, 'req_weird'));
    const error = await failureOf(clientFor().getMailbox('mbx_1'));
    expect(error.code).toBe('invalid_response');
    expect(error.message).toContain('ok:false');
    expect(error.requestId).toBe('req_weird');
  });

  it('rejects a body that does not match the schema, naming the field', async () => {
    server.reply(200, { ok: true, data: { ...mailboxWire(), email: 42 }, meta: { request_id: 'req_bad' } });
    const error = await failureOf(clientFor().getMailbox('mbx_1'));
    expect(error.code).toBe('invalid_response');
    expect(error.message).toContain('data.email invalid_type');
  });

  it('rejects a body whose Content-Length exceeds maxResponseBytes', async () => {
    server.reply(200, { ...mailboxItemBody(), padding: 'x'.repeat(4096) });
    const error = await failureOf(clientFor({ maxResponseBytes: 1024 }).getMailbox('mbx_1'));
    expect(error.code).toBe('invalid_response');
    expect(error.message).toContain('exceeds 1024 bytes');
  });

  it('stops reading an endless chunked body once it passes maxResponseBytes and hangs up', async () => {
    server.next({ kind: 'endless-body', status: 200, chunkBytes: 16 * 1024 });
    const error = await failureOf(clientFor({ maxResponseBytes: 64 * 1024 }).getMailbox('mbx_1'));
    expect(error.code).toBe('invalid_response');
    expect(error.message).toContain('exceeds 65536 bytes');
    await waitFor(() => server.endlessStreams[0]?.closed === true);
  });
});

describe('transport failures', () => {
  it('reports a request that gets no answer within timeoutMs as a retryable timeout with no status', async () => {
    server.next({ kind: 'hang' });
    const error = await failureOf(clientFor({ timeoutMs: 200 }).getMailbox('mbx_1'));
    expect(error).toBeInstanceOf(SendmuxTransportError);
    expect(error.code).toBe('timeout');
    expect(error.status).toBeNull();
    expect(error.retryable).toBe(true);
    expect(error.message).toBe('getMailbox mbx_1: timeout — no complete response within 200 ms');
  });

  it('reports a reset connection as a retryable network_error', async () => {
    server.next({ kind: 'reset' });
    const error = await failureOf(clientFor().mintMailboxKey('mbx_1', MINT_REQUEST));
    expect(error).toBeInstanceOf(SendmuxTransportError);
    expect(error.code).toBe('network_error');
    expect(error.status).toBeNull();
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/ECONNRESET|UND_ERR_SOCKET/);
  });

  it('reports a refused connection as a retryable network_error', async () => {
    const closed = await CannedHttpServer.start();
    const deadUrl = closed.baseUrl;
    await closed.close();
    const error = await failureOf(new SendmuxClient({ baseUrl: deadUrl, managementKey: MANAGEMENT_KEY }).getMailbox('mbx_1'));
    expect(error.code).toBe('network_error');
    expect(error.message).toContain('ECONNREFUSED');
  });
});

describe('input validation happens before any request', () => {
  it.each([
    ['', 'is empty'],
    ['mbx/../admin', 'contains the character "/"'],
    ['mbx_1?x=1', 'contains the character "?"'],
    ['mbx%2F1', 'contains the character "%"'],
    ['mbx 1', 'contains the character " "'],
    ['mbx.1', 'contains the character "."'],
    ['m'.repeat(256), 'is 256 characters long'],
  ])('rejects mailbox id %j (%s)', async (mailboxId, why) => {
    const client = clientFor();
    const calls = [
      client.getMailbox(mailboxId),
      client.mintMailboxKey(mailboxId, MINT_REQUEST),
      client.revokeMailboxKey(mailboxId, 'smx_key_old'),
    ];
    for (const call of calls) {
      const error = await rejectionOf(call);
      expect(error).toBeInstanceOf(InvalidSendmuxIdError);
      expect(error).toMatchObject({ field: 'mailboxId', value: mailboxId });
      expect(error.message).toContain(why);
      expect(error.message).toMatch(/mailboxId .*must be 1–255 characters/);
    }
    expect(server.received).toHaveLength(0);
  });

  it('rejects a key id that could escape the path', async () => {
    await expect(clientFor().revokeMailboxKey('mbx_1', '../../mailboxes')).rejects.toMatchObject({
      name: 'InvalidSendmuxIdError',
      field: 'keyId',
      value: '../../mailboxes',
    });
    expect(server.received).toHaveLength(0);
  });

  it.each([[''], ['rot:mbx_1:slot'], ['k'.repeat(256)], ['with space']])(
    'rejects idempotency key %j',
    async (idempotencyKey) => {
      const client = clientFor();
      await expect(client.mintMailboxKey('mbx_1', { appName: 'x', idempotencyKey })).rejects.toMatchObject({
        name: 'InvalidSendmuxIdError',
        field: 'idempotencyKey',
      });
      await expect(client.revokeMailboxKey('mbx_1', 'smx_key_old', { idempotencyKey })).rejects.toBeInstanceOf(
        InvalidSendmuxIdError,
      );
      expect(server.received).toHaveLength(0);
    },
  );

  it.each([[0], [256]])('rejects an app name of %i characters', async (length) => {
    const appName = 'a'.repeat(length);
    await expect(clientFor().mintMailboxKey('mbx_1', { appName, idempotencyKey: 'k1' })).rejects.toMatchObject({
      name: 'InvalidSendmuxInputError',
      field: 'appName',
    });
    expect(server.received).toHaveLength(0);
  });

  it('accepts an app name of exactly 255 characters', async () => {
    server.reply(201, credentialMintBody());
    await clientFor().mintMailboxKey('mbx_1', { appName: 'a'.repeat(255), idempotencyKey: 'k1' });
    expect(server.received).toHaveLength(1);
  });

  it.each([[0], [101], [2.5]])('rejects a page size of %p', async (limit) => {
    await expect(clientFor().listMailboxes({ limit })).rejects.toBeInstanceOf(InvalidSendmuxInputError);
    expect(server.received).toHaveLength(0);
  });

  it.each([[''], [`${MAILBOX_KEY}\r\nX-Evil: 1`], [`Bearer ${MAILBOX_KEY}`]])(
    'rejects a malformed mailbox key without echoing it',
    async (mailboxKey) => {
      const thrown = await rejectionOf(clientFor().getMailboxMe(mailboxKey));
      expect(thrown).toBeInstanceOf(InvalidSendmuxInputError);
      expectNoSecretIn(`${thrown.message} ${JSON.stringify(thrown)}`);
      expect(server.received).toHaveLength(0);
    },
  );
  it('refuses a base URL that carries credentials or a query string', () => {
    expect(() => new SendmuxClient({ baseUrl: 'https://user:pw@app.sendmux.ai/api/v1', managementKey: MANAGEMENT_KEY })).toThrow(
      /baseUrl must not carry credentials/,
    );
    expect(() => new SendmuxClient({ baseUrl: 'https://app.sendmux.ai/api/v1?x=1', managementKey: MANAGEMENT_KEY })).toThrow(
      InvalidSendmuxInputError,
    );
  });

  it('refuses a management key with a line break without echoing it', () => {
    let thrown: unknown;
    try {
      new SendmuxClient({ baseUrl: server.baseUrl, managementKey: `${MANAGEMENT_KEY}\n` });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ name: 'InvalidSendmuxInputError', field: 'managementKey' });
    expectNoSecretIn(`${(thrown as Error).message} ${JSON.stringify(thrown)}`);
  });
});

describe('secrets never appear in errors', () => {
  const scenarios: Array<[string, () => void, (client: SendmuxClient) => Promise<unknown>]> = [
    [
      'a vendor message that echoes the management key and a mailbox key',
      () =>
        server.reply(401, errorBody('authentication_required', `Key ${MANAGEMENT_KEY} rejected; also saw ${MINTED_SECRET}`, false)),
      (c) => c.getMailbox('mbx_1'),
    ],
    [
      'an ok:false 200 carrying a secret',
      () => server.reply(200, { ok: false, error: { code: 'x', message: MINTED_SECRET, retryable: true }, meta: {} }),
      (c) => c.getMailbox('mbx_1'),
    ],
    [
      'a malformed credential',
      () => server.reply(201, credentialMintBody(currentCredential({ smtp_port: MINTED_SECRET }))),
      (c) => c.mintMailboxKey('mbx_1', MINT_REQUEST),
    ],
    [
      'a legacy credential without its password',
      () => server.reply(201, legacyMintBody(legacyApiKey(), null)),
      (c) => c.mintMailboxKey('mbx_1', MINT_REQUEST),
    ],
    [
      'a non-JSON body containing a secret',
      () => server.reply(500, `crash dump: ${MANAGEMENT_KEY} ${MINTED_SECRET}`, { 'content-type': 'text/plain' }),
      (c) => c.mintMailboxKey('mbx_1', MINT_REQUEST),
    ],
    [
      'a rejected mailbox key on /mailbox/me',
      () => server.reply(401, errorBody('authentication_required', `Invalid key ${MAILBOX_KEY}`, false)),
      (c) => c.getMailboxMe(MAILBOX_KEY),
    ],
  ];

  it.each(scenarios)('keeps secrets out of the message, JSON and log line for %s', async (_name, arrange, act) => {
    arrange();
    const capture = capturingLogger();
    const error = await failureOf(act(clientFor({ logger: capture.logger })));
    expectNoSecretIn(error.message);
    expectNoSecretIn(JSON.stringify(error));
    expectNoSecretIn(capture.raw());
    expect(capture.lines()).toHaveLength(1);
  });

  it('keeps the minted secret out of the log line of a successful mint', async () => {
    server.reply(201, credentialMintBody());
    const capture = capturingLogger();
    const { data } = await clientFor({ logger: capture.logger }).mintMailboxKey('mbx_1', MINT_REQUEST);
    expect(data.secret).toBe(MINTED_SECRET);
    expectNoSecretIn(capture.raw());
  });
});

describe('management key refresh after a 401', () => {
  function refreshingSource(): ManagementKeySource & { refreshes: number } {
    let key = MANAGEMENT_KEY;
    const source = {
      refreshes: 0,
      current: () => key,
      refresh: async () => {
        source.refreshes += 1;
        key = REFRESHED_MANAGEMENT_KEY;
        return key;
      },
    };
    return source;
  }

  it('refreshes the key once and retries the request once with the new key', async () => {
    server.reply(401, errorBody('authentication_required', 'Invalid API key', false)).reply(200, mailboxItemBody());
    const source = refreshingSource();
    const capture = capturingLogger();
    const result = await clientFor({ managementKey: source, logger: capture.logger }).getMailbox('mbx_1');
    expect(result.data.id).toBe('mbx_1');
    expect(source.refreshes).toBe(1);
    expect(server.received.map((r) => r.headers.authorization)).toEqual([
      `Bearer ${MANAGEMENT_KEY}`,
      `Bearer ${REFRESHED_MANAGEMENT_KEY}`,
    ]);
    expect(capture.lines().some((l) => String(l['msg']).includes('refreshing it and retrying once'))).toBe(true);
  });

  it('retries a mint with the same Idempotency-Key and body after refreshing', async () => {
    server.reply(401, errorBody('authentication_required', 'Invalid API key', false)).reply(201, credentialMintBody());
    await clientFor({ managementKey: refreshingSource() }).mintMailboxKey('mbx_1', MINT_REQUEST);
    const [first, second] = server.received;
    expect(second?.headers['idempotency-key']).toBe(first?.headers['idempotency-key']);
    expect(second?.body).toBe(first?.body);
  });

  it('gives up with the second 401 when the refreshed key is rejected too', async () => {
    server
      .reply(401, errorBody('authentication_required', 'Invalid API key', false, 'req_1'))
      .reply(401, errorBody('authentication_required', 'Invalid API key', false, 'req_2'));
    const source = refreshingSource();
    const error = await failureOf(clientFor({ managementKey: source }).getMailbox('mbx_1'));
    expect(error.status).toBe(401);
    expect(error.requestId).toBe('req_2');
    expect(source.refreshes).toBe(1);
    expect(server.received).toHaveLength(2);
  });

  it('gives up with the original 401 when refreshing fails', async () => {
    server.reply(401, errorBody('authentication_required', 'Invalid API key', false, 'req_1'));
    const source: ManagementKeySource = {
      current: () => MANAGEMENT_KEY,
      refresh: () => Promise.reject(new Error(`store unavailable, last key ${MANAGEMENT_KEY}`)),
    };
    const capture = capturingLogger();
    const error = await failureOf(clientFor({ managementKey: source, logger: capture.logger }).getMailbox('mbx_1'));
    expect(error.requestId).toBe('req_1');
    expect(server.received).toHaveLength(1);
    expectNoSecretIn(capture.raw());
  });

  it('does not refresh without a refresh() method', async () => {
    server.reply(401, errorBody('authentication_required', 'Invalid API key', false));
    const error = await failureOf(clientFor({ managementKey: { current: async () => MANAGEMENT_KEY } }).getMailbox('mbx_1'));
    expect(error.status).toBe(401);
    expect(server.received).toHaveLength(1);
  });

  it('does not refresh the management key when a mailbox key is rejected on /mailbox/me', async () => {
    server.reply(401, errorBody('authentication_required', 'Invalid API key', false));
    const source = refreshingSource();
    await failureOf(clientFor({ managementKey: source }).getMailboxMe(MAILBOX_KEY));
    expect(source.refreshes).toBe(0);
    expect(server.received).toHaveLength(1);
  });

  it('does not refresh after a 403', async () => {
    server.reply(403, errorBody('insufficient_permissions', 'Missing mailbox.admin.manage', false));
    const source = refreshingSource();
    await failureOf(clientFor({ managementKey: source }).getMailbox('mbx_1'));
    expect(source.refreshes).toBe(0);
  });
});

describe('telemetry', () => {
  it('logs one debug line per successful call with the call facts', async () => {
    server.reply(201, credentialMintBody(), { 'x-request-id': 'req_ok', 'x-ratelimit-remaining': '42' });
    const capture = capturingLogger();
    await clientFor({ logger: capture.logger }).mintMailboxKey('mbx_1', MINT_REQUEST);
    const lines = capture.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'debug',
      operation: 'mintMailboxKey',
      method: 'POST',
      path: '/mailboxes/mbx_1/keys',
      status: 201,
      sendmuxRequestId: 'req_ok',
      idempotencyKey: MINT_REQUEST.idempotencyKey,
      rateLimitRemaining: 42,
    });
    expect(typeof lines[0]?.['durationMs']).toBe('number');
  });

  it('logs one warn line per failed call with the error code', async () => {
    server.reply(409, errorBody('idempotency_conflict', 'Request in flight', true), { 'x-request-id': 'req_409' });
    const capture = capturingLogger();
    await failureOf(clientFor({ logger: capture.logger }).mintMailboxKey('mbx_1', MINT_REQUEST));
    const lines = capture.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      operation: 'mintMailboxKey',
      status: 409,
      code: 'idempotency_conflict',
      sendmuxRequestId: 'req_409',
      retryable: true,
      msg: 'mintMailboxKey mbx_1: 409 idempotency_conflict — Request in flight (request req_409)',
    });
  });

  it('reports every exchange to onCall, including the one that failed before a refresh', async () => {
    server
      .reply(401, errorBody('authentication_required', 'Invalid API key', false), { 'x-request-id': 'req_401' })
      .reply(200, mailboxItemBody(), { 'x-request-id': 'req_200', 'x-ratelimit-remaining': '7' });
    const records: SendmuxCallRecord[] = [];
    const source: ManagementKeySource = { current: () => MANAGEMENT_KEY, refresh: async () => REFRESHED_MANAGEMENT_KEY };
    await clientFor({ managementKey: source, onCall: (r) => records.push(r) }).getMailbox('mbx_1');
    expect(records).toEqual([
      expect.objectContaining({ operation: 'getMailbox', status: 401, code: 'authentication_required', requestId: 'req_401' }),
      expect.objectContaining({ operation: 'getMailbox', status: 200, requestId: 'req_200', rateLimit: { remaining: 7 } }),
    ]);
    expect(records[1]).not.toHaveProperty('code');
  });

  it('reports transport failures to onCall with a null status', async () => {
    server.next({ kind: 'hang' });
    const records: SendmuxCallRecord[] = [];
    await failureOf(clientFor({ timeoutMs: 100, onCall: (r) => records.push(r) }).getMailbox('mbx_1'));
    expect(records).toEqual([expect.objectContaining({ status: null, code: 'timeout', path: '/mailboxes/mbx_1' })]);
  });

  it('still returns the result when the onCall hook throws', async () => {
    server.reply(200, mailboxItemBody());
    const client = clientFor({
      onCall: () => {
        throw new Error('metrics backend down');
      },
    });
    await expect(client.getMailbox('mbx_1')).resolves.toMatchObject({ status: 200 });
  });
});

describe('test fixtures', () => {
  // Guards the fixtures above: if they drifted from the vendor's schema, the tests would prove little.
  const openapi = JSON.parse(
    readFileSync(path.resolve(__dirname, '../../vendor/sendmux/openapi-management-subset.json'), 'utf8'),
  ) as { components: { schemas: Record<string, object> } };
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'sendmux.json', components: openapi.components });
  const validator = (name: string) => {
    const validate = ajv.getSchema(`sendmux.json#/components/schemas/${name}`);
    if (!validate) throw new Error(`no schema ${name}`);
    return validate;
  };

  it.each([
    ['MailboxItemResponse', mailboxItemBody()],
    ['MailboxItemCursorListResponse', listBody(['mbx_1', 'mbx_2'], { has_more: true, next_cursor: 'cur_2' })],
    ['MailboxAppPasswordResultResponse', credentialMintBody()],
    ['MailboxKeyDeletedResponse', { ok: true, data: { deleted: true, id: 'smx_key_old' }, meta: { request_id: 'r' } }],
    ['ApiError', errorBody('validation_error', 'Mailbox is suspended', false)],
  ])('conform to the vendor schema %s', (name, body) => {
    const validate = validator(name);
    expect(validate(body) ? [] : validate.errors).toEqual([]);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
