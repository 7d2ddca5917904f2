import { Queue, type Job, type JobsOptions } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import {
  assertSlot,
  clientRequestTokenFor,
  idempotencyKeyFor,
  newOnDemandSlot,
  revocationJobId,
  rotationDeduplicationId,
  rotationJobId,
  type RotationReason,
} from '../rotation/identity';
import {
  REVOKE_JOB_NAME,
  ROTATE_JOB_NAME,
  type RevocationJobData,
  type RevocationResult,
  type RotationJobData,
  type RotationResult,
} from '../rotation/job-data';
import type { MailboxLedger } from '../rotation/mailbox-ledger';
import { bullmqJobDirectory } from '../rotation/exclusion';
import { formatDuration } from '../scheduler/format-duration';

/** Jobs per addBulk pipeline when enqueueing many rotations at once (see addInPipelinedBatches). */
const ENQUEUE_BATCH = 250;

/** One queue for all Sendmux work, so the queue's rate limiter covers every management request. */
export const ROTATION_QUEUE_NAME = 'sendmux-keys';

/**
 * Attempts of a revocation job: in effect until it runs. Its failures are refusals that are lifted
 * later (a KMS key re-enabled, an IAM or resource policy fixed) or outages; at the default 5-minute
 * backoff cap, 10,000 attempts last ~35 days, longer than a failed job is kept (retention.failedAge,
 * 30 days). A superseded key left live raises `revocation_overdue` and shows on /admin/mailboxes.
 */
export const REVOCATION_ATTEMPTS = 10_000;

export type AnyJobData = RotationJobData | RevocationJobData;
export type AnyJobResult = RotationResult | RevocationResult;

/**
 * What the producer needs of the configuration. No grace period: the processor resolves the
 * mailbox's own (src/config/mailbox-settings.ts); a job carries one only when its requester asked.
 */
export interface RotationPolicy {
  minRotationIntervalMs: number;
  attempts: number;
  retention: { completedAgeMs: number; completedCount: number; failedAgeMs: number };
}

export interface RotationRequest {
  mailboxId: string;
  reason: RotationReason;
  /** Cron tick slot; omitted for on-demand requests, which get a fresh one. */
  slot?: string;
  requestedBy: string;
  force?: boolean;
  /** For a leaked key: revoke the previous key as soon as the new one is current. */
  revokeNow?: boolean;
  /**
   * A grace period this request asks for; the processor applies the longer of it and the one the
   * mailbox's settings give. Omitted (the usual case), the mailbox's own applies.
   */
  revokePreviousAfterMs?: number | null;
}

export type EnqueueOutcome =
  | { mailboxId: string; status: 'enqueued'; jobId: string }
  | { mailboxId: string; status: 'existing'; jobId: string; message: string }
  | { mailboxId: string; status: 'refused'; message: string };

export interface RotationQueueOptions {
  connection: Redis | Cluster;
  prefix: string;
  policy: RotationPolicy;
  ledger: Pick<MailboxLedger, 'lastRotations'>;
  now?: () => Date;
  /** Connection errors of the queue (Redis down, closed while connecting); callers see failed calls anyway. */
  onError?: (err: Error) => void;
}

/**
 * The producer side of the rotation queue: turns requests into jobs whose ids and external
 * request identities are fixed at creation, so N replicas enqueueing the same tick create one job.
 */
export class RotationQueue {
  readonly queue: Queue<AnyJobData, AnyJobResult>;
  private readonly now: () => Date;

  /** The options every job shares, built once: a 100,000-mailbox tick allocates them once, not per job. */
  private readonly sharedJobOptions: Readonly<Omit<JobsOptions, 'jobId'>>;

  constructor(private readonly opts: RotationQueueOptions) {
    this.now = opts.now ?? (() => new Date());
    const { attempts, retention } = opts.policy;
    this.sharedJobOptions = Object.freeze({
      attempts,
      backoff: Object.freeze({ type: 'rotator' }),
      // Completed jobs are kept long enough that a late duplicate enqueue of a slot is recognised.
      removeOnComplete: Object.freeze({ age: Math.ceil(retention.completedAgeMs / 1000), count: retention.completedCount }),
      removeOnFail: Object.freeze({ age: Math.ceil(retention.failedAgeMs / 1000) }),
    });
    this.queue = new Queue<AnyJobData, AnyJobResult>(ROTATION_QUEUE_NAME, {
      connection: opts.connection,
      prefix: opts.prefix,
    });
    // Without a listener an 'error' event (e.g. the connection closing while it was still being
    // established) would crash the process; every failed call is still reported to its caller.
    this.queue.on('error', (err) => opts.onError?.(err));
  }

  private jobOptions(jobId: string): JobsOptions {
    return { jobId, ...this.sharedJobOptions };
  }

  buildRotationJobData(request: RotationRequest): RotationJobData {
    const slot = request.slot ?? newOnDemandSlot(this.now());
    assertSlot(slot);
    const idempotencyKey = idempotencyKeyFor(request.mailboxId, slot);
    return {
      mailboxId: request.mailboxId,
      reason: request.reason,
      slot,
      requestedBy: request.requestedBy,
      requestedAt: this.now().toISOString(),
      idempotencyKey,
      clientRequestToken: clientRequestTokenFor(idempotencyKey),
      force: request.force ?? false,
      ...(request.revokeNow ? { revokeNow: true } : {}),
      // Never a default here: the top level's grace would override a group's on demand (issue 13).
      ...(request.revokePreviousAfterMs !== undefined && !request.revokeNow ? { revokePreviousAfterMs: request.revokePreviousAfterMs } : {}),
    };
  }

  /**
   * Enqueues rotations in one Redis round trip. A mailbox that already has a rotation queued or
   * running gets that job back (BullMQ deduplication); an on-demand request within
   * minRotationInterval of the last rotation is refused unless forced.
   */
  async requestRotations(requests: readonly RotationRequest[]): Promise<EnqueueOutcome[]> {
    const outcomes: Array<EnqueueOutcome | undefined> = new Array(requests.length);
    const toCheck = requests.filter((r) => r.reason === 'manual' && !r.force).map((r) => r.mailboxId);
    const last = toCheck.length > 0 ? await this.opts.ledger.lastRotations(toCheck) : new Map();
    const nowMs = this.now().getTime();
    const bulk: Array<{ index: number; jobId: string; data: RotationJobData }> = [];

    requests.forEach((request, index) => {
      const previous = request.reason === 'manual' && !request.force ? last.get(request.mailboxId) : undefined;
      const minMs = this.opts.policy.minRotationIntervalMs;
      if (previous && nowMs - previous.at < minMs) {
        outcomes[index] = {
          mailboxId: request.mailboxId,
          status: 'refused',
          message:
            `mailbox ${request.mailboxId} was rotated ${formatDuration(nowMs - previous.at)} ago (key ${previous.keyId}), ` +
            `within minRotationInterval (${formatDuration(minMs)}); use --force (API: "force": true) to rotate anyway`,
        };
        return;
      }
      const data = this.buildRotationJobData(request);
      bulk.push({ index, jobId: rotationJobId(data.mailboxId, data.slot), data });
    });

    if (bulk.length > 0) {
      const jobs = await this.addInPipelinedBatches(
        bulk.map(({ jobId, data }) => ({
          name: ROTATE_JOB_NAME,
          data,
          opts: { ...this.jobOptions(jobId), deduplication: { id: rotationDeduplicationId(data.mailboxId) } },
        })),
      );
      const retakes: Array<{ entry: (typeof bulk)[number]; holder: string }> = [];
      jobs.forEach((job, i) => {
        const entry = bulk[i]!;
        const actualId = String(job.id);
        if (actualId !== entry.jobId) retakes.push({ entry, holder: actualId });
        outcomes[entry.index] =
          actualId === entry.jobId
            ? { mailboxId: entry.data.mailboxId, status: 'enqueued', jobId: actualId }
            : {
                mailboxId: entry.data.mailboxId,
                status: 'existing',
                jobId: actualId,
                message: `mailbox ${entry.data.mailboxId} already has rotation ${actualId} queued or running`,
              };
      });
      // A catch-up request names a tick that did not become a rotation. Its job id is the tick's: if
      // that job is kept as failed (a refusal at look, e.g. a KMS key disabled at the tick), adding
      // it is a no-op, and the slot would be skipped until the next tick. Such a job is run again
      // when it never minted (a retry of one that did would get its revoked key back).
      for (const entry of bulk) {
        if (requests[entry.index]?.requestedBy !== 'catch-up') continue;
        const job = await this.queue.getJob(entry.jobId);
        if (!job || (await job.getState()) !== 'failed' || (job.data as RotationJobData).mintedKeyId !== undefined) continue;
        await job.retry('failed').catch(() => undefined);
        outcomes[entry.index] = { mailboxId: entry.data.mailboxId, status: 'enqueued', jobId: entry.jobId };
      }
      // A deduplication id whose job is gone (removed by hand, lost by Redis) would turn every
      // later request away: such a claim is given up and the request enqueued after all.
      const directory = bullmqJobDirectory(this.queue);
      for (const { entry, holder } of retakes) {
        if (await directory.isAlive(holder)) continue;
        await directory.release(entry.data.mailboxId, holder);
        const [again] = await this.queue.addBulk([{ name: ROTATE_JOB_NAME, data: entry.data,
          opts: { ...this.jobOptions(entry.jobId), deduplication: { id: rotationDeduplicationId(entry.data.mailboxId) } } }]);
        if (again && String(again.id) === entry.jobId) outcomes[entry.index] = { mailboxId: entry.data.mailboxId, status: 'enqueued', jobId: entry.jobId };
      }
    }
    return outcomes as EnqueueOutcome[];
  }

  /**
   * addBulk in batches that are all sent before the first reply is awaited: Redis runs one
   * batch's scripts while this process encodes the next, instead of each side idling while the
   * other works (a scheduler tick of 100,000 mailboxes is bound by both). Batches are written to
   * the connection in order, so the result order is the input order.
   */
  private async addInPipelinedBatches(jobs: Array<{ name: string; data: AnyJobData; opts: JobsOptions }>) {
    if (jobs.length <= ENQUEUE_BATCH) return this.queue.addBulk(jobs);
    const batches: Array<ReturnType<RotationQueue['queue']['addBulk']>> = [];
    for (let start = 0; start < jobs.length; start += ENQUEUE_BATCH) {
      batches.push(this.queue.addBulk(jobs.slice(start, start + ENQUEUE_BATCH)));
    }
    return (await Promise.all(batches)).flat();
  }

  async scheduleRevocation(data: RevocationJobData, delayMs: number): Promise<{ jobId: string }> {
    const jobId = revocationJobId(data.mailboxId, data.keyId);
    const job = await this.queue.add(REVOKE_JOB_NAME, data, { ...this.jobOptions(jobId), attempts: REVOCATION_ATTEMPTS, delay: delayMs });
    return { jobId: String(job.id) };
  }

  /** Stops every worker of this queue from taking jobs for `ms` (used after a 429). */
  async pauseFor(ms: number): Promise<void> {
    await this.queue.rateLimit(ms);
  }

  getJob(jobId: string): Promise<Job<AnyJobData, AnyJobResult> | undefined> {
    return this.queue.getJob(jobId);
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
