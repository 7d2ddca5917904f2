import type { Logger } from 'pino';
import type { RotationJobDirectory } from './exclusion';

/**
 * The bracket around one run of a rotation job and the mailbox's claim (its BullMQ deduplication
 * id, src/rotation/exclusion.ts). The claim is TAKEN inside the run, by the look step, before any
 * side effect (a resumed job whose version is already staged owns the mailbox without it); it is
 * RELEASED here, once, when the job is over — it completed, or failed for good (`isOver`) — and
 * kept while the job will run again (a retry, a wait, a rate-limit pause).
 *
 * A job enqueued with the deduplication id has it removed by BullMQ as it finishes, so only a job
 * that claimed it in the look step (added by hand, or retried) gives it up here. Releasing never
 * throws: a claim left behind is taken over by the next rotation once it finds this job over.
 */
export async function withMailboxClaim<T>(
  claim: { jobs: Pick<RotationJobDirectory, 'release'>; mailboxId: string; jobId: string; enqueuedWithClaim: boolean; log: Pick<Logger, 'warn'> },
  run: () => Promise<T>,
  isOver: (err: unknown) => boolean,
): Promise<T> {
  const release = async () => {
    if (claim.enqueuedWithClaim) return;
    await claim.jobs.release(claim.mailboxId, claim.jobId).catch((err: unknown) => claim.log.warn({ err }, 'could not release the mailbox claim; the next rotation takes it over'));
  };
  let result: T;
  try {
    result = await run();
  } catch (err) {
    if (isOver(err)) await release();
    throw err;
  }
  await release();
  return result;
}
