import type { RedisClient } from '../queue/redis-connection';

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

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    // Same prefix as the queue, so a hash-tagged prefix ('{rotator}') keeps it in the queue's cluster slot.
    this.key = `${prefix}:ledger:last-rotation`;
  }

  async recordRotation(mailboxId: string, at: number, keyId: string): Promise<void> {
    await this.redis.hset(this.key, mailboxId, `${at}|${keyId}`);
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
