/**
 * Runtime validators for the Sendmux responses the rotator reads, written from
 * vendor/sendmux/openapi-management-subset.json. The type-level checks at the bottom make
 * `tsc` fail when these schemas and the generated `openapi-types.ts` drift apart.
 *
 * Objects are parsed with zod's default "strip" mode although the vendor declares
 * `additionalProperties: false`: a field the vendor adds later must not break rotation.
 */
import { z } from 'zod';
import type { components } from './openapi-types';

type Schemas = components['schemas'];

export const mailboxSendScopeWireSchema = z
  .object({
    type: z.enum(['all', 'providers', 'group']),
    group_public_ids: z.array(z.string()).optional(),
    provider_public_ids: z.array(z.string()).optional(),
  })
  .nullable();

export const mailboxWireSchema = z.object({
  id: z.string(),
  email: z.string(),
  display_name: z.string().nullable(),
  quota_bytes: z.number().int().nullable(),
  send_scope: mailboxSendScopeWireSchema,
  status: z.string(),
  created_at: z.string(),
});

export const mailboxMeWireSchema = mailboxWireSchema.extend({
  quota_used_bytes: z.number().int().optional(),
});

export const responseMetaWireSchema = z.object({ request_id: z.string() });

export const cursorPaginationWireSchema = z.object({
  has_more: z.boolean(),
  next_cursor: z.string().optional(),
});

/** SuccessEnvelope + ResponseMeta: every 2xx the rotator reads has `ok: true` and `meta.request_id`. */
function successEnvelope<T extends z.ZodRawShape>(shape: T) {
  return z.object({ ok: z.literal(true), meta: responseMetaWireSchema, ...shape });
}

export const mailboxItemResponseWireSchema = successEnvelope({ data: mailboxWireSchema });
export const mailboxMeItemResponseWireSchema = successEnvelope({ data: mailboxMeWireSchema });
export const mailboxListResponseWireSchema = successEnvelope({
  data: z.array(mailboxWireSchema),
  pagination: cursorPaginationWireSchema,
});
export const mailboxKeyDeletedResponseWireSchema = successEnvelope({
  data: z.object({ deleted: z.literal(true), id: z.string() }),
});

/** The current mint shape's `data.credential` once it is known not to be null. */
export const mailboxCredentialWireSchema = z.object({
  public_id: z.string(),
  secret: z.string(),
  key_prefix: z.string(),
  key_suffix: z.string(),
  server: z.string(),
  imap_port: z.number().int(),
  smtp_port: z.number().int(),
  username: z.string(),
});

/**
 * The older rendering of the mint response (vendor/sendmux/CONTRACT.md): not in the OpenAPI subset, so these
 * two schemas are the only description of it.
 */
export const legacyApiKeyWireSchema = z.object({
  public_id: z.string(),
  key: z.string(),
  key_prefix: z.string(),
  key_suffix: z.string(),
});
export const legacyImapSmtpCredentialsWireSchema = z.object({
  server: z.string(),
  imap_port: z.number().int(),
  smtp_port: z.number().int(),
  username: z.string(),
  password: z.string(),
});

/**
 * Envelope of a mint response before the credential is looked at: `data` stays loose here so the
 * client can tell a missing credential (retry) from a malformed one (protocol error).
 */
export const mintResponseEnvelopeWireSchema = successEnvelope({
  data: z.record(z.string(), z.unknown()),
});

/**
 * The documented error envelope, read leniently: an unknown `code` or a missing `retryable`
 * still yields a useful SendmuxApiError instead of degrading to `http_<status>`.
 */
export const apiErrorEnvelopeWireSchema = z.object({
  ok: z.literal(false),
  error: z.object({
    code: z.string().min(1),
    message: z.string(),
    retryable: z.boolean().optional(),
    param: z.string().optional(),
  }),
  meta: z.object({ request_id: z.string().optional() }).optional(),
});

/** Every `error.code` of the contract's ApiError (vendor/sendmux/openapi-management-subset.json). */
export const SENDMUX_ERROR_CODES = [
  'invalid_parameter',
  'missing_parameter',
  'authentication_required',
  'insufficient_permissions',
  'not_found',
  'conflict',
  'limit_exceeded',
  'idempotency_conflict',
  'payload_too_large',
  'validation_error',
  'rate_limit_exceeded',
  'service_unavailable',
  'internal_error',
] as const;

/** The documented error envelope exactly as the OpenAPI describes it (used for the drift check). */
export const apiErrorWireSchema = z.object({
  ok: z.literal(false),
  error: z.object({
    code: z.enum(SENDMUX_ERROR_CODES),
    message: z.string(),
    retryable: z.boolean(),
    param: z.string().optional(),
    doc_url: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), code: z.string(), message: z.string() })).optional(),
  }),
  meta: responseMetaWireSchema,
});

export type MailboxWire = z.infer<typeof mailboxWireSchema>;
export type MailboxCredentialWire = z.infer<typeof mailboxCredentialWireSchema>;
export type LegacyApiKeyWire = z.infer<typeof legacyApiKeyWireSchema>;
export type LegacyImapSmtpCredentialsWire = z.infer<typeof legacyImapSmtpCredentialsWireSchema>;

// ---------------------------------------------------------------------------------------------
// Compile-time drift checks against the generated OpenAPI types: `tsc` rejects this tuple when a
// schema's inferred type stops being assignable to (or, for IsMutuallyAssignable, from) the
// generated vendor type.
// `MailboxAppPasswordResult.credential` is generated as `MailboxCredential & Record<string, never>`
// (an artefact of its `allOf: [{$ref}, {type: object}]`), a type no value inhabits, so the
// credential is checked against `MailboxCredential` itself.
// ---------------------------------------------------------------------------------------------
type Expect<_T extends true> = true;
type IsAssignable<From, To> = [From] extends [To] ? true : false;
type IsMutuallyAssignable<A, B> = IsAssignable<A, B> extends true ? IsAssignable<B, A> : false;

export type WireSchemaDriftChecks = [
  Expect<IsMutuallyAssignable<z.infer<typeof mailboxSendScopeWireSchema>, Schemas['MailboxSendScope']>>,
  Expect<IsMutuallyAssignable<z.infer<typeof mailboxWireSchema>, Schemas['Mailbox']>>,
  Expect<IsMutuallyAssignable<z.infer<typeof mailboxMeWireSchema>, Schemas['MailboxMe']>>,
  Expect<IsMutuallyAssignable<z.infer<typeof cursorPaginationWireSchema>, Schemas['CursorPagination']>>,
  Expect<IsMutuallyAssignable<z.infer<typeof responseMetaWireSchema>, Schemas['ResponseMeta']>>,
  Expect<IsMutuallyAssignable<MailboxCredentialWire, NonNullable<Schemas['MailboxCredential']>>>,
  Expect<IsAssignable<z.infer<typeof apiErrorWireSchema>, Schemas['ApiError']>>,
  Expect<IsAssignable<z.infer<typeof mailboxItemResponseWireSchema>, Schemas['MailboxItemResponse']>>,
  Expect<IsAssignable<z.infer<typeof mailboxMeItemResponseWireSchema>, Schemas['MailboxMeItemResponse']>>,
  Expect<IsAssignable<z.infer<typeof mailboxListResponseWireSchema>, Schemas['MailboxItemCursorListResponse']>>,
  Expect<IsAssignable<z.infer<typeof mailboxKeyDeletedResponseWireSchema>, Schemas['MailboxKeyDeletedResponse']>>,
  Expect<IsAssignable<
    { ok: true; meta: z.infer<typeof responseMetaWireSchema>; data: { credential: MailboxCredentialWire | null } },
    Omit<Schemas['MailboxAppPasswordResultResponse'], 'data'> & { data: { credential: Schemas['MailboxCredential'] } }
  >>,
];
