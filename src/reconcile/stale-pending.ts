import { UnrecoverableError } from 'bullmq';
import type { SendmuxClient } from '../sendmux/client';
import type { RotationJobDirectory } from '../rotation/exclusion';
import { RetryLaterError } from '../rotation/failures';
import { rotationJobId } from '../rotation/identity';
import { slotOfDocument } from '../rotation/secret-value';
import type { MailboxSecret } from '../rotation/mailbox-secret';
import { revokeWithProof } from '../rotation/revocation';
import type { StepLine } from '../rotation/step-line';

export interface StalePendingDeps {
  sendmux: Pick<SendmuxClient, 'revokeMailboxKey' | 'getMailboxMe'>;
  jobs: Pick<RotationJobDirectory, 'isAlive'>;
  /** How long to wait before looking again while the pending version's rotation may still run (ms). */
  busyRetryMs: number;
}

export type StalePendingOutcome =
  | { outcome: 'revoked' | 'not-found'; requestId?: string }
  | { outcome: 'not-needed'; reason: string };

/**
 * The revocation job's `stale-pending` cause (added by the reconciler): revoke the key of an
 * AWSPENDING version whose rotation job is gone or over, then take the label off. Everything is
 * proven again from Secrets Manager and BullMQ at run time, as step 0 of a rotation does
 * (docs/design.md, "Where the truth lives"):
 * - the version must still hold AWSPENDING and carry `keyId` (else: not-needed, nothing done);
 * - the job its document names (`rotate__<mailbox>__<slot>`) must not be alive (else: wait, no
 *   attempt used) and the document must name one (else: refuse for good);
 * - its key goes through the choke point (src/rotation/revocation.ts: that version holds it and it
 *   is not AWSCURRENT); when it is the AWSCURRENT key only the label is removed.
 * Clearing first and revoking second: a rotation that still runs after all cannot promote the
 * version any more; a crash between the two leaves a live key no label names, which the job's
 * retry (same id, the version id in its data) revokes.
 */
export async function retireStalePending(
  deps: StalePendingDeps,
  secret: MailboxSecret,
  input: { keyId: string; versionId: string | undefined; line: StepLine },
): Promise<StalePendingOutcome> {
  const { keyId, line } = input;
  const { name: secretName, mailboxId } = secret;
  const pendingVersionId = secret.holder('pending');
  if (!pendingVersionId || (input.versionId !== undefined && pendingVersionId !== input.versionId)) {
    return { outcome: 'not-needed', reason: `secret ${secretName} no longer has that AWSPENDING version` };
  }
  const version = await secret.version(pendingVersionId);
  if (!version) return { outcome: 'not-needed', reason: `version ${pendingVersionId} of ${secretName} is gone` };
  const slot = version.kind === 'rotator' ? slotOfDocument(version.document) : null;
  if (version.kind === 'rotator' && version.keyId !== keyId) return { outcome: 'not-needed', reason: `the AWSPENDING version of ${secretName} now holds another key` };
  if (version.kind !== 'rotator' || !slot) {
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
  // The label first, then a fresh look, then the key: a rotation still running after all (its job
  // only looked gone) refuses to promote a version whose AWSPENDING is gone, and one that promoted
  // meanwhile shows as AWSCURRENT here — its key is never revoked.
  await secret.clearStalePending(pendingVersionId);
  await secret.refreshLabels();
  let revoked: StalePendingOutcome = { outcome: 'not-needed', reason: `key ${keyId} is the AWSCURRENT key; only the label was removed` };
  if (!secret.labelsOf(pendingVersionId).current && (await secret.currentKeyId()) !== keyId) {
    const attempt = await revokeWithProof(deps, secret, {
      keyId, basis: { proof: 'held-by-version', versionId: pendingVersionId, pendingRotationOver: true }, line,
      purpose: `stale AWSPENDING version left by rotation ${owner}`, proveDead: false,
    });
    if (attempt.outcome === 'refused') {
      throw new UnrecoverableError(`refusing to revoke key ${keyId} of the stale AWSPENDING version ${pendingVersionId} of ${secretName}: ${attempt.reason}; its label is cleared — revoke the key by hand (rotator revoke ${mailboxId} ${keyId}) once you know it is unused`);
    }
    revoked = { outcome: attempt.outcome, ...(attempt.requestId ? { requestId: attempt.requestId } : {}) };
  }
  line.warn(
    { staleVersionId: pendingVersionId, staleJobId: owner, outcome: revoked.outcome },
    `cleared the stale AWSPENDING version left by rotation ${owner}, which is gone or over` +
      (revoked.outcome === 'revoked' ? `; its key ${keyId} (never current) is revoked` : revoked.outcome === 'not-found' ? `; Sendmux knows no key ${keyId} in this mailbox (404)` : ''),
  );
  return revoked;
}
