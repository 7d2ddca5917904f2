import { TestBed, waitForJob } from '../support/test-bed';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';

/**
 * Finding 1: a server-given delay had no upper bound. Whatever Retry-After the vendor sends on a
 * 429 (queue-wide pause) or a 503 (job retry), the rotation ends within rotation.backoffMaxDelay
 * (2 s here) plus a little.
 */
const BACKOFF_MAX_MS = 2_000;
/** Attempts, backoff and a loaded CI machine; far below any absurd value under test. */
const A_LITTLE_MS = 10_000;

const HOSTILE_VALUES: Array<[string, string]> = [
  ['1e9 seconds', '1000000000'],
  ['an HTTP-date in 2100', 'Fri, 01 Jan 2100 00:00:00 GMT'],
  ['400 nines', '9'.repeat(400)],
  ['a negative number', '-5'],
  ['garbage', 'later, maybe'],
];

describe('absurd Retry-After values end with the rotation done within backoffMaxDelay plus a little', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    bed = await TestBed.start({
      label: 'hostile-retry-after',
      config: { rotation: { attempts: 5, backoffInitialDelay: '50ms', backoffMaxDelay: `${BACKOFF_MAX_MS}ms` } },
    });
    runtime = await bed.runtime();
  });
  afterAll(async () => {
    await bed?.close();
  });

  async function rotateThrough(kind: 'status429' | 'status503', retryAfter: string): Promise<void> {
    const mailboxId = bed.mailboxIds[0]!;
    bed.sandbox.faults.inject({ operation: 'mintMailboxKey', kind, retryAfter, mailboxId, times: 1 });
    const [outcome] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
    expect(outcome?.status).toBe('enqueued');
    const finished = await waitForJob(runtime, (outcome as { jobId: string }).jobId, BACKOFF_MAX_MS + A_LITTLE_MS);
    expect(finished).toMatchObject({ state: 'completed' });
    // The queue is not left paused beyond the bound either.
    expect(await runtime.queue.queue.getRateLimitTtl()).toBeLessThanOrEqual(BACKOFF_MAX_MS);
  }

  it.each(HOSTILE_VALUES)('429 with Retry-After: %s', async (_name, value) => {
    await rotateThrough('status429', value);
  });

  it.each(HOSTILE_VALUES)('503 with Retry-After: %s', async (_name, value) => {
    await rotateThrough('status503', value);
  });
});
