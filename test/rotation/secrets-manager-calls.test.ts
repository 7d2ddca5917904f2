import { TestBed, waitFor } from '../support/test-bed';
import { rotateEveryMailbox } from './support/rotate-every-mailbox';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';

/**
 * The Secrets Manager calls of one rotation of an already-rotated mailbox plus its revocation
 * job, counted by the stand-in. bench/bare-loop.ts makes them too (the overhead ratio divides by
 * that loop), so a change to either shows here first. DescribeSecret is the quota-cheapest read
 * (10,000/s shared with GetSecretValue): promote's second one is what keeps a rotation from
 * promoting a version a stale-pending clean-up took away meanwhile. No call answers
 * ResourceNotFound: the revocation proof learns from DescribeSecret whether any version holds
 * AWSPENDING instead of asking for that label and being told it is absent.
 */
const ROTATIONS = 6;
const EXPECTED_PER_ROTATION = {
  DescribeSecret: 3, // look; promote's fresh label read (its AWSPENDING still there); the revocation proof
  GetSecretValue: 2, // the AWSCURRENT document in look and in the revocation proof
  PutSecretValue: 1, // stage
  UpdateSecretVersionStage: 2, // promote: AWSCURRENT, then AWSPENDING off
  TagResource: 1, // the retired key recorded for the reconciler
};

describe('Secrets Manager calls of one rotation', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: ROTATIONS, label: 'sm-calls', config: { revokePreviousAfter: '0s', rotation: { concurrency: 3 } } });
    runtime = await bed.runtime();
  });
  afterAll(async () => {
    await bed.close();
  });

  async function rotateAll(revocations: number): Promise<void> {
    const tagsBefore = bed.standIn.counters['TagResource'] ?? 0;
    // The revocation job tags the secret right after its Sendmux call.
    await rotateEveryMailbox(bed, runtime, {
      done: () => (bed.standIn.counters['TagResource'] ?? 0) >= tagsBefore + revocations,
      what: 'every revocation recorded its retired key',
    });
  }


  it('makes the bare loop’s calls and none that answers ResourceNotFound', async () => {
    await rotateAll(0); // first keys: every mailbox now has a current key to supersede
    const before = { ...bed.standIn.counters };
    await rotateAll(ROTATIONS);
    const delta = (name: string) => ((bed.standIn.counters[name] ?? 0) - (before[name] ?? 0)) / ROTATIONS;
    for (const [operation, perRotation] of Object.entries(EXPECTED_PER_ROTATION)) expect([operation, delta(operation)]).toEqual([operation, perRotation]);
    const notFound = Object.keys(bed.standIn.counters).filter((name) => name.endsWith(':ResourceNotFoundException'));
    expect(notFound.map((name) => [name, delta(name)]).filter(([, d]) => d !== 0)).toEqual([]);
  }, 60_000);

  it('names each call’s AWS request id once, in the lines of the job that made it, and logs no info line per call', async () => {
    const from = bed.logs.lines.length;
    await rotateAll(ROTATIONS);
    const lines = bed.logs.parsed().slice(from);
    const named = lines.flatMap((line) => (Array.isArray(line['awsRequestIds']) ? (line['awsRequestIds'] as string[]).map((entry) => ({ entry, line })) : []));
    // Every entry is "<operation> <request id>" on a line of a rotation or revocation job of this bed's mailboxes.
    for (const { entry, line } of named) {
      expect(entry).toMatch(/^[A-Za-z]+ [0-9a-f-]{36}$/);
      expect(bed.mailboxIds).toContain(line['mailboxId']);
      expect(typeof line['jobId']).toBe('string');
    }
    const perOperation = (operation: string) => named.filter(({ entry }) => entry.startsWith(`${operation} `)).length / ROTATIONS;
    for (const [operation, perRotation] of Object.entries(EXPECTED_PER_ROTATION)) expect([operation, perOperation(operation)]).toEqual([operation, perRotation]);
    expect(new Set(named.map(({ entry }) => entry)).size).toBe(named.length);
    // The store's own line per call is debug (30 is pino's info).
    const infoPerCall = lines.filter((line) => typeof line['msg'] === 'string' && (line['msg'] as string).startsWith('secrets manager ') && (line['level'] as number) >= 30);
    expect(infoPerCall).toEqual([]);
  }, 60_000);

  it('names, at info, every Secrets Manager call of a rotation that fails for good after minting, its clean-up included', async () => {
    const mailboxId = bed.mailboxIds[0]!;
    const from = bed.logs.lines.length;
    bed.sandbox.faults.inject({ kind: 'wrongMailboxMe', mailboxId });
    const [outcome] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
    if (!outcome || outcome.status !== 'enqueued') throw new Error(`rotation not enqueued as a new job: ${JSON.stringify(outcome)}`);
    const jobId = outcome.jobId;
    await waitFor(async () => (await runtime.queue.queue.getJob(jobId))?.finishedOn !== undefined, 20_000, 'the rotation failed for good');
    await new Promise((r) => setTimeout(r, 300));
    const lines = bed.logs.parsed().slice(from);
    // The store's debug line per answered call carries its request id; each must be named at info or above.
    const calls = lines.filter((line) => line['level'] === 20 && typeof line['awsRequestId'] === 'string' && line['secretId'] === `sendmux/mailboxes/${mailboxId}`);
    expect(calls.length).toBeGreaterThan(0);
    const named = lines.filter((line) => (line['level'] as number) >= 30 && line['jobId'] === jobId).flatMap((line) => (line['awsRequestIds'] as string[] | undefined) ?? []);
    for (const call of calls) expect(named).toContain(`${String(call['operation'])} ${String(call['awsRequestId'])}`);
  }, 60_000);
});
