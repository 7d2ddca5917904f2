import { keyHints, newKeyId, newKeySecret } from './ids';
import type {
  KeyRecord,
  MailboxRecord,
  MintLogEntry,
  RevokeLogEntry,
  SandboxClock,
  SandboxCounters,
  SandboxMailboxInput,
  SandboxMailboxStatus,
} from './types';

const MAILBOX_STATUSES: readonly SandboxMailboxStatus[] = ['active', 'suspended', 'deleted'];

export interface NewKeyInput {
  mailboxId: string;
  appName: string;
  idempotencyKey: string | null;
  requestId: string | null;
}

/**
 * Everything the sandbox knows: mailboxes, keys (with secrets: it is a test double), logs and
 * counters. Tests read it directly; the admin API serves snapshot().
 */
export class SandboxState {
  readonly mailboxes = new Map<string, MailboxRecord>();
  readonly keys = new Map<string, KeyRecord>();
  readonly mintLog: MintLogEntry[] = [];
  readonly revokeLog: RevokeLogEntry[] = [];
  readonly counters: SandboxCounters = {
    requests: {},
    rateLimited: 0,
    idempotentReplays: 0,
    idempotencyConflicts: 0,
  };
  private readonly keysBySecret = new Map<string, KeyRecord>();
  private nextMailboxSeq = 0;

  constructor(private readonly clock: SandboxClock) {}

  addMailbox(input: SandboxMailboxInput): MailboxRecord {
    if (typeof input.id !== 'string' || input.id.length === 0) {
      throw new TypeError('addMailbox: `id` must be a non-empty string (e.g. "mbx_demo_0001")');
    }
    if (typeof input.email !== 'string' || !input.email.includes('@')) {
      throw new TypeError(`addMailbox: \`email\` of mailbox ${input.id} must be an email address`);
    }
    if (this.mailboxes.has(input.id)) {
      throw new Error(`addMailbox: mailbox ${input.id} already exists; use setMailboxStatus to change it`);
    }
    const status = input.status ?? 'active';
    assertMailboxStatus(status);
    let createdAtMs = this.clock.now();
    if (input.createdAt !== undefined) {
      createdAtMs = Date.parse(input.createdAt);
      if (Number.isNaN(createdAtMs)) {
        throw new TypeError(`addMailbox: \`createdAt\` of mailbox ${input.id} must be an ISO 8601 timestamp`);
      }
    }
    const record: MailboxRecord = {
      id: input.id,
      email: input.email.toLowerCase(),
      displayName: input.displayName ?? null,
      status,
      createdAtMs,
      seq: this.nextMailboxSeq++,
    };
    this.mailboxes.set(record.id, record);
    return record;
  }

  setMailboxStatus(id: string, status: SandboxMailboxStatus): MailboxRecord {
    assertMailboxStatus(status);
    const mailbox = this.mailboxes.get(id);
    if (!mailbox) throw new Error(`setMailboxStatus: unknown mailbox ${id}`);
    mailbox.status = status;
    return mailbox;
  }

  createKey(input: NewKeyInput): KeyRecord {
    const secret = newKeySecret();
    const record: KeyRecord = {
      id: newKeyId(),
      mailboxId: input.mailboxId,
      secret,
      ...keyHints(secret),
      status: 'live',
      createdAt: new Date(this.clock.now()).toISOString(),
      revokedAt: null,
      appName: input.appName,
      idempotencyKey: input.idempotencyKey,
      requestId: input.requestId,
    };
    this.keys.set(record.id, record);
    this.keysBySecret.set(secret, record);
    return record;
  }

  revokeKey(key: KeyRecord): void {
    if (key.status === 'revoked') return;
    key.status = 'revoked';
    key.revokedAt = new Date(this.clock.now()).toISOString();
  }

  keyBySecret(secret: string): KeyRecord | undefined {
    return this.keysBySecret.get(secret);
  }

  liveKeys(mailboxId?: string): KeyRecord[] {
    return [...this.keys.values()].filter(
      (key) => key.status === 'live' && (mailboxId === undefined || key.mailboxId === mailboxId),
    );
  }

  /** Mints that carried this Idempotency-Key (replays are not mints, so this counts real keys). */
  mintsWithIdempotencyKey(idempotencyKey: string): MintLogEntry[] {
    return this.mintLog.filter((entry) => entry.idempotencyKey === idempotencyKey);
  }

  recordResponse(operation: string, status: string): void {
    const byStatus = (this.counters.requests[operation] ??= {});
    byStatus[status] = (byStatus[status] ?? 0) + 1;
  }

  snapshot() {
    return {
      now: new Date(this.clock.now()).toISOString(),
      mailboxes: [...this.mailboxes.values()].map((m) => ({
        id: m.id,
        email: m.email,
        displayName: m.displayName,
        status: m.status,
        createdAt: new Date(m.createdAtMs).toISOString(),
      })),
      keys: [...this.keys.values()].map((k) => ({ ...k })),
      mintLog: [...this.mintLog],
      revokeLog: [...this.revokeLog],
      counters: structuredClone(this.counters),
    };
  }
}

export function assertMailboxStatus(status: unknown): asserts status is SandboxMailboxStatus {
  if (!MAILBOX_STATUSES.includes(status as SandboxMailboxStatus)) {
    throw new TypeError(`mailbox status must be one of ${MAILBOX_STATUSES.join(', ')}, got ${String(status)}`);
  }
}
