import { randomUUID } from 'node:crypto';
import { renderSecretName } from '../../src/config';
import { RotationScheduler } from '../../src/scheduler/rotation-scheduler';
import { LogCapture, TestBed } from '../support/test-bed';

const SKEW_MS = 60_000;

/**
 * Catch-up decides a tick was missed by comparing the key's CreatedDate (stamped on AWS's clock)
 * with the tick (this machine's clock). With AWS 60 s ahead, a key created a few seconds before a
 * tick looked created after it, so the missed tick was never caught up.
 */
describe('catch-up on a worker whose clock is 60 s behind Secrets Manager', () => {
  let bed: TestBed;
  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 1, label: 'catch-up-skew', standIn: { clockOffsetMs: SKEW_MS }, config: { schedule: '*/5 * * * * *', minRotationInterval: '1s' } });
  });
  afterAll(async () => bed.close());

  it('finds a key created before the latest tick (in true time) as having missed it', async () => {
    const runtime = await bed.runtime({ runWorker: false });
    const mailboxId = bed.mailboxIds[0]!;
    const secretName = renderSecretName(bed.settings.file.secretName, mailboxId);
    await runtime.secrets.createSecretIfMissing(secretName);
    await runtime.secrets.putSecretVersion(secretName, { clientRequestToken: randomUUID(), secretString: '{"seed":true}', versionStages: ['AWSCURRENT'] });
    const createdBy = Date.now();
    expect(runtime.secrets.clock.offsetMs).toBeGreaterThan(SKEW_MS - 2_000);
    // 9 s later on this machine's clock, the latest 5-second tick came at least 4 s after the key.
    const scheduler = new RotationScheduler({
      file: bed.settings.file, queue: runtime.queue, sendmux: runtime.sendmux, secrets: runtime.secrets,
      renderSecretName: (id) => renderSecretName(bed.settings.file.secretName, id), logger: new LogCapture().logger,
      now: () => new Date(createdBy + 9_000), catchUpIntervalMs: null,
    });
    expect(await scheduler.catchUp()).toMatchObject({ missedSlot: 1 });
    await runtime.close();
  });
});
