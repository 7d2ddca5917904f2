import { scrubSecrets } from '../security/scrub-secrets';
import type { RevocationAttemptEvent, RotationAttemptEvent } from '../rotation/events';
import type { RotationStep } from '../rotation/job-data';

/** What the webhook receives. `text` alone makes a Slack incoming-webhook message; the rest is for machines. */
export interface RotationFailedAlert {
  type: 'rotation_failed';
  text: string;
  mailboxId: string;
  jobId: string;
  step: RotationStep;
  message: string;
  /** Failures in a row for this mailbox, counted across replicas; null when Redis could not be reached. */
  consecutiveFailures: number | null;
  at: string;
}

export interface RotationRecoveredAlert {
  type: 'rotation_recovered';
  text: string;
  mailboxId: string;
  jobId: string;
  previousConsecutiveFailures: number;
  at: string;
}

export interface RevocationFailedAlert {
  type: 'revocation_failed';
  text: string;
  mailboxId: string;
  jobId: string;
  keyId: string;
  message: string;
  at: string;
}

/** A key the rotator could not prove its own (a possible orphan) and so left live: an operator decides. */
export interface RevocationRefusedAlert {
  type: 'revocation_refused';
  text: string;
  mailboxId: string;
  jobId: string;
  keyId: string;
  message: string;
  at: string;
}

/** A superseded key past its revocation time is still live: its revocation job keeps failing and retrying. */
export interface RevocationOverdueAlert {
  type: 'revocation_overdue';
  text: string;
  mailboxId: string;
  jobId: string;
  keyId: string;
  /** Failed attempts so far (the job retries with backoff until the cause is lifted). */
  attempts: number;
  message: string;
  at: string;
}

export type AlertPayload = RotationFailedAlert | RotationRecoveredAlert | RevocationFailedAlert | RevocationRefusedAlert | RevocationOverdueAlert;

const MAX_MESSAGE_LENGTH = 1_000;

export function rotationFailedAlert(event: RotationAttemptEvent, consecutiveFailures: number | null): RotationFailedAlert {
  const message = conciseMessage(event.message);
  const streak = consecutiveFailures === null ? '' : `, ${consecutiveFailures} in a row`;
  return {
    type: 'rotation_failed',
    text:
      `:rotating_light: Key rotation failed for mailbox ${code(event.mailboxId)} at step ${code(event.step)}` +
      ` (job ${code(event.jobId)}${streak}): ${slackEscape(message)}`,
    mailboxId: event.mailboxId,
    jobId: event.jobId,
    step: event.step,
    message,
    consecutiveFailures,
    at: event.at,
  };
}

export function rotationRecoveredAlert(event: RotationAttemptEvent, previousConsecutiveFailures: number): RotationRecoveredAlert {
  const plural = previousConsecutiveFailures === 1 ? 'failure' : 'failures';
  return {
    type: 'rotation_recovered',
    text:
      `:white_check_mark: Key rotation recovered for mailbox ${code(event.mailboxId)}` +
      ` after ${previousConsecutiveFailures} ${plural} in a row (job ${code(event.jobId)})`,
    mailboxId: event.mailboxId,
    jobId: event.jobId,
    previousConsecutiveFailures,
    at: event.at,
  };
}

export function revocationFailedAlert(event: RevocationAttemptEvent): RevocationFailedAlert {
  return keyAlert('revocation_failed', event, (key, mailbox, job, message) =>
    `:warning: Revoking old key ${key} of mailbox ${mailbox} failed (job ${job}); the old key still works: ${message}`);
}

export function revocationRefusedAlert(event: RevocationAttemptEvent): RevocationRefusedAlert {
  return keyAlert('revocation_refused', event, (key, mailbox, job, message) =>
    `:warning: Key ${key} of mailbox ${mailbox} was left live: nothing proves it is the rotator's (job ${job}): ${message}`);
}

export function revocationOverdueAlert(event: RevocationAttemptEvent): RevocationOverdueAlert {
  const attempts = `${event.attempt} failed attempt${event.attempt === 1 ? '' : 's'}`;
  return {
    ...keyAlert('revocation_overdue', event, (key, mailbox, job, message) =>
      `:warning: Old key ${key} of mailbox ${mailbox} is still live past its revocation time (job ${job}, ${attempts}; retrying): ${message}`),
    attempts: event.attempt,
  };
}

/** The fields every alert about one key shares; `text` gets the key, mailbox and job as Slack code and the message escaped. */
function keyAlert<T extends 'revocation_failed' | 'revocation_refused' | 'revocation_overdue'>(
  type: T,
  event: RevocationAttemptEvent,
  text: (key: string, mailbox: string, job: string, message: string) => string,
): { type: T; text: string; mailboxId: string; jobId: string; keyId: string; message: string; at: string } {
  const message = conciseMessage(event.message);
  return {
    type,
    text: text(code(event.keyId), code(event.mailboxId), code(event.jobId), slackEscape(message)),
    mailboxId: event.mailboxId,
    jobId: event.jobId,
    keyId: event.keyId,
    message,
    at: event.at,
  };
}

/** The failure reason may quote an upstream answer: nothing key-shaped leaves in an alert. */
function conciseMessage(message: string | undefined): string {
  const line = scrubSecrets(message ?? 'no reason recorded').replace(/\s+/g, ' ').trim();
  return line.length > MAX_MESSAGE_LENGTH ? `${line.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : line;
}

function code(value: string): string {
  return `\`${slackEscape(value.replace(/`/g, "'"))}\``;
}

/** Slack treats &, < and > as control characters in message text. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
