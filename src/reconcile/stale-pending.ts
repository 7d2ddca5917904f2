import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import type { SecretStore } from '../aws/secret-store';
import { AWSCURRENT, AWSPENDING } from '../aws/staging-labels';
import type { SendmuxClient } from '../sendmux/client';
import type { RotationJobDirectory } from '../rotation/exclusion';
import { RetryLaterError } from '../rotation/failures';
import { rotationJobId } from '../rotation/identity';
import { parseStoredMailboxSecret, slotOfDocument } from '../rotation/secret-value';
import { revokeKey, type KeyRevocation } from '../rotation/steps/revoke';
import { awsRequestIdFields } from '../rotation/steps/deps';
import type { RotationRun } from '../rotation/steps/types';

export interface StalePendingDeps {
  secrets: Pick<SecretStore, 'describeSecret' | 'getSecretVersion' | 'moveStage'>;
  sendmux: Pick<SendmuxClient, 'revokeMailboxKey'>;
  jobs: Pick<RotationJobDirectory, 'isAlive'>;
  /** How long to wait before looking again while the pending version's rotation may still run (ms). */
  busyRetryMs: number;
}

export type StalePendingOutcome = KeyRevocation | { outcome: 'not-needed'; reason: string };

/**
 * The revocation job's `stale-pending` cause (added by the reconciler): revoke the key of an
 * AWSPENDING version whose rotation job is gone or over, then take the label off. Everything is
 * proven again from Secrets Manager and BullMQ at run time, as step 0 of a rotation does
 * (docs/design.md, "Where the truth lives"):
 * - the version must still hold AWSPENDING and carry `keyId` (else: not-needed, nothing done);
 * - the job its document names (`rotate__<mailbox>__<slot>`) must not be alive (else: wait, no
 *   attempt used) and the document must name one (else: refuse for good);
 * - its key is revoked unless it is the AWSCURRENT key (then only the label is removed).
 * Revoking first and clearing second: a crash between them leaves the label, and the reconciler's
 * next pass adds the job again (Sendmux answers 200 for a key already revoked).
 */
export async function retireStalePending(
  deps: StalePendingDeps,
  input: {
    mailboxId: string; keyId: string; versionId: string | undefined; secretName: string; log: Logger;
    /** The job's answered Secrets Manager calls, named in the line logged when the label is cleared. */
    calls?: Pick<RotationRun, 'awsRequestIds'>;
  },
): Promise<StalePendingOutcome> {
  const { mailboxId, keyId, secretName, log } = input;
  const description = await deps.secrets.describeSecret(secretName);
  const holderOf = (stage: string) => Object.entries(description?.versionIdsToStages ?? {}).find(([, stages]) => stages.includes(stage))?.[0];
  const pendingVersionId = holderOf(AWSPENDING);
  if (!pendingVersionId || (input.versionId !== undefined && pendingVersionId !== input.versionId)) {
    return { outcome: 'not-needed', reason: `secret ${secretName} no longer has that AWSPENDING version` };
  }
  const version = await deps.secrets.getSecretVersion(secretName, { versionId: pendingVersionId });
  if (!version) return { outcome: 'not-needed', reason: `version ${pendingVersionId} of ${secretName} is gone` };
  const document = parseStoredMailboxSecret(secretName, pendingVersionId, version.secretString);
  if (document.key_id !== keyId) return { outcome: 'not-needed', reason: `the AWSPENDING version of ${secretName} now holds another key` };
  const slot = slotOfDocument(document);
  if (!slot || document.mailbox_id !== mailboxId) {
    throw new UnrecoverableError(
      `refusing to clear AWSPENDING version ${pendingVersionId} of ${secretName}: it names no rotation of mailbox ${mailboxId}, ` +
        'so whether its rotation is over cannot be told; remove the label by hand once it is',
    );
  }
  const owner = rotationJobId(mailboxId, slot);
  if (await deps.jobs.isAlive(owner)) {
    throw new RetryLaterError(`rotation ${owner} of mailbox ${mailboxId} may still run (its version ${pendingVersionId} is AWSPENDING)`, {
      retryAfterMs: deps.busyRetryMs,
      usesAttempt: false,
    });
  }
  const currentVersionId = holderOf(AWSCURRENT);
  const current = currentVersionId ? await deps.secrets.getSecretVersion(secretName, { versionId: currentVersionId }) : null;
  const currentKeyId = current ? parseStoredMailboxSecret(secretName, current.versionId, current.secretString).key_id : undefined;
  let revoked: StalePendingOutcome = { outcome: 'not-needed', reason: `key ${keyId} is the AWSCURRENT key; only the label was removed` };
  if (currentKeyId !== keyId) revoked = await revokeKey(deps.sendmux, mailboxId, keyId);
  await deps.secrets.moveStage(secretName, { stage: AWSPENDING, removeFromVersionId: pendingVersionId });
  log.warn(
    { ...(input.calls ? awsRequestIdFields(input.calls) : {}), staleVersionId: pendingVersionId, staleJobId: owner, outcome: revoked.outcome },
    `cleared the stale AWSPENDING version left by rotation ${owner}, which is gone or over` +
      (revoked.outcome === 'revoked' ? `; its key ${keyId} (never current) is revoked` : revoked.outcome === 'not-found' ? `; Sendmux knows no key ${keyId} in this mailbox (404)` : ''),
  );
  return revoked;
}
