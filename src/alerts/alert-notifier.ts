import type { RedisClient } from '../queue/redis-connection';
import type { Logger } from 'pino';
import { positiveInteger } from '../shared/positive-integer';
import { errorSummary } from '../logging/error-summary';
import type { RotationAttemptEvent, RotatorEvent, RotatorEventSink } from '../rotation/events';
import { rotationFailedAlert, rotationRecoveredAlert, revocationFailedAlert, revocationOverdueAlert, revocationRefusedAlert, type AlertPayload } from './alert-payloads';
import { parseWebhookUrl } from './webhook-url';
import { scrubSecrets } from '../security/scrub-secrets';
import {
  DEFAULT_WEBHOOK_RETRY,
  WebhookDelivery,
  type WebhookRetryPolicy,
} from '../webhooks/webhook-delivery';
import { settlesWithin } from '../shared/deadline';
import { randomUUID } from 'node:crypto';
import { WebhookSigner } from '../webhooks/webhook-signing';
import type { ResolveHost } from '../webhooks/destination-guard';
import { BookkeepingWrites } from '../queue/bookkeeping-writes';

/** How alerts are retried: the shared webhook retry policy. */

/** Failed attempts of a revocation before `revocation_overdue` is posted (~75 s of failing at the default 5 s first backoff). */
export const REVOCATION_OVERDUE_AFTER_ATTEMPTS = 4;
/** Failed attempts of one revocation between two `revocation_overdue` reminders (~2 h at the 5-minute backoff cap). */
export const REVOCATION_OVERDUE_REMIND_EVERY = 24;
export type AlertRetryPolicy = WebhookRetryPolicy;

export interface AlertNotifierOptions {
  /** Where alerts are POSTed. Without it, counters are still kept and nothing is sent. */
  webhookUrl?: string;
  /** Extra headers on every POST (`alerts.webhookHeaders`, values already read from the environment). */
  webhookHeaders?: Record<string, string>;
  /** `alerts.allowPrivateNetwork`: accept private-network and cloud-metadata destinations. Default false. */
  allowPrivateNetwork?: boolean;
  /**
   * Standard Webhooks secrets (`whsec_…`) that sign each alert: ALERT_WEBHOOK_SECRET first, then
   * ALERT_WEBHOOK_SECRET_PREVIOUS while it is being replaced. Empty or absent: alerts go unsigned.
   */
  signingSecrets?: readonly string[];
  /** Signing time; defaults to the real clock. */
  now?: () => Date;
  /** Name resolution for connections (default: the system resolver); each address is checked. */
  resolve?: ResolveHost;
  /** Upper bound in ms for a webhook's Retry-After (`rotation.backoffMaxDelay`). Default 5 minutes. */
  maxServerDelayMs?: number;
  redis: RedisClient;
  /** Tracks the counter updates with the process's other bookkeeping (flushed at shutdown); default: its own on `redis`. */
  writes?: BookkeepingWrites;
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

export const DEFAULT_ALERT_RETRY: AlertRetryPolicy = DEFAULT_WEBHOOK_RETRY;
const DEFAULT_FLUSH_TIMEOUT_MS = 10_000;

/** HGET then HDEL, atomically: two replicas cannot both announce the same recovery. Returns the count or false. */
const TAKE_COUNTER_SCRIPT = `
local count = redis.call('HGET', KEYS[1], ARGV[1])
if count then redis.call('HDEL', KEYS[1], ARGV[1]) end
return count`;

/**
 * Alerts an operator through a webhook when a rotation fails for good, when a mailbox recovers,
 * and when a revocation fails; keeps each mailbox's consecutive-failure count in Redis (shared by
 * replicas). Nothing here is in the job's path: `record` starts the work and returns; a dead or
 * slow webhook costs only background retries.
 */
export class AlertNotifier implements RotatorEventSink {
  private readonly redis: RedisClient;
  private readonly writes: BookkeepingWrites;
  private readonly counterKey: string;
  private readonly log: Logger;
  /** Undefined when no webhook is configured: counters are kept, nothing is posted. */
  private readonly delivery: WebhookDelivery | undefined;
  private readonly flushTimeoutMs: number;
  private readonly signer: WebhookSigner | undefined;
  private readonly now: () => Date;

  /** Resolves once every recorded event's Redis work is done and its alert (if any) is queued, in record order. */
  private ordered: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(opts: AlertNotifierOptions) {
    if (!opts.prefix) throw new TypeError('prefix must be a non-empty string (the queue prefix)');
    this.redis = opts.redis;
    this.writes = opts.writes ?? new BookkeepingWrites(opts.redis);
    this.counterKey = `${opts.prefix}:alerts:consecutive-failures`;
    this.log = opts.logger.child({ component: 'alerts' });
    this.delivery = opts.webhookUrl
      ? new WebhookDelivery({
          target: parseWebhookUrl(opts.webhookUrl, 'alerts webhookUrl', { allowPrivateNetwork: opts.allowPrivateNetwork ?? false, section: 'alerts' }),
          logger: this.log,
          noun: 'alert',
          ...(opts.resolve === undefined ? {} : { resolve: opts.resolve }),
          ...(opts.webhookHeaders === undefined ? {} : { headers: opts.webhookHeaders }),
          ...(opts.maxServerDelayMs === undefined ? {} : { maxServerDelayMs: opts.maxServerDelayMs }),
          ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
          ...(opts.retry === undefined ? {} : { retry: opts.retry }),
          ...(opts.maxQueued === undefined ? {} : { maxQueued: opts.maxQueued }),
        })
      : undefined;
    this.flushTimeoutMs = positiveInteger('flushTimeoutMs', opts.flushTimeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS);
    this.signer = opts.signingSecrets?.length ? new WebhookSigner(opts.signingSecrets, 'ALERT_WEBHOOK_SECRET') : undefined;
    this.now = opts.now ?? (() => new Date());
  }

  /** Whether alerts carry Standard Webhooks signatures (ALERT_WEBHOOK_SECRET is set). */
  get signed(): boolean {
    return this.signer !== undefined;
  }

  /** Where alerts go, safe to log: the origin only, or undefined when alerts are not posted. */
  get webhookOrigin(): string | undefined {
    return this.delivery?.origin;
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
   * Deletes the failure counters of mailboxes outside `configured` (a mailbox removed from the
   * configuration must not keep a series or a counter forever). Returns how many were removed.
   */
  async pruneFailureCounters(configured: ReadonlySet<string>): Promise<number> {
    const stale = (await this.redis.hkeys(this.counterKey)).filter((mailboxId) => !configured.has(mailboxId));
    if (stale.length === 0) return 0;
    return this.redis.hdel(this.counterKey, ...stale);
  }

  /**
   * Waits until every event recorded so far has updated its counter and had its alert delivered
   * (or given up on), but no longer than `timeoutMs` (default: the flushTimeoutMs option).
   * Resolves true when everything finished, false on timeout.
   */
  async flush(timeoutMs: number = this.flushTimeoutMs): Promise<boolean> {
    const finished = await settlesWithin(this.settled(), timeoutMs);
    if (!finished) {
      this.log.warn({ queued: this.delivery?.queued ?? 0, delivering: this.delivery ? !this.delivery.idle : false, timeoutMs }, 'alert flush timed out');
    }
    return finished;
  }

  /** Stops taking events, gives queued alerts up to flushTimeoutMs, then abandons the rest (logged). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const finished = await this.flush();
    if (!finished) await this.delivery?.abandon();
  }

  private async settled(): Promise<void> {
    for (;;) {
      const ordered = this.ordered;
      await ordered;
      await this.delivery?.settled();
      if (ordered === this.ordered && (this.delivery?.idle ?? true)) return;
    }
  }

  /** Starts the Redis work for an event now; resolves to the alert to post, if any. */
  private alertFor(event: RotatorEvent): Promise<AlertPayload | null> | undefined {
    if (event.kind === 'revocation') {
      if (event.outcome === 'refused') return Promise.resolve(this.delivery ? revocationRefusedAlert(event) : null);
      // A revocation retries until its cause is lifted: said once it has failed a few times in a row
      // (a passing blip is not news), then every REMIND_EVERY attempts.
      if (event.outcome === 'retrying') {
        if (event.attempt !== REVOCATION_OVERDUE_AFTER_ATTEMPTS && event.attempt % REVOCATION_OVERDUE_REMIND_EVERY !== 0) return undefined;
        return Promise.resolve(this.delivery ? revocationOverdueAlert(event) : null);
      }
      if (event.outcome !== 'failed') return undefined;
      return Promise.resolve(this.delivery ? revocationFailedAlert(event) : null);
    }
    if (event.outcome === 'failed') return this.countFailure(event);
    if (event.outcome === 'rotated') return this.resetFailures(event);
    return undefined;
  }

  private async countFailure(event: RotationAttemptEvent): Promise<AlertPayload | null> {
    let count: number | null;
    try {
      const [reply] = await this.writes.request((redis) => [redis.hincrby(this.counterKey, event.mailboxId, 1)]);
      count = Number(reply);
    } catch (err) {
      // The failure still deserves an alert; only its streak length is unknown.
      this.log.error({ err: errorSummary(err), mailboxId: event.mailboxId }, 'could not count a rotation failure in Redis');
      count = null;
    }
    return this.delivery ? rotationFailedAlert(event, count) : null;
  }

  /** Takes the mailbox's failure count (TAKE_COUNTER_SCRIPT), with the turn's other bookkeeping writes. */
  private async resetFailures(event: RotationAttemptEvent): Promise<AlertPayload | null> {
    let previous: number;
    try {
      const [value] = await this.writes.request((redis) => [redis.eval(TAKE_COUNTER_SCRIPT, 1, this.counterKey, event.mailboxId)]);
      previous = typeof value === 'string' ? Number.parseInt(value, 10) : 0;
    } catch (err) {
      this.log.error({ err: errorSummary(err), mailboxId: event.mailboxId }, 'could not reset the consecutive-failure count in Redis');
      return null;
    }
    if (!(previous > 0)) return null;
    return this.delivery ? rotationRecoveredAlert(event, previous) : null;
  }

  private enqueue(alert: AlertPayload): void {
    // Every field, not only the reason: whatever an upstream put in an event, no key leaves here.
    // Scrubbed before signing, so the signature covers the bytes sent.
    const body = scrubSecrets(JSON.stringify(alert));
    // One id per alert, the same on every try, so a receiver can drop a repeat.
    const id = `alert_${randomUUID()}`;
    const signer = this.signer;
    this.delivery?.enqueue({
      body,
      ...(signer === undefined ? {} : { headers: () => signer.headers(id, this.now(), body) }),
      context: { type: alert.type, mailboxId: alert.mailboxId, jobId: alert.jobId, ...(signer === undefined ? {} : { webhookId: id }) },
    });
  }
}
