import { randomInt } from 'node:crypto';

const LOWER_DIGITS = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 1) out += alphabet[randomInt(alphabet.length)];
  return out;
}

export function newRequestId(): string {
  return `req_${randomString(LOWER_DIGITS, 26)}`;
}

/** Key public ids look like the vendor's: `smx_` + 24 [a-z0-9]. */
export function newKeyId(): string {
  return `smx_${randomString(LOWER_DIGITS, 24)}`;
}

/** Mailbox key secrets: `smx_mbx_` + 40 [A-Za-z0-9]. */
export function newKeySecret(): string {
  return `smx_mbx_${randomString(ALNUM, 40)}`;
}

/** The non-secret hints the vendor shows next to a key (never enough to rebuild it). */
export function keyHints(secret: string): { keyPrefix: string; keySuffix: string } {
  return { keyPrefix: secret.slice(0, 12), keySuffix: secret.slice(-4) };
}
