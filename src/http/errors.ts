import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/** Every error the server answers with has this shape; never a stack trace. */
export interface ErrorBody {
  error: string;
  message: string;
  [extra: string]: unknown;
}

export function sendError(
  reply: FastifyReply,
  status: number,
  error: string,
  message: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ error, message, ...extra } satisfies ErrorBody);
}

/** The request path without its query string, safe to echo and log (a query string may carry anything). */
export function pathOf(request: FastifyRequest): string {
  const url = request.raw.url ?? request.url;
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * Translates Fastify's own errors (body parsing, content type, limits) into `{error, message}`
 * bodies that say what to do; anything unexpected becomes an opaque 500 that points at the log.
 */
export function createErrorHandler(opts: { bodyLimitBytes: number }) {
  return function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(
          reply,
          413,
          'body_too_large',
          `the request body is larger than ${opts.bodyLimitBytes} bytes; send a smaller body ` +
            '(at most 1000 mailboxIds per request, or {"all": true})',
        );
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(
          reply,
          415,
          'unsupported_media_type',
          `content type ${JSON.stringify(request.headers['content-type'] ?? '')} is not accepted; ` +
            'send a JSON body with "Content-Type: application/json"',
        );
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendError(reply, 400, 'invalid_json', 'the body is empty but Content-Type is application/json; send a JSON object or drop the header');
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return sendError(reply, 400, 'invalid_json', 'the body is not valid JSON; send a JSON object such as {"mailboxIds": ["mbx_123"]}');
      default:
        break;
    }
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status >= 400 && status < 500) {
      // Fastify's client errors carry fixed, input-free messages (e.g. forbidden prototype property).
      return sendError(reply, status, clientErrorName(error), error.message);
    }
    request.log.error({ err: error }, 'request failed');
    return sendError(reply, 500, 'internal_error', `the server failed to handle the request; see the server log for request id ${request.id}`);
  };
}

function clientErrorName(error: FastifyError): string {
  if (error.code?.startsWith('FST_ERR_CTP_')) return 'invalid_body';
  return 'bad_request';
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendError(reply, 404, 'not_found', `there is no ${request.method} ${pathOf(request)} route`);
}
