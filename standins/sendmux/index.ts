/**
 * The Sendmux sandbox: a faithful local stand-in of the vendor's Management API (the five
 * operations the rotator uses, under /api/v1) plus a test-control API under /_sandbox/. For tests,
 * the quick-start demo, docker-compose and benchmarks — never for production.
 */
export {
  DEFAULT_IDEMPOTENCY_TTL_MS,
  DEFAULT_SANDBOX_MANAGEMENT_KEY,
  DEFAULT_SANDBOX_RATE_LIMIT,
  startSendmuxSandbox,
} from './sandbox';
export type { SendmuxSandbox, SendmuxSandboxOptions } from './sandbox';
export { createManualClock, createSandboxClock } from './clock';
export { SandboxState } from './state';
export { FAULT_KINDS } from './faults';
export { HUGE_BODY_BYTES } from './respond';
export { MAX_BODY_BYTES } from './vendor-api';
export { API_BASE_PATH, SANDBOX_IMAP_PORT, SANDBOX_MAIL_SERVER, SANDBOX_SMTP_PORT } from './operations';
export type {
  CredentialLimits,
  FaultKind,
  FaultRule,
  KeyRecord,
  MailboxRecord,
  MintLogEntry,
  MintShape,
  RevokeLogEntry,
  SandboxClock,
  SandboxConfigUpdate,
  SandboxCounters,
  SandboxFaults,
  SandboxLatency,
  SandboxMailboxInput,
  SandboxMailboxStatus,
  SandboxOperation,
  SandboxRateLimit,
} from './types';
