import type { SendmuxClient } from '../../sendmux/client';
import type { SecretStore, SecretsManagerCall } from '../../aws/secret-store';
import type { MailboxLedger } from '../mailbox-ledger';
import type { RevocationJobData, RotationJobData, RotationStep } from '../job-data';
import type { RotationJobDirectory } from '../exclusion';
import { parseStoredMailboxSecret, type StoredMailboxSecret } from '../secret-value';
import type { RotationRun } from './types';

/** What the step operations of one attempt need; the job handle is the BullMQ job being run. */
export interface StepDeps {
  sendmux: Pick<SendmuxClient, 'mintMailboxKey' | 'revokeMailboxKey' | 'getMailboxMe'>;
  secrets: Pick<SecretStore, 'describeSecret' | 'createSecretIfMissing' | 'putSecretVersion' | 'getSecretVersion' | 'moveStage'>;
  ledger: Pick<MailboxLedger, 'recordRotation'>;
  jobs: RotationJobDirectory;
  /** Adds the delayed revocation job (stable job id, so adding it twice is harmless). */
  scheduleRevocation(data: RevocationJobData, delayMs: number): Promise<{ jobId: string }>;
  /** How long to wait before looking again when another rotation of the mailbox is in progress (ms). */
  busyRetryMs: number;
  now: () => Date;
  job: {
    /** Makes the step visible to operators (BullMQ progress) once it has lasted PROGRESS_AFTER_MS. */
    progress(step: RotationStep): void;
    /** Records the minted key's public id in the job data. */
    recordMint(recorded: Required<Pick<RotationJobData, 'mintedKeyId' | 'mintedAt'>> & Pick<RotationJobData, 'mintRequestId' | 'orphanKeyId'>): Promise<void>;
  };
  /** Called as each step starts (metrics, tests); must not throw. */
  onStep?: (step: RotationStep) => void;
}

/**
 * Marks the step in progress; the job's progress shows it once it has lasted PROGRESS_AFTER_MS
 * (src/rotation/step-progress.ts), so a step that stalls is seen by name whichever it is.
 */
export function enterStep(deps: StepDeps, run: RotationRun, step: RotationStep): void {
  run.step = step;
  deps.onStep?.(step);
  deps.job.progress(step);
}

/**
 * `{ awsRequestIds }` for the next log line of the attempt: the Secrets Manager calls answered
 * since the last line that named them (none: no field). Every step's line, and the attempt's last
 * line (done or failed), spreads it in, so each call's request id is logged once, with the job.
 */
export function awsRequestIdFields(run: Pick<RotationRun, 'awsRequestIds'>): { awsRequestIds?: string[] } {
  if (run.awsRequestIds.length === 0) return {};
  const awsRequestIds = run.awsRequestIds;
  run.awsRequestIds = [];
  return { awsRequestIds };
}

/** Records an answered Secrets Manager call of the attempt (SecretStore's onCall). */
export function noteAwsCall(run: Pick<RotationRun, 'awsRequestIds'>, call: SecretsManagerCall): void {
  run.awsRequestIds.push(`${call.operation} ${call.requestId ?? '(none)'}${call.awsErrorName ? ` ${call.awsErrorName}` : ''}`);
}

/** A version's document, or null when the version is gone. Throws UnreadableStoredSecretError for a foreign document. */
export async function readDocument(deps: StepDeps, secretName: string, versionId: string): Promise<{ document: StoredMailboxSecret; arn: string; createdDate?: Date; stages: string[] } | null> {
  const version = await deps.secrets.getSecretVersion(secretName, { versionId });
  if (!version) return null;
  return {
    document: parseStoredMailboxSecret(secretName, versionId, version.secretString),
    arn: version.arn,
    stages: version.versionStages,
    ...(version.createdDate ? { createdDate: version.createdDate } : {}),
  };
}
