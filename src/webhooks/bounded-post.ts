import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { addressRefusal, guardedLookup, RefusedDestinationError, type DestinationPolicy, type ResolveHost } from './destination-guard';
import { normaliseHost } from '../security/private-destinations';

/**
 * Most bytes of a webhook's answer that are read (64 KiB). Only the status and Retry-After
 * matter; past this the socket is closed, so a receiver that streams an endless body costs at
 * most this much memory.
 */
export const WEBHOOK_MAX_RESPONSE_BYTES = 64 * 1024;

export interface BoundedPostOptions {
  headers: Record<string, string>;
  body: string;
  /** The whole exchange (connect, send, headers, body) in ms; past it the socket is destroyed. */
  timeoutMs: number;
  /** Default WEBHOOK_MAX_RESPONSE_BYTES. */
  maxResponseBytes?: number;
  /** Shutdown: destroys the socket at once. */
  signal?: AbortSignal;
  policy: DestinationPolicy;
  resolve?: ResolveHost;
}

export interface BoundedPostAnswer {
  status: number;
  retryAfter: string | undefined;
  /** Why the body was not read to its end: it was over the limit, or the deadline passed. */
  cutShort?: 'too-large' | 'timeout';
}

/** No status line within timeoutMs. */
export class WebhookTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs}ms`);
    this.name = 'WebhookTimeoutError';
  }
}

/** Shut down while the request was in flight. */
export class WebhookCancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'WebhookCancelledError';
  }
}

// No keep-alive: webhooks are rare, and a socket is never left behind by a cut-short answer.
const httpAgent = new HttpAgent({ keepAlive: false });
const httpsAgent = new HttpsAgent({ keepAlive: false });

/**
 * POSTs `body` to `url` on node:http(s), bounded in bytes and time: at most maxResponseBytes of
 * the answer are read and nothing after timeoutMs, then the socket is destroyed. Redirects are
 * not followed. Every connection goes through the destination policy: an IP literal is checked
 * here, a name on each address it resolves to (guardedLookup), so a name that has come to resolve
 * to a private address is refused when the connection is made.
 *
 * Resolves with the status once headers arrived (also when the body was then cut short).
 * @throws RefusedDestinationError, WebhookTimeoutError, WebhookCancelledError, or the socket's error.
 */
export function boundedPost(url: URL, opts: BoundedPostOptions): Promise<BoundedPostAnswer> {
  const limit = opts.maxResponseBytes ?? WEBHOOK_MAX_RESPONSE_BYTES;
  const host = normaliseHost(url.hostname);
  if (isIP(host) !== 0) {
    // net skips `lookup` for an IP literal: check it here.
    const refusal = addressRefusal(host, opts.policy);
    if (refusal !== undefined) return Promise.reject(new RefusedDestinationError(host, host, refusal));
  }
  if (opts.signal?.aborted) return Promise.reject(new WebhookCancelledError());

  return new Promise<BoundedPostAnswer>((resolve, reject) => {
    let answer: { status: number; retryAfter: string | undefined } | undefined;
    let response: IncomingMessage | undefined;
    let done = false;
    const finish = (outcome: { ok: BoundedPostAnswer } | { error: unknown }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      // Whatever is left of the answer is not wanted: the socket goes.
      response?.destroy();
      request.destroy();
      if ('ok' in outcome) resolve(outcome.ok);
      else reject(outcome.error);
    };
    const cutShort = (why: 'too-large' | 'timeout', error: Error) => {
      if (answer) finish({ ok: { ...answer, cutShort: why } });
      else finish({ error });
    };
    const onAbort = () => finish({ error: new WebhookCancelledError() });

    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(url, {
      method: 'POST',
      headers: { ...opts.headers, 'content-length': String(Buffer.byteLength(opts.body)) },
      agent: url.protocol === 'https:' ? httpsAgent : httpAgent,
      lookup: guardedLookup(opts.policy, opts.resolve),
    });
    const timer = setTimeout(() => cutShort('timeout', new WebhookTimeoutError(opts.timeoutMs)), opts.timeoutMs);
    timer.unref();
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    request.on('error', (err) => finish({ error: err }));
    request.on('response', (res) => {
      response = res;
      const retryAfter = res.headers['retry-after'];
      answer = { status: res.statusCode ?? 0, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter };
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.byteLength;
        if (received > limit) cutShort('too-large', new Error(`answer over ${limit} bytes`));
      });
      res.on('end', () => finish({ ok: answer! }));
      res.on('error', (err) => (answer ? finish({ ok: answer }) : finish({ error: err })));
      // The receiver hung up mid-body: the status already arrived, and it is what counts.
      res.on('close', () => finish({ ok: answer! }));
    });
    request.end(opts.body);
  });
}
