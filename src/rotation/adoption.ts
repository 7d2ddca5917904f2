import { isSendmuxId } from '../sendmux/ids';
import { storedMailboxSecretSchema, type StoredMailboxSecret } from './secret-value';

/**
 * How a secret version's value reads to the rotator: its own document, or a value it adopts — a
 * plain string (the bearer token itself) or a JSON object of the operator's own. What is returned
 * never holds the value's secret: the old bearer token is dropped here, and the fields that held
 * it are only named, so the next document puts the NEW token there.
 */
export type SecretValueReading =
  | { kind: 'rotator'; document: StoredMailboxSecret; carried: CarriedFields }
  | { kind: 'foreign'; format: 'plain' | 'json'; keyId: string | null; carried: CarriedFields };

/** What the `rotator plan` column says about the AWSCURRENT value before anything is minted. */
export type AdoptionVerdict = 'rotator document' | 'adopt (plain)' | 'adopt (json, key id known)' | 'adopt (json, key id unknown)' | 'new secret';

/**
 * The operator's own top-level fields, kept across rotations so consumers that read them keep
 * working. The rotator's fields always win over them. At any depth, a string that held the old
 * bearer token or equalled the old key id is not kept: it is a slot the new document fills with
 * the NEW token or key id (docs/operations.md: "neither the old token nor the old id is copied forward").
 */
export interface CarriedFields {
  /** Copied as they are, except slots: a top-level one is left out, a nested one's leaf is null (never the old token or id). */
  fields: Record<string, unknown>;
  /** Where the old bearer token was: the new document puts the NEW token there. */
  tokenFields: CarriedSlot[];
  /** Where the old key's public id was (and `public_id`): the new document puts the NEW key id there. */
  keyIdFields: CarriedSlot[];
}

/**
 * One string leaf to fill: `path` from the top-level field name down through object keys and array
 * indexes; the new value is `parts.join(replacement)` (['', ''] for a leaf that WAS the old value,
 * more parts when the old token was inside a longer string, e.g. "Bearer <token>").
 */
export interface CarriedSlot {
  path: Array<string | number>;
  parts: string[];
}

export const NO_CARRIED_FIELDS: CarriedFields = Object.freeze({ fields: {}, tokenFields: [], keyIdFields: [] }) as CarriedFields;

/** The rotator document's own field names (they are never carried: the new document writes them). */
const ROTATOR_FIELDS = new Set(Object.keys(storedMailboxSecretSchema.shape));

/** A Sendmux mailbox bearer token (`smx_mbx_…`); foreign JSON without `api_key` may keep it under another name. */
const MAILBOX_TOKEN = /^smx_mbx_[A-Za-z0-9_-]{12,}$/;

/**
 * Reads a version's SecretString. Pure; never throws and never returns or echoes the old secret.
 * - a rotator document (all its required fields valid) → `rotator`;
 * - any other JSON object → `foreign json`, its key id from `key_id` or `public_id` when that is a
 *   valid Sendmux id (else null), the token from `api_key` or the one field shaped `smx_mbx_…`;
 * - anything else (a bare token, a JSON string, a number) → `foreign plain`, key id unknown.
 */
export function readSecretValue(secretString: string): SecretValueReading {
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    return { kind: 'foreign', format: 'plain', keyId: null, carried: NO_CARRIED_FIELDS };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return { kind: 'foreign', format: 'plain', keyId: null, carried: NO_CARRIED_FIELDS };
  }
  const object = json as Record<string, unknown>;
  const parsed = storedMailboxSecretSchema.safeParse(object);
  if (parsed.success) {
    return { kind: 'rotator', document: parsed.data, carried: carriedFrom(object, parsed.data.api_key, parsed.data.key_id, []) };
  }
  const keyId = [object.key_id, object.public_id].find((v): v is string => typeof v === 'string' && isSendmuxId(v)) ?? null;
  const token = typeof object.api_key === 'string' ? object.api_key : uniqueTokenField(object);
  return { kind: 'foreign', format: 'json', keyId, carried: carriedFrom(object, token, keyId, ['public_id']) };
}

/** The plan's words for a reading (or for a secret without an AWSCURRENT value). */
export function adoptionVerdict(reading: SecretValueReading | null): AdoptionVerdict {
  if (!reading) return 'new secret';
  if (reading.kind === 'rotator') return 'rotator document';
  if (reading.format === 'plain') return 'adopt (plain)';
  return reading.keyId ? 'adopt (json, key id known)' : 'adopt (json, key id unknown)';
}

/**
 * The warning given once per adopted mailbox whose original key the rotator cannot revoke: the
 * adopted value named no key id, or (`unknownKeyId`) it named one that Sendmux does not know in
 * this mailbox (DELETE answered 404 — e.g. another mailbox's key, so the real one is still live).
 */
export function revokeByHandNotice(mailboxId: string, unknownKeyId?: string): string {
  const why = unknownKeyId === undefined
    ? 'the adopted secret did not name its key id (key_id or public_id)'
    : `the adopted secret named key ${unknownKeyId}, which Sendmux does not know in this mailbox (404 on revocation)`;
  return `original key of ${mailboxId} must be revoked by hand: ${why}, so the rotator cannot revoke it`;
}

/**
 * The operator's fields for a new version: the carried ones, with the NEW token and key id in the
 * slots that held the old ones. The rotator's document is written over them.
 */
export function carriedValues(carried: CarriedFields, next: { apiKey: string; keyId: string }): Record<string, unknown> {
  // The usual case, a rotator document with no operator fields, is on every rotation's path (twice):
  // it needs no structured clone.
  if (carried.tokenFields.length === 0 && carried.keyIdFields.length === 0 && isEmptyObject(carried.fields)) return {};
  const value = structuredClone(carried.fields);
  for (const slot of carried.tokenFields) fill(value, slot, next.apiKey);
  for (const slot of carried.keyIdFields) fill(value, slot, next.keyId);
  return value;
}

/** Secrets Manager's SecretString limit in bytes (AWS API reference, PutSecretValue: SecretString, "Length Constraints: Maximum length of 65536"). */
export const SECRET_STRING_MAX_BYTES = 65_536;
/** Room kept for the rotator's own fields (key, password, ids, times, supersedes, adopted: under 2 KB today). */
export const ROTATOR_FIELDS_RESERVE_BYTES = 4_096;
/** The longest token or key id assumed when sizing the slots before the new ones are known (Sendmux ids are ≤ 255 characters). */
const LONGEST_NEW_VALUE = 'x'.repeat(255);

/**
 * Why the next document of `secretName` would not fit in a SecretString, or null when it fits: the
 * carried fields (slots sized for the longest token/id) plus ROTATOR_FIELDS_RESERVE_BYTES must not
 * exceed SECRET_STRING_MAX_BYTES. Checked before minting: PutSecretValue would refuse the document
 * after a key was minted, on every attempt.
 */
export function carriedSizeProblem(carried: CarriedFields, secretName: string): string | null {
  const carriedBytes = Buffer.byteLength(JSON.stringify(carriedValues(carried, { apiKey: LONGEST_NEW_VALUE, keyId: LONGEST_NEW_VALUE })), 'utf8');
  if (carriedBytes + ROTATOR_FIELDS_RESERVE_BYTES <= SECRET_STRING_MAX_BYTES) return null;
  return `the fields kept from the current value of secret ${secretName} take ${carriedBytes} bytes: with the rotator's own fields ` +
    `(${ROTATOR_FIELDS_RESERVE_BYTES} bytes reserved) the new document would exceed Secrets Manager's SecretString limit of ` +
    `${SECRET_STRING_MAX_BYTES} bytes — shrink or remove the large fields of its AWSCURRENT value (move them to another secret), then rotate again`;
}

function fill(root: Record<string, unknown>, slot: CarriedSlot, replacement: string): void {
  let container: Record<string | number, unknown> = root;
  for (const step of slot.path.slice(0, -1)) container = container[step] as Record<string | number, unknown>;
  container[slot.path[slot.path.length - 1]!] = slot.parts.join(replacement);
}

function uniqueTokenField(object: Record<string, unknown>): string | null {
  const tokens = Object.values(object).filter((v): v is string => typeof v === 'string' && MAILBOX_TOKEN.test(v));
  return tokens.length === 1 ? tokens[0]! : null;
}

function carriedFrom(object: Record<string, unknown>, token: string | null, keyId: string | null, keyIdNames: string[]): CarriedFields {
  const carried: CarriedFields = { fields: {}, tokenFields: [], keyIdFields: [] };
  const slotsOf = (value: unknown, path: Array<string | number>): unknown => {
    if (typeof value === 'string') {
      if (token !== null && token.length > 0 && value.includes(token)) {
        carried.tokenFields.push({ path, parts: value.split(token) });
        return null;
      }
      if (keyId !== null && value === keyId) {
        carried.keyIdFields.push({ path, parts: ['', ''] });
        return null;
      }
      return value;
    }
    if (Array.isArray(value)) return value.map((item, index) => slotsOf(item, [...path, index]));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([name, item]) => [name, slotsOf(item, [...path, name])]));
    }
    return value;
  };
  for (const [name, value] of Object.entries(object)) {
    if (ROTATOR_FIELDS.has(name)) continue;
    if (keyIdNames.includes(name) && !(token !== null && typeof value === 'string' && value.includes(token))) {
      carried.keyIdFields.push({ path: [name], parts: ['', ''] });
      continue;
    }
    const kept = slotsOf(value, [name]);
    // A top-level slot is written by carriedValues; only nested ones need their place kept.
    if (typeof value !== 'string' || kept !== null) carried.fields[name] = kept;
  }
  return carried;
}

/**
 * The bearer token a version's value holds for `keyId`, or null when the value does not name that
 * key (a plain token names none). For proving a key dead (GET /mailbox/me with it answers 401);
 * the token must stay in the caller's memory only.
 */
export function bearerTokenFor(secretString: string, keyId: string): string | null {
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    return null;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return null;
  const object = json as Record<string, unknown>;
  if (object.key_id !== keyId && object.public_id !== keyId) return null;
  const token = typeof object.api_key === 'string' ? object.api_key : uniqueTokenField(object);
  return token && token.length > 0 ? token : null;
}

function isEmptyObject(object: Record<string, unknown>): boolean {
  for (const _ in object) return false;
  return true;
}

/**
 * The bearer token a value holds, whichever key it is: a rotator document's or a JSON value's
 * `api_key`, the one field of a JSON value shaped `smx_mbx_…`, or a plain value as a whole (a bare
 * token, or a JSON string). null when it holds none the rotator can tell. Memory only: for telling
 * two values' keys apart (src/rotation/mailbox-secret.ts) and proving a key dead.
 */
export function bearerTokenOf(secretString: string): string | null {
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    const plain = secretString.trim();
    return plain.length > 0 ? plain : null;
  }
  if (typeof json === 'string') return json.trim().length > 0 ? json.trim() : null;
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return null;
  const object = json as Record<string, unknown>;
  const token = typeof object.api_key === 'string' ? object.api_key : uniqueTokenField(object);
  return token && token.length > 0 ? token : null;
}
