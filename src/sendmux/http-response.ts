/**
 * Reading raw HTTP responses from Sendmux: bounded body reads and the headers the client turns
 * into retry and rate-limit facts. Pure helpers, no knowledge of the API's operations.
 */
import type { RateLimitInfo } from './types';

export type BoundedBody = { kind: 'complete'; text: string } | { kind: 'too_large'; limitBytes: number };

/**
 * Reads at most `limitBytes` of the (already decompressed) body. A declared Content-Length over
 * the limit is refused without reading; a chunked body is cancelled as soon as it crosses it.
 */
export async function readBodyWithinLimit(response: Response, limitBytes: number): Promise<BoundedBody> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limitBytes) {
    await response.body?.cancel().catch(() => undefined);
    return { kind: 'too_large', limitBytes };
  }
  if (!response.body) return { kind: 'complete', text: '' };

  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > limitBytes) {
      await reader.cancel().catch(() => undefined);
      return { kind: 'too_large', limitBytes };
    }
    chunks.push(value);
  }
  return { kind: 'complete', text: Buffer.concat(chunks).toString('utf8') };
}

/** X-RateLimit-Limit / -Remaining / -Reset; each field only when the header is a non-negative integer. */
export function parseRateLimit(headers: Headers): RateLimitInfo {
  const info: RateLimitInfo = {};
  const limit = parseNonNegativeInt(headers.get('x-ratelimit-limit'));
  const remaining = parseNonNegativeInt(headers.get('x-ratelimit-remaining'));
  const reset = parseNonNegativeInt(headers.get('x-ratelimit-reset'));
  if (limit !== undefined) info.limit = limit;
  if (remaining !== undefined) info.remaining = remaining;
  if (reset !== undefined) info.resetAtSeconds = reset;
  return info;
}

function parseNonNegativeInt(value: string | null): number | undefined {
  if (value === null || !/^\s*\d+\s*$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}
