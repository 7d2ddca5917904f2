import { UnrecoverableError, Worker, type Job, type Processor } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { describeJobDataProblems, ROTATE_JOB_NAME, rotationJobDataSchema, type RotationJobData } from '../rotation/job-data';
import { RetryLaterError } from '../rotation/failures';
import { ROTATION_QUEUE_NAME, type AnyJobData, type AnyJobResult } from './rotation-queue';
import { logsWritten } from '../logging/flush';
import { isJobName, JOB_SCHEMAS, type JobName, type JobProcessors, type JobTypes } from './job-catalog';

/** How often a rate-limited worker checks whether the pause was lifted (ms). */
export const RATE_LIMIT_RECHECK_MS = 1_000;

export interface RotationWorkerOptions {
  connection: Redis | Cluster;
  prefix: string;
  concurrency: number;
  /** The queue limiter lives in Redis, so it is shared by every replica's workers. */
  limiter: { max: number; durationMs: number };
  backoff: { initialMs: number; maxMs: number };
  /** One processor per job name of the catalog. */
  processors: JobProcessors;
  logger: Logger;
  /** Called for a rotation job BullMQ failed on its own (it stalled too often): clean up after it. */
  onAbandonedRotation?: (job: Job<RotationJobData>, data: RotationJobData, reason: string) => Promise<void>;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  maxStalledCount?: number;
  autorun?: boolean;
}

/**
 * Exponential backoff with jitter, never shorter than the retryAfterMs of a RetryLaterError and
 * never longer than `maxMs` (`rotation.backoffMaxDelay`).
 * Jitter spreads the retries of many jobs that failed together (e.g. a Sendmux outage).
 */
export function rotatorBackoff(initialMs: number, maxMs: number, random: () => number = Math.random) {
  return (attemptsMade: number, _type?: string, err?: Error): number => {
    const exponential = Math.min(maxMs, initialMs * 2 ** Math.max(0, attemptsMade - 1));
    const jittered = Math.round(exponential / 2 + (random() * exponential) / 2);
    // A server-given delay is already bounded where it is parsed; the bound holds here too, whatever set it.
    const requested = err instanceof RetryLaterError ? Math.min(err.retryAfterMs, maxMs) : 0;
    return Math.max(requested, jittered);
  };
}

/** Validates the job's data against its catalog schema and runs its processor; invalid data fails for good. */
async function dispatch<N extends JobName>(name: N, processors: JobProcessors, job: Job<JobTypes[N]['data']>, token?: string): Promise<JobTypes[N]['result']> {
  const parsed = JOB_SCHEMAS[name].safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`${name} job ${job.id} has invalid data: ${describeJobDataProblems(parsed.error)}`);
  const processor: JobProcessors[N] = processors[name];
  return processor(job, parsed.data, token);
}

export function createRotationWorker(opts: RotationWorkerOptions): Worker<AnyJobData, AnyJobResult> {
  const processor: Processor<AnyJobData, AnyJobResult> = async (job, token) => {
    if (!isJobName(job.name)) {
      throw new UnrecoverableError(`unknown job name "${job.name}" in queue ${ROTATION_QUEUE_NAME}; expected one of ${Object.keys(JOB_SCHEMAS).join(', ')}`);
    }
    try {
      return await dispatch(job.name, opts.processors, job, token);
    } finally {
      // BullMQ acknowledges the job (moves it to completed/failed/delayed) once this returns: the
      // lines that record how it ended ("rotation rotated", "revocation …", every warn/error) reach
      // stdout first, so a process killed right after the acknowledgement has still written them.
      // Bounded: a stalled log reader delays acknowledgements by at most LOG_FLUSH_BOUND_MS.
      await logsWritten(opts.logger);
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
    // A worker asleep on a rate-limit pause looks again at most this often (BullMQ's default is
    // 30 s), so an operator's resume (which deletes the limiter key) takes effect within a second.
    maximumRateLimitDelay: RATE_LIMIT_RECHECK_MS,
  });

  worker.on('error', (err) => opts.logger.error({ err }, 'worker error'));
  worker.on('stalled', (jobId) => opts.logger.warn({ jobId }, 'job stalled (its worker died?); it will be retried'));
  worker.on('failed', (job, err) => {
    if (!job) return;
    // Failures raised by the processors were already logged with their step; this catches the rest
    // (e.g. a job that stalled more often than maxStalledCount).
    if (/stalled/i.test(err.message)) {
      opts.logger.error({ jobId: job.id, err }, 'job failed after stalling repeatedly');
      const parsed = job.name === ROTATE_JOB_NAME ? rotationJobDataSchema.safeParse(job.data) : undefined;
      if (parsed?.success && opts.onAbandonedRotation) {
        opts.onAbandonedRotation(job as Job<RotationJobData>, parsed.data, err.message).catch((cleanupErr: Error) =>
          opts.logger.error({ jobId: job.id, err: cleanupErr }, 'clean-up after an abandoned rotation failed'),
        );
      }
    }
  });
  return worker;
}
