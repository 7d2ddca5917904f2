import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The header a caller (or a proxy) may set to correlate its request with our answer and logs. */
export const REQUEST_ID_HEADER = 'x-request-id';
/** The key the request's id has in each of its log lines. */
export const REQUEST_ID_LOG_KEY = 'requestId';

/**
 * What an incoming X-Request-Id may look like: 1-128 characters from A-Z a-z 0-9 . _ : -. Anything
 * else (too long, spaces, quotes, control characters that could forge a log line) is not used.
 */
const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function isValidRequestId(value: unknown): value is string {
  return typeof value === 'string' && VALID_REQUEST_ID.test(value);
}

/**
 * Fastify's genReqId: the caller's X-Request-Id when it is valid (a single header), otherwise a
 * fresh UUIDv4, so every request has an id whatever it sent.
 */
export function requestIdOf(raw: IncomingMessage): string {
  const sent = raw.headers[REQUEST_ID_HEADER];
  return isValidRequestId(sent) ? sent : randomUUID();
}

/** onRequest hook: every answer, including 401, 404 and errors, carries the request's id. */
export function echoRequestId(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  reply.header(REQUEST_ID_HEADER, request.id);
  done();
}
