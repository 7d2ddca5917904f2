import type { RedisClient } from '../queue/redis-connection';
import type { Logger } from 'pino';
import { positiveInteger } from '../shared/positive-integer';
import type { RotatorEvent, RotatorEventSink } from '../rotation/events';
import { BookkeepingWrites } from '../queue/bookkeeping-writes';
import { errorTextWithName } from '../logging/error-summary';

export interface AuditEntry {
  /** The Redis stream id: `<ms since epoch on the Redis clock>-<seq>`. */
  id: string;
  event: RotatorEvent;
}

export interface AuditLogOptions {
  redis: RedisClient;
  /** The queue prefix; a hash-tagged one (`{rotator}`) keeps the audit streams in the queue's Cluster slot. */
  prefix: string;
  logger: Logger;
  /** Approximate bound of each mailbox's stream (default 200). */
  maxPerMailbox?: number;
  /** Approximate bound of the stream of all events (default 10000). */
  maxGlobal?: number;
  /** Tracks the writes with the process's other bookkeeping (flushed at shutdown); default: its own on `redis`. */
  writes?: BookkeepingWrites;
}

export const DEFAULT_AUDIT_MAX_PER_MAILBOX = 200;
export const DEFAULT_AUDIT_MAX_GLOBAL = 10_000;
const DEFAULT_READ_LIMIT = 50;
const EVENT_FIELD = 'event';
const FAILURE_SCAN_PAGE = 1_000;

type StreamReply = Array<[id: string, fields: string[]]>;

/**
 * Audit history of every job attempt, kept in two bounded Redis streams: one for everything (the
 * operator's "what happened lately") and one per mailbox (its history survives a busy global
 * stream). Writes never sit in the job's path: `record` starts them and returns.
 */
export class AuditLog implements RotatorEventSink {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly log: Logger;
  private readonly maxPerMailbox: number;
  private readonly maxGlobal: number;
  private readonly writes: BookkeepingWrites;

  constructor(opts: AuditLogOptions) {
    this.redis = opts.redis;
    this.prefix = requireNonEmpty(opts.prefix, 'prefix');
    this.log = opts.logger.child({ component: 'audit' });
    this.maxPerMailbox = positiveInteger('maxPerMailbox', opts.maxPerMailbox ?? DEFAULT_AUDIT_MAX_PER_MAILBOX);
    this.maxGlobal = positiveInteger('maxGlobal', opts.maxGlobal ?? DEFAULT_AUDIT_MAX_GLOBAL);
    this.writes = opts.writes ?? new BookkeepingWrites(this.redis);
  }

  get globalKey(): string {
    return `${this.prefix}:audit:all`;
  }

  mailboxKey(mailboxId: string): string {
    return `${this.prefix}:audit:mailbox:${mailboxId}`;
  }

  record(event: RotatorEvent): void {
    try {
      const json = JSON.stringify(event);
      this.writes.write(
        (redis) => [
          redis.xadd(this.globalKey, 'MAXLEN', '~', this.maxGlobal, '*', EVENT_FIELD, json),
          redis.xadd(this.mailboxKey(event.mailboxId), 'MAXLEN', '~', this.maxPerMailbox, '*', EVENT_FIELD, json),
        ],
        (err) => {
          if (err) this.logWriteFailure(event, err);
        },
      );
    } catch (err) {
      // A sink must never throw into the job.
      this.logWriteFailure(event, err);
    }
  }

  /** The last `limit` attempts of one mailbox, oldest first. */
  async forMailbox(mailboxId: string, limit = DEFAULT_READ_LIMIT): Promise<AuditEntry[]> {
    requireNonEmpty(mailboxId, 'mailboxId');
    return this.lastEntries(this.mailboxKey(mailboxId), positiveInteger('limit', limit));
  }

  /** The last `limit` attempts of any mailbox, oldest first. */
  async recent(limit = DEFAULT_READ_LIMIT): Promise<AuditEntry[]> {
    return this.lastEntries(this.globalKey, positiveInteger('limit', limit));
  }

  /**
   * Attempts that failed for good (rotation or revocation) written at or after `sinceMs` (Redis
   * clock, which every replica shares), oldest first. Bounded by what the global stream still holds.
   */
  async failuresSince(sinceMs: number): Promise<AuditEntry[]> {
    if (!Number.isFinite(sinceMs) || sinceMs < 0) {
      throw new RangeError(`sinceMs must be a non-negative number of milliseconds since the epoch (got ${String(sinceMs)})`);
    }
    const failures: AuditEntry[] = [];
    let start = String(Math.floor(sinceMs));
    for (;;) {
      const page = (await this.redis.xrange(this.globalKey, start, '+', 'COUNT', FAILURE_SCAN_PAGE)) as StreamReply;
      for (const entry of this.decode(page)) if (entry.event.outcome === 'failed') failures.push(entry);
      const last = page[page.length - 1];
      if (!last || page.length < FAILURE_SCAN_PAGE) return failures;
      start = `(${last[0]}`;
    }
  }

  /** Resolves when every write started so far has finished (tests, graceful shutdown). */
  async flush(): Promise<void> {
    await this.writes.flush();
  }

  private async lastEntries(key: string, limit: number): Promise<AuditEntry[]> {
    const newestFirst = (await this.redis.xrevrange(key, '+', '-', 'COUNT', limit)) as StreamReply;
    return this.decode(newestFirst.reverse());
  }

  private decode(reply: StreamReply): AuditEntry[] {
    const entries: AuditEntry[] = [];
    for (const [id, fields] of reply) {
      const event = parseEventField(fields);
      if (event) entries.push({ id, event });
      else this.log.warn({ streamId: id }, 'skipping an audit entry that does not hold a JSON event');
    }
    return entries;
  }

  private logWriteFailure(event: RotatorEvent, err: unknown): void {
    this.log.warn(
      { err: errorTextWithName(err), jobId: event.jobId, mailboxId: event.mailboxId, outcome: event.outcome },
      'could not write the audit entry of a job attempt; the job itself is unaffected',
    );
  }
}

function parseEventField(fields: string[]): RotatorEvent | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] !== EVENT_FIELD) continue;
    try {
      const parsed: unknown = JSON.parse(fields[i + 1]!);
      if (parsed && typeof parsed === 'object' && 'kind' in parsed && 'mailboxId' in parsed) return parsed as RotatorEvent;
    } catch {
      return undefined;
    }
  }
  return undefined;
}


function requireNonEmpty(value: string, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${name} must be a non-empty string`);
  return value;
}
