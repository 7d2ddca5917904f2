import { renderSecretName } from '../../src/config';
import { RotationScheduler } from '../../src/scheduler/rotation-scheduler';
import { LogCapture, TestBed, waitFor } from '../support/test-bed';

/** A scheduler whose process stalls: real node-cron beats, real Redis, the Sendmux sandbox and the Secrets Manager stand-in. */
describe('a scheduler whose event loop was blocked past its ticks', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 1, label: 'sched-missed', config: { schedule: '* * * * * *' } });
  });
  afterAll(async () => {
    await bed.close();
  });

  it('logs the missed ticks as a warning and catches up with the newest one', async () => {
    const runtime = await bed.runtime({ runWorker: false });
    const logs = new LogCapture();
    const scheduler = new RotationScheduler({
      file: bed.settings.file,
      queue: runtime.queue,
      sendmux: runtime.sendmux,
      secrets: runtime.secrets,
      renderSecretName: (id) => renderSecretName(bed.settings.file.secretName, id),
      logger: logs.logger,
    });
    await scheduler.start();
    try {
      // Right after a tick has finished (so none is in flight), block the event loop for 3.5 s:
      // three or four ticks of the every-second schedule pass unserved.
      await waitFor(() => logs.parsed().some((line) => line['component'] === 'scheduler' && 'resolved' in line), 10_000, 'a first tick');
      const blockedFrom = Date.now();
      const until = blockedFrom + 3_500;
      while (Date.now() < until) {
        // busy
      }
      const blockedUntil = Date.now();
      await waitFor(() => logs.parsed().some((line) => /tick\(s\) of schedule \(default\) since .* were missed/.test(String(line['msg']))), 5_000, 'missed-tick warning');
      const warning = logs.parsed().find((line) => /were missed/.test(String(line['msg'])))!;
      expect(warning).toEqual(expect.objectContaining({ level: 40, missedTicks: expect.any(Number), catchUpTick: expect.any(String), slot: expect.any(String) }));
      expect(warning['missedTicks'] as number).toBeGreaterThanOrEqual(2);
      // The oldest missed tick fell inside the stall, and the catch-up tick (the warning's slot) ran.
      const oldestMissed = Date.parse(String(warning['oldestMissed']));
      expect(oldestMissed).toBeGreaterThan(blockedFrom - 1_000);
      expect(oldestMissed).toBeLessThan(blockedUntil);
      await waitFor(() => logs.parsed().some((line) => line['slot'] === warning['slot'] && 'resolved' in line), 5_000, 'catch-up tick');
    } finally {
      await scheduler.stop();
    }
  }, 30_000);
});
