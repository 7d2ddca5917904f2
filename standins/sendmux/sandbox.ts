import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import { registerAdminApi } from './admin-api';
import { createSandboxClock } from './clock';
import { FaultController } from './faults';
import { IdempotencyStore } from './idempotency';
import { newRequestId } from './ids';
import { API_BASE_PATH, createOperations } from './operations';
import type { OperationSettings } from './operations';
import { FixedWindowRateLimiter } from './rate-limiter';
import { SandboxState } from './state';
import type {
  CredentialLimits,
  KeyRecord,
  MintShape,
  SandboxClock,
  SandboxConfigUpdate,
  SandboxFaults,
  SandboxLatency,
  SandboxMailboxInput,
  SandboxMailboxStatus,
  SandboxRateLimit,
} from './types';
import { registerVendorApi } from './vendor-api';

/** A clearly fake root key; the sandbox accepts it unless told otherwise. */
export const DEFAULT_SANDBOX_MANAGEMENT_KEY = 'smx_root_sandbox_local_only';
/** The vendor's documented limit: 600 management requests per 60 s per key. */
export const DEFAULT_SANDBOX_RATE_LIMIT: SandboxRateLimit = { max: 600, windowMs: 60_000 };
export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface SendmuxSandboxOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** Root keys with mailbox.admin.read + mailbox.admin.manage; default [DEFAULT_SANDBOX_MANAGEMENT_KEY]. */
  managementKeys?: string[];
  /** Root keys with mailbox.admin.read only: mint/revoke answer 403 insufficient_permissions. */
  readOnlyManagementKeys?: string[];
  mailboxes?: SandboxMailboxInput[];
  /** Default 600 per 60_000 ms; null = unlimited (and no X-RateLimit-* headers). */
  rateLimit?: SandboxRateLimit | null;
  /** Default unlimited; a mint beyond it answers 409 limit_exceeded. */
  maxActiveKeysPerMailbox?: number;
  /** Default unlimited. */
  maxActiveKeysPerTeam?: number;
  /** Default 'credential'; switchable at runtime with setMintShape. */
  mintShape?: MintShape;
  /** Added to every /api/v1 response (not to the admin API). */
  latencyMs?: SandboxLatency;
  /** Default: wall clock plus an offset moved by advance(). */
  clock?: SandboxClock;
  /** Default 24 h, measured on `clock`. */
  idempotencyTtlMs?: number;
  logger?: Logger;
  /** Randomness for probability faults and latency ranges (default Math.random). */
  random?: () => number;
  /** Let non-loopback callers use /_sandbox/ (e.g. another container in docker-compose). Default false. */
  allowRemoteAdmin?: boolean;
}

export interface SendmuxSandbox {
  /** Base URL of the vendor API, e.g. http://127.0.0.1:41234/api/v1 (the rotator's SENDMUX_API_URL). */
  url: string;
  port: number;
  clock: SandboxClock;
  state: SandboxState;
  faults: SandboxFaults;
  setMintShape(shape: MintShape): void;
  setLatency(latency: SandboxLatency | null): void;
  setRateLimit(rateLimit: SandboxRateLimit | null): void;
  setCredentialLimits(limits: CredentialLimits): void;
  addMailbox(mailbox: SandboxMailboxInput): void;
  setMailboxStatus(id: string, status: SandboxMailboxStatus): void;
  /** Seeds a live key directly (no HTTP call, no mint-log entry): e.g. a mailbox's pre-existing key. */
  addKey(mailboxId: string, options?: { appName?: string }): KeyRecord;
  liveKeys(mailboxId?: string): KeyRecord[];
  close(): Promise<void>;
}

export async function startSendmuxSandbox(opts: SendmuxSandboxOptions = {}): Promise<SendmuxSandbox> {
  const clock = opts.clock ?? createSandboxClock();
  const random = opts.random ?? Math.random;
  const state = new SandboxState(clock);
  for (const mailbox of opts.mailboxes ?? []) state.addMailbox(mailbox);
  const faults = new FaultController(random);
  const settings: OperationSettings = {
    mintShape: 'credential',
    maxActiveKeysPerMailbox: null,
    maxActiveKeysPerTeam: null,
  };
  const limiter = new FixedWindowRateLimiter(clock, opts.rateLimit === undefined ? DEFAULT_SANDBOX_RATE_LIMIT : opts.rateLimit);
  const idempotency = new IdempotencyStore(clock, opts.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS);
  let latency: SandboxLatency | null = null;

  function configure(update: SandboxConfigUpdate): void {
    if (update.mintShape !== undefined) settings.mintShape = checkMintShape(update.mintShape);
    if (update.latencyMs !== undefined) latency = checkLatency(update.latencyMs);
    if (update.rateLimit !== undefined) limiter.reconfigure(update.rateLimit);
    if (update.maxActiveKeysPerMailbox !== undefined) settings.maxActiveKeysPerMailbox = checkLimit('maxActiveKeysPerMailbox', update.maxActiveKeysPerMailbox);
    if (update.maxActiveKeysPerTeam !== undefined) settings.maxActiveKeysPerTeam = checkLimit('maxActiveKeysPerTeam', update.maxActiveKeysPerTeam);
  }
  configure({
    mintShape: opts.mintShape,
    latencyMs: opts.latencyMs,
    maxActiveKeysPerMailbox: opts.maxActiveKeysPerMailbox,
    maxActiveKeysPerTeam: opts.maxActiveKeysPerTeam,
  });

  function addKey(mailboxId: string, options: { appName?: string } = {}): KeyRecord {
    if (!state.mailboxes.has(mailboxId)) throw new Error(`addKey: unknown mailbox ${mailboxId}`);
    return state.createKey({ mailboxId, appName: options.appName ?? 'sandbox-seed', idempotencyKey: null, requestId: null });
  }

  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger.child({ component: 'sendmux-sandbox' }) as FastifyBaseLogger } : { logger: false }),
    // One debug line per response (vendor-api) instead of Fastify's two info lines per request.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => newRequestId(),
    // A test that abandons a delayed request must not make close() wait for it.
    forceCloseConnections: true,
    // Only the contract's methods exist; HEAD is not part of it.
    exposeHeadRoutes: false,
  });

  await registerVendorApi(app, {
    state,
    faults,
    operations: createOperations({ state, faults, settings, now: () => clock.now() }),
    limiter,
    idempotency,
    keyring: {
      managementKeys: new Set(opts.managementKeys ?? [DEFAULT_SANDBOX_MANAGEMENT_KEY]),
      readOnlyManagementKeys: new Set(opts.readOnlyManagementKeys ?? []),
    },
    nextLatencyMs: () => drawLatency(latency, random),
    logger: opts.logger,
  });
  await registerAdminApi(
    app,
    {
      clock,
      faults,
      snapshot: () => ({ ...state.snapshot(), idempotencyEntries: idempotency.size }),
      addMailbox: (mailbox) => void state.addMailbox(mailbox),
      setMailboxStatus: (id, status) => void state.setMailboxStatus(id, status),
      addKey,
      configure,
      currentConfig: () => ({ ...settings, latencyMs: latency, rateLimit: limiter.current }),
    },
    { allowRemote: opts.allowRemoteAdmin ?? false },
  );

  const host = opts.host ?? '127.0.0.1';
  await app.listen({ host, port: opts.port ?? 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('sandbox did not bind a TCP port');
  const port = address.port;

  return {
    url: `http://${urlHost(host)}:${port}${API_BASE_PATH}`,
    port,
    clock,
    state,
    faults,
    setMintShape: (shape) => configure({ mintShape: shape }),
    setLatency: (value) => configure({ latencyMs: value }),
    setRateLimit: (value) => configure({ rateLimit: value }),
    setCredentialLimits: (limits) =>
      configure({ maxActiveKeysPerMailbox: limits.perMailbox, maxActiveKeysPerTeam: limits.perTeam }),
    addMailbox: (mailbox) => void state.addMailbox(mailbox),
    setMailboxStatus: (id, status) => void state.setMailboxStatus(id, status),
    addKey,
    liveKeys: (mailboxId) => state.liveKeys(mailboxId),
    close: () => app.close(),
  };
}

function checkMintShape(shape: MintShape): MintShape {
  if (shape !== 'credential' && shape !== 'legacy') throw new TypeError(`mintShape must be 'credential' or 'legacy', got ${String(shape)}`);
  return shape;
}

function checkLatency(latency: SandboxLatency | null): SandboxLatency | null {
  if (latency === null) return null;
  if (typeof latency === 'number') {
    if (!Number.isFinite(latency) || latency < 0) throw new RangeError(`latencyMs must be a number >= 0, got ${latency}`);
    return latency;
  }
  if (!Number.isFinite(latency.min) || !Number.isFinite(latency.max) || latency.min < 0 || latency.max < latency.min) {
    throw new RangeError(`latencyMs range needs 0 <= min <= max, got ${latency.min}..${latency.max}`);
  }
  return { min: latency.min, max: latency.max };
}

function checkLimit(name: string, limit: number | null): number | null {
  if (limit === null) return null;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`${name} must be an integer >= 1 (or null for unlimited), got ${limit}`);
  return limit;
}

function drawLatency(latency: SandboxLatency | null, random: () => number): number {
  if (latency === null) return 0;
  if (typeof latency === 'number') return latency;
  return Math.round(latency.min + random() * (latency.max - latency.min));
}

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
