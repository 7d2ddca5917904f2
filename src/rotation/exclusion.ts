import type { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
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
   * waiting-children or paused — or a worker still holds its lock (a job taken out of BullMQ's
   * lists, by hand or by a lost write, while its worker is still running it). false when it
   * completed, failed, or is gone (removed, Redis lost it) and no worker holds it.
   */
  isAlive(jobId: string): Promise<boolean>;
  /**
   * Claims the mailbox for `selfJobId`, atomically, before any side effect: null when the claim is
   * this job's now (it was free, already this job's, or its holder is over), else the id of the
   * live job that holds it (this job must wait). The claim is the mailbox's BullMQ deduplication
   * id (`rotate__<mailbox>`), the same record every enqueue sets: a job added by hand, or retried
   * after a newer request, claims it too, so two rotations of one mailbox never mint at once.
   */
  claim(mailboxId: string, selfJobId: string): Promise<string | null>;
  /** Gives the claim up when this job is over (BullMQ does so itself only for the job that enqueued it). */
  release(mailboxId: string, selfJobId: string): Promise<void>;
}

/**
 * SET the deduplication key to ARGV[1] when it is free, already ARGV[1]'s, or held by ARGV[2] (a
 * holder the caller found over); else return the holder. One script, so two jobs racing for the
 * same mailbox cannot both see it free.
 */
const CLAIM_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if (not holder) or holder == ARGV[1] or (ARGV[2] ~= '' and holder == ARGV[2]) then
  redis.call('SET', KEYS[1], ARGV[1])
  return false
end
return holder`;

/** DEL the deduplication key only while it is still ARGV[1]'s. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

type DirectoryQueue = Pick<Queue, 'getJob' | 'client' | 'keys'>;

export function bullmqJobDirectory(queue: DirectoryQueue): RotationJobDirectory {
  const stateOf = async (jobId: string): Promise<string> => {
    const job = await queue.getJob(jobId);
    return job ? job.getState() : 'unknown';
  };
  const lockHeld = async (jobId: string): Promise<boolean> => {
    const client = (await queue.client) as unknown as Redis | Cluster;
    // BullMQ's lock key of a job a worker runs (renewed while it runs, removed when it finishes).
    return (await client.exists(`${queue.keys['']}${jobId}:lock`)) === 1;
  };
  const isAlive = async (jobId: string) => {
    const state = await stateOf(jobId);
    if (ALIVE_STATES.has(state)) return true;
    return state === 'unknown' ? lockHeld(jobId) : false;
  };
  // BullMQ's own key for a deduplication id (Queue.getDeduplicationJobId reads the same key).
  const keyOf = (mailboxId: string) => `${queue.keys.de}:${rotationDeduplicationId(mailboxId)}`;
  const claimOnce = async (mailboxId: string, selfJobId: string, overHolder: string): Promise<string | null> => {
    const client = (await queue.client) as unknown as Redis | Cluster;
    const holder = (await client.eval(CLAIM_SCRIPT, 1, keyOf(mailboxId), selfJobId, overHolder)) as string | null;
    return holder ?? null;
  };
  return {
    isAlive,
    async claim(mailboxId, selfJobId) {
      const holder = await claimOnce(mailboxId, selfJobId, '');
      if (holder === null || (await isAlive(holder))) return holder;
      // The holder is over (finished, failed, gone): take its claim over, unless another job did meanwhile.
      return claimOnce(mailboxId, selfJobId, holder);
    },
    async release(mailboxId, selfJobId) {
      const client = (await queue.client) as unknown as Redis | Cluster;
      await client.eval(RELEASE_SCRIPT, 1, keyOf(mailboxId), selfJobId);
    },
  };
}
