import { hostname } from 'node:os';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * Property names that can hold a secret anywhere the rotator logs: Sendmux mint responses (both
 * shapes: `secret`, `api_key`/`key`, `password`), HTTP headers (`authorization`), AWS Secrets
 * Manager payloads (`SecretString`) and our own option names.
 */
export const SECRET_FIELD_NAMES = [
  'authorization',
  'Authorization',
  'secret',
  'key',
  'password',
  'api_key',
  'apiKey',
  'SecretString',
  'secretString',
  'token',
  'managementKey',
  'management_key',
  'mailboxKey',
  'mailbox_key',
] as const;

/** Redaction reaches this deep: `secret`, `a.secret`, `a.b.secret`, `a.b.c.secret` (array items count as a level). */
export const REDACT_MAX_DEPTH = 3;

export const REDACTED = '[REDACTED]';

/** Every SECRET_FIELD_NAMES entry at depths 0..REDACT_MAX_DEPTH, e.g. `*.*.authorization` covers `req.headers.authorization`. */
export const REDACT_PATHS: readonly string[] = SECRET_FIELD_NAMES.flatMap((name) =>
  Array.from({ length: REDACT_MAX_DEPTH + 1 }, (_, depth) => `${'*.'.repeat(depth)}${name}`),
);

export interface CreateLoggerOptions {
  /** pino level name; default `info`. */
  level?: string;
  /** Where JSON lines go; default stdout. */
  destination?: DestinationStream;
  /** Extra fields on every line (e.g. `{ service: 'rotator', replica }`), added to pid and hostname. */
  base?: object;
}

/** JSON lines with ISO timestamps and level names; secret-bearing fields are replaced by `[REDACTED]`. */
export function createLogger(opts: CreateLoggerOptions = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    base: { pid: process.pid, hostname: hostname(), ...opts.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
