import type { Queue } from 'bullmq';
import { rotationDeduplicationId } from './identity';

/** BullMQ states in which a job may still run (or is running). */
const ALIVE_STATES = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children', 'paused']);

/**
 * What BullMQ knows about other rotation jobs, for the per-mailbox exclusion the rotation job
 * enforces before any side effect (docs/design.md, "Where the truth lives"). No lock of our own: the
 * job's state and the queue's deduplication id are BullMQ's.
 */
export interface RotationJobDirectory {
  /**
   * Whether the job with this id may still make progress: active, waiting, delayed, prioritized,
   * waiting-children or paused. false when it completed, failed, or is gone (removed, Redis lost it).
   */
  isAlive(jobId: string): Promise<boolean>;
  /**
   * The id of the job that holds the mailbox's deduplication id (`rotate__<mailbox>`, set by every
   * enqueue) when that job is active and is not `selfJobId`; else null.
   */
  activeOwner(mailboxId: string, selfJobId: string): Promise<string | null>;
}

export function bullmqJobDirectory(queue: Pick<Queue, 'getJob' | 'getDeduplicationJobId'>): RotationJobDirectory {
  const stateOf = async (jobId: string): Promise<string> => {
    const job = await queue.getJob(jobId);
    return job ? job.getState() : 'unknown';
  };
  return {
    async isAlive(jobId) {
      return ALIVE_STATES.has(await stateOf(jobId));
    },
    async activeOwner(mailboxId, selfJobId) {
      const owner = await queue.getDeduplicationJobId(rotationDeduplicationId(mailboxId));
      if (!owner || owner === selfJobId) return null;
      return (await stateOf(owner)) === 'active' ? owner : null;
    },
  };
}
