import { TestBed, waitFor, waitForJob } from '../support/test-bed';

const SKEW_MS = 60_000;

/**
 * The worker's clock is 60 s behind AWS's: the stand-in stamps CreatedDate and its Date header
 * 60 s ahead of this machine, as AWS does for a worker whose clock drifted.
 */
describe('a worker whose clock is 60 s behind Secrets Manager', () => {
  let bed: TestBed;
  beforeAll(async () => {
    bed = await TestBed.start({ label: 'aws-clock-skew', standIn: { clockOffsetMs: SKEW_MS }, config: { minRotationInterval: '2s' } });
  });
  afterAll(async () => bed.close());

  it('accepts a rotation requested after minRotationInterval, and warns about the skew once', async () => {
    const runtime = await bed.runtime();
    const mailboxId = bed.mailboxIds[0]!;
    const [first] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
    if (first?.status !== 'enqueued') throw new Error(`first rotation not enqueued: ${JSON.stringify(first)}`);
    expect(await waitForJob(runtime, first.jobId)).toMatchObject({ state: 'completed', returnvalue: { outcome: 'rotated' } });
    const created = (await runtime.secrets.getCurrentVersion(bed.settings.file.secretName.replace('{mailboxId}', mailboxId)))!.createdDate!;

    // minRotationInterval (2 s) must pass on AWS's clock as the worker reads it (its estimate has the
    // Date header's one-second resolution); the worker's own clock says CreatedDate is still ~58 s away.
    await waitFor(() => runtime.secrets.clock.ageMs(created) > 2_000 + 1_000, 20_000, 'minRotationInterval to pass on AWS\'s clock');
    const [second] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test' }]);
    if (second?.status !== 'enqueued') throw new Error(`second rotation not enqueued: ${JSON.stringify(second)}`);
    const finished = await waitForJob(runtime, second.jobId);
    expect(finished).toMatchObject({ state: 'completed', returnvalue: { outcome: 'rotated' } });
    expect(JSON.stringify(finished.returnvalue)).not.toMatch(/rotated -\d+s ago/);

    const skewWarnings = bed.logs.parsed().filter((line) => typeof line['clockSkewMs'] === 'number');
    expect(skewWarnings).toHaveLength(1);
    expect(skewWarnings[0]).toMatchObject({ level: 40 });
    expect(Math.abs((skewWarnings[0]!['clockSkewMs'] as number) - SKEW_MS)).toBeLessThan(2_000);
    expect(runtime.secrets.clock.offsetMs).toBeGreaterThan(SKEW_MS - 2_000);
  });
});
