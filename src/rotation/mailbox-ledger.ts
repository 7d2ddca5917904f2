import type { RedisClient } from '../queue/redis-connection';
import { BookkeepingWrites } from '../queue/bookkeeping-writes';

export interface LastRotation {
  at: number;
  keyId: string;
}

/**
 * When each mailbox was last rotated, kept in one Redis hash beside the queue. Used to refuse a
 * new on-demand rotation within minRotationInterval before a job is even created, and by status
 * and metrics. Secrets Manager stays the source of truth: the rotation job checks it again.
 */
export class MailboxLedger {
  private readonly key: string;

  private readonly writes: BookkeepingWrites;

  /** `writes` tracks the ledger's writes with the process's other bookkeeping (default: its own). */
  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    writes?: BookkeepingWrites,
  ) {
    this.writes = writes ?? new BookkeepingWrites(redis);
    // Same prefix as the queue, so a hash-tagged prefix ('{rotator}') keeps it in the queue's cluster slot.
    this.key = `${prefix}:ledger:last-rotation`;
  }

  /**
   * Records the mailbox's last rotation (`at`: ms since the epoch). Sent at once with the turn's
   * other bookkeeping writes (BookkeepingWrites), so a caller need not wait for it: the ledger feeds
   * the overview, the metrics and the enqueue-time minRotationInterval refusal, while the rotation
   * job's own guard reads Secrets Manager. Resolves once written; rejects if Redis refused it.
   */
  recordRotation(mailboxId: string, at: number, keyId: string): Promise<void> {
    return this.writes.request((redis) => [redis.hset(this.key, mailboxId, `${at}|${keyId}`)]).then(() => undefined);
  }

  /** Resolves once every recorded rotation has been written (or refused). */
  flush(): Promise<void> {
    return this.writes.flush();
  }

  async lastRotations(mailboxIds: readonly string[]): Promise<Map<string, LastRotation>> {
    const result = new Map<string, LastRotation>();
    if (mailboxIds.length === 0) return result;
    const values = await this.redis.hmget(this.key, ...mailboxIds);
    mailboxIds.forEach((mailboxId, i) => {
      const parsed = parseEntry(values[i] ?? null);
      if (parsed) result.set(mailboxId, parsed);
    });
    return result;
  }

  async allLastRotations(): Promise<Map<string, LastRotation>> {
    const all = await this.redis.hgetall(this.key);
    const result = new Map<string, LastRotation>();
    for (const [mailboxId, value] of Object.entries(all)) {
      const parsed = parseEntry(value);
      if (parsed) result.set(mailboxId, parsed);
    }
    return result;
  }
}

function parseEntry(value: string | null): LastRotation | null {
  if (!value) return null;
  const sep = value.indexOf('|');
  const at = Number(value.slice(0, sep));
  if (sep < 0 || !Number.isFinite(at)) return null;
  return { at, keyId: value.slice(sep + 1) };
}
