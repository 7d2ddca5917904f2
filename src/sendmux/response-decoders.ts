/**
 * Turning validated Sendmux response bodies into the rotator's types. Decoders throw
 * ContractViolation; the client adds the call's context and turns it into a SendmuxProtocolError.
 */
import type { z } from 'zod';
import { isSendmuxId } from './ids';
import type { Mailbox, MintedMailboxKey } from './types';
import {
  legacyApiKeyWireSchema,
  legacyImapSmtpCredentialsWireSchema,
  mailboxCredentialWireSchema,
  mintResponseEnvelopeWireSchema,
  type MailboxWire,
} from './wire-schemas';

/** A 2xx body that breaks the contract. `reason` names fields and codes, never values. */
export class ContractViolation extends Error {
  constructor(
    readonly code: 'invalid_response' | 'missing_credential',
    readonly reason: string,
    readonly keyId?: string,
  ) {
    super(reason);
  }
}

export function parseWire<S extends z.ZodTypeAny>(schema: S, body: unknown, at = ''): z.infer<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw new ContractViolation('invalid_response', `response does not match the contract: ${describeIssues(result.error, at)}`);
}

/** Issue paths and codes only: zod messages can quote received values, which may be secrets. */
function describeIssues(error: z.ZodError, at: string): string {
  const shown = error.issues.slice(0, 5).map((issue) => {
    const path = [at, ...issue.path.map(String)].filter(Boolean).join('.');
    return `${path || '(root)'} ${issue.code}`;
  });
  const more = error.issues.length > shown.length ? ` and ${error.issues.length - shown.length} more` : '';
  return shown.join(', ') + more;
}

export function toMailbox(wire: MailboxWire): Mailbox {
  return {
    id: wire.id,
    email: wire.email,
    displayName: wire.display_name,
    status: wire.status,
    createdAt: wire.created_at,
  };
}

/**
 * Normalises both mint shapes (vendor/sendmux/CONTRACT.md). A credential that is null, absent or has an empty
 * secret means generation failed on the vendor side: `missing_credential`, never success. When
 * the key's public id is readable it is attached, so a caller can revoke a half-minted key.
 */
export function decodeMintedKey(body: unknown, location: string | null): MintedMailboxKey {
  const { data } = parseWire(mintResponseEnvelopeWireSchema, body);
  const withLocation = location === null ? {} : { location };

  if (!('api_key' in data) && !('imap_smtp_credentials' in data)) {
    const credential = data['credential'];
    if (credential === null || credential === undefined) {
      throw new ContractViolation('missing_credential', `data.credential is ${credential === null ? 'null' : 'missing'}`);
    }
    const keyId = readablePublicId(credential);
    const parsed = mailboxCredentialWireSchema.safeParse(credential);
    if (!parsed.success) {
      throw new ContractViolation(
        'invalid_response',
        `response does not match the contract: ${describeIssues(parsed.error, 'data.credential')}`,
        keyId,
      );
    }
    const c = parsed.data;
    requireKeyId(c.public_id, 'data.credential.public_id');
    if (c.secret.length === 0) throw new ContractViolation('missing_credential', 'data.credential.secret is empty', keyId);
    return {
      keyId: c.public_id,
      secret: c.secret,
      password: c.secret,
      keyPrefix: c.key_prefix,
      keySuffix: c.key_suffix,
      username: c.username,
      server: c.server,
      imapPort: c.imap_port,
      smtpPort: c.smtp_port,
      ...withLocation,
      shape: 'credential',
    };
  }

  const apiKey = data['api_key'];
  const imapSmtp = data['imap_smtp_credentials'];
  const keyId = readablePublicId(apiKey);
  for (const [field, value] of [
    ['data.api_key', apiKey],
    ['data.imap_smtp_credentials', imapSmtp],
  ] as const) {
    if (value === null || value === undefined) {
      throw new ContractViolation('missing_credential', `${field} is ${value === null ? 'null' : 'missing'}`, keyId);
    }
  }
  const key = legacyApiKeyWireSchema.safeParse(apiKey);
  const imap = legacyImapSmtpCredentialsWireSchema.safeParse(imapSmtp);
  if (!key.success || !imap.success) {
    const issues = [
      ...(key.success ? [] : [describeIssues(key.error, 'data.api_key')]),
      ...(imap.success ? [] : [describeIssues(imap.error, 'data.imap_smtp_credentials')]),
    ];
    throw new ContractViolation('invalid_response', `response does not match the contract: ${issues.join(', ')}`, keyId);
  }
  requireKeyId(key.data.public_id, 'data.api_key.public_id');
  if (key.data.key.length === 0) throw new ContractViolation('missing_credential', 'data.api_key.key is empty', keyId);
  if (imap.data.password.length === 0) {
    throw new ContractViolation('missing_credential', 'data.imap_smtp_credentials.password is empty', keyId);
  }
  return {
    keyId: key.data.public_id,
    secret: key.data.key,
    password: imap.data.password,
    keyPrefix: key.data.key_prefix,
    keySuffix: key.data.key_suffix,
    username: imap.data.username,
    server: imap.data.server,
    imapPort: imap.data.imap_port,
    smtpPort: imap.data.smtp_port,
    ...withLocation,
    shape: 'legacy',
  };
}

/**
 * The new key's public id must be a Sendmux id: it is the key_id of the stored document (which the
 * revocation job proves supersession with) and what a revocation sends. A key without one could
 * be stored but never revoked by the rotator, so the mint is refused before anything is stored.
 */
function requireKeyId(publicId: string, field: string): void {
  const length = publicId.length;
  if (isSendmuxId(publicId)) return;
  const what = length === 0 ? 'empty' : `${length} characters`;
  throw new ContractViolation('invalid_response', `response does not match the contract: ${field} is not a Sendmux key id (${what})`);
}

function readablePublicId(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  const id = value['public_id'];
  return isSendmuxId(id) ? id : undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
