import { bearer, getJson, postJson, startHarness, waitForJobState, type HttpHarness } from './support/http-harness';

/**
 * POST /rotations and GET /rotations/:jobId against a real server, real Redis and a real worker
 * rotating keys in the Sendmux sandbox.
 */
describe('the rotations API', () => {
  let harness: HttpHarness;

  beforeAll(async () => {
    // A one-hour minRotationInterval, so an unforced second rotation is refused.
    harness = await startHarness({ label: 'http-rot', mailboxes: 4, config: { minRotationInterval: '1h' } });
  });
  afterAll(async () => {
    await harness?.close();
  });

  async function jobCount(): Promise<number> {
    const counts = await harness.runtime.queue.queue.getJobCounts();
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  it('answers 202 with a job id that GET /rotations/:jobId follows to completed', async () => {
    const mailboxId = harness.bed.mailboxIds[0]!;
    const response = await postJson(`${harness.url}/rotations`, { mailboxIds: [mailboxId] });
    expect(response.status).toBe(202);
    const body = (await response.json()) as { rotations: Array<{ mailboxId: string; status: string; jobId: string }> };
    expect(body.rotations).toEqual([{ mailboxId, status: 'enqueued', jobId: expect.stringMatching(/^rotate__/) }]);

    const job = await waitForJobState(harness, body.rotations[0]!.jobId, 'completed');
    expect(Object.keys(job).sort()).toEqual(
      ['jobId', 'type', 'mailboxId', 'state', 'step', 'attempts', 'attemptsMade', 'result', 'failedReason', 'createdAt', 'finishedAt'].sort(),
    );
    expect(job).toMatchObject({
      jobId: body.rotations[0]!.jobId,
      type: 'rotation',
      mailboxId,
      state: 'completed',
      attemptsMade: 1,
      failedReason: null,
      result: { outcome: 'rotated', mailboxId, newKeyId: expect.any(String) },
    });
    expect(new Date(job.finishedAt).getTime()).toBeGreaterThanOrEqual(new Date(job.createdAt).getTime());
    expect(await harness.bed.findLeakedSecrets(JSON.stringify(job))).toEqual([]);
  });

  it('enqueues every configured mailbox for {"all": true}', async () => {
    const response = await postJson(`${harness.url}/rotations`, { all: true, force: true });
    expect(response.status).toBe(202);
    const body = (await response.json()) as { rotations: Array<{ mailboxId: string; status: string }> };
    expect(body.rotations.map((r) => r.mailboxId)).toEqual(harness.bed.mailboxIds);
    expect(body.rotations.every((r) => r.status === 'enqueued' || r.status === 'existing')).toBe(true);
  });

  it('answers 409 with the refusal for every mailbox when all of them were rotated within minRotationInterval', async () => {
    const mailboxId = harness.bed.mailboxIds[1]!;
    const first = await postJson(`${harness.url}/rotations`, { mailboxIds: [mailboxId], force: true });
    const [enqueued] = ((await first.json()) as { rotations: Array<{ jobId: string }> }).rotations;
    await waitForJobState(harness, enqueued!.jobId, 'completed');

    const again = await postJson(`${harness.url}/rotations`, { mailboxIds: [mailboxId] });
    expect(again.status).toBe(409);
    const body = (await again.json()) as { rotations: Array<{ mailboxId: string; status: string; message: string; jobId?: string }> };
    expect(body.rotations).toHaveLength(1);
    expect(body.rotations[0]).toMatchObject({ mailboxId, status: 'refused' });
    expect(body.rotations[0]!.message).toContain('"force": true');
    expect(body.rotations[0]!.jobId).toBeUndefined();
  });

  it('answers 404 naming the job for an unknown job id', async () => {
    const { status, body } = await getJson(`${harness.url}/rotations/rotate__nobody__t20200101T000000Z`);
    expect(status).toBe(404);
    expect(body).toEqual({ error: 'job_not_found', message: expect.stringContaining('rotate__nobody__t20200101T000000Z') });
  });

  it('answers 400 naming jobId for a job id outside the id alphabet', async () => {
    const { status, body } = await getJson(`${harness.url}/rotations/rotate.bad`);
    expect(status).toBe(400);
    expect(body.problems).toEqual([{ field: 'jobId', message: expect.stringContaining('jobId') }]);
  });

  describe('rejects a bad body with 400, names the field, and enqueues nothing', () => {
    const cases: Array<{ name: string; body: unknown; field: string; mentions: string }> = [
      { name: 'mailboxIds that is a string', body: { mailboxIds: 'x' }, field: 'mailboxIds', mentions: 'array' },
      { name: 'an empty mailboxIds list', body: { mailboxIds: [] }, field: 'mailboxIds', mentions: 'empty' },
      { name: 'an id containing "/"', body: { mailboxIds: ['mbx_ok', 'mbx/evil'] }, field: 'mailboxIds[1]', mentions: '"/"' },
      { name: 'an id that is not a string', body: { mailboxIds: [42] }, field: 'mailboxIds[0]', mentions: 'number' },
      { name: 'a repeated id', body: { mailboxIds: ['mbx_a', 'mbx_a'] }, field: 'mailboxIds[1]', mentions: 'mailboxIds[0]' },
      { name: 'an unknown field', body: { mailboxIds: ['mbx_a'], forse: true }, field: 'forse', mentions: 'unknown field' },
      { name: 'both mailboxIds and all', body: { mailboxIds: ['mbx_a'], all: true }, field: 'all', mentions: 'not both' },
      { name: 'neither mailboxIds nor all', body: { force: true }, field: '(body)', mentions: '"all": true' },
      { name: 'all: false', body: { all: false }, field: 'all', mentions: 'must be true' },
      { name: 'a string where force must be a boolean', body: { mailboxIds: ['mbx_a'], force: 'yes' }, field: 'force', mentions: 'true or false' },
      { name: 'a JSON array instead of an object', body: ['mbx_a'], field: '(body)', mentions: 'JSON object' },
      {
        name: 'more than 1000 ids',
        body: { mailboxIds: Array.from({ length: 1001 }, (_, i) => `m${i}`) },
        field: 'mailboxIds',
        mentions: '1000',
      },
    ];

    it.each(cases)('$name', async ({ body, field, mentions }) => {
      const before = await jobCount();
      const response = await postJson(`${harness.url}/rotations`, body);
      expect(response.status).toBe(400);
      const answer = (await response.json()) as { error: string; message: string; problems: Array<{ field: string; message: string }> };
      expect(answer.error).toBe('invalid_body');
      expect(typeof answer.message).toBe('string');
      const problem = answer.problems.find((p) => p.field === field);
      expect(problem?.message).toContain(mentions);
      expect(await jobCount()).toBe(before);
    });
  });

  it('answers 413 with a JSON error for a body over the limit', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `mbx_${String(i).padStart(40, '0')}`);
    const response = await postJson(`${harness.url}/rotations`, { mailboxIds: ids });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: 'body_too_large', message: expect.stringContaining('16384 bytes') });
  });

  it('answers 415 for a body that is not JSON', async () => {
    const response = await fetch(`${harness.url}/rotations`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...bearer() },
      body: 'mbx_test_0001',
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toEqual({ error: 'unsupported_media_type', message: expect.stringContaining('application/json') });
  });

  it('answers 400 invalid_json for malformed JSON, without echoing it or a stack trace', async () => {
    const response = await postJson(`${harness.url}/rotations`, '{"mailboxIds": [');
    expect(response.status).toBe(400);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({ error: 'invalid_json', message: expect.any(String) });
    expect(JSON.stringify(body)).not.toMatch(/\bat .*\.(js|ts):\d+/);
  });

  it('answers 404 with {error, message} for an unknown route', async () => {
    const { status, body } = await getJson(`${harness.url}/nope?x=1`);
    expect(status).toBe(404);
    expect(body).toEqual({ error: 'not_found', message: 'there is no GET /nope route' });
  });
});
