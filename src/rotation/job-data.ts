import { z } from 'zod';

export const ROTATE_JOB_NAME = 'rotate-mailbox-key';
export const REVOKE_JOB_NAME = 'revoke-previous-key';

const id = z.string().regex(/^[A-Za-z0-9_-]{1,255}$/);

/**
 * A rotation job's data: a request, not an authority (docs/design.md, "Where the truth lives"). The
 * processor acts on the mailbox id, the slot and the operator's flags only, and re-derives
 * everything else (secret name, app name, idempotency key, token, grace period, group policy)
 * from the configuration. Above the line is fixed when the job is created; below it is what the
 * job records as it goes. Never a secret: BullMQ keeps job data in Redis.
 */
export const rotationJobDataSchema = z.object({
  mailboxId: id,
  reason: z.enum(['scheduled', 'manual']),
  slot: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  requestedBy: z.string().max(200),
  requestedAt: z.string(),
  /** Derived from mailbox and slot when the job is created; the processor derives them again and refuses a mismatch. */
  idempotencyKey: z.string().min(1).max(255),
  clientRequestToken: z.string().uuid(),
  force: z.boolean(),
  /**
   * A requested grace period (ms, null = never). It may only lengthen the one the configuration
   * gives the mailbox's group: the processor applies the longer of the two (never shorter).
   */
  revokePreviousAfterMs: z.number().int().nonnegative().nullable().optional(),
  /** For a leaked key: the superseded key may be revoked as soon as the new one is current. */
  revokeNow: z.boolean().optional(),
  // --- recorded by the job ---
  mintedKeyId: id.optional(),
  mintedAt: z.string().datetime().optional(),
  mintRequestId: z.string().optional(),
  /**
   * A key an earlier attempt minted and recorded, orphaned when the vendor's 24 h idempotency
   * window expired before the retry (which minted anew). Recorded with the new key, then revoked;
   * revoking it again on a later attempt is harmless (Sendmux answers 200 for a revoked key).
   */
  orphanKeyId: id.optional(),
});
export type RotationJobData = z.infer<typeof rotationJobDataSchema>;

/**
 * A revocation job's data: which key of which mailbox. The processor revokes it only when
 * Secrets Manager proves it superseded (src/rotation/mailbox-secret.ts, mayRevoke).
 */
export const revocationJobDataSchema = z.object({
  mailboxId: id,
  keyId: id,
  /**
   * Why this key is being revoked. `superseded`: the key AWSCURRENT replaced (step 5).
   * `stale-pending`: the key of an AWSPENDING version whose rotation job is gone or over (added by
   * the reconciler); its label is cleared too. Either way the processor proves it from Secrets Manager.
   */
  cause: z.enum(['superseded', 'stale-pending']),
  /** For `stale-pending`: the AWSPENDING version the reconciler found. */
  versionId: z.string().uuid().optional(),
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
  /** original-key-unknown: the version adopted a value that did not name its key (revoke it by hand). */
  revocation: { jobId: string; notBefore: string } | { skipped: 'never' | 'no-previous-key' | 'not-needed' | 'original-key-unknown' };
  /** Set by the rotation that adopted a value the rotator did not write (src/rotation/adoption.ts). */
  adopted?: { versionId: string; format: 'plain' | 'json'; keyId: string | null };
  /** Why nothing was minted (outcome skipped / already-done). */
  note?: string;
  requestIds: { mint?: string; verify?: string; orphanRevoke?: string; stalePendingRevoke?: string };
}

export interface RevocationResult {
  /**
   * not-found: Sendmux answered 404 (it knows no such key in this mailbox), so nothing was revoked.
   * not-needed: a stale-pending clean-up found the version no longer pending (another rotation
   * cleared or finished it), so nothing was done.
   */
  outcome: 'revoked' | 'not-found' | 'not-needed';
  mailboxId: string;
  keyId: string;
  requestId?: string;
}

export function describeJobDataProblems(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}
