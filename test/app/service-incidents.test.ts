import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { startRotatorService, type RotatorService } from '../../src/app/service';
import type { RotationResult } from '../../src/rotation/job-data';
import { TestBed, waitForJob } from '../support/test-bed';
import { WebhookReceiver } from '../alerts/webhook-receiver';

const SIGNING_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

/** `rotator start --role worker,api` serves the incident routes, and their events reach the service's sinks. */
describe('the service’s incident routes', () => {
  let bed: TestBed;
  let webhook: WebhookReceiver;
  let service: RotatorService;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 1, label: 'service-incidents', config: { revokePreviousAfter: '1h' } });
    webhook = await WebhookReceiver.start();
    const settings = {
      file: { ...bed.settings.file, notify: { webhookUrl: webhook.url } },
      env: { ...bed.settings.env, notifyWebhookSecret: SIGNING_SECRET, port: 0, host: '127.0.0.1' },
    };
    service = await startRotatorService({ settings, logger: bed.logs.logger, roles: new Set(['worker', 'api']), secretsManagerClient: bed.smClient });
  });
  afterAll(async () => {
    await service?.close();
    await webhook?.close();
    await bed.close();
  });

  async function rotate(): Promise<RotationResult> {
    const [outcome] = await service.runtime.queue.requestRotations([{ mailboxId: bed.mailboxIds[0]!, reason: 'manual', requestedBy: 'test', force: true }]);
    return (await waitForJob(service.runtime, (outcome as { jobId: string }).jobId)).returnvalue as RotationResult;
  }

  it('revokes a previous key through POST /mailboxes/:id/keys/:key/revoke, with an audit entry and a key.revoked notification', async () => {
    const mailboxId = bed.mailboxIds[0]!;
    const previous = (await rotate()).newKeyId!;
    await rotate();

    const response = await fetch(`${service.http!.url}/mailboxes/${mailboxId}/keys/${previous}/revoke`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ outcome: 'revoked', confirmation: 'no-longer-authenticates' });

    await service.audit.flush();
    expect((await service.audit.forMailbox(mailboxId, 50)).map((e) => e.event)).toContainEqual(
      expect.objectContaining({ kind: 'revocation', keyId: previous, outcome: 'revoked', message: expect.stringContaining('by hand (api)') }),
    );
    expect(await service.notifier!.flush()).toBe(true);
    const payloads = webhook.received.map((r) => new Webhook(SIGNING_SECRET).verify(r.rawBody, r.headers) as { type: string; data: Record<string, unknown> });
    expect(payloads).toContainEqual(expect.objectContaining({ type: 'key.revoked', data: expect.objectContaining({ mailboxId, keyId: previous }) }));
  });

  it('answers POST /rotations/:jobId/retry (404 for an unknown job)', async () => {
    const response = await fetch(`${service.http!.url}/rotations/rotate__mbx_test_0001__none/retry`, { method: 'POST' });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'job_not_found' });
  });
});
