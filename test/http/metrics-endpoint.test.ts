import { parsePrometheusText, sampleValue, samplesNamed, type PromExposition } from './support/prometheus-text';
import { bearer, postJson, startHarness, waitForJobState, type HttpHarness } from './support/http-harness';

describe('GET /metrics', () => {
  let harness: HttpHarness;

  beforeAll(async () => {
    harness = await startHarness({ label: 'http-metrics' });
  });
  afterAll(async () => {
    await harness?.close();
  });

  async function scrape(): Promise<PromExposition> {
    const response = await fetch(`${harness.url}/metrics`, { headers: bearer() });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return parsePrometheusText(await response.text());
  }

  it('serves valid Prometheus text with the rotator metrics, queue gauges and process metrics', async () => {
    const exposition = await scrape();
    expect(exposition.types.get('rotator_rotations_total')).toBe('counter');
    expect(exposition.types.get('rotator_rotation_duration_seconds')).toBe('histogram');
    expect(exposition.types.get('rotator_revocations_total')).toBe('counter');
    expect(exposition.types.get('rotator_sendmux_requests_total')).toBe('counter');
    expect(exposition.types.get('rotator_sendmux_rate_limited_total')).toBe('counter');
    expect(exposition.types.get('rotator_queue_jobs')).toBe('gauge');
    expect(exposition.types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(samplesNamed(exposition, 'rotator_queue_jobs').map((s) => s.labels.state).sort()).toEqual(
      ['active', 'completed', 'delayed', 'failed', 'paused', 'prioritized', 'waiting'],
    );
  });

  it('moves the rotation counters, the duration histogram, the Sendmux counters and the freshness gauges after a rotation', async () => {
    const mailboxId = harness.bed.mailboxIds[0]!;
    const before = await scrape();
    const rotatedBefore = sampleValue(before, 'rotator_rotations_total', { outcome: 'rotated' }) ?? 0;
    const durationsBefore = sampleValue(before, 'rotator_rotation_duration_seconds_count') ?? 0;
    const mintsBefore = samplesNamed(before, 'rotator_sendmux_requests_total')
      .filter((s) => s.labels.operation === 'mintMailboxKey')
      .reduce((sum, s) => sum + s.value, 0);

    const response = await postJson(`${harness.url}/rotations`, { mailboxIds: [mailboxId] });
    const [rotation] = ((await response.json()) as { rotations: Array<{ jobId: string }> }).rotations;
    await waitForJobState(harness, rotation!.jobId, 'completed');

    const after = await scrape();
    expect(sampleValue(after, 'rotator_rotations_total', { outcome: 'rotated' })).toBe(rotatedBefore + 1);
    expect(sampleValue(after, 'rotator_rotation_duration_seconds_count')).toBe(durationsBefore + 1);
    const mintsAfter = samplesNamed(after, 'rotator_sendmux_requests_total').filter((s) => s.labels.operation === 'mintMailboxKey');
    expect(mintsAfter.reduce((sum, s) => sum + s.value, 0)).toBe(mintsBefore + 1);
    expect(mintsAfter.every((s) => /^\d{3}$/.test(s.labels.status!))).toBe(true);
    expect(sampleValue(after, 'rotator_queue_jobs', { state: 'completed' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(after, 'rotator_mailboxes_by_key_age', { le: '3600' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(after, 'rotator_oldest_rotation_age_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('never exposes a minted secret', async () => {
    const response = await fetch(`${harness.url}/metrics`, { headers: bearer() });
    expect(await harness.bed.findLeakedSecrets(await response.text())).toEqual([]);
  });
});
