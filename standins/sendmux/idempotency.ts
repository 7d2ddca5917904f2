import { createHash } from 'node:crypto';
import type { SandboxClock } from './types';

/** A response exactly as first sent, so a replay can return it verbatim. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  contentType?: string;
  body?: string;
}

export type IdempotencyLookup =
  | { kind: 'new' }
  | { kind: 'inFlight' }
  | { kind: 'conflict' }
  | { kind: 'replay'; response: StoredResponse };

interface CacheEntry {
  fingerprint: string;
  storedAtMs: number;
  response: StoredResponse;
}

/**
 * The vendor's idempotency cache: per (team, method + concrete path, Idempotency-Key), for a TTL
 * measured on the sandbox clock. Only successful responses are stored (the caller decides).
 * "In flight" covers a request from its lookup until its response is ready to send.
 */
export class IdempotencyStore {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly clock: SandboxClock,
    private readonly ttlMs: number,
  ) {
    if (!Number.isFinite(ttlMs) || ttlMs < 1) {
      throw new RangeError(`idempotencyTtlMs must be a number of milliseconds >= 1, got ${String(ttlMs)}`);
    }
  }

  static scope(team: string, method: string, path: string, idempotencyKey: string): string {
    return JSON.stringify([team, method.toUpperCase(), path, idempotencyKey]);
  }

  lookup(scope: string, fingerprint: string): IdempotencyLookup {
    if (this.inFlight.has(scope)) return { kind: 'inFlight' };
    const entry = this.entries.get(scope);
    if (!entry) return { kind: 'new' };
    if (this.clock.now() - entry.storedAtMs >= this.ttlMs) {
      this.entries.delete(scope);
      return { kind: 'new' };
    }
    if (entry.fingerprint !== fingerprint) return { kind: 'conflict' };
    return { kind: 'replay', response: entry.response };
  }

  begin(scope: string): void {
    this.inFlight.add(scope);
  }

  end(scope: string): void {
    this.inFlight.delete(scope);
  }

  store(scope: string, fingerprint: string, response: StoredResponse): void {
    this.entries.set(scope, { fingerprint, storedAtMs: this.clock.now(), response });
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * Fingerprint of a request body: JSON bodies by their canonical form (key order and whitespace do
 * not matter), anything else by its exact text.
 */
export function bodyFingerprint(rawBody: string | undefined): string {
  const text = rawBody ?? '';
  let canonical: string;
  try {
    canonical = `json:${canonicalJson(JSON.parse(text))}`;
  } catch {
    canonical = `raw:${text}`;
  }
  return createHash('sha256').update(canonical).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}
