import type { Job } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { rotationDeduplicationId } from '../rotation/identity';
import { bullmqJobDirectory } from '../rotation/exclusion';
import { REVOKE_JOB_NAME, ROTATE_JOB_NAME, revocationJobDataSchema, rotationJobDataSchema, type RotationJobData } from '../rotation/job-data';
import type { MailboxLedger } from '../rotation/mailbox-ledger';
import type { AnyJobData, AnyJobResult, RotationQueue } from '../queue/rotation-queue';
import { NOT_CONFIGURED, type CoverageVerdict } from '../scheduler/mailbox-coverage';

export type RetryRefusal = 'job_not_found' | 'not_a_rotation' | 'not_failed' | 'not_configured' | 'key_minted' | 'rotation_in_progress' | 'rotated_since';

export type RetryOutcome =
  | { outcome: 'retried'; jobId: string; mailboxId: string; slot: string; message: string }
  | { outcome: 'refused'; jobId: string; reason: RetryRefusal; mailboxId?: string; message: string };

export interface RetryRotationDeps {
  queue: Pick<RotationQueue, 'getJob' | 'requestRotations'> & { queue: Pick<RotationQueue['queue'], 'getJob' | 'getDeduplicationJobId' | 'client' | 'keys'> };
  ledger: Pick<MailboxLedger, 'lastRotations'>;
  covers: (mailboxId: string) => Promise<CoverageVerdict>;
}

/**
 * `rotator retry <jobId>` / POST /rotations/{jobId}/retry: runs a failed rotation again with the
 * same slot, so the same job id, Idempotency-Key and ClientRequestToken. It is enqueued again
 * through the normal path (the failed job is removed, then added with the same id and the
 * mailbox's deduplication id), so it holds the per-mailbox exclusion like any new rotation; the
 * processor's look step still waits for any other rotation of the mailbox it finds alive.
 *
 * Refused (nothing changed): an unknown job, a job that is not a rotation or not failed, a mailbox
 * the configuration does not cover, a job that had minted a key (its clean-up revoked that key, and
 * Sendmux would replay the same key for the same Idempotency-Key for 24 h: a fresh rotation is
 * needed), and a mailbox with another rotation alive or rotated since the job failed (the newer
 * rotation did what the retry would).
 */
export async function retryRotation(deps: RetryRotationDeps, jobId: string, requestedBy: string): Promise<RetryOutcome> {
  const refuse = (reason: RetryRefusal, message: string, mailboxId?: string): RetryOutcome =>
    ({ outcome: 'refused', jobId, reason, ...(mailboxId ? { mailboxId } : {}), message });
  const job = (await deps.queue.getJob(jobId)) as Job<AnyJobData, AnyJobResult> | undefined;
  if (!job) return refuse('job_not_found', `no job ${jobId}: it never existed or was removed after its retention period`);
  if (job.name === REVOKE_JOB_NAME) return retryRevocation(deps, job);
  if (job.name !== ROTATE_JOB_NAME) return refuse('not_a_rotation', `job ${jobId} is a ${job.name} job; only rotations and revocations can be retried`);
  const parsed = rotationJobDataSchema.safeParse(job.data);
  if (!parsed.success) return refuse('not_a_rotation', `job ${jobId} does not hold valid rotation data; request a new rotation instead`);
  const data: RotationJobData = parsed.data;
  const { mailboxId } = data;
  const state = await job.getState();
  if (state !== 'failed') return refuse('not_failed', `job ${jobId} is ${state}, not failed; only a failed rotation can be retried`, mailboxId);

  const coverage = await deps.covers(mailboxId);
  if (!coverage.covered) return refuse(NOT_CONFIGURED, coverage.message, mailboxId);
  if (data.mintedKeyId) {
    return refuse('key_minted',
      `job ${jobId} minted key ${data.mintedKeyId} before it failed; its clean-up revoked that key, and a retry would get the same key back ` +
        `(Sendmux replays an Idempotency-Key's answer for 24 h) — run a fresh rotation instead: rotator rotate ${mailboxId}`, mailboxId);
  }
  const owner = await deps.queue.queue.getDeduplicationJobId(rotationDeduplicationId(mailboxId));
  if (owner && owner !== jobId && (await bullmqJobDirectory(deps.queue.queue).isAlive(owner))) {
    return refuse('rotation_in_progress', `rotation ${owner} of mailbox ${mailboxId} is queued or running; it replaces this one — follow it instead`, mailboxId);
  }
  const last = (await deps.ledger.lastRotations([mailboxId])).get(mailboxId);
  if (last && job.finishedOn !== undefined && last.at > job.finishedOn) {
    return refuse('rotated_since', `mailbox ${mailboxId} was rotated since job ${jobId} failed (key ${last.keyId} at ${new Date(last.at).toISOString()}); nothing to retry`, mailboxId);
  }

  const claimed = await claimFailedJob(deps, job);
  if (claimed !== 'claimed') {
    return refuse('not_failed', `job ${jobId} is no longer failed: ${claimed === 'taken' ? 'another retry of it was accepted first' : 'it could not be removed (BullMQ holds it)'}; follow that rotation`, mailboxId);
  }
  const [outcome] = await deps.queue.requestRotations([{
    mailboxId, reason: data.reason, slot: data.slot, requestedBy, force: true,
    ...(data.revokeNow ? { revokeNow: true } : {}),
    ...(data.revokePreviousAfterMs !== undefined ? { revokePreviousAfterMs: data.revokePreviousAfterMs } : {}),
  }]);
  if (outcome?.status === 'enqueued') {
    return { outcome: 'retried', jobId: outcome.jobId, mailboxId, slot: data.slot, message: `rotation ${outcome.jobId} of mailbox ${mailboxId} queued again (same slot and Idempotency-Key)` };
  }
  // A new rotation of the mailbox was requested between the checks and the add: it holds the mailbox now.
  return refuse('rotation_in_progress', outcome?.status === 'existing' ? `${outcome.message}; it replaces this one` : `not queued again: ${outcome?.message ?? 'no answer'}`, mailboxId);
}

/**
 * A failed revocation runs again under its own id (BullMQ `retry`): it proves from Secrets Manager
 * again that the key is superseded before revoking anything (src/rotation/revocation.ts), so a
 * retry can never revoke what the proof would not. Refused unless it failed, and for a mailbox the
 * configuration no longer covers.
 */
async function retryRevocation(deps: RetryRotationDeps, job: Job<AnyJobData, AnyJobResult>): Promise<RetryOutcome> {
  const jobId = String(job.id);
  const parsed = revocationJobDataSchema.safeParse(job.data);
  if (!parsed.success) return { outcome: 'refused', jobId, reason: 'not_a_rotation', message: `job ${jobId} does not hold valid revocation data` };
  const { mailboxId, keyId } = parsed.data;
  const state = await job.getState();
  if (state !== 'failed') return { outcome: 'refused', jobId, reason: 'not_failed', mailboxId, message: `job ${jobId} is ${state}, not failed; only a failed revocation can be retried` };
  const coverage = await deps.covers(mailboxId);
  if (!coverage.covered) return { outcome: 'refused', jobId, reason: NOT_CONFIGURED, mailboxId, message: coverage.message };
  try {
    await job.retry('failed');
  } catch (err) {
    return { outcome: 'refused', jobId, reason: 'not_failed', mailboxId, message: `job ${jobId} could not be queued again (${(err as Error).message}); another retry may have been accepted first` };
  }
  return { outcome: 'retried', jobId, mailboxId, slot: '', message: `revocation ${jobId} of key ${keyId} (mailbox ${mailboxId}) queued again; it proves the key superseded before revoking it` };
}

/**
 * Takes the failed job out of BullMQ's failed set (ZREM: atomic, so of two concurrent retries
 * exactly one gets it), then removes the job. 'taken' when another caller took it first (or it
 * left the failed state since it was read); 'locked' when BullMQ refused the removal — the job is
 * put back in the failed set (score: when it failed) so it stays visible and retryable.
 */
async function claimFailedJob(deps: RetryRotationDeps, job: Job<AnyJobData, AnyJobResult>): Promise<'claimed' | 'taken' | 'locked'> {
  const client = (await deps.queue.queue.client) as unknown as Redis | Cluster;
  const failedSet = deps.queue.queue.keys.failed!;
  const jobId = String(job.id);
  if ((await client.zrem(failedSet, jobId)) !== 1) return 'taken';
  try {
    await job.remove();
    return 'claimed';
  } catch {
    await client.zadd(failedSet, job.finishedOn ?? Date.now(), jobId);
    return 'locked';
  }
}
