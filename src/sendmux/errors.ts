import { scrubSecrets } from '../security/scrub-secrets';
import type { RateLimitInfo, SendmuxCallRecord } from './types';

export type SendmuxOperation = SendmuxCallRecord['operation'];

/** Everything a failed Sendmux call knows about itself. None of it may be a secret. */
export interface SendmuxErrorDetails {
  operation: SendmuxOperation;
  method: string;
  /** Request path relative to the base URL, without query string. */
  path: string;
  status: number | null;
  code: string;
  retryable: boolean;
  /** Human-readable reason: the vendor's message (sanitised) or our own description. */
  reason?: string;
  retryAfterMs?: number;
  requestId?: string;
  param?: string;
  rateLimit?: RateLimitInfo;
  mailboxId?: string;
  keyId?: string;
  cause?: unknown;
}

/**
 * Base of every error the Sendmux client throws after input validation passed.
 * The message and `toJSON()` are built only from the fields below, so logging or persisting
 * the error (BullMQ failedReason, pino `err`) cannot leak a key or a raw response body.
 */
export abstract class SendmuxError extends Error {
  readonly status: number | null;
  readonly code: string;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly requestId?: string;
  readonly operation: SendmuxOperation;
  readonly method: string;
  readonly path: string;
  readonly rateLimit: RateLimitInfo;
  readonly param?: string;
  readonly mailboxId?: string;
  readonly keyId?: string;
  /** The vendor's (sanitised) message or our own description, without the prefix. */
  readonly reason?: string;

  protected constructor(rawDetails: SendmuxErrorDetails) {
    // Reason and param may quote the vendor: whoever builds the error, nothing key-shaped survives.
    const details = scrubDetails(rawDetails);
    super(formatSendmuxErrorMessage(details), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.status = details.status;
    this.code = details.code;
    this.retryable = details.retryable;
    this.operation = details.operation;
    this.method = details.method;
    this.path = details.path;
    this.rateLimit = details.rateLimit ?? {};
    // Optional fields are only set when present so that pino's err serializer and toJSON stay compact.
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.requestId !== undefined) this.requestId = details.requestId;
    if (details.param !== undefined) this.param = details.param;
    if (details.mailboxId !== undefined) this.mailboxId = details.mailboxId;
    if (details.keyId !== undefined) this.keyId = details.keyId;
    if (details.reason !== undefined) this.reason = details.reason;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      operation: this.operation,
      method: this.method,
      path: this.path,
      status: this.status,
      code: this.code,
      retryable: this.retryable,
      retryAfterMs: this.retryAfterMs,
      requestId: this.requestId,
      param: this.param,
      mailboxId: this.mailboxId,
      keyId: this.keyId,
      rateLimit: this.rateLimit,
    };
  }
}

/** Sendmux answered with a non-2xx status. `code` is the envelope's code, or `http_<status>`. */
export class SendmuxApiError extends SendmuxError {
  constructor(details: SendmuxErrorDetails) {
    super(details);
  }
}

/** No usable HTTP response: `timeout` or `network_error`. Always retryable, `status` null. */
export class SendmuxTransportError extends SendmuxError {
  constructor(details: SendmuxErrorDetails) {
    super(details);
  }
}

/**
 * A 2xx that breaks the contract: `invalid_response` (not JSON, `ok:false`, schema mismatch,
 * oversized body) or `missing_credential` (mint answered without a usable credential).
 */
export class SendmuxProtocolError extends SendmuxError {
  constructor(details: SendmuxErrorDetails) {
    super(details);
  }
}

/** A caller passed a value the client refuses to send (thrown before any request). */
export class InvalidSendmuxInputError extends Error {
  readonly field: string;
  readonly value: string;

  constructor(field: string, value: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.field = field;
    this.value = value;
  }
}

/** An id (mailbox, key, idempotency key) that is not 1–255 characters of `[A-Za-z0-9_-]`. */
export class InvalidSendmuxIdError extends InvalidSendmuxInputError {}

export function isSendmuxError(e: unknown): e is SendmuxError {
  return e instanceof SendmuxError;
}

function scrubDetails(details: SendmuxErrorDetails): SendmuxErrorDetails {
  const scrubbed = { ...details };
  if (details.reason !== undefined) scrubbed.reason = scrubSecrets(details.reason);
  if (details.param !== undefined) scrubbed.param = scrubSecrets(details.param);
  return scrubbed;
}

function formatSendmuxErrorMessage(d: SendmuxErrorDetails): string {
  let subject = d.operation;
  if (d.mailboxId !== undefined) subject += ` ${d.mailboxId}`;
  if (d.keyId !== undefined) subject += ` key ${d.keyId}`;
  const outcome = d.status === null ? d.code : `${d.status} ${d.code}`;
  const reason = d.reason ? ` — ${d.reason}` : '';
  const request = d.requestId ? ` (request ${d.requestId})` : '';
  return `${subject}: ${outcome}${reason}${request}`;
}
