import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { renderSecretName } from '../../src/config';
import { ConsumerNotifier, type ConsumerNotifierOptions } from '../../src/notify/consumer-notifier';
import { startRotatorService } from '../../src/app/service';
import type { RevocationAttemptEvent, RotationAttemptEvent } from '../../src/rotation/events';
import { LogCapture, TestBed, waitFor, waitForJob } from '../support/test-bed';
import { WebhookReceiver, type ReceivedRequest } from '../alerts/webhook-receiver';

const SIGNING_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

/** Verifies a received request with the Standard Webhooks library, as a consumer would; returns the parsed payload. */
function verified(request: ReceivedRequest): Record<string, unknown> {
  return new Webhook(SIGNING_SECRET).verify(request.rawBody, request.headers) as Record<string, unknown>;
}

describe('consumer notifications from real rotations', () => {
  let bed: TestBed;
  let webhook: WebhookReceiver;
  let notifier: ConsumerNotifier;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 1, label: 'notify', config: { revokePreviousAfter: '0s' } });
  });
  afterAll(async () => {
    await notifier?.close();
    await webhook?.close();
    await bed.close();
  });

  it('posts a signed rotation.succeeded for each rotation and a signed key.revoked for the superseded key, never a secret', async () => {
    webhook = await WebhookReceiver.start();
    const mailboxId = bed.mailboxIds[0]!;
    const secretName = renderSecretName(bed.settings.file.secretName, mailboxId);
    let runtimeSecrets: ConsumerNotifierOptions['secrets'] | undefined;
    notifier = new ConsumerNotifier({
      webhookUrl: webhook.url,
      signingSecret: SIGNING_SECRET,
      secrets: { describeSecret: (id) => runtimeSecrets!.describeSecret(id) },
      renderSecretName: (id) => renderSecretName(bed.settings.file.secretName, id),
      logger: bed.logs.logger,
    });
    const runtime = await bed.runtime({ events: notifier });
    runtimeSecrets = runtime.secrets;

    const jobIds: string[] = [];
    for (let i = 0; i < 2; i++) {
      const [outcome] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
      if (!outcome || outcome.status === 'refused') throw new Error(`rotation refused: ${JSON.stringify(outcome)}`);
      expect((await waitForJob(runtime, outcome.jobId)).state).toBe('completed');
      jobIds.push(outcome.jobId);
    }
    await waitFor(async () => webhook.received.some((r) => (r.body as { type?: string }).type === 'key.revoked'), 15_000, 'key.revoked');
    expect(await notifier.flush()).toBe(true);

    const payloads = webhook.received.map(verified);
    const rotations = payloads.filter((p) => p['type'] === 'rotation.succeeded');
    const revocations = payloads.filter((p) => p['type'] === 'key.revoked');
    const arn = (await runtime.secrets.describeSecret(secretName))!.arn;
    const versions = await runtime.secrets.listVersions(secretName);
    const current = versions.find((v) => v.versionStages.includes('AWSCURRENT'))!;
    const keyIds = [...bed.sandbox.state.keys.values()].filter((k) => k.mailboxId === mailboxId).map((k) => k.id);

    expect(rotations).toHaveLength(2);
    expect(rotations[1]).toEqual({
      type: 'rotation.succeeded',
      timestamp: expect.any(String),
      data: {
        mailboxId,
        secretArn: arn,
        secretName,
        secretVersionId: current.versionId,
        keyId: expect.any(String),
        previousKeyId: (rotations[0]!['data'] as { keyId: string }).keyId,
        occurredAt: expect.any(String),
      },
    });
    expect(keyIds).toContain((rotations[1]!['data'] as { keyId: string }).keyId);
    expect(revocations).toEqual([
      { type: 'key.revoked', timestamp: expect.any(String), data: { mailboxId, keyId: (rotations[0]!['data'] as { keyId: string }).keyId, occurredAt: expect.any(String) } },
    ]);
    for (const request of webhook.received) {
      expect(request.headers['webhook-id']).toMatch(/^(rot|rev)_/);
      for (const secret of bed.mintedSecrets()) expect(request.rawBody).not.toContain(secret);
      expect(request.rawBody).not.toContain('smx_mbx_');
    }
  }, 60_000);
});

describe('the rotator service with notify.webhookUrl', () => {
  it('wires the consumer notifier into its events, so a rotation posts a signed rotation.succeeded (by both secrets while one is replaced)', async () => {
    const bed = await TestBed.start({ mailboxes: 1, label: 'notify-service' });
    const webhook = await WebhookReceiver.start();
    const previous = `whsec_${randomBytes(32).toString('base64')}`;
    try {
      const settings = {
        file: { ...bed.settings.file, notify: { webhookUrl: webhook.url }, alerts: { webhookUrl: webhook.url } },
        env: {
          ...bed.settings.env,
          notifyWebhookSecret: SIGNING_SECRET,
          notifyWebhookSecretPrevious: previous,
          alertWebhookSecret: previous,
          port: 0,
          host: '127.0.0.1',
        },
      };
      const service = await startRotatorService({ settings, logger: bed.logs.logger, roles: new Set(['worker']), secretsManagerClient: bed.smClient });
      try {
        const [outcome] = await service.runtime.queue.requestRotations([{ mailboxId: bed.mailboxIds[0]!, reason: 'manual', requestedBy: 'test', force: true }]);
        if (!outcome || outcome.status === 'refused') throw new Error(`rotation refused: ${JSON.stringify(outcome)}`);
        expect((await waitForJob(service.runtime, outcome.jobId)).state).toBe('completed');
        expect(await service.notifier!.flush()).toBe(true);
        expect(webhook.received.map(verified)).toEqual([
          expect.objectContaining({ type: 'rotation.succeeded', data: expect.objectContaining({ mailboxId: bed.mailboxIds[0], secretArn: expect.stringMatching(/^arn:aws:secretsmanager:/) }) }),
        ]);
        expect(new Webhook(previous).verify(webhook.received[0]!.rawBody, webhook.received[0]!.headers)).toEqual(expect.objectContaining({ type: 'rotation.succeeded' }));
        expect(service.alerts.signed).toBe(true);
      } finally {
        await service.close();
      }
    } finally {
      await webhook.close();
      await bed.close();
    }
  }, 60_000);
});

describe('ConsumerNotifier delivery', () => {
  const receivers: WebhookReceiver[] = [];
  const notifiers: ConsumerNotifier[] = [];
  afterEach(async () => {
    for (const n of notifiers.splice(0)) await n.close();
    for (const r of receivers.splice(0)) await r.close();
  });

  function notifierFor(webhookUrl: string, logs: LogCapture): ConsumerNotifier {
    const created = new ConsumerNotifier({
      webhookUrl,
      signingSecret: SIGNING_SECRET,
      secrets: { describeSecret: async () => null },
      renderSecretName: (id) => `sendmux/${id}`,
      logger: logs.logger,
      retry: { attempts: 3, initialDelayMs: 10, maxDelayMs: 20 },
    });
    notifiers.push(created);
    return created;
  }

  const revoked: RevocationAttemptEvent = {
    kind: 'revocation',
    at: '2026-11-29T10:00:00.000Z',
    jobId: 'revoke__mbx_1__key_a',
    mailboxId: 'mbx_1',
    keyId: 'key_a',
    attempt: 1,
    outcome: 'revoked',
    durationMs: 5,
  };

  it('retries a failed delivery in the background with the same webhook-id and a fresh valid signature', async () => {
    const webhook = await WebhookReceiver.start((index) => (index === 0 ? 503 : 200));
    receivers.push(webhook);
    const notifier = notifierFor(webhook.url, new LogCapture());
    notifier.record(revoked);
    expect(await notifier.flush()).toBe(true);

    expect(webhook.received).toHaveLength(2);
    expect(webhook.received.map((r) => r.headers['webhook-id'])).toEqual(['rev_mbx_1_key_a', 'rev_mbx_1_key_a']);
    for (const request of webhook.received) {
      expect(verified(request)).toEqual({ type: 'key.revoked', timestamp: revoked.at, data: { mailboxId: 'mbx_1', keyId: 'key_a', occurredAt: revoked.at } });
    }
  });

  it('sends nothing for a failed rotation or a retrying revocation', async () => {
    const webhook = await WebhookReceiver.start();
    receivers.push(webhook);
    const notifier = notifierFor(webhook.url, new LogCapture());
    const failed: RotationAttemptEvent = {
      kind: 'rotation',
      at: revoked.at,
      jobId: 'rotate__mbx_1__od1',
      mailboxId: 'mbx_1',
      reason: 'manual',
      slot: 'od1',
      requestedBy: 'test',
      attempt: 8,
      step: 'mint',
      outcome: 'failed',
      durationMs: 3,
    };
    notifier.record(failed);
    notifier.record({ ...revoked, outcome: 'retrying' });
    expect(await notifier.flush()).toBe(true);
    expect(webhook.received).toEqual([]);
  });

  it('while a secret is replaced, signs with both: a receiver verifying with either accepts, with neither refuses', async () => {
    const webhook = await WebhookReceiver.start();
    receivers.push(webhook);
    const previous = `whsec_${randomBytes(32).toString('base64')}`;
    const created = new ConsumerNotifier({
      webhookUrl: webhook.url,
      signingSecret: SIGNING_SECRET,
      previousSigningSecret: previous,
      secrets: { describeSecret: async () => null },
      renderSecretName: (id) => `sendmux/${id}`,
      logger: new LogCapture().logger,
    });
    notifiers.push(created);
    created.record(revoked);
    expect(await created.flush()).toBe(true);

    const [request] = webhook.received;
    expect(request!.headers['webhook-signature']!.split(' ')).toEqual([expect.stringMatching(/^v1,/), expect.stringMatching(/^v1,/)]);
    const payload = { type: 'key.revoked', timestamp: revoked.at, data: { mailboxId: 'mbx_1', keyId: 'key_a', occurredAt: revoked.at } };
    expect(new Webhook(SIGNING_SECRET).verify(request!.rawBody, request!.headers)).toEqual(payload);
    expect(new Webhook(previous).verify(request!.rawBody, request!.headers)).toEqual(payload);
    expect(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(request!.rawBody, request!.headers)).toThrow(/No matching signature/);
  });

  it('refuses a signing secret that is not a Standard Webhooks secret, without echoing it', () => {
    expect(() => notifierFor('http://127.0.0.1:9/hook', new LogCapture())).not.toThrow();
    expect(
      () =>
        new ConsumerNotifier({
          webhookUrl: 'http://127.0.0.1:9/hook',
          signingSecret: 'whsec_not base64!!',
          secrets: { describeSecret: async () => null },
          renderSecretName: (id) => id,
          logger: new LogCapture().logger,
        }),
    ).toThrow(/^NOTIFY_WEBHOOK_SECRET is not a Standard Webhooks secret/);
  });
});
