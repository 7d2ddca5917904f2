import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { RotatorFileConfig } from '../src/config';
import type { SendmuxClient } from '../src/sendmux/client';
import type { SecretStore } from '../src/aws/secret-store';
import type { RotationJobData, RotationResult, RotationStep } from '../src/rotation/job-data';
import type { RotationAttemptEvent, RotatorEventSink } from '../src/rotation/events';
import { createRotationStepOperations, type RotationRun, type RotationStepOperations, type StepDeps } from '../src/rotation/steps';
import { Compensations, rotateMailboxKey } from '../src/rotation/protocol';
import { heldSecrets, prepareRotationRun } from '../src/rotation/rotation-run';
import { withMailboxClaim } from '../src/rotation/mailbox-claim';
import { settleJobFailure } from './job-failure';
import { scrubError } from '../src/security/scrub-secrets';
import { DeferredStepProgress } from '../src/rotation/step-progress';
import { errorText } from '../src/logging/error-summary';

export interface RotateMailboxKeyDeps extends Omit<StepDeps, 'job' | 'onStep' | 'now' | 'busyRetryMs' | 'secrets' | 'reportUnprovenKey'> {
  /** Observed per attempt (observedBy): each step's lines name the AWS request ids of its calls. */
  secrets: StepDeps['secrets'] & Pick<SecretStore, 'observedBy'> & Partial<Pick<SecretStore, 'clock'>>;
  /** The configuration the processor derives everything from (job data is only a request). */
  file: RotatorFileConfig;
  /** Read when the mailbox's group can depend on its email (emailGlob groups). */
  mailboxes: Pick<SendmuxClient, 'getMailbox'>;
  /** Pauses every worker of the queue (BullMQ queue rate limit) after a 429. */
  pauseQueueFor(ms: number): Promise<void>;
  logger: Logger;
  /** Audit history, metrics and alerts: one event per attempt. */
  events?: RotatorEventSink;
  /** Called as each step starts (metrics, tests); must not throw. */
  onStep?: (job: Job<RotationJobData>, step: RotationStep) => void;
  /** How long a rotation waits for another one of the same mailbox before looking again (ms). */
  busyRetryMs?: number;
  now?: () => Date;
  /** Replaces the real step operations (tests of the protocol). */
  operations?: (deps: StepDeps) => RotationStepOperations;
}

const DEFAULT_BUSY_RETRY_MS = 1_000;

/**
 * The BullMQ processor of `rotate-mailbox-key` jobs, a thin adapter: the data checked and the run
 * derived from the configuration (src/rotation/rotation-run.ts), the protocol run
 * (src/rotation/protocol.ts) inside the mailbox's claim (src/rotation/mailbox-claim.ts), the
 * failure settled (./job-failure.ts) and, when final, compensated.
 */
export function createRotateMailboxKeyProcessor(deps: RotateMailboxKeyDeps) {
  return async function processRotation(job: Job<RotationJobData>, data: RotationJobData, token?: string): Promise<RotationResult> {
    const startedAt = Date.now();
    const run = await prepareRotationRun(deps, job, data).catch((err: unknown) => {
      deps.logger.error({ jobId: job.id, mailboxId: data.mailboxId, err }, `rotation refused: ${errorText(err)}`);
      throw err;
    });
    const progress = new DeferredStepProgress(
      (step) => job.updateProgress({ step, at: (deps.now?.() ?? new Date()).toISOString() }),
      (err, step) => run.log.warn({ step, err }, 'could not write the step to the job progress; the rotation goes on'),
    );
    const ops = operationsFor(deps, job, run, progress);
    const compensations = new Compensations();
    const over = new WeakSet<object>();
    try {
      return await withMailboxClaim(claimOf(deps, job, run), async () => {
        try {
          const outcome = await rotateMailboxKey(run, ops, compensations, deps.secrets.clock);
          run.step = 'done';
          run.line.info({ step: 'done', outcome: outcome.outcome, newKeyId: outcome.newKeyId, previousKeyId: outcome.previousKeyId,
            secretVersionId: outcome.secretVersionId, sendmuxRequestIds: outcome.requestIds, durationMs: Date.now() - startedAt, note: outcome.note }, `rotation ${outcome.outcome}`);
          emit(deps, job, run, { outcome: outcome.outcome, durationMs: Date.now() - startedAt, newKeyId: outcome.newKeyId, previousKeyId: outcome.previousKeyId,
            secretVersionId: outcome.secretVersionId, requestIds: outcome.requestIds, message: outcome.note, ...(outcome.adopted ? { adopted: outcome.adopted } : {}) });
          return outcome;
        } catch (err) {
          // Failures are rare and the step they stopped at is what an operator asks first: always written.
          await progress.writeNow(run.step);
          const settled = await settleJobFailure(err, { job, token, mailboxId: run.mailboxId, describe: (m) => `step ${run.step}: ${m}`, pauseQueueFor: deps.pauseQueueFor,
            knownSecrets: heldSecrets(run) });
          const level = settled.final ? 'error' : settled.outcome === 'retrying' ? 'warn' : 'info';
          run.line[level](
            { step: run.step, err: settled.final || settled.outcome === 'retrying' ? err : undefined, final: settled.final, retryAfterMs: settled.retryAfterMs },
            settled.final ? `rotation failed: ${settled.message}` : settled.outcome === 'waiting' ? `rotation waits: ${settled.message}` : `rotation attempt failed, will retry: ${settled.message}`,
          );
          // The compensations run before the event: a key only they learn (a replayed mint) is named in it.
          if (settled.final) await compensate(run, compensations);
          nameCleanupCalls(run);
          emit(deps, job, run, { outcome: settled.outcome, durationMs: Date.now() - startedAt, requestIds: run.requestIds, message: settled.message });
          if (settled.final) over.add(settled.error);
          throw settled.error;
        }
      }, (err) => typeof err === 'object' && err !== null && over.has(err));
    } finally {
      progress.stop();
    }
  };
}

/**
 * For a rotation job BullMQ failed without running our code to the end — its workers kept dying
 * until it stalled more often than allowed. Emits the final event and runs every compensation of
 * the protocol (each finds from Secrets Manager and the vendor what there is to undo).
 */
export function createAbandonedRotationHandler(deps: RotateMailboxKeyDeps) {
  return async function onAbandonedRotation(job: Job<RotationJobData>, data: RotationJobData, reason: string): Promise<void> {
    const run = await prepareRotationRun(deps, job, data);
    // Clean-up only: no step of its own to show.
    const ops = operationsFor(deps, job, run, { enter: () => undefined });
    const message = `the job failed without finishing: ${reason}`;
    await withMailboxClaim(claimOf(deps, job, run), async () => {
      run.line.error({ step: run.step }, `rotation abandoned: ${message}`);
      await compensate(run, Compensations.ofAbandonedRun(run, ops));
      nameCleanupCalls(run);
      emit(deps, job, run, { outcome: 'failed', durationMs: 0, message });
    }, () => true);
  };
}

function claimOf(deps: RotateMailboxKeyDeps, job: Job<RotationJobData>, run: RotationRun) {
  return { jobs: deps.jobs, mailboxId: run.mailboxId, jobId: run.jobId, enqueuedWithClaim: job.deduplicationId !== undefined, log: run.log };
}

function operationsFor(deps: RotateMailboxKeyDeps, job: Job<RotationJobData>, run: RotationRun, progress: Pick<DeferredStepProgress, 'enter'>): RotationStepOperations {
  let recorded = job.data;
  const stepDeps: StepDeps = {
    sendmux: deps.sendmux,
    // Each answered call is named by the line of the step in progress when it was made.
    secrets: deps.secrets.observedBy((call) => run.line.noteAwsCall(call)),
    ledger: deps.ledger, jobs: deps.jobs, scheduleRevocation: deps.scheduleRevocation,
    busyRetryMs: deps.busyRetryMs ?? DEFAULT_BUSY_RETRY_MS, now: deps.now ?? (() => new Date()),
    onStep: deps.onStep ? (step) => deps.onStep?.(job, step) : undefined,
    reportUnprovenKey: ({ keyId, reason }) => deps.events?.record({
      kind: 'revocation', at: (deps.now?.() ?? new Date()).toISOString(), jobId: run.jobId, mailboxId: run.mailboxId, keyId, attempt: run.attempt,
      outcome: 'refused', durationMs: 0, message: reason,
    }),
    job: {
      progress: (step) => progress.enter(step),
      recordMint: async (mint) => {
        recorded = { ...recorded, ...mint };
        await job.updateData(recorded);
      },
    },
  };
  return (deps.operations ?? createRotationStepOperations)(stepDeps);
}

function emit(deps: RotateMailboxKeyDeps, job: Job<RotationJobData>, run: RotationRun,
  fields: Pick<RotationAttemptEvent, 'outcome' | 'durationMs'> & Partial<RotationAttemptEvent>): void {
  deps.events?.record({
    kind: 'rotation', at: (deps.now?.() ?? new Date()).toISOString(), jobId: run.jobId, mailboxId: run.mailboxId, reason: job.data.reason,
    slot: run.slot, requestedBy: job.data.requestedBy, attempt: run.attempt, step: run.step,
    ...(run.recorded.mintedKeyId ? { newKeyId: run.recorded.mintedKeyId } : {}), ...fields,
  });
}

/** The clean-up's Secrets Manager calls that no line of it named (a compensation that threw). */
function nameCleanupCalls(run: RotationRun): void {
  if (run.line.hasUnnamedCalls) run.line.info({ step: run.step }, 'Secrets Manager calls of the clean-up');
}

/**
 * Runs the compensations, then reports those that failed: after all of them, so a line about a
 * failed label clean-up knows whether the key itself was proven dead meanwhile.
 */
async function compensate(run: RotationRun, compensations: Compensations): Promise<void> {
  const failures: unknown[] = [];
  await compensations.run((err) => failures.push(err));
  for (const err of failures) reportCleanupFailure(run, err);
}

function reportCleanupFailure(run: RotationRun, err: unknown): void {
  scrubError(err, heldSecrets(run));
  const keyId = run.key?.keyId ?? run.recorded.mintedKeyId;
  // Once a proof said the key is dead (or it was revoked), a failed label clean-up leaves no live key behind.
  const keyFate = run.keyState === 'dead' || run.keyState === 'revoked'
    ? `key ${keyId ?? '(unknown)'} is already revoked; only the clean-up of the secret's labels is left (the reconciler or the next rotation finishes it)`
    : `key ${keyId ?? '(unknown)'} may still be live; revoke it in Sendmux if it is not the key stored as AWSCURRENT of ${run.settings.secretName}`;
  run.line.error({ step: run.step, keyId, err }, `could not clean up after the failed rotation of ${run.mailboxId}: ${keyFate}`);
}
