import { SandboxApiError, success } from './envelope';
import type { OperationResult } from './envelope';
import type { FaultController } from './faults';
import { compareNewestFirst, decodeCursor, encodeCursor, toWireMailbox, weakEtag } from './mailbox-view';
import { parseMintBody } from './mint-body';
import type { SandboxState } from './state';
import type { KeyRecord, MailboxRecord, MintShape } from './types';

export const API_BASE_PATH = '/api/v1';
export const SANDBOX_MAIL_SERVER = 'mail.sandbox.sendmux.test';
export const SANDBOX_IMAP_PORT = 993;
export const SANDBOX_SMTP_PORT = 587;
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 100;

/** Settings the admin API and the sandbox handle can change at runtime. */
export interface OperationSettings {
  mintShape: MintShape;
  maxActiveKeysPerMailbox: number | null;
  maxActiveKeysPerTeam: number | null;
}

export interface OperationRequest {
  requestId: string;
  params: Record<string, string | undefined>;
  query: Record<string, string | undefined>;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string | undefined;
  idempotencyKey: string | null;
  /** The live mailbox key that authenticated a /mailbox/me call. */
  mailboxKey?: KeyRecord;
}

export interface OperationDeps {
  state: SandboxState;
  faults: FaultController;
  settings: OperationSettings;
  now: () => number;
}

/** The five vendor operations, as functions from a request to a response (errors are thrown). */
export function createOperations({ state, faults, settings, now }: OperationDeps) {
  function requireMailbox(publicId: string | undefined): MailboxRecord {
    const mailbox = publicId === undefined ? undefined : state.mailboxes.get(publicId);
    if (!mailbox) {
      throw new SandboxApiError(404, 'not_found', `Mailbox ${publicId ?? ''} not found.`, { param: 'public_id' });
    }
    return mailbox;
  }

  /** 200 with a weak ETag, or 304 without a body when If-None-Match already names it. */
  function conditional(req: OperationRequest, data: unknown): OperationResult {
    const etag = weakEtag(data);
    if (req.headers['if-none-match'] === etag) return { status: 304, headers: { etag } };
    return { ...success(200, req.requestId, data), headers: { etag } };
  }

  function listMailboxes(req: OperationRequest): OperationResult {
    const limit = parsePageSize(req.query.limit);
    const includeDeleted = parseIncludeDeleted(req.query.include_deleted);
    let after: { createdAtMs: number; seq: number } | undefined;
    if (req.query.cursor !== undefined) {
      after = decodeCursor(req.query.cursor);
      if (!after) {
        throw new SandboxApiError(400, 'invalid_parameter', '`cursor` is not a cursor this API issued; pass `pagination.next_cursor` from the previous page.', {
          param: 'cursor',
        });
      }
    }
    const ordered = [...state.mailboxes.values()]
      .filter((m) => includeDeleted || m.status !== 'deleted')
      .sort(compareNewestFirst);
    const rest = after === undefined ? ordered : ordered.filter((m) => compareNewestFirst(after!, m) < 0);
    const page = rest.slice(0, limit);
    const hasMore = rest.length > limit;
    const last = page[page.length - 1];
    const pagination = hasMore && last ? { has_more: true, next_cursor: encodeCursor(last) } : { has_more: false };
    return success(200, req.requestId, page.map(toWireMailbox), { pagination });
  }

  function getMailbox(req: OperationRequest): OperationResult {
    const mailbox = requireMailbox(req.params.public_id);
    return conditional(req, toWireMailbox(mailbox));
  }

  function mintMailboxKey(req: OperationRequest): OperationResult {
    const { appName } = parseMintBody(req.rawBody);
    const mailbox = requireMailbox(req.params.public_id);
    if (mailbox.status !== 'active') {
      throw new SandboxApiError(422, 'validation_error', `Mailbox ${mailbox.id} is ${mailbox.status}; keys can only be minted for active mailboxes.`, {
        param: 'public_id',
        retryable: false,
      });
    }
    assertCredentialCapacity(mailbox.id);
    // A credential-generation failure answers 201 with a null credential and creates no key. It is
    // deliberately NOT cached for idempotency (uncacheable), so a retry with the same
    // Idempotency-Key and body mints for real — the vendor's "POST again to retry".
    if (faults.take('mintMailboxKey', mailbox.id, ['nullCredential'])) {
      const data = settings.mintShape === 'legacy' ? { api_key: null, imap_smtp_credentials: null } : { credential: null };
      return { ...success(201, req.requestId, data), uncacheable: true };
    }
    const key = state.createKey({ mailboxId: mailbox.id, appName, idempotencyKey: req.idempotencyKey, requestId: req.requestId });
    state.mintLog.push({
      at: new Date(now()).toISOString(),
      mailboxId: mailbox.id,
      keyId: key.id,
      appName,
      idempotencyKey: req.idempotencyKey,
      requestId: req.requestId,
      shape: settings.mintShape,
    });
    const location = `${API_BASE_PATH}/mailboxes/${encodeURIComponent(mailbox.id)}/keys/${key.id}`;
    return { ...success(201, req.requestId, mintData(key, mailbox, settings.mintShape)), headers: { location } };
  }

  function assertCredentialCapacity(mailboxId: string): void {
    const perMailbox = settings.maxActiveKeysPerMailbox;
    if (perMailbox !== null && state.liveKeys(mailboxId).length >= perMailbox) {
      throw new SandboxApiError(409, 'limit_exceeded', `Mailbox ${mailboxId} already has ${perMailbox} active credential(s), the limit; revoke an old key to free a slot.`, {
        retryable: false,
      });
    }
    const perTeam = settings.maxActiveKeysPerTeam;
    if (perTeam !== null && state.liveKeys().length >= perTeam) {
      throw new SandboxApiError(409, 'limit_exceeded', `The team already has ${perTeam} active credential(s), the limit; revoke an old key to free a slot.`, {
        retryable: false,
      });
    }
  }

  function revokeMailboxKey(req: OperationRequest): OperationResult {
    const mailbox = requireMailbox(req.params.public_id);
    const keyId = req.params.key_id;
    const key = keyId === undefined ? undefined : state.keys.get(keyId);
    if (!key || key.mailboxId !== mailbox.id) {
      throw new SandboxApiError(404, 'not_found', `Key ${keyId ?? ''} not found for mailbox ${mailbox.id}.`, { param: 'key_id' });
    }
    const wasLive = key.status === 'live';
    state.revokeKey(key);
    state.revokeLog.push({
      at: new Date(now()).toISOString(),
      mailboxId: mailbox.id,
      keyId: key.id,
      wasLive,
      idempotencyKey: req.idempotencyKey,
      requestId: req.requestId,
    });
    return success(200, req.requestId, { deleted: true, id: key.id });
  }

  function getMailboxMe(req: OperationRequest): OperationResult {
    const key = req.mailboxKey;
    const mailbox = key ? state.mailboxes.get(key.mailboxId) : undefined;
    if (!key || !mailbox) throw new SandboxApiError(401, 'authentication_required', 'A live mailbox key is required.');
    const target = req.query.mailbox_id;
    if (target !== undefined && target !== mailbox.id) {
      throw new SandboxApiError(404, 'not_found', `Mailbox ${target} not found for this credential.`, { param: 'mailbox_id' });
    }
    // The wrongMailboxMe fault answers for another mailbox, as a broken or hostile vendor might.
    const answeredFor = faults.take('getMailboxMe', mailbox.id, ['wrongMailboxMe']) ? anotherMailbox(mailbox) : mailbox;
    const data = { ...toWireMailbox(answeredFor), quota_used_bytes: 0 };
    return conditional(req, data);
  }

  /** Any other mailbox the sandbox holds, or a made-up one when it holds only this one. */
  function anotherMailbox(mailbox: MailboxRecord): MailboxRecord {
    for (const other of state.mailboxes.values()) if (other.id !== mailbox.id) return other;
    return { ...mailbox, id: `${mailbox.id}_other`, email: `other-${mailbox.email}`, displayName: null };
  }

  return { listMailboxes, getMailbox, mintMailboxKey, revokeMailboxKey, getMailboxMe };
}

export type SandboxOperations = ReturnType<typeof createOperations>;

function mintData(key: KeyRecord, mailbox: MailboxRecord, shape: MintShape) {
  if (shape === 'legacy') {
    return {
      api_key: { public_id: key.id, key: key.secret, key_prefix: key.keyPrefix, key_suffix: key.keySuffix },
      imap_smtp_credentials: {
        server: SANDBOX_MAIL_SERVER,
        imap_port: SANDBOX_IMAP_PORT,
        smtp_port: SANDBOX_SMTP_PORT,
        username: mailbox.email,
        password: key.secret,
      },
    };
  }
  return {
    credential: {
      public_id: key.id,
      secret: key.secret,
      key_prefix: key.keyPrefix,
      key_suffix: key.keySuffix,
      server: SANDBOX_MAIL_SERVER,
      imap_port: SANDBOX_IMAP_PORT,
      smtp_port: SANDBOX_SMTP_PORT,
      username: mailbox.email,
    },
  };
}

function parsePageSize(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_PAGE_SIZE;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(value) || value < 1 || value > MAX_PAGE_SIZE) {
    throw new SandboxApiError(400, 'invalid_parameter', `\`limit\` must be an integer from 1 to ${MAX_PAGE_SIZE}, got "${raw}".`, {
      param: 'limit',
    });
  }
  return value;
}

function parseIncludeDeleted(raw: string | undefined): boolean {
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  throw new SandboxApiError(400, 'invalid_parameter', '`include_deleted` must be "true" (or omitted).', { param: 'include_deleted' });
}
