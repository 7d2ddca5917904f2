import { createHash } from 'node:crypto';
import type { MailboxRecord } from './types';

/** The sandbox gives every mailbox the smallest writable tier (1 GB). */
const SANDBOX_QUOTA_BYTES = 1_000_000_000;

/** The vendor's `Mailbox` schema, snake_case, every required field present. */
export function toWireMailbox(mailbox: MailboxRecord) {
  return {
    id: mailbox.id,
    email: mailbox.email,
    display_name: mailbox.displayName,
    quota_bytes: SANDBOX_QUOTA_BYTES,
    send_scope: { type: 'all' as const },
    status: mailbox.status,
    created_at: new Date(mailbox.createdAtMs).toISOString(),
  };
}

/** Weak ETag of a representation, as the vendor sends on single-mailbox GETs. */
export function weakEtag(data: unknown): string {
  return `W/"${createHash('sha1').update(JSON.stringify(data)).digest('hex').slice(0, 16)}"`;
}

/** Opaque list cursor: the position (created_at, insertion order) of the last item served. */
export function encodeCursor(mailbox: MailboxRecord): string {
  return Buffer.from(JSON.stringify([mailbox.createdAtMs, mailbox.seq])).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAtMs: number; seq: number } | undefined {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(decoded) && decoded.length === 2 && decoded.every((n) => Number.isInteger(n))) {
      return { createdAtMs: decoded[0] as number, seq: decoded[1] as number };
    }
  } catch {
    // fall through: not a cursor this sandbox issued
  }
  return undefined;
}

/** created_at descending; insertion order breaks ties (newest first). */
export function compareNewestFirst(a: { createdAtMs: number; seq: number }, b: { createdAtMs: number; seq: number }): number {
  return b.createdAtMs - a.createdAtMs || b.seq - a.seq;
}
