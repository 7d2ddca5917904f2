import { InvalidSendmuxIdError } from './errors';

/**
 * Mailbox ids, key ids and idempotency keys are spliced into URL paths and headers, so only this
 * conservative alphabet is accepted: no `/`, `.`, `%`, `?`, whitespace or control characters can
 * reach the request line.
 */
export const SENDMUX_ID_PATTERN = /^[A-Za-z0-9_-]{1,255}$/;

const ALLOWED_DESCRIPTION = '1–255 characters, each a letter A–Z/a–z, a digit 0–9, "_" or "-"';

export function isSendmuxId(value: unknown): value is string {
  return typeof value === 'string' && SENDMUX_ID_PATTERN.test(value);
}

/** Throws InvalidSendmuxIdError naming `field` unless `value` is a well-formed Sendmux id. */
export function assertSendmuxId(field: string, value: unknown): asserts value is string {
  if (isSendmuxId(value)) return;
  if (typeof value !== 'string') {
    throw new InvalidSendmuxIdError(
      field,
      String(value),
      `${field} must be a string of ${ALLOWED_DESCRIPTION}; got ${value === null ? 'null' : typeof value}`,
    );
  }
  throw new InvalidSendmuxIdError(field, value, `${field} ${describeBadId(value)}; it must be ${ALLOWED_DESCRIPTION}`);
}

function describeBadId(value: string): string {
  if (value.length === 0) return 'is empty';
  if (value.length > 255) return `is ${value.length} characters long ("${value.slice(0, 40)}…")`;
  const bad = [...value].find((ch) => !/[A-Za-z0-9_-]/.test(ch)) ?? '';
  return `${JSON.stringify(value)} contains the character ${JSON.stringify(bad)}`;
}
