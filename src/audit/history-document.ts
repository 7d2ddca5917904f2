import type { AuditEntry } from './audit-log';

/**
 * The JSON shape of one mailbox's audit history, shared by `rotator history --json` and
 * `GET /mailboxes/:mailboxId/history` so scripts read one vocabulary: `entries`, oldest first, each
 * `{id, event}` as AuditLog stores it (the id is the Redis stream id).
 */
export interface MailboxHistoryDocument<Entry = AuditEntry> {
  mailboxId: string;
  entries: Entry[];
}

export function mailboxHistoryDocument<Entry>(mailboxId: string, entries: Entry[]): MailboxHistoryDocument<Entry> {
  return { mailboxId, entries };
}
