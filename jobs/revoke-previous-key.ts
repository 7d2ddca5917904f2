import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { RotatorFileConfig } from '../src/config';
import { resolveMailboxSettings } from '../src/config/mailbox-settings';
import type { SendmuxClient } from '../src/sendmux/client';
import type { SecretStore } from '../src/aws/secret-store';
import type { RevocationJobData, RevocationResult } from '../src/rotation/job-data';
import { RetryLaterError } from '../src/rotation/failures';
import type { RevocationAttemptEvent, RotatorEventSink } from '../src/rotation/events';
import type { RotationJobDirectory } from '../src/rotation/exclusion';
import { MailboxSecret, type MailboxSecretStore } from '../src/rotation/mailbox-secret';
import { revokeWithProof } from '../src/rotation/revocation';
import { StepLine } from '../src/rotation/step-line';
import { RETIRED_KEY_TAG } from '../src/reconcile/retired-key-tag';
import { retireStalePending } from '../src/reconcile/stale-pending';
import { errorSummary } from '../src/logging/error-summary';
import { settleJobFailure } from './job-failure';
import { revokeByHandNotice } from '../src/rotation/adoption';

export interface RevokePreviousKeyDeps {
  /** The configuration the secret name is derived from (job data is only a request). */
  file: Pick<RotatorFileConfig, 'mailboxes' | 'groups' | 'secretName' | 'revokePreviousAfterMs' | 'minRotationIntervalMs' | 'kmsKeyId' | 'tags' | 'schedule' | 'timezone' | 'rotation'>;
  sendmux: Pick<SendmuxClient, 'revokeMailboxKey' | 'getMailboxMe'>;
  /** Observed per attempt (observedBy): the attempt's lines name each call's AWS request id. */
  secrets: MailboxSecretStore & Pick<SecretStore, 'observedBy'>;
  /** Whether a rotation job may still run (for the reconciler's `stale-pending` clean-ups). */
  jobs: Pick<RotationJobDirectory, 'isAlive'>;
  /** How long a stale-pending clean-up waits before looking again while the rotation may still run (ms). */
  busyRetryMs: number;
  pauseQueueFor(ms: number): Promise<void>;
  logger: Logger;
  events?: RotatorEventSink;
  now?: () => Date;
}

/**
 * Step 5 of docs/design.md, in a delayed job of its own, as a thin adapter: the job data names a
 * key — a hint. The key is revoked only through the choke point (src/rotation/revocation.ts) with a
 * proof from Secrets Manager: for `superseded`, that a verified AWSCURRENT version's chain of
 * `supersedes` records names it (never the AWSCURRENT or AWSPENDING key), and not before that
 * record's `revoke_not_before` (the job then waits, no attempt used); for the reconciler's
 * `stale-pending`, that the abandoned AWSPENDING version holds it (src/reconcile/stale-pending.ts).
 * Without the proof it fails closed, for good, and says which proof was missing.
 */
export function createRevokePreviousKeyProcessor(deps: RevokePreviousKeyDeps) {
  const now = deps.now ?? (() => new Date());
  /**
   * Records in Secrets Manager that the AWSPREVIOUS key is done with (RETIRED_KEY_TAG), so the
   * reconciler adds no job for it again. Best effort: the key is revoked either way; without the
   * tag the reconciler's next pass repeats one harmless DELETE (200 for a revoked key).
   */
  const recordRetired = async (secret: MailboxSecret, keyId: string, line: StepLine): Promise<void> => {
    try {
      await secret.tag({ [RETIRED_KEY_TAG]: keyId });
    } catch (err) {
      line.warn({ err: errorSummary(err) }, `could not tag ${secret.name} with ${RETIRED_KEY_TAG}; the reconciler may revoke key ${keyId} again (harmless)`);
    }
  };
  return async function revokePreviousKey(job: Job<RevocationJobData>, data: RevocationJobData, token?: string): Promise<RevocationResult> {
    const { mailboxId, keyId, cause } = data;
    const log = deps.logger.child({ jobId: job.id, mailboxId, keyId, attempt: job.attemptsMade + 1, cause });
    const line = new StepLine(log, 'revoke');
    const startedAt = Date.now();
    const secrets = deps.secrets.observedBy((call) => line.noteAwsCall(call));
    const emit = (fields: Pick<RevocationAttemptEvent, 'outcome'> & Partial<RevocationAttemptEvent>) =>
      deps.events?.record({ kind: 'revocation', at: now().toISOString(), jobId: String(job.id), mailboxId, keyId,
        attempt: job.attemptsMade + 1, durationMs: Date.now() - startedAt, ...fields });
    try {
      const resolution = resolveMailboxSettings(deps.file, mailboxId);
      if (!resolution.covered) throw new UnrecoverableError(`refusing to revoke key ${keyId}: ${resolution.reason}`);
      const secret = await MailboxSecret.read(secrets, mailboxId, resolution.settings.secretName);
      if (cause === 'stale-pending') {
        const cleared = await retireStalePending(deps, secret, { keyId, versionId: data.versionId, line });
        if (cleared.outcome === 'not-needed') {
          line.info({ outcome: 'not-needed' }, `stale AWSPENDING clean-up: nothing to do (${cleared.reason})`);
          return { outcome: 'not-needed', mailboxId, keyId };
        }
        emit({ outcome: cleared.outcome, ...(cleared.requestId ? { requestId: cleared.requestId } : {}) });
        return { outcome: cleared.outcome, mailboxId, keyId, ...(cleared.requestId ? { requestId: cleared.requestId } : {}) };
      }
      // The grace period first: a proof is only asked for once the key may go.
      const verdict = await secret.mayRevoke(keyId, { proof: 'superseded' });
      if (verdict.allowed) {
        if (!verdict.revokeNotBefore) {
          throw new UnrecoverableError(`refusing to revoke key ${keyId} of mailbox ${mailboxId}: version ${verdict.supersededBy} of ${secret.name} records no revocation time (revokePreviousAfter was "never")`);
        }
        const waitMs = verdict.revokeNotBefore.getTime() - now().getTime();
        if (waitMs > 0) {
          throw new RetryLaterError(`key ${keyId} may not be revoked before ${verdict.revokeNotBefore.toISOString()} (recorded in version ${verdict.supersededBy})`, { retryAfterMs: waitMs, usesAttempt: false });
        }
      }
      const revoked = await revokeWithProof(deps, secret, { keyId, basis: { proof: 'superseded' }, line, purpose: 'revocation of the superseded key' });
      if (revoked.outcome === 'refused') {
        throw new UnrecoverableError(`refusing to revoke key ${keyId} of mailbox ${mailboxId}: Secrets Manager does not prove it superseded — ${revoked.reason}`);
      }
      const result: RevocationResult = { outcome: revoked.outcome, mailboxId, keyId, ...(revoked.requestId ? { requestId: revoked.requestId } : {}) };
      if (revoked.direct) await recordRetired(secret, keyId, line);
      // After the tag, so this line names every Secrets Manager call of the attempt.
      const fields = { sendmuxRequestId: revoked.requestId, outcome: revoked.outcome };
      if (revoked.outcome === 'revoked') line.info({ ...fields, supersededBy: revoked.supersededBy }, 'previous key revoked');
      else if (revoked.adopted) line.warn(fields, revokeByHandNotice(mailboxId, keyId));
      else line.warn(fields, `Sendmux knows no key ${keyId} in mailbox ${mailboxId} (404); nothing was revoked`);
      // An adopted value's key id is only the operator's word: a 404 means the real original key was never named, so it may still be live.
      const byHand = revoked.outcome === 'not-found' && revoked.adopted;
      emit({ outcome: revoked.outcome, ...(revoked.requestId ? { requestId: revoked.requestId } : {}),
        ...(byHand ? { revokeByHand: true as const, message: revokeByHandNotice(mailboxId, keyId) } : {}) });
      return result;
    } catch (err) {
      // A refusal that is lifted later (KMS re-enabled, a policy fixed) must not leave the old key
      // live for good: everything but the proofs' own refusals is retried (REVOCATION_ATTEMPTS).
      const settled = await settleJobFailure(err, { job, token, mailboxId, describe: (m) => `revoking key ${keyId} of mailbox ${mailboxId}: ${m}`, pauseQueueFor: deps.pauseQueueFor,
        retryRefusals: true });
      const level = settled.final ? 'error' : settled.outcome === 'retrying' ? 'warn' : 'info';
      line[level]({ outcome: settled.outcome, retryAfterMs: settled.retryAfterMs }, settled.message);
      emit({ outcome: settled.outcome, message: settled.message });
      throw settled.error;
    }
  };
}
