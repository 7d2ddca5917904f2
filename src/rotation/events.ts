import type { RotationReason } from './identity';
import type { RotationStep } from './job-data';

/**
 * What happened in one attempt of one job. Every attempt emits exactly one event, success or
 * failure; audit history, metrics and alerts are built from these. Never carries a secret.
 */
export interface RotationAttemptEvent {
  kind: 'rotation';
  at: string;
  jobId: string;
  mailboxId: string;
  reason: RotationReason;
  slot: string;
  requestedBy: string;
  /** 1-based attempt number. */
  attempt: number;
  /** The step the attempt reached (the failing step for failures). */
  step: RotationStep;
  /**
   * rotated / already-done / skipped: the job completed.
   * retrying: this attempt failed and BullMQ will try again; rate-limited: paused by a 429, no attempt used;
   * waiting: another rotation of the mailbox is in progress, retried later without using an attempt;
   * failed: the job failed for good.
   */
  outcome: 'rotated' | 'already-done' | 'skipped' | 'retrying' | 'rate-limited' | 'waiting' | 'failed';
  durationMs: number;
  newKeyId?: string;
  previousKeyId?: string | null;
  secretVersionId?: string;
  requestIds?: Record<string, string | undefined>;
  /** Why it failed or was skipped, in words an operator can act on. */
  message?: string;
  /** The rotation adopted a value the rotator did not write; keyId null: its key must be revoked by hand. */
  adopted?: { versionId: string; format: 'plain' | 'json'; keyId: string | null };
}

export interface RevocationAttemptEvent {
  kind: 'revocation';
  at: string;
  jobId: string;
  mailboxId: string;
  keyId: string;
  attempt: number;
  /**
   * not-found: Sendmux knows no such key in the mailbox (404), nothing was revoked; waiting: its grace period has not passed;
   * refused: nothing proves the key is the rotator's and unused (src/rotation/revocation.ts), so it was left live — an operator must look.
   */
  outcome: 'revoked' | 'not-found' | 'retrying' | 'rate-limited' | 'waiting' | 'failed' | 'refused';
  durationMs: number;
  requestId?: string;
  message?: string;
  /** The key was an adopted value's original key and Sendmux knows no such key in the mailbox (404): the real original key must be revoked by hand. */
  revokeByHand?: true;
}

export type RotatorEvent = RotationAttemptEvent | RevocationAttemptEvent;

/** Receives events synchronously; must not throw and must not block the job (queue async work itself). */
export interface RotatorEventSink {
  record(event: RotatorEvent): void;
}

/** Fans one event out to several sinks; a sink that throws is logged by the caller's logger, never the job. */
export function combineSinks(sinks: ReadonlyArray<RotatorEventSink | undefined>, onSinkError?: (err: unknown) => void): RotatorEventSink {
  const active = sinks.filter((s): s is RotatorEventSink => s !== undefined);
  return {
    record(event) {
      for (const sink of active) {
        try {
          sink.record(event);
        } catch (err) {
          onSinkError?.(err);
        }
      }
    },
  };
}
