import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { SendmuxClient } from '../src/sendmux/client';
import { isSendmuxError } from '../src/sendmux/errors';
import type { SecretStore } from '../src/aws/secret-store';
import {
  describeJobDataProblems,
  revocationJobDataSchema,
  type RevocationJobData,
  type RevocationResult,
} from '../src/rotation/job-data';
import { parseStoredMailboxSecret } from '../src/rotation/secret-value';
import { classifyRotationFailure } from '../src/rotation/failures';
import type { RevocationAttemptEvent, RotatorEventSink } from '../src/rotation/events';

export interface RevokePreviousKeyDeps {
  sendmux: Pick<SendmuxClient, 'revokeMailboxKey'>;
  secrets: Pick<SecretStore, 'getSecretVersion'>;
  pauseQueueFor(ms: number): Promise<void>;
  logger: Logger;
  events?: RotatorEventSink;
  now?: () => Date;
}

/**
 * Step 5 of DESIGN.md, in a delayed job of its own: revoke a key that is no longer current.
 * It re-reads AWSCURRENT right before revoking, so whatever happened since it was scheduled, the
 * key the mailbox's applications use now is never revoked.
 */
export function createRevokePreviousKeyProcessor(deps: RevokePreviousKeyDeps) {
  return async function revokePreviousKey(job: Job<RevocationJobData>): Promise<RevocationResult> {
    const parsed = revocationJobDataSchema.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(`revocation job ${job.id} has invalid data: ${describeJobDataProblems(parsed.error)}`);
    }
    const { mailboxId, keyId, secretName, cause } = parsed.data;
    const log = deps.logger.child({ jobId: job.id, mailboxId, keyId, attempt: job.attemptsMade + 1, step: 'revoke', cause });
    const startedAt = Date.now();
    const emit = (fields: Pick<RevocationAttemptEvent, 'outcome'> & Partial<RevocationAttemptEvent>) =>
      deps.events?.record({
        kind: 'revocation',
        at: (deps.now?.() ?? new Date()).toISOString(),
        jobId: String(job.id),
        mailboxId,
        keyId,
        attempt: job.attemptsMade + 1,
        durationMs: Date.now() - startedAt,
        ...fields,
      });
    try {
      const current = await deps.secrets.getSecretVersion(secretName, { versionStage: 'AWSCURRENT' });
      if (current) {
        const currentKeyId = parseStoredMailboxSecret(secretName, current.versionId, current.secretString).key_id;
        if (currentKeyId === keyId) {
          throw new UnrecoverableError(
            `refusing to revoke key ${keyId} of mailbox ${mailboxId}: it is the AWSCURRENT key of secret ${secretName}`,
          );
        }
      }
      let result: RevocationResult;
      try {
        const res = await deps.sendmux.revokeMailboxKey(mailboxId, keyId);
        result = { outcome: 'revoked', mailboxId, keyId, requestId: res.requestId };
      } catch (err) {
        if (!(isSendmuxError(err) && err.status === 404)) throw err;
        result = { outcome: 'already-revoked', mailboxId, keyId, requestId: err.requestId };
      }
      log.info({ sendmuxRequestId: result.requestId, outcome: result.outcome }, `previous key ${result.outcome}`);
      emit({ outcome: result.outcome, requestId: result.requestId });
      return result;
    } catch (err) {
      if (err instanceof UnrecoverableError) {
        log.error({ err: { message: err.message } }, err.message);
        emit({ outcome: 'failed', message: err.message });
        throw err;
      }
      const decision = classifyRotationFailure(err, mailboxId);
      if (decision.kind === 'rate-limited') {
        log.warn({ retryAfterMs: decision.retryAfterMs }, `${decision.message}; pausing the queue`);
        emit({ outcome: 'rate-limited', message: decision.message });
        await deps.pauseQueueFor(decision.retryAfterMs);
        throw Worker.RateLimitError();
      }
      const message = `revoking key ${keyId} of mailbox ${mailboxId}: ${decision.message}`;
      log[decision.kind === 'permanent' ? 'error' : 'warn']({ retryable: decision.kind === 'retry' }, message);
      const final = decision.kind === 'permanent' || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      emit({ outcome: final ? 'failed' : 'retrying', message });
      if (decision.kind === 'permanent') throw new UnrecoverableError(message);
      const retryable = new Error(message) as Error & { retryAfterMs?: number };
      if (decision.retryAfterMs !== undefined) retryable.retryAfterMs = decision.retryAfterMs;
      throw retryable;
    }
  };
}
