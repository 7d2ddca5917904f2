import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { RotatorFileConfig } from '../src/config';
import { resolveMailboxSettings } from '../src/config/mailbox-settings';
import type { SendmuxClient } from '../src/sendmux/client';
import type { SecretStore } from '../src/aws/secret-store';
import type { RevocationJobData, RevocationResult } from '../src/rotation/job-data';
import { RetryLaterError } from '../src/rotation/failures';
import { proveSuperseded } from '../src/rotation/supersession';
import { revokeKey } from '../src/rotation/steps/revoke';
import type { RevocationAttemptEvent, RotatorEventSink } from '../src/rotation/events';
import type { RotationJobDirectory } from '../src/rotation/exclusion';
import { RETIRED_KEY_TAG } from '../src/reconcile/retired-key-tag';
import { retireStalePending } from '../src/reconcile/stale-pending';
import { errorSummary } from '../src/logging/error-summary';
import { settleJobFailure } from './job-failure';
import { awsRequestIdFields, noteAwsCall } from '../src/rotation/steps/deps';
import { revokeByHandNotice } from '../src/rotation/adoption';

export interface RevokePreviousKeyDeps {
  /** The configuration the secret name is derived from (job data is only a request). */
  file: Pick<RotatorFileConfig, 'mailboxes' | 'groups' | 'secretName' | 'revokePreviousAfterMs' | 'minRotationIntervalMs' | 'kmsKeyId' | 'tags' | 'schedule' | 'timezone' | 'rotation'>;
  sendmux: Pick<SendmuxClient, 'revokeMailboxKey'>;
  /** Observed per attempt (observedBy): the attempt's lines name each call's AWS request id. */
  secrets: Pick<SecretStore, 'describeSecret' | 'getSecretVersion' | 'tagSecret' | 'moveStage' | 'observedBy'>;
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
 * Step 5 of docs/design.md, in a delayed job of its own: revoke a superseded key (or, for the
 * reconciler's `stale-pending` cause, the key of an abandoned AWSPENDING version, proven
 * abandoned by src/reconcile/stale-pending.ts). For `superseded`, whatever the job data
 * says, the key is revoked only when Secrets Manager proves it superseded in this mailbox's secret
 * (not AWSCURRENT, not AWSPENDING, recorded in a version's `supersedes`), and not before that
 * record's `revoke_not_before` (the job then waits, no attempt used). It fails closed, for good,
 * when the proof cannot be made.
 */
export function createRevokePreviousKeyProcessor(deps: RevokePreviousKeyDeps) {
  const now = deps.now ?? (() => new Date());
  /**
   * Records in Secrets Manager that the AWSPREVIOUS key is done with (RETIRED_KEY_TAG), so the
   * reconciler adds no job for it again. Best effort: the key is revoked either way; without the
   * tag the reconciler's next pass repeats one harmless DELETE (200 for a revoked key).
   */
  const recordRetired = async (secrets: Pick<SecretStore, 'tagSecret'>, secretName: string, keyId: string, log: Logger): Promise<void> => {
    try {
      await secrets.tagSecret(secretName, { [RETIRED_KEY_TAG]: keyId });
    } catch (err) {
      log.warn({ err: errorSummary(err) }, `could not tag ${secretName} with ${RETIRED_KEY_TAG}; the reconciler may revoke key ${keyId} again (harmless)`);
    }
  };
  return async function revokePreviousKey(job: Job<RevocationJobData>, data: RevocationJobData, token?: string): Promise<RevocationResult> {
    const { mailboxId, keyId, cause } = data;
    const log = deps.logger.child({ jobId: job.id, mailboxId, keyId, attempt: job.attemptsMade + 1, step: 'revoke', cause });
    const startedAt = Date.now();
    const calls = { awsRequestIds: [] as string[] };
    const secrets = deps.secrets.observedBy((call) => noteAwsCall(calls, call));
    const emit = (fields: Pick<RevocationAttemptEvent, 'outcome'> & Partial<RevocationAttemptEvent>) =>
      deps.events?.record({ kind: 'revocation', at: now().toISOString(), jobId: String(job.id), mailboxId, keyId,
        attempt: job.attemptsMade + 1, durationMs: Date.now() - startedAt, ...fields });
    try {
      const resolution = resolveMailboxSettings(deps.file, mailboxId);
      if (!resolution.covered) throw new UnrecoverableError(`refusing to revoke key ${keyId}: ${resolution.reason}`);
      const { secretName } = resolution.settings;
      if (cause === 'stale-pending') {
        const cleared = await retireStalePending({ ...deps, secrets }, { mailboxId, keyId, versionId: data.versionId, secretName, log, calls });
        if (cleared.outcome === 'not-needed') {
          log.info({ ...awsRequestIdFields(calls), outcome: 'not-needed' }, `stale AWSPENDING clean-up: nothing to do (${cleared.reason})`);
          return { outcome: 'not-needed', mailboxId, keyId };
        }
        emit({ outcome: cleared.outcome, ...(cleared.requestId ? { requestId: cleared.requestId } : {}) });
        return { outcome: cleared.outcome, mailboxId, keyId, ...(cleared.requestId ? { requestId: cleared.requestId } : {}) };
      }
      const proof = await proveSuperseded(secrets, secretName, mailboxId, keyId);
      if (!proof.proven) {
        throw new UnrecoverableError(`refusing to revoke key ${keyId} of mailbox ${mailboxId}: Secrets Manager does not prove it superseded — ${proof.reason}`);
      }
      if (!proof.revokeNotBefore) {
        throw new UnrecoverableError(`refusing to revoke key ${keyId} of mailbox ${mailboxId}: version ${proof.supersededBy} of ${secretName} records no revocation time (revokePreviousAfter was "never")`);
      }
      const waitMs = proof.revokeNotBefore.getTime() - now().getTime();
      if (waitMs > 0) {
        throw new RetryLaterError(`key ${keyId} may not be revoked before ${proof.revokeNotBefore.toISOString()} (recorded in version ${proof.supersededBy})`, { retryAfterMs: waitMs, usesAttempt: false });
      }
      const revoked = await revokeKey(deps.sendmux, mailboxId, keyId);
      const result: RevocationResult = { outcome: revoked.outcome, mailboxId, keyId, ...(revoked.requestId ? { requestId: revoked.requestId } : {}) };
      if (proof.direct) await recordRetired(secrets, secretName, keyId, log);
      // After the tag, so this line names every Secrets Manager call of the attempt.
      const fields = { ...awsRequestIdFields(calls), sendmuxRequestId: revoked.requestId, outcome: revoked.outcome };
      if (revoked.outcome === 'revoked') log.info({ ...fields, supersededBy: proof.supersededBy }, 'previous key revoked');
      else if (proof.adopted) log.warn(fields, revokeByHandNotice(mailboxId, keyId));
      else log.warn(fields, `Sendmux knows no key ${keyId} in mailbox ${mailboxId} (404); nothing was revoked`);
      // An adopted value's key id is only the operator's word: a 404 means the real original key was never named, so it may still be live.
      const byHand = revoked.outcome === 'not-found' && proof.adopted;
      emit({ outcome: revoked.outcome, ...(revoked.requestId ? { requestId: revoked.requestId } : {}),
        ...(byHand ? { revokeByHand: true as const, message: revokeByHandNotice(mailboxId, keyId) } : {}) });
      return result;
    } catch (err) {
      const settled = await settleJobFailure(err, { job, token, mailboxId, describe: (m) => `revoking key ${keyId} of mailbox ${mailboxId}: ${m}`, pauseQueueFor: deps.pauseQueueFor });
      const level = settled.final ? 'error' : settled.outcome === 'retrying' ? 'warn' : 'info';
      log[level]({ ...awsRequestIdFields(calls), outcome: settled.outcome, retryAfterMs: settled.retryAfterMs }, settled.message);
      emit({ outcome: settled.outcome, message: settled.message });
      throw settled.error;
    }
  };
}
