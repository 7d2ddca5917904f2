import { InMemoryHistory, bearer, getJson, postJson, startHarness, waitForJobState, type HttpHarness } from './support/http-harness';

async function postEmpty(url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { method: 'POST', headers: bearer() });
  return { status: response.status, body: await response.json() };
}

describe('queue control', () => {
  let harness: HttpHarness;

  beforeAll(async () => {
    harness = await startHarness({ label: 'http-queue', mailboxes: 2 });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('reports the queue counts by state and whether it is paused', async () => {
    const { status, body } = await getJson(`${harness.url}/queue`);
    expect(status).toBe(200);
    expect(body).toEqual({
      paused: false,
      rateLimitedForMs: 0,
      counts: { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0, paused: 0, prioritized: 0 },
    });
  });

  it('stops processing on pause (a job added meanwhile stays waiting) and restarts it on resume', async () => {
    const paused = await postEmpty(`${harness.url}/queue/pause`);
    expect(paused).toMatchObject({ status: 200, body: { paused: true } });
    expect(await harness.runtime.queue.queue.isPaused()).toBe(true);

    const response = await postJson(`${harness.url}/rotations`, { mailboxIds: [harness.bed.mailboxIds[0]] });
    expect(response.status).toBe(202);
    const [rotation] = ((await response.json()) as { rotations: Array<{ jobId: string }> }).rotations;

    // Give a worker ample time to (wrongly) pick the job up.
    await new Promise((r) => setTimeout(r, 750));
    const { body: job } = await getJson(`${harness.url}/rotations/${rotation!.jobId}`);
    expect(job.state).toBe('waiting');
    expect(job.attemptsMade).toBe(0);
    expect(harness.bed.sandbox.state.mintLog).toHaveLength(0);

    const resumed = await postEmpty(`${harness.url}/queue/resume`);
    expect(resumed).toMatchObject({ status: 200, body: { paused: false } });
    const finished = await waitForJobState(harness, rotation!.jobId, 'completed');
    expect(finished.result.outcome).toBe('rotated');
  });
});

describe('mailbox history', () => {
  let harness: HttpHarness;
  const events = Array.from({ length: 60 }, (_, i) => ({ kind: 'rotation', outcome: 'rotated', attempt: 1, n: i }));

  beforeAll(async () => {
    harness = await startHarness({ label: 'http-history', history: new InMemoryHistory(new Map([['mbx_test_0001', events]])) });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('returns the audit entries of a mailbox with the requested limit, as `entries` like rotator history --json', async () => {
    const { status, body } = await getJson(`${harness.url}/mailboxes/mbx_test_0001/history?limit=3`);
    expect(status).toBe(200);
    expect(body).toEqual({ mailboxId: 'mbx_test_0001', entries: events.slice(0, 3) });
    expect(harness.history.calls.at(-1)).toEqual({ mailboxId: 'mbx_test_0001', limit: 3 });
  });

  it('asks for 50 entries when no limit is given', async () => {
    const { body } = await getJson(`${harness.url}/mailboxes/mbx_test_0001/history`);
    expect(body.entries).toHaveLength(50);
    expect(harness.history.calls.at(-1)).toEqual({ mailboxId: 'mbx_test_0001', limit: 50 });
  });

  it.each(['0', '501', '-1', '2.5', 'ten'])('answers 400 naming limit for limit=%s', async (limit) => {
    const { status, body } = await getJson(`${harness.url}/mailboxes/mbx_test_0001/history?limit=${limit}`);
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: 'invalid_request', problems: [{ field: 'limit', message: expect.stringContaining('1 to 500') }] });
  });

  it('answers 400 naming mailboxId for an id outside the Sendmux alphabet', async () => {
    const { status, body } = await getJson(`${harness.url}/mailboxes/mbx.test/history`);
    expect(status).toBe(400);
    expect(body.problems).toEqual([{ field: 'mailboxId', message: expect.stringContaining('"."') }]);
  });
});
