/**
 * Removes secrets from text that may quote an upstream answer (a vendor error message, an AWS
 * error that echoes its request body, a webhook's reply) before it reaches a log line, a job's
 * failure reason, an alert or Redis. Two nets: the exact plaintext values the caller holds
 * (the key a job just minted, the management key it authenticates with), and anything shaped like
 * a Sendmux key, whoever's it is.
 */

export const SCRUBBED = '[REDACTED]';

/**
 * Sendmux key shapes (`smx_mbx_…` mailbox keys, `smx_root_…` management keys) with at least 12
 * characters after the type, so the vendor's 12-character `key_prefix` hint (`smx_mbx_AB12`),
 * which is safe and useful in logs, stays readable. The character class is wider than the
 * vendor's alphabet on purpose: a scrubber that misses a variant leaks it.
 */
export const SENDMUX_KEY_PATTERN = /smx_(?:root|mbx)_[A-Za-z0-9_\-+/=.]{12,}/g;

/**
 * HTTP credentials quoted in text (a raw request decoded into an error message, a header dump):
 * `Authorization: <scheme> <credentials>` and any `Bearer <token>`. The token itself is not a
 * Sendmux key, so only its context can find it.
 */
const AUTHORIZATION_PATTERN = /(authorization["']?[ \t]*[:=][ \t]*["']?)(?:(?:bearer|basic)[ \t]+)?[^\s"',;]+/gi;
const BEARER_PATTERN = /\b(bearer[ \t]+)[^\s"',;]{8,}/gi;
const HTTP_CREDENTIAL_HINT = /authorization|bearer/i;

/** Values shorter than this are not scrubbed as exact matches: they would blank unrelated text. */
const MIN_KNOWN_SECRET_LENGTH = 8;

/**
 * `text` with every occurrence of a `knownSecrets` value (exact match, values of 8+ characters),
 * every Sendmux-key-shaped run and every HTTP credential (`Authorization: …`, `Bearer …`)
 * replaced by `[REDACTED]`. Pure; never throws.
 */
export function scrubSecrets(text: string, knownSecrets: Iterable<string | undefined> = []): string {
  let out = text;
  for (const secret of knownSecrets) {
    if (typeof secret === 'string' && secret.length >= MIN_KNOWN_SECRET_LENGTH && out.includes(secret)) {
      out = out.split(secret).join(SCRUBBED);
    }
  }
  // Cheap pre-check on the pattern's literal prefixes: most text holds no key, and the regex is
  // the costlier step. Not just 'smx_': every Sendmux key id (`smx_…`) in a log line would match that.
  if (out.includes('smx_mbx_') || out.includes('smx_root_')) out = out.replace(SENDMUX_KEY_PATTERN, SCRUBBED);
  if (HTTP_CREDENTIAL_HINT.test(out)) {
    out = out.replace(AUTHORIZATION_PATTERN, (_match, name: string) => `${name}${SCRUBBED}`).replace(BEARER_PATTERN, (_match, scheme: string) => `${scheme}${SCRUBBED}`);
  }
  return out;
}

/**
 * What a log line shows instead of binary data (a Buffer, a typed array, an ArrayBuffer): its
 * size only. Bytes are never written: a raw packet decodes to the request's headers, credentials
 * included, and no text scrubber sees inside a JSON array of byte values.
 */
export function binaryPlaceholder(value: ArrayBufferView | ArrayBuffer): string {
  return `[binary: ${value.byteLength} bytes, not logged]`;
}

/** Whether `value` is binary data (Buffer, typed array, DataView or ArrayBuffer). */
export function isBinary(value: unknown): value is ArrayBufferView | ArrayBuffer {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer;
}

/**
 * Scrubs `error` in place (message, stack, and the same for each `cause` in its chain, plus any
 * own string property such as BullMQ-visible `reason`) and returns it, so a processor can write
 * `throw scrubError(err, [mintedKey])`. Non-Error values are turned into an Error whose message
 * is the scrubbed String(value). Never throws.
 */
export function scrubError(error: unknown, knownSecrets: readonly (string | undefined)[] = []): Error {
  if (!(error instanceof Error)) return new Error(scrubSecrets(String(error), knownSecrets));
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    scrubOwnStrings(current, knownSecrets);
    current = (current as { cause?: unknown }).cause;
  }
  return error;
}

function scrubOwnStrings(error: Error, knownSecrets: readonly (string | undefined)[]): void {
  const record = error as unknown as Record<string, unknown>;
  for (const name of ['message', 'stack', ...Object.keys(record)]) {
    const value = record[name];
    if (typeof value !== 'string') continue;
    const clean = scrubSecrets(value, knownSecrets);
    if (clean === value) continue;
    try {
      // Some own properties are readonly in type only; a frozen error keeps its text.
      const enumerable = Object.getOwnPropertyDescriptor(error, name)?.enumerable ?? false;
      Object.defineProperty(error, name, { value: clean, writable: true, configurable: true, enumerable });
    } catch {
      /* a non-configurable property stays as it is */
    }
  }
}
