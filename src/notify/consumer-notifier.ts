import type { Logger } from 'pino';
import { parseWebhookUrl } from '../alerts/webhook-url';
import type { SecretStore } from '../aws/secret-store';
import type { RevocationAttemptEvent, RotationAttemptEvent, RotatorEvent, RotatorEventSink } from '../rotation/events';
import { positiveInteger } from '../shared/positive-integer';
import { WebhookDelivery, type WebhookRetryPolicy } from '../webhooks/webhook-delivery';
import { WebhookSigner } from '../webhooks/webhook-signing';
import type { ResolveHost } from '../webhooks/destination-guard';
import type { ConsumerNotification, KeyRevokedNotification, RotationSucceededNotification } from './notification-payloads';
import { scrubSecrets } from '../security/scrub-secrets';
import { settlesWithin } from '../shared/deadline';
import { errorSummary } from '../logging/error-summary';

export interface ConsumerNotifierOptions {
  /** notify.webhookUrl. */
  webhookUrl: string;
  /** Standard Webhooks secret, `whsec_<base64>` (NOTIFY_WEBHOOK_SECRET). */
  signingSecret: string;
  /** The secret being replaced (NOTIFY_WEBHOOK_SECRET_PREVIOUS): while set, each message carries a signature by both. */
  previousSigningSecret?: string;
  /** `notify.allowPrivateNetwork`: accept private-network and cloud-metadata destinations. Default false. */
  allowPrivateNetwork?: boolean;
  /** Name resolution for connections (default: the system resolver); each address is checked. */
  resolve?: ResolveHost;
  /** Used to look up the secret's ARN for rotation.succeeded. */
  secrets: Pick<SecretStore, 'describeSecret'>;
  renderSecretName: (mailboxId: string) => string;
  logger: Logger;
  /** Per request (default 5000). */
  timeoutMs?: number;
  retry?: WebhookRetryPolicy;
  /** Notifications waiting for delivery; beyond it the oldest are dropped with a log line (default 1000). */
  maxQueued?: number;
  /** How long flush() and close() wait for deliveries (default 10000). */
  flushTimeoutMs?: number;
  /** Signing time; defaults to the real clock. */
  now?: () => Date;
}

const DEFAULT_FLUSH_TIMEOUT_MS = 10_000;

/**
 * Tells consumers that a mailbox has a new key (`rotation.succeeded`) and that an old key is
 * dead (`key.revoked`), by POSTing to notify.webhookUrl. Each request is signed per the Standard
 * Webhooks spec (WebhookSigner: headers `webhook-id`, `webhook-timestamp`, `webhook-signature`,
 * by both secrets while one is replaced) and re-signed on every try; the `webhook-id` stays the same across
 * tries and across a job that reports the same outcome twice, so consumers can de-duplicate.
 *
 * An event sink: `record` returns at once; delivery and retries run in the background through
 * the same WebhookDelivery as the operator alerts. Never carries a secret.
 */
export class ConsumerNotifier implements RotatorEventSink {
  private readonly log: Logger;
  private readonly delivery: WebhookDelivery;
  private readonly signer: WebhookSigner;
  private readonly now: () => Date;
  private readonly flushTimeoutMs: number;
  /** Resolves once every recorded event's notification (if any) is queued, in record order. */
  private ordered: Promise<void> = Promise.resolve();
  private closed = false;

  /** @throws TypeError when the URL is not http(s) or the secret is not a valid `whsec_` secret. */
  constructor(private readonly opts: ConsumerNotifierOptions) {
    this.log = opts.logger.child({ component: 'notify' });
    this.signer = new WebhookSigner(
      opts.previousSigningSecret === undefined ? [opts.signingSecret] : [opts.signingSecret, opts.previousSigningSecret],
      'NOTIFY_WEBHOOK_SECRET',
    );
    this.delivery = new WebhookDelivery({
      target: parseWebhookUrl(opts.webhookUrl, 'notify webhookUrl', { allowPrivateNetwork: opts.allowPrivateNetwork ?? false, section: 'notify' }),
      ...(opts.resolve === undefined ? {} : { resolve: opts.resolve }),
      logger: this.log,
      noun: 'notification',
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
      ...(opts.retry === undefined ? {} : { retry: opts.retry }),
      ...(opts.maxQueued === undefined ? {} : { maxQueued: opts.maxQueued }),
    });
    this.now = opts.now ?? (() => new Date());
    this.flushTimeoutMs = positiveInteger('flushTimeoutMs', opts.flushTimeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS);
  }

  /** Where notifications go, safe to log: the origin only. */
  get webhookOrigin(): string {
    return this.delivery.origin;
  }

  record(event: RotatorEvent): void {
    try {
      if (this.closed) return;
      const prepared = this.notificationFor(event);
      if (!prepared) return;
      const safe = prepared.catch((err: unknown) => {
        this.log.error({ err: errorSummary(err), mailboxId: event.mailboxId }, 'could not prepare a notification');
        return null;
      });
      this.ordered = this.ordered.then(async () => {
        const notification = await safe;
        if (notification) this.send(notification.id, notification.payload);
      });
    } catch (err) {
      // A sink must never throw into the job.
      this.log.error({ err: errorSummary(err) }, 'consumer notifier failed to record an event');
    }
  }

  /** Waits for every notification recorded so far to be delivered or given up on; false on timeout. */
  async flush(timeoutMs: number = this.flushTimeoutMs): Promise<boolean> {
    const finished = await settlesWithin(this.settled(), timeoutMs);
    if (!finished) this.log.warn({ queued: this.delivery.queued, timeoutMs }, 'notification flush timed out');
    return finished;
  }

  /** Stops taking events, gives queued notifications up to flushTimeoutMs, then abandons the rest (logged). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!(await this.flush())) await this.delivery.abandon();
  }

  private async settled(): Promise<void> {
    for (;;) {
      const ordered = this.ordered;
      await ordered;
      await this.delivery.settled();
      if (ordered === this.ordered && this.delivery.idle) return;
    }
  }

  private notificationFor(event: RotatorEvent): Promise<{ id: string; payload: ConsumerNotification }> | undefined {
    if (event.kind === 'rotation') {
      if (event.outcome !== 'rotated' || !event.newKeyId || !event.secretVersionId) return undefined;
      return this.rotationSucceeded(event, event.newKeyId, event.secretVersionId);
    }
    if (event.outcome === 'revoked') return Promise.resolve(keyRevoked(event));
    return undefined;
  }

  private async rotationSucceeded(
    event: RotationAttemptEvent,
    keyId: string,
    secretVersionId: string,
  ): Promise<{ id: string; payload: RotationSucceededNotification }> {
    const secretName = this.opts.renderSecretName(event.mailboxId);
    let secretArn: string | null = null;
    try {
      secretArn = (await this.opts.secrets.describeSecret(secretName))?.arn ?? null;
    } catch (err) {
      this.log.warn(
        { mailboxId: event.mailboxId, secretName, err: errorSummary(err) },
        'could not read the secret ARN for rotation.succeeded; sending it with secretArn null',
      );
    }
    return {
      // The version id is the rotation's ClientRequestToken: the same for every report of this rotation.
      id: `rot_${secretVersionId}`,
      payload: {
        type: 'rotation.succeeded',
        timestamp: event.at,
        data: {
          mailboxId: event.mailboxId,
          secretArn,
          secretName,
          secretVersionId,
          keyId,
          previousKeyId: event.previousKeyId ?? null,
          occurredAt: event.at,
        },
      },
    };
  }

  private send(id: string, payload: ConsumerNotification): void {
    // Payloads carry ids only; the scrub is the last guard, applied before signing so the signature matches.
    const body = scrubSecrets(JSON.stringify(payload));
    this.delivery.enqueue({
      body,
      headers: () => this.signer.headers(id, this.now(), body),
      context: { type: payload.type, mailboxId: payload.data.mailboxId, webhookId: id },
    });
  }
}

function keyRevoked(event: RevocationAttemptEvent): { id: string; payload: KeyRevokedNotification } {
  return {
    id: `rev_${event.mailboxId}_${event.keyId}`,
    payload: {
      type: 'key.revoked',
      timestamp: event.at,
      data: { mailboxId: event.mailboxId, keyId: event.keyId, occurredAt: event.at },
    },
  };
}
