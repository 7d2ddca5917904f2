import { Worker, type Job, type Processor } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { REVOKE_JOB_NAME, ROTATE_JOB_NAME, type RevocationJobData, type RotationJobData } from '../rotation/job-data';
import { ROTATION_QUEUE_NAME, type AnyJobData, type AnyJobResult } from './rotation-queue';

export interface RotationWorkerOptions {
  connection: Redis | Cluster;
  prefix: string;
  concurrency: number;
  /** The queue limiter lives in Redis, so it is shared by every replica's workers. */
  limiter: { max: number; durationMs: number };
  backoff: { initialMs: number; maxMs: number };
  processors: {
    rotate: (job: Job<RotationJobData>) => Promise<AnyJobResult>;
    revoke: (job: Job<RevocationJobData>) => Promise<AnyJobResult>;
  };
  logger: Logger;
  /** Called for a rotation job BullMQ failed on its own (it stalled too often): clean up after it. */
  onAbandonedRotation?: (job: Job<RotationJobData>, reason: string) => Promise<void>;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  maxStalledCount?: number;
  autorun?: boolean;
}

/**
 * Exponential backoff with jitter, never shorter than a Retry-After the failure carried.
 * Jitter spreads the retries of many jobs that failed together (e.g. a Sendmux outage).
 */
export function rotatorBackoff(initialMs: number, maxMs: number, random: () => number = Math.random) {
  return (attemptsMade: number, _type?: string, err?: Error): number => {
    const exponential = Math.min(maxMs, initialMs * 2 ** Math.max(0, attemptsMade - 1));
    const jittered = Math.round(exponential / 2 + (random() * exponential) / 2);
    const retryAfterMs = (err as (Error & { retryAfterMs?: unknown }) | undefined)?.retryAfterMs;
    return typeof retryAfterMs === 'number' && retryAfterMs > jittered ? retryAfterMs : jittered;
  };
}

export function createRotationWorker(opts: RotationWorkerOptions): Worker<AnyJobData, AnyJobResult> {
  const processor: Processor<AnyJobData, AnyJobResult> = async (job) => {
    switch (job.name) {
      case ROTATE_JOB_NAME:
        return opts.processors.rotate(job as Job<RotationJobData>);
      case REVOKE_JOB_NAME:
        return opts.processors.revoke(job as Job<RevocationJobData>);
      default:
        throw new Error(`unknown job name "${job.name}" in queue ${ROTATION_QUEUE_NAME}; expected ${ROTATE_JOB_NAME} or ${REVOKE_JOB_NAME}`);
    }
  };

  const worker = new Worker<AnyJobData, AnyJobResult>(ROTATION_QUEUE_NAME, processor, {
    connection: opts.connection,
    prefix: opts.prefix,
    concurrency: opts.concurrency,
    limiter: { max: opts.limiter.max, duration: opts.limiter.durationMs },
    settings: { backoffStrategy: rotatorBackoff(opts.backoff.initialMs, opts.backoff.maxMs) },
    lockDuration: opts.lockDurationMs ?? 30_000,
    stalledInterval: opts.stalledIntervalMs ?? 30_000,
    // A worker killed mid-job leaves it stalled; every step is idempotent, so let it be picked up again.
    maxStalledCount: opts.maxStalledCount ?? 5,
    autorun: opts.autorun ?? true,
  });

  worker.on('error', (err) => opts.logger.error({ err: { name: err.name, message: err.message } }, 'worker error'));
  worker.on('stalled', (jobId) => opts.logger.warn({ jobId }, 'job stalled (its worker died?); it will be retried'));
  worker.on('failed', (job, err) => {
    if (!job) return;
    // Failures raised by the processors were already logged with their step; this catches the rest
    // (e.g. a job that stalled more often than maxStalledCount).
    if (/stalled/i.test(err.message)) {
      opts.logger.error({ jobId: job.id, err: { message: err.message } }, 'job failed after stalling repeatedly');
      if (job.name === ROTATE_JOB_NAME && opts.onAbandonedRotation) {
        opts.onAbandonedRotation(job as Job<RotationJobData>, err.message).catch((cleanupErr: Error) =>
          opts.logger.error({ jobId: job.id, err: { message: cleanupErr.message } }, 'clean-up after an abandoned rotation failed'),
        );
      }
    }
  });
  return worker;
}
