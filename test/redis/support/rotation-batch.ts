import { Redis } from 'ioredis';
import type { RedisTarget } from '../../../src/config';
import type { RotatorRuntime } from '../../../src/app/rotator-runtime';
import { ROTATE_JOB_NAME } from '../../../src/rotation/job-data';
import { checkInvariants, observeFromOutside, type InvariantReport } from '../../chaos/invariants';
import { pollUntil } from '../../chaos/harness';
import { dumpKeysWithPrefix } from '../../support/redis';
import { TestBed } from '../../support/test-bed';

/** Retries and a short grace like the chaos scenarios; a short lock so a lost worker's job is taken over quickly. */
export const BATCH_CONFIG: Record<string, unknown> = {
  revokePreviousAfter: '1s',
  rotation: { attempts: 25, backoffInitialDelay: '50ms', backoffMaxDelay: '400ms', concurrency: 8, lockDuration: '4s', stalledInterval: '2s' },
  sendmux: { timeout: '2s' },
};

export interface BatchRun {
  report: InvariantReport;
  rotationsCompleted: number;
  mailboxes: number;
  /** Keys of the run found on the nodes of the mode under test (proof the batch ran there). */
  keysInTarget: number;
}

export interface BatchOptions {
  label: string;
  mailboxes: number;
  /** Where the rotator's runtimes connect (the mode under test). */
  target: RedisTarget;
  /** The queue prefix to use (a cluster needs a {hash tag}); default: the bed's own. */
  prefixOf?: (bedPrefix: string) => string;
  /** Plain single-node connections that together hold every key of the run (a cluster's masters). */
  dumpSources: () => Redis[];
  /** Runs while the batch is in flight, once `share` of the mailboxes have been minted. */
  midBatch?: { share: number; act: () => Promise<void> };
  /** Gets the bed before the batch, e.g. to run CLI commands against the mode under test. */
  before?: (bed: TestBed, prefix: string) => Promise<void>;
  workers?: number;
  timeoutMs?: number;
}

/**
 * One batch of rotations over `target`: two in-process workers and a producer of the rotator's
 * own runtime, against the Sendmux sandbox and the Secrets Manager stand-in of a TestBed; then
 * the chaos invariants, checked from the outside (sandbox, stand-in, jobs, every Redis key of
 * the run, every log line).
 */
export async function runRotationBatch(options: BatchOptions): Promise<BatchRun> {
  const bed = await TestBed.start({ mailboxes: options.mailboxes, label: options.label, config: BATCH_CONFIG, sandbox: { rateLimit: null } });
  const prefix = options.prefixOf ? options.prefixOf(bed.prefix) : bed.prefix;
  const overrides = { redis: options.target, queuePrefix: prefix };
  try {
    await options.before?.(bed, prefix);
    const producer = await bed.runtimeWithEnv(overrides, { runWorker: false });
    for (let i = 0; i < (options.workers ?? 2); i += 1) await bed.runtimeWithEnv(overrides, { runWorker: true });
    const slot = `${options.label}-${Date.now().toString(36)}`;
    const outcomes = await producer.queue.requestRotations(bed.mailboxIds.map((mailboxId) => ({ mailboxId, reason: 'scheduled' as const, slot, requestedBy: 'test' })));
    const refused = outcomes.filter((o) => o.status !== 'enqueued');
    if (refused.length > 0) throw new Error(`${refused.length} mailboxes were not enqueued, e.g. ${JSON.stringify(refused[0])}`);

    const timeoutMs = options.timeoutMs ?? 40_000;
    if (options.midBatch) {
      const wanted = Math.ceil(options.midBatch.share * bed.mailboxIds.length);
      await pollUntil(async () => bed.sandbox.state.mintLog.length >= wanted, timeoutMs, `${wanted} mints before the fault`, 10);
      await options.midBatch.act();
    }
    await pollUntil(async () => (await pendingJobs(producer)) === 0, timeoutMs, 'the batch (and its revocations) to drain', 100);

    const dumps = await Promise.all(options.dumpSources().map(async (node) => ({ node, text: await dumpKeysWithPrefix(node, prefix) })));
    const holder = dumps.find((d) => d.text !== '')?.node ?? dumps[0]!.node;
    // observeFromOutside dumps `bed.redis` under `bed.prefix`: point both at the mode under test.
    const view = await observeFromOutside(Object.assign(Object.create(bed) as TestBed, { redis: holder, prefix }), producer.queue, [
      ...dumps.map(({ node, text }) => ({ source: `redis node ${node.options.port}`, text })),
    ]);
    const report = checkInvariants(view);
    const rotationsCompleted = view.jobs.filter((job) => job.name === ROTATE_JOB_NAME && job.state === 'completed').length;
    const keysInTarget = dumps.reduce((n, d) => n + d.text.split('\n').filter((line) => line.startsWith(`${prefix}:`)).length, 0);
    return { report, rotationsCompleted, mailboxes: bed.mailboxIds.length, keysInTarget };
  } finally {
    await bed.close();
  }
}

/** Jobs not finished yet; while Redis cannot answer, that counts as "not done". */
async function pendingJobs(producer: RotatorRuntime): Promise<number> {
  try {
    const counts = await producer.queue.queue.getJobCounts('active', 'wait', 'delayed', 'prioritized', 'paused', 'waiting-children');
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * The invariants a batch must keep on every topology: its keys really are on the server under
 * test, every mailbox rotated with a working AWSCURRENT key, no duplicate mint, no orphan, no leak.
 */
export function expectBatchKeptInvariants(run: BatchRun): void {
    expect(run.keysInTarget).toBeGreaterThan(0);
    expect(run.report.violations).toEqual([]);
    expect(run.rotationsCompleted).toBe(run.mailboxes);
    expect(run.report.figures.mailboxesWithWorkingCurrentKey).toBe(run.mailboxes);
    expect(run.report.figures.duplicateMints).toBe(0);
    expect(run.report.figures.orphanedLiveKeys).toBe(0);
    expect(run.report.figures.plaintextLeaks).toBe(0);
}
