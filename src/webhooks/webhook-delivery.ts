import type { Logger } from 'pino';
import type { WebhookTarget } from '../alerts/webhook-url';
import { positiveInteger } from '../shared/positive-integer';
import { DEFAULT_MAX_SERVER_DELAY_MS, parseRetryAfter } from '../retry/server-delay';

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
  /** Per request (default 5000). */
  timeoutMs?: number;
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

export type DeliveryResult = 'delivered' | 'rejected' | 'gave-up' | 'cancelled';

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
    | { kind: 'retry'; problem: string; retryAfterMs?: number }
    | { kind: 'cancelled' }
  > {
    const target = this.target;
    const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.timeoutMs)]);
    try {
      const response = await fetch(target.url, {
        method: 'POST',
        headers: { ...this.headers, ...(message.headers?.() ?? {}) },
        body: message.body,
        signal,
        // A redirect is answered like any other 4xx: not followed (it could point anywhere), not retried.
        redirect: 'manual',
      });
      // Read the body so the connection can be reused; its content does not matter.
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return { kind: 'ok', status: response.status };
      if (response.status === 408 || response.status === 429 || response.status >= 500) {
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), { maxMs: this.maxServerDelayMs });
        return { kind: 'retry', problem: `HTTP ${response.status}`, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
      }
      return { kind: 'rejected', status: response.status };
    } catch (err) {
      if (this.shutdown.signal.aborted) return { kind: 'cancelled' };
      if (signal.aborted) return { kind: 'retry', problem: `no answer within ${this.timeoutMs}ms` };
      return { kind: 'retry', problem: target.scrub(describeFetchError(err)) };
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


/** Duck-typed: fetch's errors come from another realm under some runners, so `instanceof Error` is unreliable. */
function describeFetchError(err: unknown): string {
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
