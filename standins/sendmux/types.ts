/**
 * Public types of the Sendmux sandbox: a local stand-in of the vendor's Management API used by
 * tests, the quick-start demo, docker-compose and benchmarks. Never used in production.
 */

export type SandboxOperation =
  | 'listMailboxes'
  | 'getMailbox'
  | 'mintMailboxKey'
  | 'revokeMailboxKey'
  | 'getMailboxMe';

export const SANDBOX_OPERATIONS: readonly SandboxOperation[] = [
  'listMailboxes',
  'getMailbox',
  'mintMailboxKey',
  'revokeMailboxKey',
  'getMailboxMe',
];

export type SandboxMailboxStatus = 'active' | 'suspended' | 'deleted';

export type MintShape = 'credential' | 'legacy';

export interface SandboxClock {
  now(): number;
  advance(ms: number): void;
}

export type SandboxLatency = number | { min: number; max: number };

export interface SandboxRateLimit {
  max: number;
  windowMs: number;
}

export interface SandboxMailboxInput {
  id: string;
  email: string;
  status?: SandboxMailboxStatus;
  displayName?: string | null;
  /** ISO 8601; defaults to the sandbox clock's now. Controls the list order (created_at desc). */
  createdAt?: string;
}

export interface MailboxRecord {
  id: string;
  email: string;
  displayName: string | null;
  status: SandboxMailboxStatus;
  createdAtMs: number;
  /** Tie-breaker for mailboxes created in the same millisecond: insertion order. */
  seq: number;
}

export interface KeyRecord {
  id: string;
  mailboxId: string;
  /** The plaintext secret. The sandbox is a test double, so it keeps it for inspection. */
  secret: string;
  keyPrefix: string;
  keySuffix: string;
  status: 'live' | 'revoked';
  createdAt: string;
  revokedAt: string | null;
  appName: string;
  /** Idempotency-Key the mint carried, null when none (or when seeded with addKey). */
  idempotencyKey: string | null;
  /** meta.request_id of the mint that created it; null when seeded with addKey. */
  requestId: string | null;
}

export interface MintLogEntry {
  at: string;
  mailboxId: string;
  keyId: string;
  appName: string;
  idempotencyKey: string | null;
  requestId: string;
  shape: MintShape;
}

export interface RevokeLogEntry {
  at: string;
  mailboxId: string;
  keyId: string;
  /** False when the key was already revoked (the call is idempotent). */
  wasLive: boolean;
  idempotencyKey: string | null;
  requestId: string;
}

export interface SandboxCounters {
  /** Responses by operation, then by HTTP status ('dropped' when the connection was destroyed). */
  requests: Record<string, Record<string, number>>;
  /** 429s produced by the management rate limiter (injected 429s are counted in faults.injected). */
  rateLimited: number;
  idempotentReplays: number;
  idempotencyConflicts: number;
}

export type FaultKind =
  | 'status500'
  | 'status503'
  | 'status429'
  | 'drop'
  | 'commitThenDrop'
  | 'delay'
  | 'nullCredential'
  | 'html502'
  | 'okFalse200'
  | 'hugeBody'
  /** GET /mailbox/me answers 200 for ANOTHER mailbox than the key's (a broken or hostile vendor). */
  | 'wrongMailboxMe';

export interface FaultRule {
  operation?: SandboxOperation | '*';
  kind: FaultKind;
  /** For status503 (sent only when given) and status429 (default 1). */
  retryAfterSeconds?: number;
  /** For status503/status429: the raw Retry-After header text, whatever it says (wins over retryAfterSeconds). */
  retryAfter?: string;
  /** For delay: the response is held this long after the work is done (default 1000). */
  delayMs?: number;
  /** Apply to the next N matching requests (default 1). Ignored when probability is set. */
  times?: number;
  /** Apply to each matching request with this probability, until cleared. */
  probability?: number;
  mailboxId?: string;
}

export interface SandboxFaults {
  inject(rule: FaultRule): void;
  clear(): void;
  /** Counts of faults actually applied, by kind. */
  readonly injected: Record<string, number>;
}

export interface CredentialLimits {
  perMailbox?: number | null;
  perTeam?: number | null;
}

export interface SandboxConfigUpdate {
  mintShape?: MintShape;
  latencyMs?: SandboxLatency | null;
  rateLimit?: SandboxRateLimit | null;
  maxActiveKeysPerMailbox?: number | null;
  maxActiveKeysPerTeam?: number | null;
}
