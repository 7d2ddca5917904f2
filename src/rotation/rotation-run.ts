import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { RotatorFileConfig } from '../config';
import { resolveMailboxSettings, settingsNeedEmail } from '../config/mailbox-settings';
import type { SendmuxClient } from '../sendmux/client';
import { appNameFor, clientRequestTokenFor, idempotencyKeyFor, rotationJobId } from './identity';
import type { RotationJobData } from './job-data';
import { StepLine } from './step-line';
import type { RotationRun } from './steps';

export interface RotationRunSource {
  /** The configuration the run derives everything from (job data is only a request). */
  file: RotatorFileConfig;
  /** Read when the mailbox's group can depend on its email (emailGlob groups). */
  mailboxes: Pick<SendmuxClient, 'getMailbox'>;
  logger: Logger;
}

/**
 * One attempt's identity, derived from mailbox + slot + configuration (docs/design.md, "Job data
 * is a request, not an authority"): the job id, Idempotency-Key and ClientRequestToken must be the
 * ones the mailbox and slot give, and the mailbox must be one the configuration covers; the secret
 * name, app name, grace period and group policy come from the configuration. Throws
 * UnrecoverableError ("…; nothing was done") otherwise.
 */
export async function prepareRotationRun(source: RotationRunSource, job: Pick<Job<RotationJobData>, 'id' | 'attemptsMade'>, data: RotationJobData): Promise<RotationRun> {
  const { mailboxId, slot } = data;
  const jobId = String(job.id);
  const fail = (why: string) => new UnrecoverableError(`rotation job ${jobId} of mailbox ${mailboxId}: ${why}; nothing was done`);
  if (jobId !== rotationJobId(mailboxId, slot)) throw fail(`its id is not ${rotationJobId(mailboxId, slot)} (the id its mailbox and slot give)`);
  const idempotencyKey = idempotencyKeyFor(mailboxId, slot);
  const clientRequestToken = clientRequestTokenFor(idempotencyKey);
  if (data.idempotencyKey !== idempotencyKey || data.clientRequestToken !== clientRequestToken) {
    throw fail('its idempotencyKey/clientRequestToken are not the ones its mailbox and slot give');
  }
  const email = settingsNeedEmail(source.file, mailboxId) ? (await source.mailboxes.getMailbox(mailboxId)).data.email : undefined;
  const resolution = resolveMailboxSettings(source.file, mailboxId, email);
  if (!resolution.covered) throw fail(resolution.reason);
  const settings = { ...resolution.settings, revokePreviousAfterMs: longerGrace(resolution.settings.revokePreviousAfterMs, data.revokePreviousAfterMs) };
  const attempt = job.attemptsMade + 1;
  const log = source.logger.child({ jobId, mailboxId, attempt, idempotencyKey, reason: data.reason });
  return {
    jobId, attempt, mailboxId, slot, force: data.force, revokeNow: data.revokeNow ?? false, settings,
    idempotencyKey, clientRequestToken, appName: appNameFor(settings.appNamePrefix, slot),
    recorded: { ...(data.mintedKeyId ? { mintedKeyId: data.mintedKeyId } : {}), ...(data.mintedAt ? { mintedAt: data.mintedAt } : {}),
      ...(data.mintRequestId ? { mintRequestId: data.mintRequestId } : {}), ...(data.orphanKeyId ? { orphanKeyId: data.orphanKeyId } : {}) },
    step: 'look', mintOutcomeUnknown: false, requestIds: {}, line: new StepLine(log, 'look'), log,
  };
}

/**
 * A request may lengthen the grace period its group gives (e.g. keep the previous key: null), never
 * shorten it — only `revokeNow`, the operator's leaked-key path, does that. null means never.
 */
function longerGrace(configured: number | null, requested: number | null | undefined): number | null {
  if (requested === undefined) return configured;
  if (configured === null || requested === null) return null;
  return Math.max(configured, requested);
}

/** The plaintext this attempt holds in memory (the minted key and its IMAP/SMTP password). */
export function heldSecrets(run: RotationRun): string[] {
  const key = run.key;
  if (!key) return [];
  return [key.secret, ...(key.minted ? [key.minted.password] : [])];
}
