import { RetryLaterError, RotationAbortedError } from '../failures';
import { rotationJobId } from '../identity';
import { slotOfDocument } from '../secret-value';
import { adoptionVerdict, carriedSizeProblem } from '../adoption';
import { MailboxSecret, type VersionReading } from '../mailbox-secret';
import { revokeWithProof } from '../revocation';
import { enterStep, type StepDeps } from './deps';
import type { CurrentVersion, RotationRun, SecretLook, StagedKey } from './types';

/**
 * Step 0: look. Secrets Manager knows whether this job's version was already stored (resume from
 * the step it reached), and whether another rotation of the mailbox holds AWSPENDING. Before any
 * side effect, at most one rotation of a mailbox makes progress:
 * - this job's version holds AWSPENDING: this job owns the mailbox's rotation, carry on;
 * - another version holds it: if the job that wrote it (named by its document's slot) may still
 *   run, wait (RetryLaterError, no attempt used); only when that job is over (completed, failed,
 *   gone) is the pending version stale — its key is revoked (proof: that version holds it and is
 *   not AWSCURRENT) and the label cleared;
 * - the mailbox's claim (its BullMQ deduplication id, taken atomically here) is held by another
 *   job that may still run (it may be minting and not have staged yet): wait.
 * A secret scheduled for deletion fails the job here, before anything is minted, and so does a
 * current value whose kept fields would not fit in the new document (src/rotation/adoption.ts).
 */
export async function look(deps: StepDeps, run: RotationRun): Promise<SecretLook> {
  const line = enterStep(deps, run, 'look');
  const { secretName } = run.settings;
  const secret = await MailboxSecret.read(deps.secrets, run.mailboxId, secretName);
  run.secret = secret;
  if (secret.deletedDate) {
    throw new RotationAbortedError(
      `secret ${secretName} is scheduled for deletion on ${secret.deletedDate.toISOString()}; nothing was minted — ` +
        'restore it (RestoreSecret) or remove the mailbox from the configuration',
    );
  }
  if (!secret.exists) {
    await waitForActiveOwner(deps, run);
    return { kind: 'fresh', secretExists: false, current: null };
  }

  const own = secret.ours(run.clientRequestToken);
  if (own === 'current' || own === 'pending') {
    const staged = await readOurVersion(secret, run);
    const labels = secret.labelsOf(run.clientRequestToken).text;
    line.info({ keyId: staged.key.keyId, stages: labels }, `resuming: this job's version is already ${own === 'current' ? 'current' : 'staged'} ${labels}`);
    return { kind: own === 'current' ? 'promoted' : 'staged', staged };
  }
  if (own === 'superseded') return { kind: 'superseded', arn: secret.arn!, labels: secret.labelsOf(run.clientRequestToken).text };

  await waitForActiveOwner(deps, run);
  const current = await readCurrent(secret, run);
  const tooLarge = current?.carried ? carriedSizeProblem(current.carried, secretName) : null;
  if (tooLarge) throw new RotationAbortedError(`${tooLarge}; nothing was minted`);
  const pendingVersionId = secret.holder('pending');
  if (pendingVersionId && pendingVersionId !== secret.holder('current')) await clearPendingIfStale(deps, run, secret, pendingVersionId);
  const previousVersionId = secret.holder('previous');
  return {
    kind: 'fresh',
    secretExists: true,
    ...(secret.arn ? { arn: secret.arn } : {}),
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

async function readOurVersion(secret: MailboxSecret, run: RotationRun): Promise<StagedKey> {
  const read = await secret.version(run.clientRequestToken);
  if (!read) throw new RotationAbortedError(`secret ${run.settings.secretName} lost version ${run.clientRequestToken} mid-rotation`);
  if (read.kind !== 'rotator') {
    throw new RotationAbortedError(`version ${run.clientRequestToken} of ${run.settings.secretName} (this job's own) is not a rotator document of mailbox ${run.mailboxId}; fix or remove that version in Secrets Manager`);
  }
  run.key = { keyId: read.document.key_id, secret: read.document.api_key };
  const labels = secret.labelsOf(run.clientRequestToken);
  return { key: run.key, versionId: run.clientRequestToken, arn: read.arn, document: read.document, labels: { current: labels.current, pending: labels.pending } };
}

/**
 * The AWSCURRENT version: a rotator document, or a value this rotation adopts (a plain token or
 * the operator's own JSON; src/rotation/adoption.ts). The adopted value's secret is not kept.
 */
async function readCurrent(secret: MailboxSecret, run: RotationRun): Promise<CurrentVersion | null> {
  const reading = await secret.current();
  if (!reading) return null;
  if (reading.kind === 'other-mailbox') {
    throw new RotationAbortedError(`AWSCURRENT of ${run.settings.secretName} is a rotator document of mailbox ${reading.mailboxId}, not ${run.mailboxId}; nothing was minted — check the secretName template`);
  }
  const createdDate = reading.createdDate ? { createdDate: reading.createdDate } : {};
  if (reading.kind === 'rotator') return { versionId: reading.versionId, keyId: reading.keyId, carried: reading.carried, ...createdDate };
  run.line.info(
    { adoptedVersionId: reading.versionId, format: reading.format, adoptedKeyId: reading.keyId },
    `AWSCURRENT of ${run.settings.secretName} is not a rotator document (${adoptionVerdict({ kind: 'foreign', format: reading.format, keyId: reading.keyId, carried: reading.carried })}): this rotation adopts it; it stays as AWSPREVIOUS`,
  );
  return { versionId: reading.versionId, keyId: reading.keyId, adopted: { format: reading.format }, carried: reading.carried, ...createdDate };
}

async function clearPendingIfStale(deps: StepDeps, run: RotationRun, secret: MailboxSecret, pendingVersionId: string): Promise<void> {
  const { secretName } = run.settings;
  const pending = await secret.version(pendingVersionId);
  let staleJobId: string | undefined;
  if (pending) {
    const slot = pending.kind === 'rotator' ? slotOfDocument(pending.document) : null;
    if (pending.kind !== 'rotator' || !slot) {
      // Fail closed: a pending version we cannot attribute to a job cannot be proven abandoned.
      throw new RotationAbortedError(
        `secret ${secretName} has an AWSPENDING version ${pendingVersionId} that names no rotation of mailbox ${run.mailboxId}; ` +
          'cannot tell whether its rotation is over — remove its AWSPENDING label by hand once it is',
      );
    }
    staleJobId = rotationJobId(run.mailboxId, slot);
    if (await deps.jobs.isAlive(staleJobId)) {
      throw new RetryLaterError(
        `rotation ${staleJobId} of mailbox ${run.mailboxId} is in progress (its version ${pendingVersionId} is AWSPENDING); this one waits its turn`,
        { retryAfterMs: deps.busyRetryMs, usesAttempt: false },
      );
    }
    enterStep(deps, run, 'clear-stale-pending');
    // The label first, then a fresh look, then the key: a rotation that is still running after all
    // (its job only looked gone) refuses to promote a version whose AWSPENDING is gone, and one
    // that promoted meanwhile is seen as AWSCURRENT below — its key is never revoked.
    await secret.clearStalePending(pendingVersionId);
    await secret.refreshLabels();
    if (secret.labelsOf(pendingVersionId).current || (await secret.currentKeyId()) === pending.keyId) {
      run.line.info({ staleVersionId: pendingVersionId, keyId: pending.keyId, staleJobId }, `the stale AWSPENDING version left by rotation ${staleJobId} holds the AWSCURRENT key: only its label is cleared`);
    } else {
      await revokeStalePendingKey(deps, run, secret, pending, staleJobId);
    }
    run.line.info({ staleVersionId: pendingVersionId }, 'stale AWSPENDING label cleared');
    return;
  }
  await secret.clearStalePending(pendingVersionId);
  run.line.info({ staleVersionId: pendingVersionId }, 'stale AWSPENDING label cleared');
}

/** The key of a stale AWSPENDING version, revoked through the choke point (never the AWSCURRENT key). */
async function revokeStalePendingKey(deps: StepDeps, run: RotationRun, secret: MailboxSecret, pending: Extract<VersionReading, { kind: 'rotator' }>, staleJobId: string): Promise<void> {
  const revoked = await revokeWithProof(deps, secret, {
    keyId: pending.keyId,
    basis: { proof: 'held-by-version', versionId: pending.versionId, pendingRotationOver: true },
    line: run.line,
    purpose: `stale AWSPENDING version left by rotation ${staleJobId}`,
    proveDead: false,
  });
  if (revoked.outcome === 'refused') {
    deps.reportUnprovenKey?.({ keyId: pending.keyId, reason: `the stale AWSPENDING version ${pending.versionId} left by rotation ${staleJobId} holds it, but ${revoked.reason}; it was NOT revoked — revoke it by hand (rotator revoke ${run.mailboxId} ${pending.keyId}) once you know it is unused` });
    return;
  }
  run.requestIds.stalePendingRevoke = revoked.requestId;
  run.line.warn(
    { staleVersionId: pending.versionId, keyId: pending.keyId, staleJobId, sendmuxRequestId: revoked.requestId, outcome: revoked.outcome },
    revoked.outcome === 'revoked'
      ? `revoked the key of a stale AWSPENDING version left by rotation ${staleJobId}, which is over`
      : `the key of a stale AWSPENDING version left by rotation ${staleJobId} is unknown to Sendmux in this mailbox (404); nothing revoked`,
  );
}
