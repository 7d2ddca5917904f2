import type { Logger } from 'pino';
import type { WebhookTarget } from '../alerts/webhook-url';
import { positiveInteger } from '../shared/positive-integer';
import { DEFAULT_MAX_SERVER_DELAY_MS, parseRetryAfter } from '../retry/server-delay';
import { boundedPost, WEBHOOK_MAX_RESPONSE_BYTES, WebhookCancelledError, WebhookTimeoutError } from './bounded-post';
import { RefusedDestinationError, type ResolveHost } from './destination-guard';

export interface WebhookRetryPolicy {
  /** Tries per message, the first included (default 5). */
  attempts: number;
  /** Delay before the second try; doubles on each further try (default 1000). */
  initialDelayMs: number;
  /** Cap on that delay (default 30000). */
  maxDelayMs: number;
}

/** One message to POST. */
export interface WebhookMessage {
  /** The JSON body, sent as is on every try. */
  body: string;
  /** Extra headers, computed per try (a signature carries the try's timestamp). */
  headers?: () => Record<string, string>;
  /** Safe-to-log fields naming the message (type, mailbox, job); never a secret. */
  context: Record<string, unknown>;
}

export interface WebhookDeliveryOptions {
  target: WebhookTarget;
  logger: Logger;
  /** What a message is called in log lines: "alert", "notification". */
  noun: string;
  /** Per request, the whole exchange including the answer's body (default 5000). */
  timeoutMs?: number;
  /** Most bytes of an answer read before the socket is closed (default WEBHOOK_MAX_RESPONSE_BYTES, 64 KiB). */
  maxResponseBytes?: number;
  /** Name resolution for connections (default: the system resolver). Every address is checked against the target's policy. */
  resolve?: ResolveHost;
  retry?: WebhookRetryPolicy;
  /** Messages waiting for delivery; beyond it the oldest are dropped with a log line (default 1000). */
  maxQueued?: number;
  /** Extra headers on every POST (e.g. `alerts.webhookHeaders`, values already read from the environment). */
  headers?: Record<string, string>;
  /** Upper bound in ms for a webhook's own Retry-After (`rotation.backoffMaxDelay`). Default 5 minutes. */
  maxServerDelayMs?: number;
}

export const DEFAULT_WEBHOOK_RETRY: WebhookRetryPolicy = { attempts: 5, initialDelayMs: 1_000, maxDelayMs: 30_000 };
const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_QUEUED = 1_000;

export type DeliveryResult = 'delivered' | 'rejected' | 'refused' | 'gave-up' | 'cancelled';

/**
 * Delivers webhook messages in the background, one at a time and in order, retrying transient
 * failures (network, timeout, 408, 429, 5xx) with capped exponential backoff. Another 4xx is a
 * configuration problem: logged, not retried. Shared by the operator alerts and the consumer
 * notifications so both behave alike; nothing here is in a job's path.
 */
export class WebhookDelivery {
  private readonly target: WebhookTarget;
  private readonly log: Logger;
  private readonly noun: string;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly resolve: ResolveHost | undefined;
  private readonly retry: WebhookRetryPolicy;
  private readonly maxQueued: number;
  private readonly headers: Record<string, string>;
  private readonly maxServerDelayMs: number;
  private readonly queue: WebhookMessage[] = [];
  private draining: Promise<void> | undefined;
  private readonly shutdown = new AbortController();

  constructor(opts: WebhookDeliveryOptions) {
    this.target = opts.target;
    this.log = opts.logger;
    this.noun = opts.noun;
    this.timeoutMs = positiveInteger('timeoutMs', opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.maxResponseBytes = positiveInteger('maxResponseBytes', opts.maxResponseBytes ?? WEBHOOK_MAX_RESPONSE_BYTES);
    this.resolve = opts.resolve;
    this.retry = validRetry(opts.retry ?? DEFAULT_WEBHOOK_RETRY);
    this.maxQueued = positiveInteger('maxQueued', opts.maxQueued ?? DEFAULT_MAX_QUEUED);
    this.headers = { ...opts.headers, 'content-type': 'application/json' };
    this.maxServerDelayMs = opts.maxServerDelayMs ?? DEFAULT_MAX_SERVER_DELAY_MS;
  }

  /** Scheme, host and port of the target: safe for logs. */
  get origin(): string {
    return this.target.origin;
  }

  /** Whether nothing is waiting or being delivered. */
  get idle(): boolean {
    return this.queue.length === 0 && this.draining === undefined;
  }

  get queued(): number {
    return this.queue.length;
  }

  /**
   * Queues a message and starts delivering in the background. Returns at once. The body is sent
   * as given (a signature may cover it): scrub it before, as the senders do.
   */
  enqueue(message: WebhookMessage): void {
    if (this.shutdown.signal.aborted) {
      this.log.error(message.context, `${this.noun} not delivered: the sender is shut down`);
      return;
    }
    this.queue.push(message);
    while (this.queue.length > this.maxQueued) {
      const dropped = this.queue.shift()!;
      this.log.error({ ...dropped.context, maxQueued: this.maxQueued }, `${this.noun} dropped: too many ${this.noun}s waiting for the webhook`);
    }
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  /** Resolves when the queue is empty and nothing is in flight. */
  async settled(): Promise<void> {
    while (!this.idle) await this.draining;
  }

  /** Gives up on everything queued (each logged) and cancels the delivery in flight. */
  async abandon(): Promise<void> {
    const abandoned = this.queue.splice(0);
    this.shutdown.abort();
    await this.draining;
    for (const message of abandoned) this.log.error(message.context, `${this.noun} not delivered before shutdown`);
  }

  /** One delivery at a time, so messages about one mailbox arrive in the order they happened. */
  private async drain(): Promise<void> {
    for (let message = this.queue.shift(); message; message = this.queue.shift()) {
      await this.deliver(message);
      if (this.shutdown.signal.aborted) return;
    }
  }

  private async deliver(message: WebhookMessage): Promise<DeliveryResult> {
    const context = { ...message.context, webhook: this.target.origin };
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.post(message);
      if (outcome.kind === 'ok') {
        this.log.info({ ...context, attempt, status: outcome.status }, `${this.noun} delivered`);
        return 'delivered';
      }
      if (outcome.kind === 'cancelled') return this.cancelled(context);
      if (outcome.kind === 'refused') {
        // A destination the policy refuses does not become allowed by trying again soon.
        this.log.error({ ...context, attempt, reason: outcome.reason }, `${this.noun} not delivered: destination refused (${outcome.reason})`);
        return 'refused';
      }
      if (outcome.kind === 'rejected') {
        this.log.error(
          { ...context, attempt, status: outcome.status },
          `${this.noun} rejected by the webhook; not retrying (check the webhook URL, its permissions and its signing secret)`,
        );
        return 'rejected';
      }
      if (attempt >= this.retry.attempts) {
        this.log.error({ ...context, attempts: attempt, problem: outcome.problem }, `${this.noun} not delivered: giving up after the last try`);
        return 'gave-up';
      }
      // The webhook's own Retry-After (bounded) wins over our backoff when it asks for longer.
      const backoffMs = Math.min(this.retry.initialDelayMs * 2 ** (attempt - 1), this.retry.maxDelayMs);
      const delayMs = Math.max(backoffMs, outcome.retryAfterMs ?? 0);
      this.log.warn({ ...context, attempt, problem: outcome.problem, retryInMs: delayMs }, `${this.noun} delivery failed; will retry`);
      if (!(await this.sleep(delayMs))) return this.cancelled(context);
    }
  }

  private async post(
    message: WebhookMessage,
  ): Promise<
    | { kind: 'ok'; status: number }
    | { kind: 'rejected'; status: number }
    | { kind: 'refused'; reason: string }
    | { kind: 'retry'; problem: string; retryAfterMs?: number }
    | { kind: 'cancelled' }
  > {
    const target = this.target;
    try {
      // A redirect is answered like any other 4xx: not followed (it could point anywhere), not retried.
      const answer = await boundedPost(target.url, {
        headers: { ...this.headers, ...(message.headers?.() ?? {}) },
        body: message.body,
        timeoutMs: this.timeoutMs,
        maxResponseBytes: this.maxResponseBytes,
        signal: this.shutdown.signal,
        policy: target.policy,
        ...(this.resolve === undefined ? {} : { resolve: this.resolve }),
      });
      if (answer.cutShort !== undefined) {
        this.log.warn(
          { ...message.context, webhook: target.origin, status: answer.status, maxResponseBytes: this.maxResponseBytes, timeoutMs: this.timeoutMs },
          answer.cutShort === 'too-large'
            ? `webhook answer over ${this.maxResponseBytes} bytes; connection closed (only the status is used)`
            : `webhook answer body not finished within ${this.timeoutMs}ms; connection closed (only the status is used)`,
        );
      }
      const { status } = answer;
      if (status >= 200 && status <= 299) return { kind: 'ok', status };
      if (status === 408 || status === 429 || status >= 500) {
        const retryAfterMs = parseRetryAfter(answer.retryAfter ?? null, { maxMs: this.maxServerDelayMs });
        return { kind: 'retry', problem: `HTTP ${status}`, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
      }
      return { kind: 'rejected', status };
    } catch (err) {
      if (err instanceof WebhookCancelledError || this.shutdown.signal.aborted) return { kind: 'cancelled' };
      if (err instanceof RefusedDestinationError) return { kind: 'refused', reason: err.message };
      if (err instanceof WebhookTimeoutError) return { kind: 'retry', problem: err.message };
      return { kind: 'retry', problem: target.scrub(describeSocketError(err)) };
    }
  }

  /** The message in flight at shutdown: named in the log like the queued ones abandon() drops. */
  private cancelled(context: Record<string, unknown>): DeliveryResult {
    this.log.error(context, `${this.noun} not delivered before shutdown`);
    return 'cancelled';
  }

  /** Resolves true after `ms`, or false at once if the sender is shut down meanwhile. */
  private sleep(ms: number): Promise<boolean> {
    const signal = this.shutdown.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      timer.unref();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}


/** Duck-typed: socket errors may come from another realm under some runners, so `instanceof Error` is unreliable. */
function describeSocketError(err: unknown): string {
  const { message, cause } = (err ?? {}) as { message?: unknown; cause?: unknown };
  const { message: causeMessage, code } = (cause ?? {}) as { message?: unknown; code?: unknown };
  if (typeof code === 'string') return typeof causeMessage === 'string' && causeMessage ? `${code}: ${causeMessage}` : code;
  if (typeof causeMessage === 'string' && causeMessage) return causeMessage;
  return typeof message === 'string' ? message : String(err);
}


function validRetry(retry: WebhookRetryPolicy): WebhookRetryPolicy {
  positiveInteger('retry.attempts', retry.attempts);
  if (!Number.isInteger(retry.initialDelayMs) || retry.initialDelayMs < 0) {
    throw new RangeError(`retry.initialDelayMs must be a non-negative integer (got ${String(retry.initialDelayMs)})`);
  }
  if (!Number.isInteger(retry.maxDelayMs) || retry.maxDelayMs < retry.initialDelayMs) {
    throw new RangeError(`retry.maxDelayMs must be an integer no smaller than retry.initialDelayMs (got ${String(retry.maxDelayMs)})`);
  }
  return { ...retry };
}
