import type { Logger } from 'pino';
import type { RotatorFileConfig } from '../config';
import { resolveMailboxSettings, type MailboxSettings } from '../config/mailbox-settings';
import type { SecretStore } from '../aws/secret-store';
import { MailboxSecret } from '../rotation/mailbox-secret';
import type { SendmuxClient } from '../sendmux/client';
import { resolveMailboxes } from '../scheduler/resolve-mailboxes';
import { forEachWithLimit } from '../scheduler/with-limit';
import type { RotationJobDirectory } from '../rotation/exclusion';
import { revocationJobId, rotationJobId } from '../rotation/identity';
import type { RevocationJobData } from '../rotation/job-data';
import { slotOfDocument, type StoredMailboxSecret } from '../rotation/secret-value';

import type { RotationQueue } from '../queue/rotation-queue';
import { errorSummary } from '../logging/error-summary';
import { RETIRED_KEY_TAG } from './retired-key-tag';

/** readDocument's answer for a value the rotator did not write (see src/rotation/adoption.ts). */
const FOREIGN_VALUE = Symbol('foreign secret value');

/** Mailboxes reconciled at once: at most this many Secrets Manager requests in flight. */
export const DEFAULT_RECONCILE_CONCURRENCY = 8;

/**
 * How many superseded keys of a mailbox a pass looks at (AWSPREVIOUS and the two before it): the
 * revocation job proves supersession along a chain of 5 (src/rotation/mailbox-secret.ts, MAX_SUPERSESSION_CHAIN), so these
 * can all still be proven.
 */
export const MAX_SUPERSEDED_KEYS = 3;

/** Problem lines logged per pass; the pass summary counts them all. */
const MAX_PROBLEM_LINES = 20;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What the reconciler did (or found) for one mailbox; several per mailbox are possible. */
export type ReconcileFinding =
  /** A revocation job for a superseded key (AWSPREVIOUS, or older in the chain) was added; it fires at `notBefore`. */
  | { mailboxId: string; action: 'revocation-scheduled'; keyId: string; jobId: string; notBefore: string }
  /** That job is already in Redis (waiting, delayed, running, or kept after completing): nothing added. */
  | { mailboxId: string; action: 'revocation-exists'; keyId: string; jobId: string }
  /** That job is in Redis but FAILED: a failed revocation is not done, so it was queued again (it proves again first). */
  | { mailboxId: string; action: 'revocation-retried'; keyId: string; jobId: string }
  /** The secret's `rotator:retired-key` tag says the AWSPREVIOUS key (and so the older ones) was already revoked. */
  | { mailboxId: string; action: 'already-retired'; keyId: string }
  /** A clean-up job was added for an AWSPENDING version whose rotation job is gone or over. */
  | { mailboxId: string; action: 'stale-pending-scheduled'; keyId: string; versionId: string; jobId: string; notBefore: string }
  | { mailboxId: string; action: 'stale-pending-exists'; keyId: string; versionId: string; jobId: string }
  /** AWSPENDING belongs to a rotation job that may still run: left alone. */
  | { mailboxId: string; action: 'pending-in-progress'; rotationJobId: string }
  /** AWSCURRENT is a value the rotator did not write (a plain token or the team's JSON): its next rotation adopts it; nothing to rebuild. */
  | { mailboxId: string; action: 'awaiting-adoption' }
  /** Something a person must look at; nothing was enqueued for it. */
  | { mailboxId: string; action: 'problem'; reason: string };

export interface ReconcilePassReport {
  startedAt: string;
  durationMs: number;
  mailboxes: number;
  findings: ReconcileFinding[];
  /** findings counted by action. */
  counts: Partial<Record<ReconcileFinding['action'], number>>;
}

/** The queue operations the reconciler needs: a job's state by id and the rotation's own revocation producer. */
export interface RevocationJobs {
  /**
   * What BullMQ holds under this id: nothing, a job that will still run or completed (adding it
   * again would be a no-op), or a job that failed for good — which is not done.
   */
  state(jobId: string): Promise<'absent' | 'present' | 'failed'>;
  /** Queues a failed job again under its id (BullMQ `retry`); false when it is no longer failed. */
  retryFailed(jobId: string): Promise<boolean>;
  /** RotationQueue.scheduleRevocation: adds the job under its stable id `revoke__<mailbox>__<key>`. */
  schedule(data: RevocationJobData, delayMs: number): Promise<{ jobId: string }>;
}

/** RevocationJobs over the rotation queue (the same producer and job ids step 5 uses). */
export function queueRevocationJobs(queue: Pick<RotationQueue, 'getJob' | 'scheduleRevocation'>): RevocationJobs {
  return {
    state: async (jobId) => {
      const job = await queue.getJob(jobId);
      if (!job) return 'absent';
      return (await job.getState()) === 'failed' ? 'failed' : 'present';
    },
    retryFailed: async (jobId) => {
      const job = await queue.getJob(jobId);
      if (!job || (await job.getState()) !== 'failed') return false;
      await job.retry('failed');
      return true;
    },
    schedule: (data, delayMs) => queue.scheduleRevocation(data, delayMs),
  };
}

export interface ReconcilerDeps {
  file: Pick<
    RotatorFileConfig,
    'mailboxes' | 'groups' | 'secretName' | 'revokePreviousAfterMs' | 'minRotationIntervalMs' | 'kmsKeyId' | 'tags' | 'schedule' | 'timezone' | 'rotation' | 'reconcileIntervalMs'
  >;
  secrets: Pick<SecretStore, 'describeSecret' | 'getSecretVersion'>;
  /** Only for `mailboxes: all` (and emailGlob groups): the mailboxes the scheduler would resolve. */
  sendmux: Pick<SendmuxClient, 'listAllMailboxes'>;
  jobs: Pick<RotationJobDirectory, 'isAlive'>;
  revocations: RevocationJobs;
  logger: Logger;
  now?: () => Date;
  /** Default DEFAULT_RECONCILE_CONCURRENCY. */
  concurrency?: number;
  /** Uniform in [0, 1); jitter of the pass times. Default Math.random. */
  random?: () => number;
  /** Delay before the start-up pass (ms); default a jitter of up to min(10 % of the interval, 30 s). */
  initialDelayMs?: number;
}

/**
 * Rebuilds, from Secrets Manager alone, the Redis work that keeps "no live key left behind"
 * (docs/design.md, "The reconciler"): the delayed revocation of each configured mailbox's
 * superseded keys (AWSPREVIOUS and up to two before it), and the clean-up of an AWSPENDING
 * version whose rotation job is gone.
 *
 * Cost of a pass, per configured mailbox: one DescribeSecret and one GetSecretValue (AWSCURRENT),
 * plus one GetSecretValue when an AWSPENDING version exists and one per older key walked (only
 * while the AWSPREVIOUS key is not retired); one Redis lookup per job it would add. With `mailboxes: all`, one paged GET /mailboxes (as a scheduler tick). It never calls
 * Sendmux otherwise: revocations are jobs, so they pass the queue's limiter and the processors'
 * proofs. Idempotent (stable job ids), so every scheduler replica may run it.
 */
export class Reconciler {
  private readonly now: () => Date;
  private readonly random: () => number;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
    this.random = deps.random ?? Math.random;
    this.log = deps.logger.child({ component: 'reconciler' });
  }

  /**
   * Runs a pass soon after start-up, then every `reconcileInterval` (each wait shortened by up to
   * 10 % at random, so replicas started together drift apart and no wait exceeds the interval).
   * A failed pass is logged and the next one runs on time.
   */
  start(): void {
    const interval = this.deps.file.reconcileIntervalMs;
    const first = this.deps.initialDelayMs ?? Math.floor(this.random() * Math.min(interval / 10, 30_000));
    this.schedule(first);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    // setTimeout fires at once for delays past 2^31 - 1 ms (~24.8 days).
    this.timer = setTimeout(() => {
      this.running = this.runPass()
        .catch((err: unknown) => this.log.error({ err: errorSummary(err) }, 'reconcile pass failed; the next one runs on schedule'))
        .finally(() => {
          const interval = this.deps.file.reconcileIntervalMs;
          this.schedule(Math.floor(interval * (1 - 0.1 * this.random())));
        });
    }, Math.min(delayMs, MAX_TIMER_MS));
    this.timer.unref();
  }

  /** One pass over every configured mailbox. Throws only when the mailboxes cannot be resolved. */
  async runPass(): Promise<ReconcilePassReport> {
    const started = this.now();
    const t0 = Date.now();
    const resolution = await resolveMailboxes({ file: this.deps.file, sendmux: this.deps.sendmux, logger: this.deps.logger });
    const findings: ReconcileFinding[] = [];
    await forEachWithLimit(resolution.mailboxes, this.deps.concurrency ?? DEFAULT_RECONCILE_CONCURRENCY, async (mailbox) => {
      // Shutdown must not wait for a whole pass: the rest is done by the next process's pass.
      if (this.stopped) return;
      try {
        findings.push(...(await this.reconcileMailbox(mailbox.mailboxId, mailbox.email)));
      } catch (err) {
        findings.push({ mailboxId: mailbox.mailboxId, action: 'problem', reason: errorSummary(err).message });
      }
    });
    const counts: ReconcilePassReport['counts'] = {};
    let problemsLogged = 0;
    for (const finding of findings) {
      counts[finding.action] = (counts[finding.action] ?? 0) + 1;
      // Redis or AWS down fails every mailbox alike: a few lines say so, the count says how many.
      if (finding.action === 'problem') {
        if (problemsLogged++ < MAX_PROBLEM_LINES) this.log.warn({ mailboxId: finding.mailboxId }, `reconcile: ${finding.reason}`);
      } else if (finding.action === 'revocation-scheduled' || finding.action === 'stale-pending-scheduled' || finding.action === 'revocation-retried') this.log.warn(finding, reconcileMessage(finding));
    }
    const report = { startedAt: started.toISOString(), durationMs: Date.now() - t0, mailboxes: resolution.mailboxes.length, findings, counts };
    this.log.info({ mailboxes: report.mailboxes, durationMs: report.durationMs, counts }, 'reconcile pass done');
    return report;
  }

  /** Reads one mailbox's secret and adds the jobs Redis should hold for it. */
  async reconcileMailbox(mailboxId: string, email?: string): Promise<ReconcileFinding[]> {
    const resolution = resolveMailboxSettings(this.deps.file, mailboxId, email);
    if (!resolution.covered) return [];
    const { settings } = resolution;
    const secret = await MailboxSecret.read(this.deps.secrets, mailboxId, settings.secretName);
    if (!secret.exists || secret.deletedDate) return [];
    const currentVersionId = secret.holder('current');
    if (!currentVersionId) return [];

    const findings: ReconcileFinding[] = [];
    const current = await this.readDocument(secret, currentVersionId);
    if (current === FOREIGN_VALUE) return [{ mailboxId, action: 'awaiting-adoption' }];
    if (typeof current === 'string') return [{ mailboxId, action: 'problem', reason: current }];
    findings.push(...(await this.reconcilePrevious(settings, secret, current)));

    const pendingVersionId = secret.holder('pending');
    if (pendingVersionId && pendingVersionId !== currentVersionId) {
      findings.push(await this.reconcilePending(settings, secret, pendingVersionId));
    }
    return findings;
  }

  /**
   * The superseded keys, newest first: AWSCURRENT's `supersedes` (the AWSPREVIOUS key), then the key
   * that version superseded, and so on, up to MAX_SUPERSEDED_KEYS. The walk stops at the key the
   * `rotator:retired-key` tag names: revocations fire oldest first, so older keys are done too.
   * Each step past the first costs one GetSecretValue, and only while the AWSPREVIOUS key still
   * waits for its grace period (or lost its job).
   */
  private async reconcilePrevious(settings: MailboxSettings, secret: MailboxSecret, current: StoredMailboxSecret): Promise<ReconcileFinding[]> {
    const findings: ReconcileFinding[] = [];
    // A grace period of `never` in the configuration: nothing is revoked.
    if (settings.revokePreviousAfterMs === null) return findings;
    const retired = secret.tags[RETIRED_KEY_TAG];
    let document = current;
    for (let depth = 0; depth < MAX_SUPERSEDED_KEYS; depth++) {
      const superseded = document.supersedes;
      if (!superseded || superseded.key_id === document.key_id) break;
      if (retired === superseded.key_id) {
        if (depth === 0) findings.push({ mailboxId: settings.mailboxId, action: 'already-retired', keyId: superseded.key_id });
        break;
      }
      // null: the grace period was `never` when that version was written; the key stays.
      if (document.revoke_not_before) findings.push(await this.ensureRevocation(settings, secret, document, superseded.key_id, document.revoke_not_before));
      if (depth + 1 === MAX_SUPERSEDED_KEYS) break;
      const older = await this.readDocument(secret, superseded.version_id);
      // Older versions are pruned by Secrets Manager in time; a gap ends the walk, not the pass.
      if (typeof older === 'string' || older === FOREIGN_VALUE) break;
      document = older;
    }
    return findings;
  }

  /** Adds the revocation job of a key `recordedBy` superseded, unless BullMQ already holds it. */
  private async ensureRevocation(
    settings: MailboxSettings,
    secret: MailboxSecret,
    recordedBy: StoredMailboxSecret,
    keyId: string,
    revokeNotBefore: string,
  ): Promise<ReconcileFinding> {
    const { mailboxId } = settings;
    const jobId = revocationJobId(mailboxId, keyId);
    const existing = await this.deps.revocations.state(jobId);
    if (existing === 'failed' && (await this.deps.revocations.retryFailed(jobId))) return { mailboxId, action: 'revocation-retried', keyId, jobId };
    if (existing !== 'absent') return { mailboxId, action: 'revocation-exists', keyId, jobId };
    const nowMs = this.now().getTime();
    const notBeforeMs = reconciledNotBefore({
      revokeNotBefore,
      mintedAt: recordedBy.rotated_at,
      configuredGraceMs: settings.revokePreviousAfterMs ?? 0,
      lastChangedDate: secret.lastChangedDate,
      nowMs,
    });
    const slot = slotOfDocument(recordedBy);
    const { jobId: added } = await this.deps.revocations.schedule(
      {
        mailboxId,
        keyId,
        cause: 'superseded',
        ...(slot ? { rotationJobId: rotationJobId(mailboxId, slot) } : {}),
        requestedAt: new Date(nowMs).toISOString(),
      },
      Math.max(0, notBeforeMs - nowMs),
    );
    return { mailboxId, action: 'revocation-scheduled', keyId, jobId: added, notBefore: new Date(notBeforeMs).toISOString() };
  }

  private async reconcilePending(settings: MailboxSettings, secret: MailboxSecret, pendingVersionId: string): Promise<ReconcileFinding> {
    const { mailboxId } = settings;
    const pending = await this.readDocument(secret, pendingVersionId);
    if (pending === FOREIGN_VALUE) return { mailboxId, action: 'problem', reason: `secret ${settings.secretName} has an AWSPENDING version ${pendingVersionId} the rotator did not write; remove its AWSPENDING label by hand` };
    if (typeof pending === 'string') return { mailboxId, action: 'problem', reason: pending };
    const slot = slotOfDocument(pending);
    if (!slot) {
      return {
        mailboxId,
        action: 'problem',
        reason: `secret ${settings.secretName} has an AWSPENDING version ${pendingVersionId} that names no rotation; cannot tell whether its rotation is over — remove its AWSPENDING label by hand once it is`,
      };
    }
    const owner = rotationJobId(mailboxId, slot);
    if (await this.deps.jobs.isAlive(owner)) return { mailboxId, action: 'pending-in-progress', rotationJobId: owner };
    const keyId = pending.key_id;
    const jobId = revocationJobId(mailboxId, keyId);
    const existing = await this.deps.revocations.state(jobId);
    if (existing === 'failed' && (await this.deps.revocations.retryFailed(jobId))) return { mailboxId, action: 'revocation-retried', keyId, jobId };
    if (existing !== 'absent') return { mailboxId, action: 'stale-pending-exists', keyId, versionId: pendingVersionId, jobId };
    // A worker that was running the rotation when Redis lost it may still be mid-attempt (its job
    // and lock are gone, its memory is not): wait two lock durations, then the job checks again.
    const delayMs = 2 * this.deps.file.rotation.lockDurationMs;
    const nowMs = this.now().getTime();
    const { jobId: added } = await this.deps.revocations.schedule(
      { mailboxId, keyId, cause: 'stale-pending', versionId: pendingVersionId, rotationJobId: owner, requestedAt: new Date(nowMs).toISOString() },
      delayMs,
    );
    return { mailboxId, action: 'stale-pending-scheduled', keyId, versionId: pendingVersionId, jobId: added, notBefore: new Date(nowMs + delayMs).toISOString() };
  }

  /**
   * The version's document; FOREIGN_VALUE for a value the rotator did not write (adoptable: a plain
   * token or the team's JSON); or a problem text (gone, unreadable, another mailbox's).
   */
  private async readDocument(secret: MailboxSecret, versionId: string): Promise<StoredMailboxSecret | typeof FOREIGN_VALUE | string> {
    const version = await secret.version(versionId);
    if (!version) return `secret ${secret.name} lost version ${versionId} between two reads`;
    if (version.kind === 'foreign') return FOREIGN_VALUE;
    if (version.kind === 'other-mailbox') return `version ${versionId} of ${secret.name} belongs to mailbox ${version.mailboxId}`;
    return version.document;
  }
}

/**
 * When a reconciled revocation may fire (ms since the epoch): the later of the document's
 * `revoke_not_before` (mint time + the grace in force then) and the moment the secret last
 * changed + the grace. The last change is never earlier than the promotion (a promotion changes
 * the secret), so the key stays live for a full grace period after its successor became current,
 * even when the mint-to-promotion time was long. The grace is the longer of the one recorded
 * (`revoke_not_before - rotated_at`) and the group's configured one. One second is added to the
 * LastChangedDate in case it was truncated to whole seconds. Without a LastChangedDate, `nowMs`
 * stands in for it (later than the promotion too).
 */
const LAST_CHANGED_MARGIN_MS = 1_000;


export function reconciledNotBefore(input: {
  revokeNotBefore: string;
  mintedAt: string;
  configuredGraceMs: number;
  lastChangedDate: Date | undefined;
  nowMs: number;
}): number {
  const recordedNotBefore = Date.parse(input.revokeNotBefore);
  const recordedGrace = recordedNotBefore - Date.parse(input.mintedAt);
  const grace = Math.max(Number.isFinite(recordedGrace) ? recordedGrace : 0, input.configuredGraceMs);
  // AWS gives LastChangedDate in epoch seconds with milliseconds; the margin covers a truncated one.
  const changedMs = input.lastChangedDate ? input.lastChangedDate.getTime() + LAST_CHANGED_MARGIN_MS : input.nowMs;
  return Math.max(recordedNotBefore, changedMs + grace);
}

function reconcileMessage(finding: Extract<ReconcileFinding, { action: 'revocation-scheduled' | 'stale-pending-scheduled' | 'revocation-retried' }>): string {
  switch (finding.action) {
    case 'revocation-scheduled':
      return `reconcile: Redis held no revocation of the superseded key ${finding.keyId}; rebuilt it from Secrets Manager (fires at ${finding.notBefore})`;
    case 'revocation-retried':
      return `reconcile: the revocation of key ${finding.keyId} had failed, so the key may still be live; queued it again (${finding.jobId}), it proves the key superseded again first`;
    default:
      return `reconcile: AWSPENDING version ${finding.versionId} belongs to a rotation that is gone or over; its key ${finding.keyId} is revoked and the label cleared at ${finding.notBefore}`;
  }
}
