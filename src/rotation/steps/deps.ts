import type { SendmuxClient } from '../../sendmux/client';
import type { MailboxLedger } from '../mailbox-ledger';
import type { RevocationJobData, RotationJobData, RotationStep } from '../job-data';
import type { RotationJobDirectory } from '../exclusion';
import type { MailboxSecretStore } from '../mailbox-secret';
import { StepLine } from '../step-line';
import type { RotationRun } from './types';

/** What the step operations of one attempt need; the job handle is the BullMQ job being run. */
export interface StepDeps {
  sendmux: Pick<SendmuxClient, 'mintMailboxKey' | 'revokeMailboxKey' | 'getMailboxMe'>;
  /** Observed for this attempt: each answered call is named by the line of the step that made it. */
  secrets: MailboxSecretStore;
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
    /** Records the minted key's public id in the job data (a hint for later attempts, never a proof). */
    recordMint(recorded: Required<Pick<RotationJobData, 'mintedKeyId' | 'mintedAt'>> & Pick<RotationJobData, 'mintRequestId' | 'orphanKeyId'>): Promise<void>;
  };
  /** Told of a key the attempt could not prove its own and so left live (log, alert, history). */
  reportUnprovenKey?: (report: { keyId: string; reason: string }) => void;
  /** Called as each step starts (metrics, tests); must not throw. */
  onStep?: (step: RotationStep) => void;
}

/**
 * Marks the step in progress: a new line for it (its lines name its own Secrets Manager calls),
 * and the job's progress shows it once it has lasted PROGRESS_AFTER_MS
 * (src/rotation/step-progress.ts), so a step that stalls is seen by name whichever it is.
 */
export function enterStep(deps: StepDeps, run: RotationRun, step: RotationStep | 'cleanup'): StepLine {
  if (step !== 'cleanup') {
    run.step = step;
    deps.onStep?.(step);
    deps.job.progress(step);
  }
  run.line = new StepLine(run.log, step === 'cleanup' ? run.step : step, run.line);
  return run.line;
}
