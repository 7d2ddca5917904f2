import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { BenchProcess, parseJsonLine } from '../lib/child-process';
import { MeasuredWorker, type RoundMeasurement } from '../lib/measured-worker';
import { BARE_LOOP_ENTRY } from '../lib/paths';
import { benchPrefix } from '../lib/redis-tools';
import { seedMailboxes } from '../lib/sandbox-admin';
import { deployedRuntimeEnv } from '../lib/services';

/** Extra Node flags for the bare loop, for profiling it like a worker: BENCH_BARE_NODE_ARGS="--cpu-prof …". */
function bareLoopNodeArgs(): string[] {
  return (process.env.BENCH_BARE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
}
import { median, round } from '../lib/stats';
import { BenchWorld, benchConfig } from '../lib/world';

/**
 * Scenarios 2 (overhead) and 4 (memory) share one rotator worker process: its rounds of 2,000
 * rotations in the overhead pairs are the memory scenario's first rounds, and it goes on until
 * the memory scenario's total. A full rotation is the rotation job plus its revocation job
 * (revokePreviousAfter 0s), i.e. the same calls the bare loop makes per mailbox. No rate limit:
 * both run as fast as the machine allows, with the same concurrency.
 */
export interface WorkerLoadParams {
  mailboxes: number;
  latencyMs: string;
  concurrency: number;
  /** Alternating (bare loop, rotator) pairs; 0 skips the overhead scenario. */
  pairs: number;
  /** One unmeasured round on each side before the pairs (JIT warm-up). */
  warmUp: boolean;
  /** Rotations the worker does in all (memory scenario); 0 skips it. */
  memoryRotations: number;
  sampleEveryMs: number;
}

export interface OverheadPair {
  pair: number;
  bareRotationsPerSecond: number;
  rotatorRotationsPerSecond: number;
  ratio: number;
  rotatorCpuSeconds: number;
  bareCpuSeconds: number;
}

export interface OverheadResult {
  params: Pick<WorkerLoadParams, 'mailboxes' | 'latencyMs' | 'concurrency' | 'pairs' | 'warmUp'>;
  pairs: OverheadPair[];
  bareRotationsPerSecond: number;
  rotatorRotationsPerSecond: number;
  /** Median over the pairs of rotator ÷ bare loop. */
  ratio: number;
  /** Worker CPU per rotation (rotation job + revocation job), ms. */
  rotatorCpuMsPerRotation: number;
  bareCpuMsPerRotation: number;
}

export interface MemoryResult {
  params: Pick<WorkerLoadParams, 'mailboxes' | 'latencyMs' | 'concurrency' | 'sampleEveryMs'> & { rotations: number };
  /** The runtime-tuning environment the worker ran with (the Dockerfile's NODE_OPTIONS, MALLOC_ARENA_MAX). */
  runtimeEnv: Record<string, string>;
  rounds: RoundMeasurement[];
  samples: Array<{ atMs: number; rssMiB: number }>;
  startRssMiB: number;
  endRssMiB: number;
  peakRssMiB: number;
  /**
   * Peak RSS during the last 2,000 rotations minus the peak during the 2,000 before: peaks, not
   * single readings, so where the garbage collector happens to be at a reading does not count.
   */
  lastRoundGrowthMiB: number;
  rotationsPerSecond: number;
}

export async function runWorkerLoadScenarios(
  params: WorkerLoadParams,
  logDir: string,
  say: (line: string) => void,
): Promise<{ overhead?: OverheadResult; memory?: MemoryResult }> {
  const world = await BenchWorld.start({ mailboxes: params.mailboxes, rateLimit: 'off', latencyMs: params.latencyMs }, logDir, 'load');
  const pairs: OverheadPair[] = [];
  const rounds: RoundMeasurement[] = [];
  let worker: MeasuredWorker | undefined;
  let bareLoop: BareLoopProcess | undefined;
  try {
    // The limiter stays out of the way: these scenarios measure everything but the rate limit.
    // Retention is the default (10,000 completed jobs), as a production worker lives with it.
    const config = benchConfig({ rotation: { concurrency: params.concurrency }, rateLimit: { max: 100_000, duration: '1s' } });
    const prefix = benchPrefix('load');
    const { settings } = world.configure('load-seed', config, prefix);
    await seedMailboxes({ adminUrl: world.sandbox.adminUrl, secrets: world.secrets, mailboxIds: world.mailboxIds, secretNameFor: world.secretNameFor(settings) });
    worker = await MeasuredWorker.start(world, config, prefix, 'load', params.sampleEveryMs);
    if (params.pairs > 0) bareLoop = await BareLoopProcess.start(world, config);
    const reportRound = (r: RoundMeasurement) =>
      say(`    worker after ${r.rotations} rotations: RSS ${r.rssMiB} MiB (peak during these ${params.mailboxes}: ${r.peakRssMiB} MiB)`);

    if (params.pairs > 0 && params.warmUp) {
      // One unmeasured round each first: the first thousands of calls run in V8's interpreter and
      // baseline tiers, and a worker loads more code than the bare loop, so a first pair measures
      // start-up (ratio 0.58-0.66 against 0.67-0.79 for the next pairs here), not the steady state
      // a long-running service lives in.
      await bareLoop!.rotateAll();
      const warm = await worker.rotateAll();
      rounds.push(warm);
      say(`  warm-up (not measured): one round of ${params.mailboxes} rotations on each side`);
      reportRound(warm);
    }
    for (let pair = 1; pair <= params.pairs; pair++) {
      const bare = await bareLoop!.rotateAll();
      const rotator = await worker.rotateAll();
      rounds.push(rotator);
      const result: OverheadPair = {
        pair,
        bareRotationsPerSecond: params.mailboxes / (bare.wallMs / 1000),
        rotatorRotationsPerSecond: params.mailboxes / (rotator.wallMs / 1000),
        ratio: bare.wallMs / rotator.wallMs,
        rotatorCpuSeconds: rotator.cpuSeconds,
        bareCpuSeconds: bare.cpuSeconds,
      };
      pairs.push(result);
      say(
        `  pair ${pair}: bare loop ${result.bareRotationsPerSecond.toFixed(0)} rotations/s (CPU ${bare.cpuSeconds.toFixed(1)} s), ` +
          `rotator ${result.rotatorRotationsPerSecond.toFixed(0)} rotations/s (CPU ${rotator.cpuSeconds.toFixed(1)} s), ratio ${result.ratio.toFixed(3)}`,
      );
      reportRound(rotator);
    }
    while (params.memoryRotations > 0 && (rounds[rounds.length - 1]?.rotations ?? 0) < params.memoryRotations) {
      const r = await worker.rotateAll();
      rounds.push(r);
      reportRound(r);
    }
  } finally {
    await bareLoop?.stop();
    await worker?.stop();
    await world.close();
  }

  const result: { overhead?: OverheadResult; memory?: MemoryResult } = {};
  if (params.pairs > 0) {
    result.overhead = {
      params: { mailboxes: params.mailboxes, latencyMs: params.latencyMs, concurrency: params.concurrency, pairs: params.pairs, warmUp: params.warmUp },
      pairs,
      bareRotationsPerSecond: round(median(pairs.map((p) => p.bareRotationsPerSecond)), 1),
      rotatorRotationsPerSecond: round(median(pairs.map((p) => p.rotatorRotationsPerSecond)), 1),
      ratio: round(median(pairs.map((p) => p.ratio)), 3),
      rotatorCpuMsPerRotation: round((1000 * median(pairs.map((p) => p.rotatorCpuSeconds))) / params.mailboxes, 2),
      bareCpuMsPerRotation: round((1000 * median(pairs.map((p) => p.bareCpuSeconds))) / params.mailboxes, 2),
    };
  }
  if (params.memoryRotations > 0 && worker) {
    const last = rounds[rounds.length - 1]!;
    const beforeLast = rounds.find((r) => r.rotations === last.rotations - 2_000) ?? rounds[rounds.length - 2] ?? last;
    const samples = worker.samples;
    result.memory = {
      params: { mailboxes: params.mailboxes, latencyMs: params.latencyMs, concurrency: params.concurrency, sampleEveryMs: params.sampleEveryMs, rotations: last.rotations },
      runtimeEnv: deployedRuntimeEnv(),
      rounds,
      samples,
      startRssMiB: round(worker.startRssMiB, 1),
      endRssMiB: last.rssMiB,
      peakRssMiB: Math.max(...samples.map((s) => s.rssMiB), ...rounds.map((r) => r.peakRssMiB)),
      lastRoundGrowthMiB: round(last.peakRssMiB - beforeLast.peakRssMiB, 1),
      rotationsPerSecond: round(median(rounds.map((r) => params.mailboxes / (r.wallMs / 1000))), 1),
    };
  }
  return result;
}

/** The bare loop in its own long-lived process, against the same sandbox, stand-in and mailboxes. */
class BareLoopProcess {
  private constructor(private readonly proc: BenchProcess) {}

  static async start(world: BenchWorld, config: Record<string, unknown>): Promise<BareLoopProcess> {
    const prefix = benchPrefix('bare');
    const { path: configPath } = world.configure('bare', config, prefix);
    const proc = new BenchProcess('bare loop', BARE_LOOP_ENTRY, [configPath, String(world.mailboxIds.length)], world.env(prefix), path.join(world.logDir, 'bare-loop.log'), bareLoopNodeArgs());
    await proc.waitForLine(/"ready":true/);
    return new BareLoopProcess(proc);
  }

  /** Rotates every mailbox once; wall time as the bare loop measured it, CPU from /proc. */
  async rotateAll(): Promise<{ wallMs: number; cpuSeconds: number }> {
    const slot = `bare${randomBytes(4).toString('hex')}`;
    const cpuBefore = this.proc.cpuSeconds() ?? 0;
    const done = this.proc.waitForLine(new RegExp(`"slot":"${slot}"`), 5 * 60_000);
    this.proc.send(`rotate ${slot}`);
    const line = await done;
    const cpuSeconds = (this.proc.cpuSeconds() ?? 0) - cpuBefore;
    const wallMs = parseJsonLine(line)?.['wallMs'];
    if (typeof wallMs !== 'number') throw new Error(`bare loop printed no wallMs: ${line}`);
    return { wallMs, cpuSeconds };
  }

  stop(): Promise<void> {
    return this.proc.stop();
  }
}
