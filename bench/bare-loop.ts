import type { SendmuxClient } from '../src/sendmux/client';
import type { SecretStore } from '../src/aws/secret-store';
import { appNameFor, clientRequestTokenFor, idempotencyKeyFor } from '../src/rotation/identity';
import { buildStoredMailboxSecret, parseStoredMailboxSecret } from '../src/rotation/secret-value';
import { forEachWithLimit } from '../src/scheduler/with-limit';
import { RETIRED_KEY_TAG } from '../src/reconcile/retired-key-tag';

export interface BareLoopDeps {
  sendmux: Pick<SendmuxClient, 'mintMailboxKey' | 'revokeMailboxKey' | 'getMailboxMe'>;
  secrets: Pick<SecretStore, 'describeSecret' | 'getSecretVersion' | 'putSecretVersion' | 'moveStage' | 'tagSecret'>;
  secretNameFor: (mailboxId: string) => string;
  appNamePrefix: string;
}

/**
 * The rotation of an already-rotated mailbox with nothing around it: the same Sendmux and
 * Secrets Manager calls, in the same order, as a rotation job followed by its revocation job
 * (look, read current, mint, stage, verify, promote, clear pending, describe and re-read AWSCURRENT (and AWSPENDING if any), revoke,
 * tag the secret with the retired key),
 * with no queue, no Redis, no logging, no job-data validation and no resumption logic.
 * It is the yardstick the rotator's throughput is divided by.
 */
export async function bareRotation(deps: BareLoopDeps, mailboxId: string, slot: string): Promise<void> {
  const secretName = deps.secretNameFor(mailboxId);
  const idempotencyKey = idempotencyKeyFor(mailboxId, slot);
  const token = clientRequestTokenFor(idempotencyKey);

  const description = await deps.secrets.describeSecret(secretName);
  const currentVersionId = Object.entries(description?.versionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
  if (!currentVersionId) throw new Error(`bare loop: ${secretName} has no AWSCURRENT version (seed the mailboxes first)`);
  const current = await deps.secrets.getSecretVersion(secretName, { versionId: currentVersionId });
  if (!current) throw new Error(`bare loop: ${secretName} lost its AWSCURRENT version`);
  const previousKeyId = parseStoredMailboxSecret(secretName, currentVersionId, current.secretString).key_id;

  const minted = await deps.sendmux.mintMailboxKey(mailboxId, { appName: appNameFor(deps.appNamePrefix, slot), idempotencyKey });
  await deps.secrets.putSecretVersion(secretName, {
    clientRequestToken: token,
    secretString: buildStoredMailboxSecret({
      mailboxId,
      minted: minted.data,
      rotatedAt: new Date().toISOString(),
      idempotencyKey,
      sendmuxRequestId: minted.requestId,
      slot,
      supersedes: { key_id: previousKeyId, version_id: currentVersionId },
      revokeNotBefore: new Date().toISOString(),
    }),
    versionStages: ['AWSPENDING'],
  });
  const me = await deps.sendmux.getMailboxMe(minted.data.secret);
  if (me.data.id !== mailboxId) throw new Error(`bare loop: the new key of ${mailboxId} opened ${me.data.id}`);
  await deps.secrets.moveStage(secretName, { stage: 'AWSCURRENT', moveToVersionId: token, removeFromVersionId: currentVersionId });
  await deps.secrets.moveStage(secretName, { stage: 'AWSPENDING', removeFromVersionId: token });

  // The revocation job's proof (src/rotation/mailbox-secret.ts, MAX_SUPERSESSION_CHAIN): the labels, then the AWSCURRENT
  // document; the AWSPENDING one only when a version holds that label (normally none).
  const after = await deps.secrets.describeSecret(secretName);
  const holderOf = (stage: string) => Object.entries(after?.versionIdsToStages ?? {}).find(([, stages]) => stages.includes(stage))?.[0];
  const nowCurrentId = holderOf('AWSCURRENT');
  const nowCurrent = nowCurrentId ? await deps.secrets.getSecretVersion(secretName, { versionId: nowCurrentId }) : null;
  if (!nowCurrent || parseStoredMailboxSecret(secretName, nowCurrent.versionId, nowCurrent.secretString).key_id === previousKeyId) {
    throw new Error(`bare loop: refusing to revoke the AWSCURRENT key of ${mailboxId}`);
  }
  const pendingId = holderOf('AWSPENDING');
  if (pendingId && pendingId !== nowCurrentId) await deps.secrets.getSecretVersion(secretName, { versionId: pendingId });
  await deps.sendmux.revokeMailboxKey(mailboxId, previousKeyId);
  // The revocation job records the retired key on the secret (the reconciler's RETIRED_KEY_TAG).
  await deps.secrets.tagSecret(secretName, { [RETIRED_KEY_TAG]: previousKeyId });
}

/** Rotates every mailbox with `concurrency` rotations in flight; returns the wall time in ms. */
export async function bareRotateAll(deps: BareLoopDeps, mailboxIds: readonly string[], slot: string, concurrency: number): Promise<number> {
  const started = performance.now();
  await forEachWithLimit(mailboxIds, concurrency, (mailboxId) => bareRotation(deps, mailboxId, slot));
  return performance.now() - started;
}
