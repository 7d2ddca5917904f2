import type { RedisClient } from '../queue/redis-connection';
import type { Logger } from 'pino';
import type { RotationAttemptEvent, RotatorEvent, RotatorEventSink } from '../rotation/events';
import { rotationFailedAlert, rotationRecoveredAlert, revocationFailedAlert, type AlertPayload } from './alert-payloads';
import { parseWebhookUrl, type WebhookTarget } from './webhook-url';

export interface AlertRetryPolicy {
  /** Tries per alert, the first included (default 5). */
  attempts: number;
  /** Delay before the second try; doubles on each further try (default 1000). */
  initialDelayMs: number;
  /** Cap on that delay (default 30000). */
  maxDelayMs: number;
}

export interface AlertNotifierOptions {
  /** Where alerts are POSTed. Without it, counters are still kept and nothing is sent. */
  webhookUrl?: string;
  redis: RedisClient;
  prefix: string;
  logger: Logger;
  /** Per request (default 5000). */
  timeoutMs?: number;
  retry?: AlertRetryPolicy;
  /** Alerts waiting for delivery; beyond it the oldest are dropped with a log line (default 1000). */
  maxQueued?: number;
  /** How long flush() and close() wait for deliveries before giving up on them (default 10000). */
  flushTimeoutMs?: number;
}

export const DEFAULT_ALERT_RETRY: AlertRetryPolicy = { attempts: 5, initialDelayMs: 1_000, maxDelayMs: 30_000 };
const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_QUEUED = 1_000;
const DEFAULT_FLUSH_TIMEOUT_MS = 10_000;

type MultiReply = Array<[Error | null, unknown]> | null;

type DeliveryResult = 'delivered' | 'rejected' | 'gave-up' | 'cancelled';

/**
 * Alerts an operator through a webhook when a rotation fails for good, when a mailbox recovers,
 * and when a revocation fails; keeps each mailbox's consecutive-failure count in Redis (shared by
 * replicas). Nothing here is in the job's path: `record` starts the work and returns; a dead or
 * slow webhook costs only background retries.
 */
export class AlertNotifier implements RotatorEventSink {
  private readonly redis: RedisClient;
  private readonly counterKey: string;
  private readonly log: Logger;
  private readonly target: WebhookTarget | undefined;
  private readonly timeoutMs: number;
  private readonly retry: AlertRetryPolicy;
  private readonly maxQueued: number;
  private readonly flushTimeoutMs: number;

  /** Resolves once every recorded event's Redis work is done and its alert (if any) is queued, in record order. */
  private ordered: Promise<void> = Promise.resolve();
  private readonly queue: AlertPayload[] = [];
  private draining: Promise<void> | undefined;
  private closed = false;
  private readonly shutdown = new AbortController();

  constructor(opts: AlertNotifierOptions) {
    if (!opts.prefix) throw new TypeError('prefix must be a non-empty string (the queue prefix)');
    this.redis = opts.redis;
    this.counterKey = `${opts.prefix}:alerts:consecutive-failures`;
    this.log = opts.logger.child({ component: 'alerts' });
    this.target = opts.webhookUrl ? parseWebhookUrl(opts.webhookUrl) : undefined;
    this.timeoutMs = positiveInteger(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'timeoutMs');
    this.retry = validRetry(opts.retry ?? DEFAULT_ALERT_RETRY);
    this.maxQueued = positiveInteger(opts.maxQueued ?? DEFAULT_MAX_QUEUED, 'maxQueued');
    this.flushTimeoutMs = positiveInteger(opts.flushTimeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS, 'flushTimeoutMs');
  }

  /** Where alerts go, safe to log: the origin only, or undefined when alerts are not posted. */
  get webhookOrigin(): string | undefined {
    return this.target?.origin;
  }

  record(event: RotatorEvent): void {
    try {
      if (this.closed) {
        this.log.warn({ jobId: event.jobId, mailboxId: event.mailboxId }, 'event recorded after the alert notifier was closed; ignored');
        return;
      }
      const alert = this.alertFor(event);
      if (!alert) return;
      // The Redis command is sent now (so counters move in record order); the queueing waits its turn.
      const prepared = alert.catch((err: unknown) => {
        this.log.error({ err: errorSummary(err), jobId: event.jobId, mailboxId: event.mailboxId }, 'could not prepare an alert');
        return null;
      });
      this.ordered = this.ordered.then(async () => {
        const payload = await prepared;
        if (payload) this.enqueue(payload);
      });
    } catch (err) {
      // A sink must never throw into the job.
      this.log.error({ err: errorSummary(err), jobId: (event as RotatorEvent | undefined)?.jobId }, 'alert notifier failed to record an event');
    }
  }

  /** Each mailbox's failures in a row, as every replica counted them. */
  async consecutiveFailures(): Promise<Map<string, number>> {
    const raw = await this.redis.hgetall(this.counterKey);
    const counts = new Map<string, number>();
    for (const [mailboxId, value] of Object.entries(raw)) {
      const n = Number.parseInt(value, 10);
      if (Number.isFinite(n) && n > 0) counts.set(mailboxId, n);
    }
    return counts;
  }

  /**
   * Waits until every event recorded so far has updated its counter and had its alert delivered
   * (or given up on), but no longer than `timeoutMs` (default: the flushTimeoutMs option).
   * Resolves true when everything finished, false on timeout.
   */
  async flush(timeoutMs: number = this.flushTimeoutMs): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
    });
    try {
      const finished = await Promise.race([this.settled().then(() => true as const), timedOut]);
      if (!finished) {
        this.log.warn({ queued: this.queue.length, delivering: this.draining !== undefined, timeoutMs }, 'alert flush timed out');
      }
      return finished;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops taking events, gives queued alerts up to flushTimeoutMs, then abandons the rest (logged). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const finished = await this.flush();
    if (!finished) {
      const abandoned = this.queue.splice(0);
      this.shutdown.abort();
      await this.draining;
      for (const alert of abandoned) {
        this.log.error({ type: alert.type, mailboxId: alert.mailboxId, jobId: alert.jobId }, 'alert not delivered before shutdown');
      }
    }
  }

  private async settled(): Promise<void> {
    for (;;) {
      const ordered = this.ordered;
      await ordered;
      await this.draining;
      if (ordered === this.ordered && this.queue.length === 0 && this.draining === undefined) return;
    }
  }

  /** Starts the Redis work for an event now; resolves to the alert to post, if any. */
  private alertFor(event: RotatorEvent): Promise<AlertPayload | null> | undefined {
    if (event.kind === 'revocation') {
      if (event.outcome !== 'failed') return undefined;
      return Promise.resolve(this.target ? revocationFailedAlert(event) : null);
    }
    if (event.outcome === 'failed') return this.countFailure(event);
    if (event.outcome === 'rotated') return this.resetFailures(event);
    return undefined;
  }

  private async countFailure(event: RotationAttemptEvent): Promise<AlertPayload | null> {
    let count: number | null;
    try {
      count = await this.redis.hincrby(this.counterKey, event.mailboxId, 1);
    } catch (err) {
      // The failure still deserves an alert; only its streak length is unknown.
      this.log.error({ err: errorSummary(err), mailboxId: event.mailboxId }, 'could not count a rotation failure in Redis');
      count = null;
    }
    return this.target ? rotationFailedAlert(event, count) : null;
  }

  /** HGET then HDEL in one MULTI: the reset is atomic, so two replicas cannot both announce the same recovery. */
  private async resetFailures(event: RotationAttemptEvent): Promise<AlertPayload | null> {
    let previous: number;
    try {
      const replies = (await this.redis
        .multi()
        .hget(this.counterKey, event.mailboxId)
        .hdel(this.counterKey, event.mailboxId)
        .exec()) as MultiReply;
      const [hgetError, value] = replies?.[0] ?? [new Error('transaction aborted'), null];
      if (hgetError) throw hgetError;
      previous = typeof value === 'string' ? Number.parseInt(value, 10) : 0;
    } catch (err) {
      this.log.error({ err: errorSummary(err), mailboxId: event.mailboxId }, 'could not reset the consecutive-failure count in Redis');
      return null;
    }
    if (!(previous > 0)) return null;
    return this.target ? rotationRecoveredAlert(event, previous) : null;
  }

  private enqueue(alert: AlertPayload): void {
    if (this.shutdown.signal.aborted) {
      this.log.error({ type: alert.type, mailboxId: alert.mailboxId, jobId: alert.jobId }, 'alert not delivered: the notifier is shut down');
      return;
    }
    this.queue.push(alert);
    while (this.queue.length > this.maxQueued) {
      const dropped = this.queue.shift()!;
      this.log.error(
        { type: dropped.type, mailboxId: dropped.mailboxId, jobId: dropped.jobId, maxQueued: this.maxQueued },
        'alert dropped: too many alerts waiting for the webhook',
      );
    }
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  /** One delivery at a time, so a mailbox's failure always arrives before its recovery. */
  private async drain(): Promise<void> {
    for (let alert = this.queue.shift(); alert; alert = this.queue.shift()) {
      await this.deliver(alert);
      if (this.shutdown.signal.aborted) return;
    }
  }

  private async deliver(alert: AlertPayload): Promise<DeliveryResult> {
    const target = this.target!;
    const context = { type: alert.type, mailboxId: alert.mailboxId, jobId: alert.jobId, webhook: target.origin };
    const body = JSON.stringify(alert);
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.post(target, body);
      if (outcome.kind === 'ok') {
        this.log.info({ ...context, attempt, status: outcome.status }, 'alert delivered');
        return 'delivered';
      }
      if (outcome.kind === 'cancelled') return 'cancelled';
      if (outcome.kind === 'rejected') {
        this.log.error({ ...context, attempt, status: outcome.status }, 'alert rejected by the webhook; not retrying (check the webhook URL and its permissions)');
        return 'rejected';
      }
      if (attempt >= this.retry.attempts) {
        this.log.error({ ...context, attempts: attempt, problem: outcome.problem }, 'alert not delivered: giving up after the last try');
        return 'gave-up';
      }
      const delayMs = Math.min(this.retry.initialDelayMs * 2 ** (attempt - 1), this.retry.maxDelayMs);
      this.log.warn({ ...context, attempt, problem: outcome.problem, retryInMs: delayMs }, 'alert delivery failed; will retry');
      if (!(await this.sleep(delayMs))) return 'cancelled';
    }
  }

  private async post(
    target: WebhookTarget,
    body: string,
  ): Promise<{ kind: 'ok'; status: number } | { kind: 'rejected'; status: number } | { kind: 'retry'; problem: string } | { kind: 'cancelled' }> {
    const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.timeoutMs)]);
    try {
      const response = await fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal,
        redirect: 'error',
      });
      // Read the body so the connection can be reused; its content does not matter.
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return { kind: 'ok', status: response.status };
      if (response.status === 408 || response.status === 429 || response.status >= 500) {
        return { kind: 'retry', problem: `HTTP ${response.status}` };
      }
      return { kind: 'rejected', status: response.status };
    } catch (err) {
      if (this.shutdown.signal.aborted) return { kind: 'cancelled' };
      if (signal.aborted) return { kind: 'retry', problem: `no answer within ${this.timeoutMs}ms` };
      return { kind: 'retry', problem: target.scrub(describeFetchError(err)) };
    }
  }

  /** Resolves true after `ms`, or false at once if the notifier is shut down meanwhile. */
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

function errorSummary(err: unknown): { name?: string; message: string } {
  const { name, message } = (err ?? {}) as { name?: unknown; message?: unknown };
  return typeof message === 'string' ? { name: typeof name === 'string' ? name : undefined, message } : { message: String(err) };
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer (got ${String(value)})`);
  return value;
}

function validRetry(retry: AlertRetryPolicy): AlertRetryPolicy {
  positiveInteger(retry.attempts, 'retry.attempts');
  if (!Number.isInteger(retry.initialDelayMs) || retry.initialDelayMs < 0) {
    throw new RangeError(`retry.initialDelayMs must be a non-negative integer (got ${String(retry.initialDelayMs)})`);
  }
  if (!Number.isInteger(retry.maxDelayMs) || retry.maxDelayMs < retry.initialDelayMs) {
    throw new RangeError(`retry.maxDelayMs must be an integer no smaller than retry.initialDelayMs (got ${String(retry.maxDelayMs)})`);
  }
  return { ...retry };
}
