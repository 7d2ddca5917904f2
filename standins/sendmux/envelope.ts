/** The vendor's response envelopes: `{ok:true,data,meta}` and `{ok:false,error,meta}`. */

export type ApiErrorCode =
  | 'invalid_parameter'
  | 'missing_parameter'
  | 'authentication_required'
  | 'insufficient_permissions'
  | 'not_found'
  | 'conflict'
  | 'limit_exceeded'
  | 'idempotency_conflict'
  | 'payload_too_large'
  | 'validation_error'
  | 'rate_limit_exceeded'
  | 'service_unavailable'
  | 'internal_error';

export interface ApiErrorDetail {
  field: string;
  code: string;
  message: string;
}

/** A vendor-style error; thrown by operations and turned into an envelope by the server. */
export class SandboxApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly extra: {
      param?: string;
      retryable?: boolean;
      errors?: ApiErrorDetail[];
      headers?: Record<string, string>;
    } = {},
  ) {
    super(message);
    this.name = 'SandboxApiError';
  }

  get retryable(): boolean {
    return this.extra.retryable ?? (this.status >= 500 || this.status === 429);
  }
}

/** A response ready to send: status, extra headers and a JSON body (or none, for 304). */
export interface OperationResult {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** True for responses that must never be cached for idempotency (e.g. a null credential). */
  uncacheable?: boolean;
}

export function success(status: number, requestId: string, data: unknown, more: Record<string, unknown> = {}): OperationResult {
  return { status, body: { ok: true, data, ...more, meta: { request_id: requestId } } };
}

export function errorBody(error: SandboxApiError, requestId: string) {
  return {
    ok: false as const,
    error: {
      code: error.code,
      message: error.message,
      retryable: error.retryable,
      ...(error.extra.param !== undefined ? { param: error.extra.param } : {}),
      ...(error.extra.errors !== undefined ? { errors: error.extra.errors } : {}),
    },
    meta: { request_id: requestId },
  };
}

export function errorResult(error: SandboxApiError, requestId: string): OperationResult {
  return { status: error.status, headers: error.extra.headers, body: errorBody(error, requestId) };
}
