import type { components } from './openapi-types';

/** Mailbox as the vendor describes it (generated from the OpenAPI subset). */
export type SendmuxMailboxWire = components['schemas']['Mailbox'];

export type MailboxStatus = 'active' | 'suspended' | 'deleted';

/** The rotator's view of a mailbox: camelCase, status kept as the vendor sent it. */
export interface Mailbox {
  id: string;
  email: string;
  displayName: string | null;
  status: MailboxStatus | (string & {});
  createdAt: string;
}

/** Values of the X-RateLimit-* headers, when the response carried them. */
export interface RateLimitInfo {
  limit?: number;
  remaining?: number;
  /** Unix seconds at which the window resets. */
  resetAtSeconds?: number;
}

/**
 * A freshly minted mailbox key, normalised from either response shape
 * (`data.credential` or the older `data.api_key` + `data.imap_smtp_credentials`).
 * `secret` is the bearer token; `password` the IMAP/SMTP password (the same value in the
 * current shape). Never log or persist this object outside Secrets Manager.
 */
export interface MintedMailboxKey {
  keyId: string;
  secret: string;
  password: string;
  keyPrefix: string;
  keySuffix: string;
  username: string;
  server: string;
  imapPort: number;
  smtpPort: number;
  /** The `Location` header of the 201, when present. */
  location?: string;
  /** Which wire shape the vendor answered with. */
  shape: 'credential' | 'legacy';
}

/** Every successful call returns its data with the vendor's request id and rate-limit headers. */
export interface SendmuxResult<T> {
  data: T;
  status: number;
  requestId: string | undefined;
  rateLimit: RateLimitInfo;
}

export interface MailboxPage {
  mailboxes: Mailbox[];
  hasMore: boolean;
  nextCursor?: string;
}

export interface RevokedKey {
  deleted: true;
  id: string;
}

/** One line of telemetry per HTTP exchange, for logs and metrics. Never carries a secret. */
export interface SendmuxCallRecord {
  operation: 'listMailboxes' | 'getMailbox' | 'mintMailboxKey' | 'revokeMailboxKey' | 'getMailboxMe';
  method: string;
  /** Path with ids, never with secrets (no query string holding tokens). */
  path: string;
  status: number | null;
  code?: string;
  requestId?: string;
  durationMs: number;
  rateLimit: RateLimitInfo;
  idempotencyKey?: string;
}

/** Where the client reads the management key (a fixed value, or a secret re-read after a 401). */
export interface ManagementKeySource {
  current(): string | Promise<string>;
  /** Optional: called once after a 401 on a management route; the request is retried once with the new key. */
  refresh?(): Promise<string>;
}
