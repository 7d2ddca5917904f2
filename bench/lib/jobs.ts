import type { RedisClient } from '../../src/queue/redis-connection';
import type { Queue } from 'bullmq';
import { ROTATION_QUEUE_NAME } from '../../src/queue/rotation-queue';
import { REVOKE_JOB_NAME, ROTATE_JOB_NAME } from '../../src/rotation/job-data';

export interface JobTiming {
  name: string;
  /** When the job was added (ms since epoch). */
  enqueuedAt: number;
  processedAt: number;
  finishedAt: number;
  attemptsMade: number;
}

export interface FinishedJobs {
  rotations: JobTiming[];
  revocations: JobTiming[];
  failed: number;
}

/**
 * Waits until `expected` jobs have finished (completed or failed) and none is waiting, active or
 * delayed. Polls job counts (a few cheap Redis calls) every `pollMs`.
 */
export async function waitForDrain(queue: Queue, expected: number, timeoutMs: number, pollMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed', 'prioritized', 'paused');
    const finished = (counts['completed'] ?? 0) + (counts['failed'] ?? 0);
    const open = (counts['waiting'] ?? 0) + (counts['active'] ?? 0) + (counts['delayed'] ?? 0) + (counts['prioritized'] ?? 0) + (counts['paused'] ?? 0);
    if (finished >= expected && open === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`queue did not drain within ${timeoutMs} ms: ${JSON.stringify(counts)} (expected ${expected} finished jobs)`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Timings of every completed job under `prefix`, read straight from the job hashes (one pipeline). */
export async function finishedJobs(redis: RedisClient, prefix: string): Promise<FinishedJobs> {
  const base = `${prefix}:${ROTATION_QUEUE_NAME}`;
  const ids = await redis.zrange(`${base}:completed`, 0, -1);
  const failed = await redis.zcard(`${base}:failed`);
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hmget(`${base}:${id}`, 'name', 'timestamp', 'processedOn', 'finishedOn', 'attemptsMade');
  const rows = (await pipeline.exec()) ?? [];
  const result: FinishedJobs = { rotations: [], revocations: [], failed };
  for (const [err, fields] of rows) {
    if (err || !Array.isArray(fields)) continue;
    const [name, timestamp, processedOn, finishedOn, attemptsMade] = fields as Array<string | null>;
    const timing: JobTiming = {
      name: name ?? '',
      enqueuedAt: Number(timestamp),
      processedAt: Number(processedOn),
      finishedAt: Number(finishedOn),
      attemptsMade: Number(attemptsMade ?? 0),
    };
    if (name === ROTATE_JOB_NAME) result.rotations.push(timing);
    else if (name === REVOKE_JOB_NAME) result.revocations.push(timing);
  }
  return result;
}
