import { MailboxSecret, type AlreadyMoved } from '../mailbox-secret';
import { RotationAbortedError } from '../failures';
import { enterStep, type StepDeps } from './deps';
import type { RotationRun, StagedKey } from './types';

/**
 * Step 4: promote. AWSCURRENT moves to this job's version (AWS gives the version it leaves
 * AWSPREVIOUS), then AWSPENDING is removed — both by the secret's owner
 * (src/rotation/mailbox-secret.ts, `promote`). "Already done" is read from the version's labels: a
 * first version is AWSCURRENT from the moment it is stored, and an earlier run of this job may
 * have moved either label. A move AWS refuses because the label already sits where this step puts
 * it is recognised as done (two runs of one job can overlap after a lock expiry); any other
 * refusal — e.g. AWSCURRENT moved away from the version this one supersedes — fails the step.
 */
export async function promote(deps: StepDeps, run: RotationRun, staged: StagedKey): Promise<void> {
  const line = enterStep(deps, run, 'promote');
  const ours = staged.versionId;
  const secret = run.secret ?? (run.secret = await MailboxSecret.read(deps.secrets, run.mailboxId, run.settings.secretName));
  const alreadyMoved = (move: AlreadyMoved) =>
    line.info({ stage: move.stage, secretVersionId: ours },
      move.added
        ? `${move.stage} was already on this job's version when the move was refused (an overlapping run of this job moved it)`
        : `${move.stage} was already off this job's version when the removal was refused (an overlapping run of this job removed it)`);
  if (staged.labels.current && secret.labelsOf(ours).current) {
    line.info({ secretVersionId: ours }, 'this job’s version is already AWSCURRENT; nothing to move');
    await secret.promote(ours, null, alreadyMoved);
  } else {
    // Read the labels again right before the move: if AWSPENDING was taken off this version since
    // it was staged (a stale-pending clean-up that found this job gone — Redis lost it, or someone
    // removed it — and revoked its key), promoting would make consumers read a dead key.
    await secret.refreshLabels();
    const now = secret.labelsOf(ours);
    if (!now.pending && !now.current) {
      throw new RotationAbortedError(
        `AWSPENDING was taken off this job's version ${ours} of ${run.settings.secretName} before it was promoted (a clean-up found this rotation gone or over); ` +
          'not promoting it: AWSCURRENT keeps the key it has — request a new rotation',
      );
    }
    // Documents written before `supersedes` existed: the version AWSCURRENT sits on now (undefined).
    // An adopted value whose key id is unknown is superseded without a `supersedes` record: `adopted` names its version.
    const from = staged.document.supersedes === undefined ? undefined : (staged.document.supersedes?.version_id ?? staged.document.adopted?.version_id ?? null);
    const { previousVersionId } = await secret.promote(ours, from, alreadyMoved);
    line.info({ secretVersionId: ours, previousVersionId }, 'new key is AWSCURRENT');
  }
  staged.labels = { current: true, pending: false };
  // Bookkeeping, not waited for (BookkeepingWrites): the rotation is done whether or not it lands.
  // Its failure line comes later, from Redis, on this step's line: it names no call of a later step.
  deps.ledger.recordRotation(run.mailboxId, deps.now().getTime(), staged.key.keyId).catch((err: unknown) =>
    line.warn({ err }, 'could not record the rotation in the last-rotation ledger (overview, metrics); the rotation itself is done'),
  );
}
