import { z } from 'zod';

export const ROTATE_JOB_NAME = 'rotate-mailbox-key';
export const REVOKE_JOB_NAME = 'revoke-previous-key';

const id = z.string().regex(/^[A-Za-z0-9_-]{1,255}$/);

/**
 * A rotation job's data. Everything above the line is fixed when the job is created (so every
 * attempt, on every replica, sends the same requests); below it is what the job records as it
 * goes. Never a secret: BullMQ keeps job data in Redis.
 */
export const rotationJobDataSchema = z.object({
  mailboxId: id,
  reason: z.enum(['scheduled', 'manual']),
  slot: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  requestedBy: z.string().max(200),
  requestedAt: z.string(),
  idempotencyKey: z.string().min(1).max(255),
  appName: z.string().min(1).max(255),
  clientRequestToken: z.string().uuid(),
  secretName: z.string().min(1).max(512),
  force: z.boolean(),
  revokePreviousAfterMs: z.number().int().nonnegative().nullable(),
  // --- recorded by the job ---
  mintedKeyId: id.optional(),
  mintedAt: z.string().optional(),
  mintRequestId: z.string().optional(),
});
export type RotationJobData = z.infer<typeof rotationJobDataSchema>;

export const revocationJobDataSchema = z.object({
  mailboxId: id,
  keyId: id,
  secretName: z.string().min(1).max(512),
  /** Why this key is being revoked, for the log and the dashboard. */
  cause: z.enum(['superseded', 'stale-pending', 'limit-exceeded']),
  rotationJobId: z.string().optional(),
  requestedAt: z.string(),
});
export type RevocationJobData = z.infer<typeof revocationJobDataSchema>;

export type RotationStep = 'look' | 'clear-stale-pending' | 'mint' | 'stage' | 'verify' | 'promote' | 'retire' | 'done';

export interface RotationProgress {
  step: RotationStep;
  at: string;
}

export type RotationOutcome = 'rotated' | 'already-done' | 'skipped';

/** The job's return value (kept in Redis): ids and request ids, never a secret. */
export interface RotationResult {
  outcome: RotationOutcome;
  mailboxId: string;
  newKeyId?: string;
  previousKeyId: string | null;
  secretArn?: string;
  secretVersionId?: string;
  revocation: { jobId: string; notBefore: string } | { skipped: 'never' | 'no-previous-key' | 'not-needed' };
  /** Why nothing was minted (outcome skipped / already-done). */
  note?: string;
  requestIds: { mint?: string; verify?: string; orphanRevoke?: string; stalePendingRevoke?: string };
}

export interface RevocationResult {
  outcome: 'revoked' | 'already-revoked';
  mailboxId: string;
  keyId: string;
  requestId?: string;
}

export function describeJobDataProblems(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}
