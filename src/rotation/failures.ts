import { isSendmuxError, type SendmuxError } from '../sendmux/errors';
import { SecretStoreError } from '../aws/errors';
import { UnreadableStoredSecretError } from './secret-value';
import { errorText } from '../logging/error-summary';

/**
 * What a failed step means for the job. The rotation processor turns this into BullMQ
 * behaviour: a retry with backoff, a queue-wide pause (429), or an UnrecoverableError.
 */
export type FailureDecision =
  | { kind: 'retry'; retryAfterMs?: number; message: string }
  | { kind: 'rate-limited'; retryAfterMs: number; message: string }
  | { kind: 'permanent'; message: string };

/** A fact the rotation itself established (e.g. the new key answers for another mailbox). Never retried. */
export class RotationAbortedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RotationAbortedError';
  }
}

/**
 * "Not now, try again in `retryAfterMs` ms." With `usesAttempt: false` (another rotation of the
 * mailbox is in progress, a grace period has not passed) the job is delayed without spending an
 * attempt; otherwise it is a transient failure whose retry must not come sooner than the hint
 * (rotatorBackoff reads it). Replaces an untyped `retryAfterMs` property on a plain Error.
 */
export class RetryLaterError extends Error {
  readonly retryAfterMs: number;
  readonly usesAttempt: boolean;
  constructor(message: string, options: { retryAfterMs: number; usesAttempt: boolean }) {
    super(message);
    this.name = 'RetryLaterError';
    this.retryAfterMs = Math.max(0, Math.round(options.retryAfterMs));
    this.usesAttempt = options.usesAttempt;
  }
}

const DEFAULT_429_PAUSE_MS = 1_000;

export function classifyRotationFailure(err: unknown, mailboxId: string): FailureDecision {
  if (isSendmuxError(err)) return classifySendmuxFailure(err, mailboxId);
  if (err instanceof SecretStoreError) {
    const where = `${err.operation} on secret ${err.secretId} (${err.awsErrorName ?? 'error'}${err.requestId ? `, AWS request ${err.requestId}` : ''})`;
    if (err.retryable) {
      return withRetryAfter({ kind: 'retry', message: `Secrets Manager ${where} failed transiently` }, err.retryAfterMs);
    }
    // A KMS key disabled or pending deletion is usually put right within minutes (someone enables
    // it again): the attempts' backoff rides that out instead of failing the tick's rotation at once.
    if (err.kmsProblem !== undefined) {
      return { kind: 'retry', message: `Secrets Manager refused ${where}: ${err.advice ?? err.message}` };
    }
    return {
      kind: 'permanent',
      // A KMS refusal carries its own cause and fix (src/aws/errors.ts): an AccessDeniedException
      // from KMS is no IAM gap in the Secrets Manager policy.
      message: `Secrets Manager refused ${where}: ${err.advice ?? secretsManagerAdvice(err.awsErrorName) ?? err.message}`,
    };
  }
  if (err instanceof RetryLaterError) return { kind: 'retry', retryAfterMs: err.retryAfterMs, message: err.message };
  if (err instanceof UnreadableStoredSecretError || err instanceof RotationAbortedError) {
    return { kind: 'permanent', message: err.message };
  }
  // Unknown errors are most likely bugs or environment trouble; retrying is the safe default
  // because every step is idempotent, and attempts are bounded.
  const message = errorText(err);
  return { kind: 'retry', message: `unexpected error: ${message}` };
}

function withRetryAfter(decision: { kind: 'retry'; message: string }, retryAfterMs: number | undefined): FailureDecision {
  return retryAfterMs === undefined ? decision : { ...decision, retryAfterMs };
}

function classifySendmuxFailure(err: SendmuxError, mailboxId: string): FailureDecision {
  const ref = `${err.status ?? 'no response'} ${err.code}${err.requestId ? `, request ${err.requestId}` : ''}`;
  if (err.status === 429) {
    return {
      kind: 'rate-limited',
      retryAfterMs: err.retryAfterMs ?? DEFAULT_429_PAUSE_MS,
      message: `Sendmux rate limit reached during ${err.operation} (${ref})`,
    };
  }
  if (err.retryable) {
    return withRetryAfter({ kind: 'retry', message: `Sendmux ${err.operation} failed transiently (${ref})` }, err.retryAfterMs);
  }
  return { kind: 'permanent', message: `${sendmuxAdvice(err, mailboxId)} (${err.operation}: ${ref})` };
}

function sendmuxAdvice(err: SendmuxError, mailboxId: string): string {
  switch (err.code) {
    case 'authentication_required':
      return err.operation === 'getMailboxMe'
        ? `the newly minted key for mailbox ${mailboxId} was rejected by GET /mailbox/me; the mailbox may have been suspended mid-rotation`
        : 'Sendmux rejected the management key; check SENDMUX_API_KEY (or SENDMUX_API_KEY_SECRET_ID)';
    case 'insufficient_permissions':
      return err.operation === 'getMailboxMe'
        ? `the newly minted key for mailbox ${mailboxId} is not a mailbox key`
        : 'the management key lacks the mailbox.admin.manage permission; grant it in the Sendmux dashboard';
    case 'not_found':
      return err.operation === 'revokeMailboxKey'
        ? `mailbox ${mailboxId} or key ${err.keyId ?? '?'} is unknown to Sendmux`
        : `mailbox ${mailboxId} does not exist at Sendmux; remove it from the config`;
    case 'validation_error':
      return `mailbox ${mailboxId} is not active (suspended or deleted); resume it in Sendmux or remove it from the config`;
    case 'limit_exceeded':
      return (
        `mailbox ${mailboxId} has reached the team's credential limit; revoke unused keys in Sendmux, ` +
        'or set rotation.onLimitExceeded: revoke-previous to let the rotator revoke the previous key first'
      );
    case 'idempotency_conflict':
      return (
        `Sendmux holds a different request under this rotation's Idempotency-Key for mailbox ${mailboxId}; ` +
        'the mint body changed between attempts — request a new rotation'
      );
    default:
      return `Sendmux refused ${err.operation} for mailbox ${mailboxId}: ${err.reason ?? err.code}`;
  }
}

/** What to do about a permanent Secrets Manager error; undefined when the error's own text is all there is to say. */
function secretsManagerAdvice(name: string | undefined): string | undefined {
  switch (name) {
    case 'AccessDeniedException':
      return "the rotator's IAM role lacks a permission; compare it with config/iam-policy.json";
    case 'ResourceNotFoundException':
      return 'the secret or version vanished mid-rotation (deleted by someone else?); check the secret and retry';
    case 'InvalidRequestException':
      return 'the secret is in a state that refuses the call (e.g. scheduled for deletion); restore or rename it';
    case 'ResourceExistsException':
      return 'a version with this rotation’s token already holds a different value; request a new rotation';
    case 'EncryptionFailure':
    case 'DecryptionFailure':
      return 'KMS refused to encrypt/decrypt; check kmsKeyId and the key policy';
    default:
      return undefined;
  }
}
