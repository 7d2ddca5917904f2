import type { FastifyReply, FastifyRequest } from 'fastify';
import { pathOf } from './errors';

/** Query parameters whose values are logged as sent; every other value is masked (it might be a token). */
const LOGGABLE_QUERY_PARAMS: ReadonlySet<string> = new Set(['limit', 'status', 'page', 'jobsPerPage', 'activeQueue', 'state']);

/** Probes and scrapes arrive every few seconds; they are logged at debug so they don't drown the rest. */
const QUIET_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** The request target for the log: the path, and the query string with unknown values masked. */
export function loggableUrl(request: FastifyRequest): string {
  const url = request.raw.url ?? request.url;
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  const shown = [...params].map(([name, value]) => `${name}=${LOGGABLE_QUERY_PARAMS.has(name) ? value : '[REDACTED]'}`);
  return `${url.slice(0, q)}?${shown.join('&')}`;
}

/**
 * One line per request, written when the response is sent (Fastify's own two-line request
 * logging is turned off). Headers are never logged, so neither is the Authorization header.
 */
export function logRequest(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  const line = {
    method: request.method,
    url: loggableUrl(request),
    statusCode: reply.statusCode,
    responseTimeMs: Math.round(reply.elapsedTime * 10) / 10,
    remoteAddress: request.ip,
  };
  if (QUIET_PATHS.has(pathOf(request)) && reply.statusCode < 400) request.log.debug(line, 'http request');
  else request.log.info(line, 'http request');
  done();
}
