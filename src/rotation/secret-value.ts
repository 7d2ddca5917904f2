import { z } from 'zod';
import type { MintedMailboxKey } from '../sendmux/types';

/**
 * The JSON document stored as each Secrets Manager version's SecretString. Applications read
 * `api_key` (bearer token) and `password` (IMAP/SMTP) from AWSCURRENT.
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
});

export type StoredMailboxSecret = z.infer<typeof storedMailboxSecretSchema>;

export function buildStoredMailboxSecret(input: {
  mailboxId: string;
  minted: MintedMailboxKey;
  rotatedAt: string;
  idempotencyKey: string;
  sendmuxRequestId: string | undefined;
}): string {
  const value: StoredMailboxSecret = {
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
  };
  return JSON.stringify(value);
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
