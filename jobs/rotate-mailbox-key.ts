import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { RotatorFileConfig } from '../src/config';
import { resolveMailboxSettings, settingsNeedEmail } from '../src/config/mailbox-settings';
import type { SendmuxClient } from '../src/sendmux/client';
import type { SecretStore } from '../src/aws/secret-store';
import type { AwsClock } from '../src/aws/aws-clock';
import { appNameFor, clientRequestTokenFor, idempotencyKeyFor, rotationJobId } from '../src/rotation/identity';
import type { RotationJobData, RotationResult, RotationStep } from '../src/rotation/job-data';
import type { RotationAttemptEvent, RotatorEventSink } from '../src/rotation/events';
import { createRotationStepOperations, type CurrentVersion, type RotationRun, type RotationStepOperations, type StagedKey, type StepDeps } from '../src/rotation/steps';
import { settleJobFailure } from './job-failure';
import { awsRequestIdFields, noteAwsCall } from '../src/rotation/steps/deps';
import { scrubError } from '../src/security/scrub-secrets';
import { revokeByHandNotice } from '../src/rotation/adoption';
import { DeferredStepProgress } from '../src/rotation/step-progress';

/**
 * The rotation of one mailbox: docs/design.md steps 0-5, in order, as a saga. Each step operation is
 * idempotent and owns its "already done" check (src/rotation/steps/<step>.ts), so any attempt,
 * on any worker, may run this from the top. Compensations are registered as the steps that need
 * them succeed; they run only when the job fails for good (a retry resumes instead).
 */
export async function rotateMailboxKey(run: RotationRun, ops: RotationStepOperations, compensations: Compensations, awsClock?: Pick<AwsClock, 'ageMs'>): Promise<RotationResult> {
  const look = await ops.look(run); // 0. look (and wait while another rotation of the mailbox is in progress)
  if (look.kind === 'superseded') {
    return { ...result(run, 'already-done', null), secretArn: look.arn, secretVersionId: run.clientRequestToken, revocation: { skipped: 'not-needed' },
      note: `this slot's version is already stored${look.stages.length ? ` with stages [${look.stages.join(', ')}]` : ' without labels'} ` +
        '(a later rotation replaced it, or it was cleaned up when this job failed); nothing to do — request a new rotation if one is needed' };
  }
  if (look.kind === 'promoted') return promoteAndRetire(run, ops, look.staged); // resume: finish steps 4-5
  if (look.kind === 'staged') {
    compensations.push(() => ops.discardMintedKey(run), () => ops.unstage(run));
    await ops.verify(run, look.staged.key); // resume: steps 3-5
    return promoteAndRetire(run, ops, look.staged);
  }

  const tooSoon = tooSoonSince(run, look.current, awsClock);
  if (tooSoon) {
    return { ...result(run, 'skipped', look.current?.keyId ?? null), secretArn: look.arn, secretVersionId: look.current?.versionId,
      revocation: { skipped: 'not-needed' }, note: tooSoon };
  }

  compensations.push(() => ops.discardMintedKey(run)); // registered before the mint: its outcome may be unknown
  const key = await ops.mint(run, look); // 1. mint (key id recorded in the job)
  // Secrets Manager makes the FIRST version of a secret AWSCURRENT whatever stage is asked for, so
  // a mailbox without a current key is verified before staging: what is current is always proven.
  const firstKey = look.current === null;
  if (firstKey) await ops.verify(run, key);
  const staged = await ops.stage(run, key, look); // 2. stage as AWSPENDING
  compensations.push(() => ops.unstage(run));
  if (!firstKey) await ops.verify(run, key); // 3. verify
  return promoteAndRetire(run, ops, staged);
}

async function promoteAndRetire(run: RotationRun, ops: RotationStepOperations, staged: StagedKey): Promise<RotationResult> {
  await ops.promote(run, staged); // 4. promote
  const revocation = await ops.scheduleRetire(run, staged); // 5. retire (a delayed job of its own)
  const adopted = staged.document.adopted;
  return { ...result(run, 'rotated', staged.document.supersedes?.key_id ?? null), newKeyId: staged.key.keyId, secretArn: staged.arn,
    secretVersionId: staged.versionId, revocation,
    ...(adopted ? { adopted: { versionId: adopted.version_id, format: adopted.format, keyId: adopted.key_id } } : {}),
    ...(adopted && adopted.key_id === null ? { note: revokeByHandNotice(run.mailboxId) } : {}) };
}

function result(run: RotationRun, outcome: RotationResult['outcome'], previousKeyId: string | null): RotationResult {
  return { outcome, mailboxId: run.mailboxId, previousKeyId, revocation: { skipped: 'not-needed' }, requestIds: run.requestIds };
}

/** minRotationInterval spaces the rotator's own rotations; a value it adopts is no rotation of its own. */
function tooSoonSince(run: RotationRun, current: CurrentVersion | null, awsClock: Pick<AwsClock, 'ageMs'> | undefined): string | null {
  const currentCreated = current?.adopted ? undefined : current?.createdDate;
  if (run.force || run.recorded.mintedKeyId || !currentCreated) return null;
  // CreatedDate is stamped by AWS's clock: measured on it (from its Date header), a worker clock
  // that is off cannot make the age negative or refuse an accepted rotation (issue 27).
  const ageMs = awsClock ? awsClock.ageMs(currentCreated) : Math.max(0, Date.now() - currentCreated.getTime());
  const minMs = run.settings.minRotationIntervalMs;
  if (ageMs >= minMs) return null;
  return (
    `mailbox ${run.mailboxId} was rotated ${Math.round(ageMs / 1000)}s ago, within minRotationInterval ` +
    `(${Math.round(minMs / 1000)}s); nothing minted — use --force (or "force": true) to rotate anyway`
  );
}

/** Undo actions registered by the saga, run newest first when the job fails for good. */
export class Compensations {
  private readonly undo: Array<() => Promise<void>> = [];
  push(...actions: Array<() => Promise<void>>): void {
    this.undo.push(...actions);
  }
  /** Runs every action, newest first; one that throws is reported and the rest still run. */
  async run(onError: (err: unknown) => void): Promise<void> {
    for (const action of [...this.undo].reverse()) await action().catch(onError);
  }
}

export interface RotateMailboxKeyDeps extends Omit<StepDeps, 'job' | 'onStep' | 'now' | 'busyRetryMs' | 'secrets'> {
  /** Observed per attempt (observedBy): the attempt's lines name each call's AWS request id. */
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
 * The BullMQ processor of `rotate-mailbox-key` jobs: validated data in (see the job catalog),
 * the mailbox's settings resolved from the configuration, the saga run, failures settled.
 */
export function createRotateMailboxKeyProcessor(deps: RotateMailboxKeyDeps) {
  return async function processRotation(job: Job<RotationJobData>, data: RotationJobData, token?: string): Promise<RotationResult> {
    const startedAt = Date.now();
    const run = await prepareRun(deps, job, data).catch((err: unknown) => {
      deps.logger.error({ jobId: job.id, mailboxId: data.mailboxId, err }, `rotation refused: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    });
    const progress = new DeferredStepProgress(
      (step) => job.updateProgress({ step, at: (deps.now?.() ?? new Date()).toISOString() }),
      (err, step) => run.log.warn({ step, err }, 'could not write the step to the job progress; the rotation goes on'),
    );
    const stepDeps = stepDepsFor(deps, job, data, run, progress);
    const compensations = new Compensations();
    try {
      const outcome = await rotateMailboxKey(run, (deps.operations ?? createRotationStepOperations)(stepDeps), compensations, deps.secrets.clock);
      run.step = 'done';
      const durationMs = Date.now() - startedAt;
      run.log.info({ ...awsRequestIdFields(run), step: 'done', outcome: outcome.outcome, newKeyId: outcome.newKeyId, previousKeyId: outcome.previousKeyId,
        secretVersionId: outcome.secretVersionId, sendmuxRequestIds: outcome.requestIds, durationMs, note: outcome.note }, `rotation ${outcome.outcome}`);
      emit(deps, job, run, { outcome: outcome.outcome, durationMs, newKeyId: outcome.newKeyId, previousKeyId: outcome.previousKeyId,
        secretVersionId: outcome.secretVersionId, requestIds: outcome.requestIds, message: outcome.note, ...(outcome.adopted ? { adopted: outcome.adopted } : {}) });
      await releaseClaim(deps, job, run);
      return outcome;
    } catch (err) {
      // Failures are rare and the step they stopped at is what an operator asks first: always written.
      await progress.writeNow(run.step);
      const settled = await settleJobFailure(err, { job, token, mailboxId: run.mailboxId, describe: (m) => `step ${run.step}: ${m}`, pauseQueueFor: deps.pauseQueueFor,
        knownSecrets: heldSecrets(run) });
      const level = settled.final ? 'error' : settled.outcome === 'retrying' ? 'warn' : 'info';
      run.log[level](
        { ...awsRequestIdFields(run), step: run.step, err: settled.final || settled.outcome === 'retrying' ? err : undefined, final: settled.final, retryAfterMs: settled.retryAfterMs },
        settled.final ? `rotation failed: ${settled.message}` : settled.outcome === 'waiting' ? `rotation waits: ${settled.message}` : `rotation attempt failed, will retry: ${settled.message}`,
      );
      // The compensations run before the event: a key only they learn (a replayed mint) is named in it.
      if (settled.final) await compensations.run((cleanupErr) => reportCleanupFailure(run, cleanupErr));
      const cleanupCalls = awsRequestIdFields(run);
      if (cleanupCalls.awsRequestIds) run.log.info({ step: run.step, ...cleanupCalls }, 'Secrets Manager calls of the clean-up');
      emit(deps, job, run, { outcome: settled.outcome, durationMs: Date.now() - startedAt, requestIds: run.requestIds, message: settled.message });
      if (settled.final) await releaseClaim(deps, job, run);
      throw settled.error;
    } finally {
      progress.stop();
    }
  };
}

/**
 * For a rotation job BullMQ failed without running our code to the end — its workers kept dying
 * until it stalled more often than allowed. Emits the final event and runs the compensations a
 * failed run would (revoke the recorded key unless current, clear its AWSPENDING).
 */
export function createAbandonedRotationHandler(deps: RotateMailboxKeyDeps) {
  return async function onAbandonedRotation(job: Job<RotationJobData>, data: RotationJobData, reason: string): Promise<void> {
    const run = await prepareRun(deps, job, data);
    // Clean-up only: no step of its own to show.
    const ops = (deps.operations ?? createRotationStepOperations)(stepDepsFor(deps, job, data, run, { enter: () => undefined }));
    const message = `the job failed without finishing: ${reason}`;
    run.log.error({ ...awsRequestIdFields(run), step: run.step }, `rotation abandoned: ${message}`);
    const compensations = new Compensations();
    compensations.push(() => ops.discardMintedKey(run), () => ops.unstage(run));
    await compensations.run((cleanupErr) => reportCleanupFailure(run, cleanupErr));
    emit(deps, job, run, { outcome: 'failed', durationMs: 0, message });
    await releaseClaim(deps, job, run);
  };
}

/**
 * Gives up the mailbox's claim (its deduplication id) once this job is over. A job that was
 * enqueued with it (deduplicationId set) has it removed by BullMQ as it finishes, so only a job
 * that claimed it in the look step (added by hand, or retried) releases it here. Never throws: a
 * claim left behind is taken over by the next rotation once it finds this job over.
 */
async function releaseClaim(deps: RotateMailboxKeyDeps, job: Job<RotationJobData>, run: RotationRun): Promise<void> {
  if (job.deduplicationId !== undefined) return;
  await deps.jobs.release(run.mailboxId, run.jobId).catch((err: unknown) => run.log.warn({ err }, 'could not release the mailbox claim; the next rotation takes it over'));
}

/** The attempt's identity, derived from mailbox + slot + configuration; a mailbox the configuration does not cover fails for good. */
async function prepareRun(deps: RotateMailboxKeyDeps, job: Job<RotationJobData>, data: RotationJobData): Promise<RotationRun> {
  const { mailboxId, slot } = data;
  const jobId = String(job.id);
  const fail = (why: string) => new UnrecoverableError(`rotation job ${jobId} of mailbox ${mailboxId}: ${why}; nothing was done`);
  if (jobId !== rotationJobId(mailboxId, slot)) throw fail(`its id is not ${rotationJobId(mailboxId, slot)} (the id its mailbox and slot give)`);
  const idempotencyKey = idempotencyKeyFor(mailboxId, slot);
  const clientRequestToken = clientRequestTokenFor(idempotencyKey);
  if (data.idempotencyKey !== idempotencyKey || data.clientRequestToken !== clientRequestToken) {
    throw fail('its idempotencyKey/clientRequestToken are not the ones its mailbox and slot give');
  }
  const email = settingsNeedEmail(deps.file, mailboxId) ? (await deps.mailboxes.getMailbox(mailboxId)).data.email : undefined;
  const resolution = resolveMailboxSettings(deps.file, mailboxId, email);
  if (!resolution.covered) throw fail(resolution.reason);
  const settings = { ...resolution.settings, revokePreviousAfterMs: longerGrace(resolution.settings.revokePreviousAfterMs, data.revokePreviousAfterMs) };
  return {
    jobId, attempt: job.attemptsMade + 1, mailboxId, slot, force: data.force, revokeNow: data.revokeNow ?? false, settings,
    idempotencyKey, clientRequestToken, appName: appNameFor(settings.appNamePrefix, slot),
    recorded: { ...(data.mintedKeyId ? { mintedKeyId: data.mintedKeyId } : {}), ...(data.mintedAt ? { mintedAt: data.mintedAt } : {}),
      ...(data.mintRequestId ? { mintRequestId: data.mintRequestId } : {}), ...(data.orphanKeyId ? { orphanKeyId: data.orphanKeyId } : {}) },
    step: 'look', mintOutcomeUnknown: false, requestIds: {}, awsRequestIds: [],
    log: deps.logger.child({ jobId, mailboxId, attempt: job.attemptsMade + 1, idempotencyKey, reason: data.reason }),
  };
}

/**
 * A request may lengthen the grace period its group gives (e.g. keep the previous key: null), never
 * shorten it — only `revokeNow`, the operator's leaked-key path, does that. null means never.
 */
function longerGrace(configured: number | null, requested: number | null | undefined): number | null {
  if (requested === undefined) return configured;
  if (configured === null || requested === null) return null;
  return Math.max(configured, requested);
}

function stepDepsFor(deps: RotateMailboxKeyDeps, job: Job<RotationJobData>, data: RotationJobData, run: RotationRun, progress: Pick<DeferredStepProgress, 'enter'>): StepDeps {
  let recorded = data;
  return {
    sendmux: deps.sendmux, secrets: deps.secrets.observedBy((call) => noteAwsCall(run, call)), ledger: deps.ledger, jobs: deps.jobs, scheduleRevocation: deps.scheduleRevocation,
    busyRetryMs: deps.busyRetryMs ?? DEFAULT_BUSY_RETRY_MS, now: deps.now ?? (() => new Date()),
    onStep: deps.onStep ? (step) => deps.onStep?.(job, step) : undefined,
    job: {
      progress: (step) => progress.enter(step),
      recordMint: async (mint) => {
        recorded = { ...recorded, ...mint };
        await job.updateData(recorded);
      },
    },
  };
}

function emit(deps: RotateMailboxKeyDeps, job: Job<RotationJobData>, run: RotationRun,
  fields: Pick<RotationAttemptEvent, 'outcome' | 'durationMs'> & Partial<RotationAttemptEvent>): void {
  deps.events?.record({
    kind: 'rotation', at: (deps.now?.() ?? new Date()).toISOString(), jobId: run.jobId, mailboxId: run.mailboxId, reason: job.data.reason,
    slot: run.slot, requestedBy: job.data.requestedBy, attempt: run.attempt, step: run.step,
    ...(run.recorded.mintedKeyId ? { newKeyId: run.recorded.mintedKeyId } : {}), ...fields,
  });
}

/** The plaintext this attempt holds in memory (the minted key and its IMAP/SMTP password). */
function heldSecrets(run: RotationRun): string[] {
  const key = run.key;
  if (!key) return [];
  return [key.secret, ...(key.minted ? [key.minted.password] : [])];
}

function reportCleanupFailure(run: RotationRun, err: unknown): void {
  scrubError(err, heldSecrets(run));
  const keyId = run.key?.keyId ?? run.recorded.mintedKeyId;
  run.log.error(
    { ...awsRequestIdFields(run), step: run.step, keyId, err },
    `could not clean up after the failed rotation of ${run.mailboxId}: key ${keyId ?? '(unknown)'} may still be live; ` +
      `revoke it in Sendmux if it is not the key stored as AWSCURRENT of ${run.settings.secretName}`,
  );
}
