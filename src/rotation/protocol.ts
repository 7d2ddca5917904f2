import type { AwsClock } from '../aws/aws-clock';
import type { RotationResult } from './job-data';
import { revokeByHandNotice } from './adoption';
import type { CurrentVersion, RotationRun, RotationStepOperations, StagedKey } from './steps';

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
      note: `this slot's version is already stored${look.labels !== '[]' ? ` with stages ${look.labels}` : ' without labels'} ` +
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
  // that is off cannot make the age negative or refuse an accepted rotation.
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

  /**
   * Every compensation the protocol defines, for a job BullMQ failed without running our code to
   * the end (it stalled too often): each one finds from Secrets Manager and the vendor what there
   * is to undo, so running one that a run never registered is harmless.
   */
  static ofAbandonedRun(run: RotationRun, ops: RotationStepOperations): Compensations {
    const all = new Compensations();
    all.push(() => ops.discardMintedKey(run), () => ops.unstage(run));
    return all;
  }

  push(...actions: Array<() => Promise<void>>): void {
    this.undo.push(...actions);
  }
  /** Runs every action, newest first; one that throws is reported and the rest still run. */
  async run(onError: (err: unknown) => void): Promise<void> {
    for (const action of [...this.undo].reverse()) await action().catch(onError);
  }
}
