import { SecretStoreError } from '../../aws/errors';
import { storedMailboxDocument } from '../secret-value';
import { carriedValues, NO_CARRIED_FIELDS } from '../adoption';
import { MailboxSecret, type VersionLabels } from '../mailbox-secret';
import { enterStep, type StepDeps } from './deps';
import type { FreshLook, NewKey, RotationRun, StagedKey } from './types';

/**
 * Step 2: stage. PutSecretValue under the job's ClientRequestToken with AWSPENDING (the secret is
 * created first when missing, with the configured KMS key and tags). The document records the key
 * this version supersedes and the earliest time that key may be revoked, so Secrets Manager alone
 * can prove, later, which key is superseded and when it may go.
 *
 * Already done when the token's version exists: AWS answers the same call with a no-op, and a
 * ResourceExistsException when an earlier run of this job stored the same key with a document that
 * differs (it is then read back and used when it holds the same key).
 */
export async function stage(deps: StepDeps, run: RotationRun, key: NewKey, look: FreshLook): Promise<StagedKey> {
  // No progress write: staging is a Secrets Manager call or two right after the mint's record.
  const line = enterStep(deps, run, 'stage');
  const { secretName, kmsKeyId, tags } = run.settings;
  // Look read the secret; a caller without that snapshot (a test of this step alone) reads it now.
  const secret = run.secret ?? (run.secret = await MailboxSecret.read(deps.secrets, run.mailboxId, secretName));
  let arn = look.arn;
  if (!look.secretExists) {
    const created = await secret.create({
      ...(kmsKeyId !== undefined ? { kmsKeyId } : {}),
      tags,
      description: `Sendmux mailbox key for ${run.mailboxId}, rotated by the rotator`,
    });
    arn = created.arn;
    line.info({ secretArn: created.arn, created: created.created }, created.created ? 'secret created' : 'secret already existed');
  }
  if (!key.minted) throw new Error(`stage: the key ${key.keyId} of this attempt has no mint answer to store`);

  // A pure function of what the job recorded, so a retried PutSecretValue sends the same value.
  const mintedAt = run.recorded.mintedAt ?? deps.now().toISOString();
  const grace = run.revokeNow ? 0 : run.settings.revokePreviousAfterMs;
  const current = look.current;
  const supersedes = current?.keyId ? { key_id: current.keyId, version_id: current.versionId } : null;
  const adopted = current?.adopted ? { version_id: current.versionId, format: current.adopted.format, key_id: current.keyId } : undefined;
  const built = storedMailboxDocument({
    mailboxId: run.mailboxId,
    minted: key.minted,
    rotatedAt: mintedAt,
    idempotencyKey: run.idempotencyKey,
    sendmuxRequestId: key.requestId,
    slot: run.slot,
    supersedes,
    revokeNotBefore: supersedes && grace !== null ? new Date(Date.parse(mintedAt) + grace).toISOString() : null,
    ...(adopted ? { adopted } : {}),
    operatorFields: carriedValues(current?.carried ?? NO_CARRIED_FIELDS, { apiKey: key.minted.secret, keyId: key.keyId }),
  });

  let labels: VersionLabels;
  let document = built.document;
  try {
    const put = await secret.stage({ clientRequestToken: run.clientRequestToken, secretString: built.secretString });
    arn = put.arn;
    labels = put.labels;
  } catch (err) {
    if (!(err instanceof SecretStoreError && err.awsErrorName === 'ResourceExistsException')) throw err;
    const existing = await secret.version(run.clientRequestToken);
    if (!existing || existing.kind !== 'rotator' || existing.keyId !== key.keyId) throw err;
    line.info({ secretVersionId: run.clientRequestToken }, 'this job’s version already holds the same key (stored by an earlier run of this job); using it');
    await secret.refreshLabels();
    arn = existing.arn;
    labels = secret.labelsOf(run.clientRequestToken);
    document = existing.document;
  }

  const firstVersion = labels.current && !look.current;
  line.info(
    { secretVersionId: run.clientRequestToken, stages: labels.text, supersededKeyId: supersedes?.key_id ?? null },
    firstVersion
      ? "new key stored as the secret's first version: Secrets Manager made it AWSCURRENT as well (it does so for every first version); it was verified before staging"
      : 'new key staged as AWSPENDING',
  );
  return {
    key,
    versionId: run.clientRequestToken,
    ...(arn ? { arn } : {}),
    document,
    labels: { current: labels.current, pending: labels.pending },
  };
}
