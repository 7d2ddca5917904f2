import ms from 'ms';
import { DEFAULT_SANDBOX_MANAGEMENT_KEY } from './sandbox';
import type { SendmuxSandboxOptions } from './sandbox';
import type { MintShape, SandboxLatency, SandboxMailboxInput, SandboxRateLimit } from './types';

export const DEFAULT_SANDBOX_PORT = 4010;

/**
 * Reads the sandbox process's settings from the environment:
 *   SANDBOX_HOST (127.0.0.1), SANDBOX_PORT (4010), SANDBOX_MANAGEMENT_KEY (comma-separated root keys;
 *   default the fake DEFAULT_SANDBOX_MANAGEMENT_KEY), SANDBOX_DEMO_MAILBOXES (N active mailboxes
 *   mbx_demo_0001.. / demo-0001@example.test), SANDBOX_RATE_LIMIT ("600/60s", or "off"),
 *   SANDBOX_LATENCY_MS ("50" or "20-80"), SANDBOX_MINT_SHAPE (credential|legacy),
 *   SANDBOX_MAX_ACTIVE_KEYS_PER_MAILBOX, SANDBOX_MAX_ACTIVE_KEYS_PER_TEAM,
 *   SANDBOX_ALLOW_REMOTE_ADMIN (true lets other containers use /_sandbox/).
 * Throws an Error naming the variable and the expected format on bad input.
 */
export function sandboxOptionsFromEnv(env: NodeJS.ProcessEnv): SendmuxSandboxOptions & { host: string; port: number } {
  const options: SendmuxSandboxOptions & { host: string; port: number } = {
    host: nonEmpty(env.SANDBOX_HOST) ?? '127.0.0.1',
    port: integer(env, 'SANDBOX_PORT', 0, 65535) ?? DEFAULT_SANDBOX_PORT,
    managementKeys: managementKeys(env.SANDBOX_MANAGEMENT_KEY),
    mailboxes: demoMailboxes(integer(env, 'SANDBOX_DEMO_MAILBOXES', 0, 100_000) ?? 0),
    rateLimit: rateLimit(env.SANDBOX_RATE_LIMIT),
  };
  const latency = latencyMs(env.SANDBOX_LATENCY_MS);
  if (latency !== undefined) options.latencyMs = latency;
  const shape = mintShape(env.SANDBOX_MINT_SHAPE);
  if (shape !== undefined) options.mintShape = shape;
  const perMailbox = integer(env, 'SANDBOX_MAX_ACTIVE_KEYS_PER_MAILBOX', 1, Number.MAX_SAFE_INTEGER);
  if (perMailbox !== undefined) options.maxActiveKeysPerMailbox = perMailbox;
  const perTeam = integer(env, 'SANDBOX_MAX_ACTIVE_KEYS_PER_TEAM', 1, Number.MAX_SAFE_INTEGER);
  if (perTeam !== undefined) options.maxActiveKeysPerTeam = perTeam;
  options.allowRemoteAdmin = flag(env, 'SANDBOX_ALLOW_REMOTE_ADMIN');
  return options;
}

/** mbx_demo_0001 / demo-0001@example.test, ... — the quick-start's mailboxes. */
export function demoMailboxes(count: number): SandboxMailboxInput[] {
  return Array.from({ length: count }, (_, i) => {
    const n = String(i + 1).padStart(4, '0');
    return { id: `mbx_demo_${n}`, email: `demo-${n}@example.test`, status: 'active' as const, displayName: `Demo mailbox ${n}` };
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function integer(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return undefined;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function managementKeys(raw: string | undefined): string[] {
  const keys = (raw ?? '').split(',').map((key) => key.trim()).filter(Boolean);
  return keys.length > 0 ? keys : [DEFAULT_SANDBOX_MANAGEMENT_KEY];
}

function rateLimit(raw: string | undefined): SandboxRateLimit | null | undefined {
  const value = nonEmpty(raw);
  if (value === undefined) return undefined;
  if (/^(off|none|unlimited)$/i.test(value)) return null;
  const match = /^(\d+)\s*\/\s*(\S+)$/.exec(value);
  const max = match ? Number(match[1]) : NaN;
  const windowMs = match ? ms(match[2] as ms.StringValue) : undefined;
  if (!match || !Number.isSafeInteger(max) || max < 1 || typeof windowMs !== 'number' || !(windowMs >= 1)) {
    throw new Error(`SANDBOX_RATE_LIMIT must look like "600/60s" (requests/window) or "off", got "${value}"`);
  }
  return { max, windowMs };
}

function latencyMs(raw: string | undefined): SandboxLatency | undefined {
  const value = nonEmpty(raw);
  if (value === undefined) return undefined;
  const match = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(value);
  if (!match) throw new Error(`SANDBOX_LATENCY_MS must be milliseconds ("50") or a range ("20-80"), got "${value}"`);
  const min = Number(match[1]);
  if (match[2] === undefined) return min;
  const max = Number(match[2]);
  if (max < min) throw new Error(`SANDBOX_LATENCY_MS range must be low-high, got "${value}"`);
  return { min, max };
}

function mintShape(raw: string | undefined): MintShape | undefined {
  const value = nonEmpty(raw);
  if (value === undefined) return undefined;
  if (value === 'credential' || value === 'legacy') return value;
  throw new Error(`SANDBOX_MINT_SHAPE must be "credential" or "legacy", got "${value}"`);
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = nonEmpty(env[name])?.toLowerCase();
  if (value === undefined || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new Error(`${name} must be true or false, got "${value}"`);
}
