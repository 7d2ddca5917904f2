import { randomBytes } from 'node:crypto';
import type { BenchProcess } from './child-process';
import { finishedJobs, waitForDrain } from './jobs';
import { startWorker } from './services';
import { max } from './stats';
import type { BenchWorld } from './world';
import type { QueueClient } from '../../src/app/queue-client';

export interface RoundMeasurement {
  /** Rotations this worker has done, this round included. */
  rotations: number;
  /** Enqueue of the round → its last job (rotation or revocation) finished. */
  wallMs: number;
  cpuSeconds: number;
  rssMiB: number;
  /** Highest RSS sampled during the round. */
  peakRssMiB: number;
}

/**
 * One long-lived rotator worker process whose RSS is sampled every `sampleEveryMs` while the
 * bench hands it rounds of "rotate every mailbox once" (each rotation followed by its revocation).
 */
export class MeasuredWorker {
  readonly samples: Array<{ atMs: number; rssMiB: number }> = [];
  readonly startRssMiB: number;
  private rotations = 0;
  private roundPeak = 0;
  private readonly sampler: NodeJS.Timeout;
  private readonly startedAt = Date.now();

  private constructor(
    private readonly world: BenchWorld,
    private readonly worker: BenchProcess,
    private readonly client: QueueClient,
    private readonly prefix: string,
    sampleEveryMs: number,
  ) {
    this.startRssMiB = worker.rssMiB() ?? NaN;
    this.sampler = setInterval(() => {
      const rss = worker.rssMiB();
      if (rss === null) return;
      this.samples.push({ atMs: Date.now() - this.startedAt, rssMiB: Math.round(rss * 10) / 10 });
      this.roundPeak = Math.max(this.roundPeak, rss);
    }, sampleEveryMs);
  }

  static async start(world: BenchWorld, config: Record<string, unknown>, prefix: string, label: string, sampleEveryMs: number): Promise<MeasuredWorker> {
    const { path, settings } = world.configure(label, config, prefix);
    const worker = await startWorker(path, world.env(prefix), world.logDir, label);
    return new MeasuredWorker(world, worker, world.queueClient(settings), prefix, sampleEveryMs);
  }

  /** Rotates every mailbox once (a fresh slot) and waits until every rotation and revocation is done. */
  async rotateAll(): Promise<RoundMeasurement> {
    const { mailboxIds } = this.world;
    const slot = `r${randomBytes(4).toString('hex')}`;
    this.roundPeak = 0;
    const cpuBefore = this.worker.cpuSeconds() ?? 0;
    const started = Date.now();
    for (let i = 0; i < mailboxIds.length; i += 1000) {
      await this.client.queue.requestRotations(
        mailboxIds.slice(i, i + 1000).map((mailboxId) => ({ mailboxId, reason: 'scheduled' as const, slot, requestedBy: 'bench' })),
      );
    }
    this.rotations += mailboxIds.length;
    // Retention keeps at most 10,000 completed jobs; nothing is left open once every job of the round is done.
    await waitForDrain(this.client.queue.queue, Math.min(10_000, this.rotations * 2), 5 * 60_000, 50);
    const cpuSeconds = (this.worker.cpuSeconds() ?? 0) - cpuBefore;
    const jobs = await finishedJobs(this.world.redis, this.prefix);
    const ours = [...jobs.rotations, ...jobs.revocations].filter((j) => j.enqueuedAt >= started);
    if (ours.length !== mailboxIds.length * 2 || jobs.failed > 0) {
      throw new Error(`round of ${mailboxIds.length} rotations: ${ours.length} jobs completed (expected ${mailboxIds.length * 2}), ${jobs.failed} failed`);
    }
    const rss = this.worker.rssMiB() ?? NaN;
    return {
      rotations: this.rotations,
      wallMs: max(ours.map((j) => j.finishedAt)) - started,
      cpuSeconds,
      rssMiB: Math.round(rss * 10) / 10,
      peakRssMiB: Math.round(Math.max(this.roundPeak, rss) * 10) / 10,
    };
  }

  async stop(): Promise<void> {
    clearInterval(this.sampler);
    await this.client.close();
    await this.worker.stop();
    await this.world.dropPrefix(this.prefix);
  }
}
