import { enterStep, type StepDeps } from './deps';
import type { RotationResult } from '../job-data';
import type { RotationRun, StagedKey } from './types';
import { revokeByHandNotice } from '../adoption';

/**
 * Step 5: retire. Schedules the revocation of the key this version superseded (its document's
 * `supersedes`) as a delayed job of its own with a stable id (`revoke__<mailbox>__<key>`), so
 * scheduling it twice is harmless. It fires at the later of the document's `revoke_not_before`
 * and now + the grace period (now is the promotion). The revocation job proves the key
 * superseded from Secrets Manager again before revoking anything.
 */
export async function scheduleRetire(deps: StepDeps, run: RotationRun, staged: StagedKey): Promise<RotationResult['revocation']> {
  const line = enterStep(deps, run, 'retire');
  const superseded = staged.document.supersedes;
  if (!superseded && staged.document.adopted?.key_id === null) {
    line.warn({ adoptedVersionId: staged.document.adopted.version_id, format: staged.document.adopted.format },
      revokeByHandNotice(run.mailboxId));
    return { skipped: 'original-key-unknown' };
  }
  if (!superseded || superseded.key_id === staged.key.keyId) {
    line.info({}, staged.document.supersedes === undefined
      ? 'this version was written without a record of the key it superseded; no revocation scheduled'
      : 'first rotation of this mailbox: there is no previous key to revoke');
    return { skipped: 'no-previous-key' };
  }
  const notBeforeDoc = staged.document.revoke_not_before;
  if (notBeforeDoc === null || notBeforeDoc === undefined) {
    line.info({ previousKeyId: superseded.key_id }, 'revokePreviousAfter is "never": the previous key stays live');
    return { skipped: 'never' };
  }
  const grace = run.revokeNow ? 0 : (run.settings.revokePreviousAfterMs ?? 0);
  const nowMs = deps.now().getTime();
  const notBeforeMs = Math.max(Date.parse(notBeforeDoc), nowMs + grace);
  const { jobId } = await deps.scheduleRevocation(
    { mailboxId: run.mailboxId, keyId: superseded.key_id, cause: 'superseded', rotationJobId: run.jobId, requestedAt: new Date(nowMs).toISOString() },
    notBeforeMs - nowMs,
  );
  const notBefore = new Date(notBeforeMs).toISOString();
  line.info({ previousKeyId: superseded.key_id, revocationJobId: jobId, notBefore }, 'revocation of the previous key scheduled');
  return { jobId, notBefore };
}
