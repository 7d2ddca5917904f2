import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { classifyRotationFailure, RetryLaterError } from '../src/rotation/failures';
import { scrubError } from '../src/security/scrub-secrets';

/** What became of a failed attempt, for the processor's event and log line. */
export interface SettledFailure {
  /** What the processor throws to BullMQ. */
  error: Error;
  /** retrying: BullMQ retries with backoff (an attempt used); waiting: delayed without using one; rate-limited: queue paused. */
  outcome: 'retrying' | 'waiting' | 'rate-limited' | 'failed';
  /** No further attempt will run (the caller compensates). */
  final: boolean;
  message: string;
  retryAfterMs?: number;
}

export interface FailureContext {
  job: Pick<Job, 'attemptsMade' | 'opts' | 'moveToDelayed'>;
  /** The worker's lock token for this job (the processor's second argument); needed to delay it. */
  token: string | undefined;
  mailboxId: string;
  /** Prefixes the vendor-level message with where it happened, e.g. "step mint". */
  describe(message: string): string;
  /** Pauses every worker of the queue (BullMQ queue rate limit) after a 429. */
  pauseQueueFor(ms: number): Promise<void>;
  /** Plaintext the attempt holds (the minted secret): scrubbed from the error before it is logged, stored or thrown. */
  knownSecrets?: readonly string[];
  /**
   * Retry what the vendors refuse (an IAM or resource-policy denial, a disabled KMS key, a rejected
   * management key) instead of failing for good: for work that must happen once the refusal is
   * lifted, such as revoking a superseded key. The processor's own UnrecoverableError stays final.
   */
  retryRefusals?: boolean;
}

/**
 * The one mapping from a failure to BullMQ, shared by both processors:
 * - RetryLaterError that uses no attempt (another rotation in progress, grace not over): the job
 *   is moved to delayed with the worker's token and DelayedError is thrown;
 * - a 429: the whole queue pauses for Retry-After and Worker.RateLimitError is thrown (no attempt);
 * - permanent failures (and UnrecoverableError): UnrecoverableError, no retry;
 * - transient failures: a RetryLaterError that rotatorBackoff honours, retried until attempts run out.
 */
export async function settleJobFailure(err: unknown, ctx: FailureContext): Promise<SettledFailure> {
  // Upstream text (an AWS or Sendmux message quoting a request) must not carry a secret into the
  // failed reason, the stack BullMQ stores, the audit event or the log line.
  if (err instanceof Error) scrubError(err, ctx.knownSecrets);
  if (err instanceof RetryLaterError && !err.usesAttempt) {
    const message = ctx.describe(err.message);
    if (ctx.token !== undefined) {
      await ctx.job.moveToDelayed(Date.now() + err.retryAfterMs, ctx.token);
      return { error: new DelayedError(message), outcome: 'waiting', final: false, message, retryAfterMs: err.retryAfterMs };
    }
  }
  if (err instanceof UnrecoverableError) return { error: err, outcome: 'failed', final: true, message: err.message };
  const decision = classifyRotationFailure(err, ctx.mailboxId);
  const message = ctx.describe(decision.message);
  if (decision.kind === 'rate-limited') {
    await ctx.pauseQueueFor(decision.retryAfterMs);
    return { error: Worker.RateLimitError(), outcome: 'rate-limited', final: false, message, retryAfterMs: decision.retryAfterMs };
  }
  if (decision.kind === 'permanent' && !ctx.retryRefusals) {
    return { error: new UnrecoverableError(`mailbox ${ctx.mailboxId}: ${message}`), outcome: 'failed', final: true, message };
  }
  const retryAfterMs = decision.kind === 'retry' ? decision.retryAfterMs : undefined;
  const final = ctx.job.attemptsMade + 1 >= (ctx.job.opts.attempts ?? 1);
  const said = decision.kind === 'permanent' ? `${message} — retried with backoff until the refusal is lifted` : message;
  const error = new RetryLaterError(`mailbox ${ctx.mailboxId}: ${said}`, { retryAfterMs: retryAfterMs ?? 0, usesAttempt: true });
  return { error, outcome: final ? 'failed' : 'retrying', final, message: said, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
}
