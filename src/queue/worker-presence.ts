import type { Queue } from 'bullmq';

/**
 * Whether anyone consumes the queue: BullMQ names each worker's Redis connection after its queue
 * (prefix included) and `Queue.getWorkersCount()` counts those connections in `CLIENT LIST`
 * (BullMQ docs, "Workers › getWorkers"). A worker that is paused (`rotator pause`) still counts:
 * it is connected and resumes with the queue.
 */
export interface WorkerPresence {
  /** Workers connected to this queue now; null when Redis refused `CLIENT LIST` (some managed Redis do). */
  count: number | null;
  /** The ROTATOR_QUEUE_PREFIX looked at, so "nobody works" says where nobody was found. */
  queuePrefix: string;
}

export async function workerPresence(queue: Pick<Queue, 'getWorkersCount'>, queuePrefix: string): Promise<WorkerPresence> {
  try {
    return { count: await queue.getWorkersCount(), queuePrefix };
  } catch {
    return { count: null, queuePrefix };
  }
}

/** The operator's sentence for a queue nobody consumes (CLI, /readyz detail, the mailbox page). */
export function noWorkerMessage(queuePrefix: string): string {
  return `no worker is consuming the queue (queue prefix "${queuePrefix}"): jobs wait until one starts; ` +
    'start one with rotator start --role worker (or --role all), with the same Redis and ROTATOR_QUEUE_PREFIX';
}
