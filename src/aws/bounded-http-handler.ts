import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import type { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * Most bytes of one Secrets Manager answer the rotator reads (1 MiB). A secret value is at most
 * 65,536 bytes (AWS "Secrets Manager quotas"); a ListSecrets or ListSecretVersionIds page of 100
 * entries is a few tens of KiB. Past this the socket is closed.
 */
export const SECRETS_MANAGER_MAX_RESPONSE_BYTES = 1024 * 1024;

type Handle = NodeHttpHandler['handle'];

export interface ResponseBounds {
  /** Default SECRETS_MANAGER_MAX_RESPONSE_BYTES. */
  maxResponseBytes?: number;
  /** The whole exchange including the body, in ms. NodeHttpHandler's requestTimeout stops at the headers. */
  deadlineMs: number;
}

/**
 * Wraps NodeHttpHandler so every answer is read to at most maxResponseBytes and within deadlineMs
 * of the request's start; beyond either, the body stream fails (TimeoutError or
 * ResponseTooLargeError, which the SDK surfaces as the call's error) and the socket is destroyed.
 * The SDK reads bodies whole (collectBody), so without this an endless or trickling answer from
 * the endpoint would hold memory or the job without end.
 */
export function boundResponses(handler: NodeHttpHandler, bounds: ResponseBounds): NodeHttpHandler {
  const limit = bounds.maxResponseBytes ?? SECRETS_MANAGER_MAX_RESPONSE_BYTES;
  const inner: Handle = handler.handle.bind(handler);
  const handle: Handle = async (request, options = {}) => {
    const startedAt = Date.now();
    const result = await inner(request, options);
    const source = result.response.body as IncomingMessage | undefined;
    if (!source || typeof source.pipe !== 'function') return result;
    let received = 0;
    const fail = (error: Error) => {
      clearTimeout(timer);
      source.destroy();
      bounded.destroy(error);
    };
    const bounded = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.byteLength;
        if (received > limit) {
          callback();
          fail(Object.assign(new Error(`Secrets Manager answer over ${limit} bytes; connection closed`), { name: 'ResponseTooLargeError' }));
          return;
        }
        callback(null, chunk);
      },
    });
    const left = Math.max(0, bounds.deadlineMs - (Date.now() - startedAt));
    const timer = setTimeout(
      () => fail(Object.assign(new Error(`no complete Secrets Manager answer within ${bounds.deadlineMs} ms`), { name: 'TimeoutError', code: 'ETIMEDOUT' })),
      left,
    );
    timer.unref();
    bounded.on('close', () => clearTimeout(timer));
    source.on('error', (err) => fail(err));
    source.pipe(bounded);
    result.response.body = bounded;
    return result;
  };
  return Object.assign(handler, { handle });
}
