import { randomBytes } from 'node:crypto';
import type { BenchProcess } from '../lib/child-process';
import { finishedJobs, waitForDrain } from '../lib/jobs';
import { managementDelta, readSandboxCounters, seedMailboxes, type ManagementRequestDelta } from '../lib/sandbox-admin';
import { startWorker } from '../lib/services';
import { max, median, percentile, round } from '../lib/stats';
import { BenchWorld, benchConfig, type BenchRedis } from '../lib/world';
import type { QueueClient } from '../../src/app/queue-client';

export interface CeilingParams {
  mailboxes: number;
  /** The sandbox's limit, scaled up from the real 600/60 s so a run is short. */
  sandboxLimit: { max: number; windowSeconds: number };
  latencyMs: number;
  workerCounts: number[];
  runs: number;
  /** rotation.concurrency of each worker process. */
  concurrency: number;
  /** The rotator's queue limiter (rateLimit.max per rateLimit.duration). */
  limiter: { max: number; duration: string };
}

export interface CeilingRun {
  workers: number;
  run: number;
  requests: ManagementRequestDelta;
  /** Enqueue of the first job → the last job (rotation or revocation) finished. */
  elapsedMs: number;
  /** Enqueue → the last rotation finished (every mailbox's new key is AWSCURRENT). */
  allCurrentMs: number;
  requestsPerSecond: number;
  fractionOfCeiling: number;
  percent429: number;
  /** Rotation job processedOn → finishedOn (time inside the worker, queue wait excluded). */
  rotationP50Ms: number;
  rotationP99Ms: number;
  /** Rotation job added → finished (includes the wait for the limiter). */
  enqueueToDoneP50Ms: number;
  enqueueToDoneP99Ms: number;
  failedJobs: number;
  /** Job attempts beyond the first (retries after errors; a rate-limited job is moved back without one). */
  retries: number;
  workerCpuSeconds: number;
}

export interface CeilingSummary {
  workers: number;
  runs: number;
  fractionOfCeiling: number;
  requestsPerSecond: number;
  percent429: number;
  count429: number;
  rotationP50Ms: number;
  rotationP99Ms: number;
  enqueueToDoneP50Ms: number;
  enqueueToDoneP99Ms: number;
  elapsedMs: number;
  allCurrentMs: number;
  failedJobs: number;
  /** 10,000 mailboxes × 2 requests at 600/60 s, divided by the measured fraction of the ceiling. */
  projected10kMinutes: number;
}

export interface CeilingResult {
  params: CeilingParams;
  runs: CeilingRun[];
  summaries: CeilingSummary[];
}

/** `redis`: another Redis than the single node at REDIS_URL (the cluster scenario); `label` names its logs. */
export async function runCeilingScenario(
  params: CeilingParams,
  logDir: string,
  say: (line: string) => void,
  redis?: BenchRedis,
  label = 'ceiling',
): Promise<CeilingResult> {
  const ceilingPerSecond = params.sandboxLimit.max / params.sandboxLimit.windowSeconds;
  const world = await BenchWorld.start(
    { mailboxes: params.mailboxes, rateLimit: `${params.sandboxLimit.max}/${params.sandboxLimit.windowSeconds}s`, latencyMs: String(params.latencyMs) },
    logDir,
    label,
    redis,
  );
  const runs: CeilingRun[] = [];
  try {
    const config = benchConfig({ rotation: { concurrency: params.concurrency }, rateLimit: params.limiter });
    const seedPrefix = world.prefixFor(`${label}-seed`);
    const { settings: seedSettings } = world.configure(`${label}-seed`, config, seedPrefix);
    const seedStarted = performance.now();
    await seedMailboxes({ adminUrl: world.sandbox.adminUrl, secrets: world.secrets, mailboxIds: world.mailboxIds, secretNameFor: world.secretNameFor(seedSettings) });
    say(`  seeded ${params.mailboxes} mailboxes (live key + AWSCURRENT secret) in ${Math.round(performance.now() - seedStarted)} ms`);

    for (const workers of params.workerCounts) {
      const group = await WorkerGroup.start(world, config, workers, logDir, label);
      try {
        for (let run = 1; run <= params.runs; run++) {
          const result = await group.run(run, ceilingPerSecond);
          runs.push(result);
        say(
          `  ${workers} worker(s), run ${run}: ${result.requests.succeeded} requests in ${(result.elapsedMs / 1000).toFixed(1)} s = ` +
            `${result.requestsPerSecond.toFixed(1)}/s = ${(result.fractionOfCeiling * 100).toFixed(1)}% of ${ceilingPerSecond}/s, ` +
            `${result.requests.rateLimited} × 429 (${result.percent429.toFixed(2)}%), rotation p50 ${result.rotationP50Ms} ms p99 ${result.rotationP99Ms} ms, ` +
            `worker CPU ${result.workerCpuSeconds.toFixed(1)} s`,
          );
        }
      } finally {
        await group.stop();
      }
    }
  } finally {
    await world.close();
  }
  const summaries = params.workerCounts.map((workers) => summarize(runs.filter((r) => r.workers === workers), workers));
  return { params, runs, summaries };
}

/**
 * The worker processes of one worker count, started once and given every run of that count (a
 * run enqueues a rotation of every mailbox with a fresh slot): runs measure rotating, not starting.
 */
class WorkerGroup {
  private jobsSoFar = 0;
  private failedSoFar = 0;

  private constructor(
    private readonly world: BenchWorld,
    private readonly processes: BenchProcess[],
    private readonly client: QueueClient,
    private readonly prefix: string,
    readonly workers: number,
  ) {}

  static async start(world: BenchWorld, config: Record<string, unknown>, workers: number, logDir: string, label: string): Promise<WorkerGroup> {
    const prefix = world.prefixFor(`${label}-w${workers}`);
    const { path, settings } = world.configure(`${label}-w${workers}`, config, prefix);
    const started = await Promise.allSettled(
      Array.from({ length: workers }, (_, i) => startWorker(path, world.env(prefix), logDir, `${label}-w${workers}-${i + 1}`)),
    );
    const processes = started.flatMap((p) => (p.status === 'fulfilled' ? [p.value] : []));
    const failure = started.find((p): p is PromiseRejectedResult => p.status === 'rejected');
    if (failure) {
      await Promise.all(processes.map((p) => p.stop()));
      throw failure.reason;
    }
    return new WorkerGroup(world, processes, world.queueClient(settings), prefix, workers);
  }

  async run(run: number, ceilingPerSecond: number): Promise<CeilingRun> {
    const { world, processes, client } = this;
    const cpuBefore = processes.reduce((sum, p) => sum + (p.cpuSeconds() ?? 0), 0);
    const before = await readSandboxCounters(world.sandbox.adminUrl);
    const slot = `bench${randomBytes(4).toString('hex')}`;
    const started = Date.now();
    for (let i = 0; i < world.mailboxIds.length; i += 1000) {
      await client.queue.requestRotations(
        world.mailboxIds.slice(i, i + 1000).map((mailboxId) => ({ mailboxId, reason: 'scheduled' as const, slot, requestedBy: 'bench' })),
      );
    }
    this.jobsSoFar += world.mailboxIds.length * 2;
    // Retention keeps at most 10,000 completed jobs; nothing is left open once every job of the run is done.
    await waitForDrain(client.queue.queue, Math.min(10_000, this.jobsSoFar), 10 * 60_000);
    const cpuAfter = processes.reduce((sum, p) => sum + (p.cpuSeconds() ?? 0), 0);
    const after = await readSandboxCounters(world.sandbox.adminUrl);
    const all = await finishedJobs(world.redis, this.prefix);
    const rotations = all.rotations.filter((j) => j.enqueuedAt >= started);
    const revocations = all.revocations.filter((j) => j.enqueuedAt >= started);
    if (rotations.length !== world.mailboxIds.length) {
      throw new Error(`ceiling run ${run}: ${rotations.length} of ${world.mailboxIds.length} rotations completed, ${all.failed} jobs failed so far`);
    }
    const failedJobs = all.failed - this.failedSoFar;
    this.failedSoFar = all.failed;
    const lastFinish = max([...rotations, ...revocations].map((j) => j.finishedAt));
    const elapsedMs = lastFinish - started;
    const requests = managementDelta(before, after);
    const requestsPerSecond = requests.succeeded / (elapsedMs / 1000);
    return {
      workers: this.workers,
      run,
      requests,
      elapsedMs,
      allCurrentMs: max(rotations.map((j) => j.finishedAt)) - started,
      requestsPerSecond,
      fractionOfCeiling: requestsPerSecond / ceilingPerSecond,
      percent429: requests.total === 0 ? 0 : (100 * requests.rateLimited) / requests.total,
      rotationP50Ms: percentile(rotations.map((j) => j.finishedAt - j.processedAt), 50),
      rotationP99Ms: percentile(rotations.map((j) => j.finishedAt - j.processedAt), 99),
      enqueueToDoneP50Ms: percentile(rotations.map((j) => j.finishedAt - j.enqueuedAt), 50),
      enqueueToDoneP99Ms: percentile(rotations.map((j) => j.finishedAt - j.enqueuedAt), 99),
      failedJobs,
      retries: [...rotations, ...revocations].reduce((sum, j) => sum + Math.max(0, j.attemptsMade - 1), 0),
      workerCpuSeconds: cpuAfter - cpuBefore,
    };
  }

  async stop(): Promise<void> {
    await this.client.close();
    await Promise.all(this.processes.map((p) => p.stop()));
    await this.world.dropPrefix(this.prefix);
  }
}

function summarize(runs: CeilingRun[], workers: number): CeilingSummary {
  const fraction = median(runs.map((r) => r.fractionOfCeiling));
  return {
    workers,
    runs: runs.length,
    fractionOfCeiling: round(fraction, 4),
    requestsPerSecond: round(median(runs.map((r) => r.requestsPerSecond)), 1),
    percent429: round(median(runs.map((r) => r.percent429)), 3),
    count429: median(runs.map((r) => r.requests.rateLimited)),
    rotationP50Ms: median(runs.map((r) => r.rotationP50Ms)),
    rotationP99Ms: median(runs.map((r) => r.rotationP99Ms)),
    enqueueToDoneP50Ms: median(runs.map((r) => r.enqueueToDoneP50Ms)),
    enqueueToDoneP99Ms: median(runs.map((r) => r.enqueueToDoneP99Ms)),
    elapsedMs: median(runs.map((r) => r.elapsedMs)),
    allCurrentMs: median(runs.map((r) => r.allCurrentMs)),
    failedJobs: runs.reduce((sum, r) => sum + r.failedJobs, 0),
    projected10kMinutes: round((10_000 * 2) / 600 / fraction, 1),
  };
}
