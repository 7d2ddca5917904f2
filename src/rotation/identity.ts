import { createHash, randomBytes } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';

/**
 * Everything a rotation sends to the outside world is derived from (mailbox, slot), so that a
 * retry, a restarted worker or another replica sends byte-identical requests: the same
 * Idempotency-Key and mint body to Sendmux, the same ClientRequestToken to Secrets Manager.
 */

/** Fixed namespace for UUIDv5 ClientRequestTokens. Changing it would break resumption of in-flight jobs. */
export const ROTATOR_UUID_NAMESPACE = '4f0f5b8e-3d0b-5c53-9a51-2f6b0d1c7e11';

const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
const SLOT_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export type RotationReason = 'scheduled' | 'manual';

/** The slot of a cron tick: its time at whole-second precision, without ':' (BullMQ job ids must not contain it). */
export function slotForTick(tickTime: Date): string {
  const iso = tickTime.toISOString(); // 2026-11-27T03:00:00.000Z
  return `t${iso.slice(0, 19).replace(/[-:]/g, '')}Z`;
}

/** A fresh slot for an on-demand request: two requests are two rotations. */
export function newOnDemandSlot(now: Date = new Date()): string {
  return `od${now.getTime().toString(36)}${randomBytes(5).toString('hex')}`;
}

export function assertSlot(slot: string): void {
  if (!SLOT_PATTERN.test(slot)) {
    throw new Error(`slot "${slot.slice(0, 80)}" is invalid: use 1-64 characters from [A-Za-z0-9_-]`);
  }
}

export function rotationJobId(mailboxId: string, slot: string): string {
  return `rotate__${mailboxId}__${slot}`;
}

/** One rotation per mailbox at a time: every rotation job of a mailbox shares this BullMQ deduplication id. */
/** Job ids are built from Sendmux ids and slots (`rotate__<mailbox>__<slot>`), so the same alphabet applies. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_-]{1,600}$/;

export function rotationDeduplicationId(mailboxId: string): string {
  return `rotate__${mailboxId}`;
}

export function revocationJobId(mailboxId: string, keyId: string): string {
  return `revoke__${mailboxId}__${keyId}`;
}

export function idempotencyKeyFor(mailboxId: string, slot: string): string {
  const readable = `rot-${mailboxId}-${slot}`;
  if (readable.length <= MAX_IDEMPOTENCY_KEY_LENGTH) return readable;
  // Only reachable with absurdly long mailbox ids; a digest keeps the key stable and within the limit.
  return `rot-${createHash('sha256').update(`${mailboxId}\u0000${slot}`).digest('hex')}`;
}

/** The Secrets Manager version id of this rotation's secret: a retried PutSecretValue is then a no-op. */
export function clientRequestTokenFor(idempotencyKey: string): string {
  return uuidv5(idempotencyKey, ROTATOR_UUID_NAMESPACE);
}

/** The mint body's app_name: a pure function of the job, never of the time or attempt. */
export function appNameFor(prefix: string, slot: string): string {
  return `${prefix} ${slot}`.slice(0, 255);
}
