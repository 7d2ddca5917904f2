import { SecretStoreError } from '../../aws/errors';
import { AWSCURRENT, AWSPENDING } from '../../aws/staging-labels';
import { enterStep, type StepDeps, awsRequestIdFields } from './deps';
import type { RotationRun, StagedKey } from './types';

/**
 * Step 4: promote. AWSCURRENT moves to this job's version (AWS gives the version it leaves
 * AWSPREVIOUS), then AWSPENDING is removed. "Already done" is read from the version's labels: a
 * first version is AWSCURRENT from the moment it is stored, and an earlier run of this job may
 * have moved either label. A move AWS refuses because the label already sits where this step puts
 * it is recognised as done (two runs of one job can overlap after a lock expiry); any other
 * refusal — e.g. AWSCURRENT moved away from the version this one supersedes — fails the step.
 */
export async function promote(deps: StepDeps, run: RotationRun, staged: StagedKey): Promise<void> {
  enterStep(deps, run, 'promote');
  const ours = staged.versionId;
  if (staged.stages.includes(AWSCURRENT)) {
    run.log.info({ ...awsRequestIdFields(run), step: 'promote', secretVersionId: ours }, 'this job’s version is already AWSCURRENT; nothing to move');
  } else {
    // Documents written before `supersedes` existed: the version AWSCURRENT sits on now.
    // An adopted value whose key id is unknown is superseded without a `supersedes` record: `adopted` names its version.
    const from = staged.document.supersedes === undefined ? await currentHolder(deps, run) : (staged.document.supersedes?.version_id ?? staged.document.adopted?.version_id);
    await moveOrConfirm(deps, run, { stage: AWSCURRENT, moveToVersionId: ours, ...(from ? { removeFromVersionId: from } : {}) });
    run.log.info({ ...awsRequestIdFields(run), step: 'promote', secretVersionId: ours, previousVersionId: from ?? null }, 'new key is AWSCURRENT');
  }
  if (staged.stages.includes(AWSPENDING)) {
    await moveOrConfirm(deps, run, { stage: AWSPENDING, removeFromVersionId: ours });
  }
  staged.stages = [AWSCURRENT];
  // Bookkeeping, not waited for (BookkeepingWrites): the rotation is done whether or not it lands.
  // Its failure line comes later, from Redis: it must not take the request ids of the AWS calls
  // made meanwhile, which belong to the line of the step that made them.
  deps.ledger.recordRotation(run.mailboxId, deps.now().getTime(), staged.key.keyId).catch((err: unknown) =>
    run.log.warn({ step: 'promote', err }, 'could not record the rotation in the last-rotation ledger (overview, metrics); the rotation itself is done'),
  );
}

async function moveOrConfirm(
  deps: StepDeps,
  run: RotationRun,
  move: { stage: string; moveToVersionId?: string; removeFromVersionId?: string },
): Promise<void> {
  const { secretName } = run.settings;
  try {
    await deps.secrets.moveStage(secretName, move);
  } catch (err) {
    if (!(err instanceof SecretStoreError && err.awsErrorName === 'InvalidParameterException')) throw err;
    const description = await deps.secrets.describeSecret(secretName);
    const stagesOf = (versionId: string | undefined) => (versionId ? description?.versionIdsToStages[versionId] ?? [] : []);
    const inPlace = move.moveToVersionId
      ? stagesOf(move.moveToVersionId).includes(move.stage)
      : !stagesOf(move.removeFromVersionId).includes(move.stage);
    if (!inPlace) throw err;
    run.log.info(
      { ...awsRequestIdFields(run), step: run.step, stage: move.stage, secretVersionId: move.moveToVersionId ?? move.removeFromVersionId },
      move.moveToVersionId
        ? `${move.stage} was already on this job's version when the move was refused (an overlapping run of this job moved it)`
        : `${move.stage} was already off this job's version when the removal was refused (an overlapping run of this job removed it)`,
    );
  }
}

async function currentHolder(deps: StepDeps, run: RotationRun): Promise<string | undefined> {
  const description = await deps.secrets.describeSecret(run.settings.secretName);
  return Object.entries(description?.versionIdsToStages ?? {}).find(([, stages]) => stages.includes(AWSCURRENT))?.[0];
}
