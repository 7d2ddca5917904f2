import type { FastifyReply, FastifyRequest } from 'fastify';
import { SandboxApiError, errorBody } from './envelope';
import type { OperationResult } from './envelope';
import type { FaultRule, SandboxOperation } from './types';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
/** Size of the 'hugeBody' fault's response: far beyond any sane management response. */
export const HUGE_BODY_BYTES = 5 * 1024 * 1024;

/** A response serialised once, so that what is cached for idempotency is exactly what was sent. */
export interface PreparedResponse {
  status: number;
  headers: Record<string, string>;
  contentType?: string;
  body?: string;
  /** Send none of the headers the API itself adds (request id, rate limit): a proxy answered. */
  withoutApiHeaders?: boolean;
}

const API_HEADERS = ['x-request-id', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'];

export function prepare(result: OperationResult, requestId: string): PreparedResponse {
  const headers: Record<string, string> = { 'x-request-id': requestId, ...result.headers };
  if (result.body === undefined) return { status: result.status, headers };
  return { status: result.status, headers, contentType: JSON_CONTENT_TYPE, body: JSON.stringify(result.body) };
}

export function prepareError(error: SandboxApiError, requestId: string): PreparedResponse {
  return prepare({ status: error.status, headers: error.extra.headers, body: errorBody(error, requestId) }, requestId);
}

export function send(reply: FastifyReply, response: PreparedResponse): FastifyReply {
  reply.code(response.status);
  if (response.withoutApiHeaders) for (const name of API_HEADERS) reply.removeHeader(name);
  for (const [name, value] of Object.entries(response.headers)) reply.header(name, value);
  if (response.body === undefined) return reply.send();
  return reply.type(response.contentType ?? JSON_CONTENT_TYPE).send(response.body);
}

/** Closes the TCP connection without an answer: the client sees a network error. */
export function dropConnection(request: FastifyRequest, reply: FastifyReply): void {
  reply.hijack();
  request.raw.socket.destroy();
}

/**
 * The broken or refused responses of the before-work faults. None of them does any work, so none
 * touches the idempotency cache: a retry with the same key is treated as the first attempt.
 */
export function faultResponse(fault: FaultRule, operation: SandboxOperation, requestId: string): PreparedResponse {
  switch (fault.kind) {
    case 'status500':
      return prepareError(new SandboxApiError(500, 'internal_error', 'Internal error (injected by the sandbox).'), requestId);
    case 'status503':
      return prepareError(
        new SandboxApiError(503, 'service_unavailable', 'Credential setup temporarily unavailable (injected by the sandbox).', {
          headers:
            fault.retryAfter !== undefined
              ? { 'retry-after': fault.retryAfter }
              : fault.retryAfterSeconds !== undefined
                ? { 'retry-after': String(fault.retryAfterSeconds) }
                : undefined,
        }),
        requestId,
      );
    case 'status429':
      return prepareError(
        new SandboxApiError(429, 'rate_limit_exceeded', 'Rate limit exceeded (injected by the sandbox).', {
          headers: { 'retry-after': fault.retryAfter ?? String(fault.retryAfterSeconds ?? 1), 'x-ratelimit-remaining': '0' },
        }),
        requestId,
      );
    case 'html502':
      // What a load balancer in front of the API sends: HTML, and none of the API's headers.
      return {
        status: 502,
        headers: {},
        withoutApiHeaders: true,
        contentType: 'text/html; charset=utf-8',
        body: '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n',
      };
    case 'okFalse200':
      return {
        ...prepareError(new SandboxApiError(500, 'internal_error', 'Internal error behind a 200 (injected by the sandbox).'), requestId),
        status: 200,
      };
    case 'hugeBody': {
      const envelope = JSON.stringify({ ok: true, data: { padding: '' }, meta: { request_id: requestId } });
      const body = envelope.replace('"padding":""', `"padding":"${'x'.repeat(HUGE_BODY_BYTES)}"`);
      return { status: operation === 'mintMailboxKey' ? 201 : 200, headers: { 'x-request-id': requestId }, contentType: JSON_CONTENT_TYPE, body };
    }
    default:
      throw new Error(`fault kind ${fault.kind} has no before-work response`);
  }
}
