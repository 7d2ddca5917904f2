/**
 * HTTP client for the five Sendmux Management/Mailbox API operations the rotator uses, on Node's
 * built-in fetch. Every response is validated; every failure becomes a typed SendmuxError whose
 * message and JSON never contain a key, a secret or a raw response body.
 */
import pino, { type Logger } from 'pino';
import {
  InvalidSendmuxInputError,
  SendmuxApiError,
  SendmuxError,
  SendmuxProtocolError,
  SendmuxTransportError,
  type SendmuxErrorDetails,
  type SendmuxOperation,
} from './errors';
import { positiveInteger } from '../shared/positive-integer';
import { parseRateLimit, readBodyWithinLimit } from './http-response';
import { DEFAULT_MAX_SERVER_DELAY_MS, parseRetryAfter } from '../retry/server-delay';
import { scrubSecrets } from '../security/scrub-secrets';
import { assertSendmuxId } from './ids';
import {
  SENDMUX_MAX_PAGE_SIZE,
  assertAppName,
  assertBearerToken,
  pageSize,
  parseBaseUrl,
  staticKeySource,
} from './request-validation';
import { ContractViolation, decodeMintedKey, isRecord, parseWire, toMailbox } from './response-decoders';
import type {
  ManagementKeySource,
  Mailbox,
  MailboxPage,
  MintedMailboxKey,
  RateLimitInfo,
  RevokedKey,
  SendmuxCallRecord,
  SendmuxResult,
} from './types';
import {
  apiErrorEnvelopeWireSchema,
  mailboxItemResponseWireSchema,
  mailboxKeyDeletedResponseWireSchema,
  mailboxListResponseWireSchema,
  mailboxMeItemResponseWireSchema,
} from './wire-schemas';

export type { ManagementKeySource } from './types';

export interface SendmuxClientOptions {
  /** e.g. https://app.sendmux.ai/api/v1 (a trailing slash is ignored). */
  baseUrl: string;
  managementKey: string | ManagementKeySource;
  /** Per request, covering headers and body. Default 10 000. */
  timeoutMs?: number;
  /** Larger bodies are rejected without buffering them. Default 1 MiB. */
  maxResponseBytes?: number;
  /** One line per HTTP exchange (debug on success, warn on failure). Default: silent. */
  logger?: Logger;
  /** Metrics hook, called once per HTTP exchange with the same data as the log line. */
  onCall?: (record: SendmuxCallRecord) => void;
  userAgent?: string;
  /**
   * Upper bound in ms for a Retry-After the vendor sends (`rotation.backoffMaxDelay`); a longer
   * one is cut to it, an unparseable or non-finite one ignored. Default 5 minutes.
   */
  maxServerDelayMs?: number;
  /** Unix ms an HTTP-date Retry-After is measured from. Default Date.now. */
  now?: () => number;
}

export const DEFAULT_SENDMUX_TIMEOUT_MS = 10_000;
export const DEFAULT_SENDMUX_MAX_RESPONSE_BYTES = 1024 * 1024;
export { SENDMUX_MAX_PAGE_SIZE };

const DEFAULT_USER_AGENT = 'sendmux-key-rotator';
const MAX_REASON_LENGTH = 300;

type HttpMethod = 'GET' | 'POST' | 'DELETE';

interface ResponseFacts {
  status: number;
  headers: Headers;
  rateLimit: RateLimitInfo;
}

interface CallSpec<T> {
  operation: SendmuxOperation;
  method: HttpMethod;
  /** Relative to baseUrl, ids already validated. */
  path: string;
  query?: URLSearchParams;
  body?: Record<string, unknown>;
  idempotencyKey?: string;
  /** Authenticate with this mailbox key instead of the management key. */
  mailboxKey?: string;
  mailboxId?: string;
  keyId?: string;
  decode(body: unknown, facts: ResponseFacts): T;
}

export class SendmuxClient {
  private readonly baseUrl: string;
  private readonly keySource: ManagementKeySource;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly logger: Logger;
  private readonly onCall: ((record: SendmuxCallRecord) => void) | undefined;
  private readonly userAgent: string;
  private readonly maxServerDelayMs: number;
  private readonly now: () => number;

  constructor(opts: SendmuxClientOptions) {
    this.baseUrl = parseBaseUrl(opts.baseUrl);
    this.keySource =
      typeof opts.managementKey === 'string' ? staticKeySource(opts.managementKey) : opts.managementKey;
    this.timeoutMs = positiveInteger('timeoutMs', opts.timeoutMs ?? DEFAULT_SENDMUX_TIMEOUT_MS);
    this.maxResponseBytes = positiveInteger('maxResponseBytes', opts.maxResponseBytes ?? DEFAULT_SENDMUX_MAX_RESPONSE_BYTES);
    this.logger = (opts.logger ?? pino({ level: 'silent' })).child({ component: 'sendmux-client' });
    this.onCall = opts.onCall;
    this.userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    this.maxServerDelayMs = opts.maxServerDelayMs ?? DEFAULT_MAX_SERVER_DELAY_MS;
    this.now = opts.now ?? Date.now;
  }

  async listMailboxes(
    opts: { cursor?: string; limit?: number; includeDeleted?: boolean } = {},
  ): Promise<SendmuxResult<MailboxPage>> {
    const query = new URLSearchParams();
    if (opts.cursor !== undefined) {
      if (opts.cursor.length === 0) {
        throw new InvalidSendmuxInputError('cursor', '', 'cursor must not be empty; omit it to read the first page');
      }
      query.set('cursor', opts.cursor);
    }
    if (opts.limit !== undefined) query.set('limit', String(pageSize('limit', opts.limit)));
    if (opts.includeDeleted) query.set('include_deleted', 'true');
    return this.call({
      operation: 'listMailboxes',
      method: 'GET',
      path: '/mailboxes',
      query,
      decode: (body) => {
        const parsed = parseWire(mailboxListResponseWireSchema, body);
        const page: MailboxPage = { mailboxes: parsed.data.map(toMailbox), hasMore: parsed.pagination.has_more };
        if (parsed.pagination.next_cursor !== undefined) page.nextCursor = parsed.pagination.next_cursor;
        return page;
      },
    });
  }

  /** Every mailbox, following cursors; stops with SendmuxProtocolError if the vendor's cursors do not advance. */
  async *listAllMailboxes(opts: { pageSize?: number; includeDeleted?: boolean } = {}): AsyncGenerator<Mailbox> {
    const limit = pageSize('pageSize', opts.pageSize ?? SENDMUX_MAX_PAGE_SIZE);
    const seenCursors = new Set<string>();
    let cursor: string | undefined;
    for (;;) {
      const request: { cursor?: string; limit: number; includeDeleted?: boolean } = { limit };
      if (cursor !== undefined) request.cursor = cursor;
      if (opts.includeDeleted !== undefined) request.includeDeleted = opts.includeDeleted;
      const { data: page, requestId, rateLimit, status } = await this.listMailboxes(request);
      yield* page.mailboxes;
      if (!page.hasMore) return;
      const next = page.nextCursor;
      if (next === undefined || next.length === 0 || seenCursors.has(next)) {
        throw new SendmuxProtocolError({
          operation: 'listMailboxes',
          method: 'GET',
          path: '/mailboxes',
          status,
          code: 'invalid_response',
          retryable: true,
          reason:
            next === undefined || next.length === 0
              ? 'pagination.has_more is true but next_cursor is missing'
              : 'pagination.next_cursor repeats a cursor already followed',
          ...(requestId === undefined ? {} : { requestId }),
          rateLimit,
        });
      }
      seenCursors.add(next);
      cursor = next;
    }
  }

  async getMailbox(mailboxId: string): Promise<SendmuxResult<Mailbox>> {
    assertSendmuxId('mailboxId', mailboxId);
    return this.call({
      operation: 'getMailbox',
      method: 'GET',
      path: `/mailboxes/${mailboxId}`,
      mailboxId,
      decode: (body) => toMailbox(parseWire(mailboxItemResponseWireSchema, body).data),
    });
  }

  /**
   * POST /mailboxes/{id}/keys. The body is exactly `{"app_name": appName}` and the idempotency key
   * travels only in the `Idempotency-Key` header, so a retry with the same arguments is a replay.
   */
  async mintMailboxKey(
    mailboxId: string,
    req: { appName: string; idempotencyKey: string },
  ): Promise<SendmuxResult<MintedMailboxKey>> {
    assertSendmuxId('mailboxId', mailboxId);
    assertSendmuxId('idempotencyKey', req.idempotencyKey);
    assertAppName(req.appName);
    return this.call({
      operation: 'mintMailboxKey',
      method: 'POST',
      path: `/mailboxes/${mailboxId}/keys`,
      body: { app_name: req.appName },
      idempotencyKey: req.idempotencyKey,
      mailboxId,
      decode: (body, facts) => decodeMintedKey(body, facts.headers.get('location')),
    });
  }

  async revokeMailboxKey(
    mailboxId: string,
    keyId: string,
    opts: { idempotencyKey?: string } = {},
  ): Promise<SendmuxResult<RevokedKey>> {
    assertSendmuxId('mailboxId', mailboxId);
    assertSendmuxId('keyId', keyId);
    if (opts.idempotencyKey !== undefined) assertSendmuxId('idempotencyKey', opts.idempotencyKey);
    return this.call({
      operation: 'revokeMailboxKey',
      method: 'DELETE',
      path: `/mailboxes/${mailboxId}/keys/${keyId}`,
      ...(opts.idempotencyKey === undefined ? {} : { idempotencyKey: opts.idempotencyKey }),
      mailboxId,
      keyId,
      decode: (body) => {
        const { data } = parseWire(mailboxKeyDeletedResponseWireSchema, body);
        return { deleted: data.deleted, id: data.id };
      },
    });
  }

  /** GET /mailbox/me authenticated with `mailboxKey` (not the management key): proves that key works. */
  async getMailboxMe(mailboxKey: string): Promise<SendmuxResult<Mailbox>> {
    assertBearerToken('mailboxKey', mailboxKey);
    return this.call({
      operation: 'getMailboxMe',
      method: 'GET',
      path: '/mailbox/me',
      mailboxKey,
      decode: (body) => toMailbox(parseWire(mailboxMeItemResponseWireSchema, body).data),
    });
  }

  private async call<T>(spec: CallSpec<T>): Promise<SendmuxResult<T>> {
    if (spec.mailboxKey !== undefined) return this.exchange(spec, spec.mailboxKey);

    const firstKey = await this.keySource.current();
    assertBearerToken('managementKey', firstKey);
    try {
      return await this.exchange(spec, firstKey);
    } catch (err) {
      const refresh = this.keySource.refresh?.bind(this.keySource);
      if (!(err instanceof SendmuxApiError && err.status === 401 && refresh)) throw err;
      this.logger.info(
        { operation: spec.operation, method: spec.method, path: spec.path, sendmuxRequestId: err.requestId },
        `${spec.operation}: management key rejected with 401; refreshing it and retrying once`,
      );
      let refreshedKey: string;
      try {
        refreshedKey = await refresh();
        assertBearerToken('managementKey', refreshedKey);
      } catch (refreshError) {
        // The refresh error comes from the key store and may describe the secret; log its kind only.
        this.logger.warn(
          { operation: spec.operation, refreshErrorName: errorName(refreshError) },
          `${spec.operation}: refreshing the management key failed; giving up after the 401`,
        );
        throw err;
      }
      return this.exchange(spec, refreshedKey);
    }
  }

  /** One HTTP request/response, logged and reported to onCall exactly once. */
  private async exchange<T>(spec: CallSpec<T>, bearer: string): Promise<SendmuxResult<T>> {
    const startedAt = performance.now();
    const headers: Record<string, string> = {
      authorization: `Bearer ${bearer}`,
      accept: 'application/json',
      'user-agent': this.userAgent,
    };
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    if (spec.idempotencyKey !== undefined) headers['idempotency-key'] = spec.idempotencyKey;
    const query = spec.query?.toString();
    const url = `${this.baseUrl}${spec.path}${query ? `?${query}` : ''}`;
    const signal = AbortSignal.timeout(this.timeoutMs);

    let response: Response;
    let body: Awaited<ReturnType<typeof readBodyWithinLimit>>;
    try {
      response = await fetch(url, {
        method: spec.method,
        headers,
        body: spec.body === undefined ? null : JSON.stringify(spec.body),
        signal,
        // A redirect would carry the bearer token somewhere the contract never mentions.
        redirect: 'manual',
      });
      body = await readBodyWithinLimit(response, this.maxResponseBytes);
    } catch (cause) {
      throw this.failed(spec, startedAt, bearer, transportFailure(cause, signal, this.timeoutMs));
    }

    const facts: ResponseFacts = {
      status: response.status,
      headers: response.headers,
      rateLimit: parseRateLimit(response.headers),
    };
    const headerRequestId = cleanRequestId(response.headers.get('x-request-id'));
    const parsedJson = body.kind === 'complete' ? parseJson(body.text) : { ok: false as const };
    const requestId = headerRequestId ?? (parsedJson.ok ? bodyRequestId(parsedJson.value) : undefined);
    const common = {
      status: response.status,
      rateLimit: facts.rateLimit,
      ...(requestId === undefined ? {} : { requestId }),
    };

    if (response.status < 200 || response.status > 299) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), { maxMs: this.maxServerDelayMs, nowMs: this.now() });
      throw this.failed(spec, startedAt, bearer, {
        kind: 'api',
        ...common,
        ...describeApiError(response.status, parsedJson, response.headers.get('content-type'), bearer),
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }

    let data: T;
    try {
      if (body.kind === 'too_large') {
        throw new ContractViolation('invalid_response', `response body exceeds ${body.limitBytes} bytes`);
      }
      if (!parsedJson.ok) {
        throw new ContractViolation(
          'invalid_response',
          `response body is not JSON (content-type ${describeContentType(response.headers.get('content-type'))})`,
        );
      }
      if (isRecord(parsedJson.value) && parsedJson.value['ok'] === false) {
        const envelope = apiErrorEnvelopeWireSchema.safeParse(parsedJson.value);
        const code = envelope.success ? cleanCode(envelope.data.error.code) : undefined;
        throw new ContractViolation(
          'invalid_response',
          `${response.status} response carried ok:false${code ? ` with error code ${code}` : ''}`,
        );
      }
      data = spec.decode(parsedJson.value, facts);
    } catch (violation) {
      if (!(violation instanceof ContractViolation)) throw violation;
      throw this.failed(spec, startedAt, bearer, {
        kind: 'protocol',
        ...common,
        code: violation.code,
        retryable: true,
        reason: violation.reason,
        ...(violation.keyId === undefined ? {} : { keyId: violation.keyId }),
      });
    }

    const durationMs = elapsedMs(startedAt);
    this.report(
      spec,
      { status: response.status, durationMs, rateLimit: facts.rateLimit, ...(requestId === undefined ? {} : { requestId }) },
      'debug',
      `${spec.operation}${subjectOf(spec)}: ${response.status}`,
    );
    return { data, status: response.status, requestId, rateLimit: facts.rateLimit };
  }

  private failed(spec: CallSpec<unknown>, startedAt: number, bearer: string, failure: Failure): SendmuxError {
    const keyId = spec.keyId ?? failure.keyId;
    const details: SendmuxErrorDetails = {
      operation: spec.operation,
      method: spec.method,
      path: spec.path,
      status: failure.status,
      code: failure.code,
      retryable: failure.retryable,
      rateLimit: failure.rateLimit ?? {},
      ...(failure.reason === undefined ? {} : { reason: redactSecrets(failure.reason, bearer) }),
      ...(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs }),
      ...(failure.requestId === undefined ? {} : { requestId: failure.requestId }),
      ...(failure.param === undefined ? {} : { param: redactSecrets(failure.param, bearer) }),
      ...(spec.mailboxId === undefined ? {} : { mailboxId: spec.mailboxId }),
      ...(keyId === undefined ? {} : { keyId }),
      ...(failure.cause === undefined ? {} : { cause: failure.cause }),
    };
    const error =
      failure.kind === 'api'
        ? new SendmuxApiError(details)
        : failure.kind === 'protocol'
          ? new SendmuxProtocolError(details)
          : new SendmuxTransportError(details);
    this.report(
      spec,
      {
        status: error.status,
        code: error.code,
        durationMs: elapsedMs(startedAt),
        rateLimit: error.rateLimit,
        ...(error.requestId === undefined ? {} : { requestId: error.requestId }),
      },
      'warn',
      error.message,
      { retryable: error.retryable, retryAfterMs: error.retryAfterMs, errorType: error.name },
    );
    return error;
  }

  private report(
    spec: CallSpec<unknown>,
    outcome: Pick<SendmuxCallRecord, 'status' | 'code' | 'requestId' | 'durationMs' | 'rateLimit'>,
    level: 'debug' | 'warn',
    message: string,
    extra: Record<string, unknown> = {},
  ): void {
    const record: SendmuxCallRecord = {
      operation: spec.operation,
      method: spec.method,
      path: spec.path,
      ...outcome,
      ...(spec.idempotencyKey === undefined ? {} : { idempotencyKey: spec.idempotencyKey }),
    };
    this.logger[level](
      {
        operation: record.operation,
        method: record.method,
        path: record.path,
        status: record.status,
        code: record.code,
        sendmuxRequestId: record.requestId,
        durationMs: record.durationMs,
        idempotencyKey: record.idempotencyKey,
        rateLimitRemaining: record.rateLimit.remaining,
        ...extra,
      },
      message,
    );
    if (!this.onCall) return;
    try {
      this.onCall(record);
    } catch (hookError) {
      // Metrics must never change the outcome of a Sendmux call.
      this.logger.warn(
        { operation: spec.operation, hookErrorName: errorName(hookError) },
        'sendmux onCall hook threw; ignoring it',
      );
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Failures

/** What a failed exchange established; the call site adds operation, method, path and mailbox. */
type Failure = { kind: 'api' | 'protocol' | 'transport' } & Omit<SendmuxErrorDetails, 'operation' | 'method' | 'path' | 'mailboxId'>;

function transportFailure(cause: unknown, signal: AbortSignal, timeoutMs: number): Failure {
  if (signal.aborted && isTimeoutReason(signal.reason)) {
    return {
      kind: 'transport',
      status: null,
      code: 'timeout',
      retryable: true,
      reason: `no complete response within ${timeoutMs} ms`,
      cause,
    };
  }
  return {
    kind: 'transport',
    status: null,
    code: 'network_error',
    retryable: true,
    reason: `request failed before a complete response (${networkErrorCode(cause)})`,
    cause,
  };
}

// Errors from fetch and AbortSignal are created in Node's own realm, so `instanceof Error` can be
// false for them (e.g. under Jest's VM sandbox): inspect their shape instead.
interface ErrorShape {
  name?: unknown;
  code?: unknown;
  cause?: unknown;
}

function errorShape(value: unknown): ErrorShape | undefined {
  return typeof value === 'object' && value !== null ? (value as ErrorShape) : undefined;
}

function isTimeoutReason(reason: unknown): boolean {
  return errorShape(reason)?.name === 'TimeoutError';
}

/** undici wraps socket errors as TypeError('fetch failed', { cause: { code: 'ECONNRESET' } }). */
function networkErrorCode(error: unknown): string {
  const seen = new Set<ErrorShape>();
  let current = errorShape(error);
  while (current !== undefined && !seen.has(current)) {
    seen.add(current);
    if (typeof current.code === 'string' && /^[A-Z0-9_]{2,64}$/.test(current.code)) return current.code;
    current = errorShape(current.cause);
  }
  const innermostName = [...seen].pop()?.name;
  return typeof innermostName === 'string' && /^[A-Za-z]{1,64}$/.test(innermostName) ? innermostName : 'unknown cause';
}

function errorName(error: unknown): string {
  const name = errorShape(error)?.name;
  return typeof name === 'string' ? name : typeof error;
}

function describeApiError(
  status: number,
  parsedJson: JsonParse,
  contentType: string | null,
  bearer: string,
): Pick<Failure, 'code' | 'retryable' | 'reason' | 'param'> {
  const defaultRetryable = status === 429 || status >= 500;
  const envelope = parsedJson.ok ? apiErrorEnvelopeWireSchema.safeParse(parsedJson.value) : undefined;
  const code = envelope?.success ? cleanCode(envelope.data.error.code) : undefined;
  if (!envelope?.success || code === undefined) {
    return {
      code: `http_${status}`,
      retryable: defaultRetryable,
      reason: `response was not a Sendmux error envelope (content-type ${describeContentType(contentType)})`,
    };
  }
  const { error } = envelope.data;
  return {
    code,
    retryable: error.retryable ?? defaultRetryable,
    reason: sanitizeVendorText(error.message, bearer) || '(no message)',
    ...(error.param === undefined ? {} : { param: sanitizeVendorText(error.param, bearer) }),
  };
}

// ------------------------------------------------------------------------------------------------
// Small helpers

type JsonParse = { ok: true; value: unknown } | { ok: false };

function parseJson(text: string): JsonParse {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function bodyRequestId(body: unknown): string | undefined {
  if (!isRecord(body) || !isRecord(body['meta'])) return undefined;
  const id = body['meta']['request_id'];
  return typeof id === 'string' ? cleanRequestId(id) : undefined;
}

function cleanRequestId(value: string | null): string | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  return /^[\x21-\x7e]{1,200}$/.test(trimmed) ? trimmed : undefined;
}

function cleanCode(code: string): string | undefined {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : undefined;
}

function describeContentType(value: string | null): string {
  const type = value?.split(';')[0]?.trim().toLowerCase();
  return type && /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type) ? type : 'none';
}

/** Vendor text is echoed in messages: flatten it, bound it and strip anything key-shaped. */
function sanitizeVendorText(text: string, bearer: string): string {
  const flat = redactSecrets(text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim(), bearer);
  return flat.length > MAX_REASON_LENGTH ? `${flat.slice(0, MAX_REASON_LENGTH)}…` : flat;
}

function redactSecrets(text: string, bearer: string): string {
  return scrubSecrets(text, [bearer]);
}

function subjectOf(spec: CallSpec<unknown>): string {
  return `${spec.mailboxId ? ` ${spec.mailboxId}` : ''}${spec.keyId ? ` key ${spec.keyId}` : ''}`;
}

function elapsedMs(startedAt: number): number {
  return Math.round(performance.now() - startedAt);
}

