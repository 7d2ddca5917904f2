import { z } from 'zod';
import type { MintedMailboxKey } from '../sendmux/types';

/**
 * The key a version superseded: the AWSCURRENT version (and its key) at the time this version
 * was written, i.e. the version AWSCURRENT moves away from when this one is promoted.
 */
export const supersededKeySchema = z.object({
  /** Sendmux public id of the superseded key. */
  key_id: z.string().min(1),
  /** Secrets Manager VersionId of the version that held it as AWSCURRENT. */
  version_id: z.string().min(1),
});
export type SupersededKey = z.infer<typeof supersededKeySchema>;

/**
 * The JSON document stored as each Secrets Manager version's SecretString. Applications read
 * `api_key` (bearer token) and `password` (IMAP/SMTP) from AWSCURRENT.
 *
 * Secrets Manager is the durable record (docs/design.md, "Where the truth lives"): the last three
 * fields are what the revocation job proves a key superseded with, and what a reconciler can
 * rebuild a lost revocation job from, with Secrets Manager alone. They are optional only so
 * documents written before they existed still parse; every version the rotator writes has them.
 */
export const storedMailboxSecretSchema = z.object({
  mailbox_id: z.string().min(1),
  key_id: z.string().min(1),
  api_key: z.string().min(1),
  password: z.string().min(1),
  username: z.string(),
  server: z.string(),
  imap_port: z.number().int(),
  smtp_port: z.number().int(),
  rotated_at: z.string(),
  idempotency_key: z.string(),
  sendmux_request_id: z.string().nullable(),
  /** The rotation slot that wrote this version: its job id is `rotate__<mailbox_id>__<slot>`. */
  slot: z.string().optional(),
  /** The key this version replaces as AWSCURRENT once promoted; null for a mailbox's first key. */
  supersedes: supersededKeySchema.nullable().optional(),
  /**
   * ISO 8601 UTC time before which `supersedes.key_id` must not be revoked: the moment the new key
   * was minted plus the grace period in force for the mailbox's group (0 for `--revoke-now`).
   * A lower bound: the revocation job itself is scheduled from the promotion time, which is later.
   * null when there is nothing to revoke or the grace period is `never`.
   */
  revoke_not_before: z.string().datetime().nullable().optional(),
  /**
   * Set on the version that adopted a value the rotator did not write (src/rotation/adoption.ts):
   * the adopted version (AWSPREVIOUS once this one is promoted), what it held, and its key's id
   * when the value named it (then `supersedes` names it too and it is revoked after the grace
   * period); null when it did not — that key must be revoked by hand.
   */
  adopted: z.object({ version_id: z.string().min(1), format: z.enum(['plain', 'json']), key_id: z.string().min(1).nullable() }).optional(),
});

export type StoredMailboxSecret = z.infer<typeof storedMailboxSecretSchema>;

export interface StoredMailboxSecretInput {
  mailboxId: string;
  minted: MintedMailboxKey;
  rotatedAt: string;
  idempotencyKey: string;
  sendmuxRequestId: string | undefined;
  slot: string;
  supersedes: SupersededKey | null;
  revokeNotBefore: string | null;
  adopted?: StoredMailboxSecret['adopted'];
  /** The operator's own fields (src/rotation/adoption.ts, carriedValues); the rotator's fields are written over them. */
  operatorFields?: Record<string, unknown>;
}

/** The SecretString of a new version (see storedMailboxDocument). */
export function buildStoredMailboxSecret(input: StoredMailboxSecretInput): string {
  return storedMailboxDocument(input).secretString;
}

/**
 * A new version's document and its SecretString: the operator's fields with the rotator's written
 * over them. `document` is what parseStoredMailboxSecret would return for `secretString` (the
 * rotator's fields only), built from typed values, so a job need not parse back what it wrote.
 */
export function storedMailboxDocument(input: StoredMailboxSecretInput): { document: StoredMailboxSecret; secretString: string } {
  const document: StoredMailboxSecret = {
    mailbox_id: input.mailboxId,
    key_id: input.minted.keyId,
    api_key: input.minted.secret,
    password: input.minted.password,
    username: input.minted.username,
    server: input.minted.server,
    imap_port: input.minted.imapPort,
    smtp_port: input.minted.smtpPort,
    rotated_at: input.rotatedAt,
    idempotency_key: input.idempotencyKey,
    sendmux_request_id: input.sendmuxRequestId ?? null,
    slot: input.slot,
    supersedes: input.supersedes,
    revoke_not_before: input.revokeNotBefore,
    ...(input.adopted ? { adopted: input.adopted } : {}),
  };
  return { document, secretString: JSON.stringify({ ...input.operatorFields, ...document }) };
}

export class UnreadableStoredSecretError extends Error {
  constructor(
    readonly secretId: string,
    readonly versionId: string,
    detail: string,
  ) {
    // Never echo the SecretString itself: it may be a valid credential with a typo elsewhere.
    super(
      `secret ${secretId} version ${versionId} is not a rotator secret document (${detail}); ` +
        'fix or remove that version in Secrets Manager',
    );
    this.name = 'UnreadableStoredSecretError';
  }
}

export function parseStoredMailboxSecret(secretId: string, versionId: string, secretString: string): StoredMailboxSecret {
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    throw new UnreadableStoredSecretError(secretId, versionId, 'not JSON');
  }
  const parsed = storedMailboxSecretSchema.safeParse(json);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => i.path.join('.') || '(root)');
    throw new UnreadableStoredSecretError(secretId, versionId, `missing or invalid fields: ${[...new Set(fields)].join(', ')}`);
  }
  return parsed.data;
}

/**
 * The slot of the rotation that wrote a document: its `slot` field, or for documents written
 * before that field existed, read back from the idempotency key `rot-<mailbox>-<slot>`.
 * null when neither says (a digest-form key): the writer's job cannot be named.
 */
export function slotOfDocument(document: StoredMailboxSecret): string | null {
  if (document.slot) return document.slot;
  const prefix = `rot-${document.mailbox_id}-`;
  return document.idempotency_key.startsWith(prefix) ? document.idempotency_key.slice(prefix.length) || null : null;
}
