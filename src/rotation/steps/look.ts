import { AWSCURRENT, AWSPENDING, AWSPREVIOUS } from '../../aws/staging-labels';
import { RetryLaterError, RotationAbortedError } from '../failures';
import { rotationJobId } from '../identity';
import { slotOfDocument } from '../secret-value';
import { adoptionVerdict, carriedSizeProblem, readSecretValue } from '../adoption';
import { enterStep, readDocument, type StepDeps, awsRequestIdFields } from './deps';
import { revokeKey } from './revoke';
import type { CurrentVersion, RotationRun, SecretLook, StagedKey } from './types';

/**
 * Step 0: look. Secrets Manager knows whether this job's version was already stored (resume from
 * the step it reached), and whether another rotation of the mailbox holds AWSPENDING. Before any
 * side effect, at most one rotation of a mailbox makes progress:
 * - this job's version holds AWSPENDING: this job owns the mailbox's rotation, carry on;
 * - another version holds it: if the job that wrote it (named by its document's slot) may still
 *   run, wait (RetryLaterError, no attempt used); only when that job is over (completed, failed,
 *   gone) is the pending version stale — its key is revoked unless current, and the label cleared;
 * - the mailbox's claim (its BullMQ deduplication id, taken atomically here) is held by another
 *   job that may still run (it may be minting and not have staged yet): wait.
 * A secret scheduled for deletion fails the job here, before anything is minted, and so does a
 * current value whose kept fields would not fit in the new document (src/rotation/adoption.ts).
 */
export async function look(deps: StepDeps, run: RotationRun): Promise<SecretLook> {
  enterStep(deps, run, 'look');
  const { secretName } = run.settings;
  const description = await deps.secrets.describeSecret(secretName);
  if (description?.deletedDate) {
    throw new RotationAbortedError(
      `secret ${secretName} is scheduled for deletion on ${description.deletedDate.toISOString()}; nothing was minted — ` +
        'restore it (RestoreSecret) or remove the mailbox from the configuration',
    );
  }
  if (!description) {
    await waitForActiveOwner(deps, run);
    return { kind: 'fresh', secretExists: false, current: null };
  }

  const holderOf = (stage: string) => Object.entries(description.versionIdsToStages).find(([, stages]) => stages.includes(stage))?.[0];
  const ourStages = description.versionIdsToStages[run.clientRequestToken];
  if (ourStages?.includes(AWSCURRENT) || ourStages?.includes(AWSPENDING)) {
    const staged = await readOurVersion(deps, run, ourStages);
    run.log.info({ ...awsRequestIdFields(run), step: 'look', keyId: staged.key.keyId, stages: ourStages }, `resuming: this job's version is already ${ourStages.includes(AWSCURRENT) ? 'AWSCURRENT' : 'AWSPENDING'}`);
    return { kind: ourStages.includes(AWSCURRENT) ? 'promoted' : 'staged', staged };
  }
  if (ourStages) return { kind: 'superseded', arn: description.arn, stages: ourStages };

  await waitForActiveOwner(deps, run);
  const currentVersionId = holderOf(AWSCURRENT);
  const current = currentVersionId ? await readCurrent(deps, run, currentVersionId) : null;
  const tooLarge = current?.carried ? carriedSizeProblem(current.carried, secretName) : null;
  if (tooLarge) throw new RotationAbortedError(`${tooLarge}; nothing was minted`);
  const pendingVersionId = holderOf(AWSPENDING);
  if (pendingVersionId) await clearPendingIfStale(deps, run, pendingVersionId, current);
  const previousVersionId = holderOf(AWSPREVIOUS);
  return {
    kind: 'fresh',
    secretExists: true,
    arn: description.arn,
    current,
    ...(previousVersionId ? { previousVersionId } : {}),
  };
}

async function waitForActiveOwner(deps: StepDeps, run: RotationRun): Promise<void> {
  const owner = await deps.jobs.claim(run.mailboxId, run.jobId);
  if (owner) {
    throw new RetryLaterError(`rotation ${owner} of mailbox ${run.mailboxId} is in progress; this one waits its turn`, {
      retryAfterMs: deps.busyRetryMs,
      usesAttempt: false,
    });
  }
}

async function readOurVersion(deps: StepDeps, run: RotationRun, stages: string[]): Promise<StagedKey> {
  const read = await readDocument(deps, run.settings.secretName, run.clientRequestToken);
  if (!read) throw new RotationAbortedError(`secret ${run.settings.secretName} lost version ${run.clientRequestToken} mid-rotation`);
  run.key = { keyId: read.document.key_id, secret: read.document.api_key };
  return { key: run.key, versionId: run.clientRequestToken, arn: read.arn, document: read.document, stages };
}

/**
 * The AWSCURRENT version: a rotator document, or a value this rotation adopts (a plain token or
 * the operator's own JSON; src/rotation/adoption.ts). The adopted value's secret is not kept.
 */
async function readCurrent(deps: StepDeps, run: RotationRun, versionId: string): Promise<CurrentVersion | null> {
  const version = await deps.secrets.getSecretVersion(run.settings.secretName, { versionId });
  if (!version) return null;
  const reading = readSecretValue(version.secretString);
  const createdDate = version.createdDate ? { createdDate: version.createdDate } : {};
  if (reading.kind === 'rotator') return { versionId, keyId: reading.document.key_id, carried: reading.carried, ...createdDate };
  run.log.info(
    { ...awsRequestIdFields(run), step: 'look', adoptedVersionId: versionId, format: reading.format, adoptedKeyId: reading.keyId },
    `AWSCURRENT of ${run.settings.secretName} is not a rotator document (${adoptionVerdict(reading)}): this rotation adopts it; it stays as AWSPREVIOUS`,
  );
  return { versionId, keyId: reading.keyId, adopted: { format: reading.format }, carried: reading.carried, ...createdDate };
}

async function clearPendingIfStale(deps: StepDeps, run: RotationRun, pendingVersionId: string, current: CurrentVersion | null): Promise<void> {
  const { secretName } = run.settings;
  const pending = await readDocument(deps, secretName, pendingVersionId);
  if (pending) {
    const slot = slotOfDocument(pending.document);
    if (!slot || pending.document.mailbox_id !== run.mailboxId) {
      // Fail closed: a pending version we cannot attribute to a job cannot be proven abandoned.
      throw new RotationAbortedError(
        `secret ${secretName} has an AWSPENDING version ${pendingVersionId} that names no rotation of mailbox ${run.mailboxId}; ` +
          'cannot tell whether its rotation is over — remove its AWSPENDING label by hand once it is',
      );
    }
    const owner = rotationJobId(run.mailboxId, slot);
    if (await deps.jobs.isAlive(owner)) {
      throw new RetryLaterError(
        `rotation ${owner} of mailbox ${run.mailboxId} is in progress (its version ${pendingVersionId} is AWSPENDING); this one waits its turn`,
        { retryAfterMs: deps.busyRetryMs, usesAttempt: false },
      );
    }
    enterStep(deps, run, 'clear-stale-pending');
    if (pending.document.key_id !== current?.keyId) {
      const revoked = await revokeKey(deps.sendmux, run.mailboxId, pending.document.key_id);
      run.requestIds.stalePendingRevoke = revoked.requestId;
      run.log.warn(
        { ...awsRequestIdFields(run), step: run.step, staleVersionId: pendingVersionId, keyId: pending.document.key_id, staleJobId: owner, sendmuxRequestId: revoked.requestId, outcome: revoked.outcome },
        revoked.outcome === 'revoked'
          ? `revoked the key of a stale AWSPENDING version left by rotation ${owner}, which is over`
          : `the key of a stale AWSPENDING version left by rotation ${owner} is unknown to Sendmux in this mailbox (404); nothing revoked`,
      );
    }
  }
  await deps.secrets.moveStage(secretName, { stage: AWSPENDING, removeFromVersionId: pendingVersionId });
  run.log.info({ ...awsRequestIdFields(run), step: run.step, staleVersionId: pendingVersionId }, 'stale AWSPENDING label cleared');
}
