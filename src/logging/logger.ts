import { hostname } from 'node:os';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import pinoPretty from 'pino-pretty';
import type { LogFormat } from '../config/types';
import { binaryPlaceholder, isBinary, scrubSecrets } from '../security/scrub-secrets';

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

/**
 * Nesting the walk follows before it replaces a whole subtree with REDACTED (array items count as
 * a level). Deep enough for any log line the rotator writes; a deeper (or cyclic) value is
 * dropped rather than written unredacted.
 */
export const REDACT_MAX_DEPTH = 64;

export const REDACTED = '[REDACTED]';

const SECRET_FIELDS: ReadonlySet<string> = new Set(SECRET_FIELD_NAMES);

/**
 * Returns `value` with every SECRET_FIELD_NAMES property, at any depth, replaced by REDACTED and
 * every string scrubbed of Sendmux-key-shaped text and HTTP credentials, every binary value (Buffer,
 * typed array, ArrayBuffer) replaced by its size, copying only the objects on the way to a
 * secret (most log lines hold none and are returned as they are). Kept instead of pino's
 * `redact`: its paths cannot say "at any depth" (each wildcard is one level), and the wildcards
 * it does support cost ~75 µs a line — 11 % of a worker's CPU in the bench profile.
 *
 * It runs on every log line, so it allocates nothing for a line without secrets: primitives
 * return at once, strings go through scrubSecrets' substring pre-check, and the ancestor list
 * (for cycles) is created only when the walk first goes below the top-level object.
 */
export function redactSecrets<T>(value: T, depth = 0, ancestors?: object[]): T {
  if (typeof value === 'string') return scrubSecrets(value) as T;
  if (value === null || typeof value !== 'object') return value;
  if (isBinary(value)) return binaryPlaceholder(value) as T;
  // Beyond the limit, or a cycle: nothing below is known to be safe.
  if (depth > REDACT_MAX_DEPTH || (ancestors !== undefined && ancestors.includes(value))) return REDACTED as T;
  const path = ancestors ?? [];
  path.push(value);
  try {
    return redactObject(value, depth, path);
  } finally {
    path.pop();
  }
}

/** Whether redactSecrets could change `value` at all: strings and objects only. */
function mayHoldSecret(value: unknown): boolean {
  return typeof value === 'string' || (value !== null && typeof value === 'object');
}

function redactObject<T extends object>(value: T, depth: number, ancestors: object[]): T {
  if (value instanceof Error) {
    // A foreign error may carry secret-named properties: serialize it the way pino would, then
    // redact that plain object. Ours (toJSON without secrets) pass through unchanged.
    const serialized = pino.stdSerializers.err(value) as unknown as Record<string, unknown>;
    const redacted = redactSecrets(serialized, depth, ancestors);
    return (redacted === serialized ? value : redacted) as T;
  }
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (!mayHoldSecret(item)) continue;
      const redacted = redactSecrets(item, depth + 1, ancestors);
      if (redacted !== item) (copy ??= value.slice())[i] = redacted;
    }
    return (copy ?? value) as T;
  }
  let copy: Record<string, unknown> | undefined;
  const source = value as Record<string, unknown>;
  for (const key in source) {
    if (!Object.prototype.hasOwnProperty.call(source, key)) continue;
    const item = source[key];
    let redacted: unknown;
    if (SECRET_FIELDS.has(key)) redacted = item === undefined ? item : REDACTED;
    else if (mayHoldSecret(item)) redacted = redactSecrets(item, depth + 1, ancestors);
    else continue;
    if (redacted !== item) (copy ??= { ...source })[key] = redacted;
  }
  return (copy ?? value) as T;
}

/**
 * pino's error serializer, then message and stack scrubbed of secret-shaped text and binary
 * properties (Node's HTTP parser errors carry `rawPacket`, the request's bytes) replaced by
 * their size.
 */
function scrubbedErr(err: Error): ReturnType<typeof pino.stdSerializers.err> {
  const serialized = pino.stdSerializers.err(err);
  const fields = serialized as unknown as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    const field = fields[name];
    if (isBinary(field)) fields[name] = binaryPlaceholder(field);
  }
  if (typeof serialized.message === 'string') serialized.message = scrubSecrets(serialized.message);
  if (typeof serialized.stack === 'string') serialized.stack = scrubSecrets(serialized.stack);
  return serialized;
}

export interface CreateLoggerOptions {
  /** pino level name; default `info`. */
  level?: string;
  /** Where JSON lines go; default stdout. */
  destination?: DestinationStream;
  /** Extra fields on every line (e.g. `{ service: 'rotator', replica }`), added to pid and hostname. */
  base?: object;
  /** `json` (default) or `pretty`: pino-pretty's one-line-per-entry text, rendered in this process. */
  format?: LogFormat;
  /** Colours in `pretty` lines; default: when the destination is a colour terminal. */
  colorize?: boolean;
}

/** JSON lines with ISO timestamps and level names; secret-bearing fields are replaced by `[REDACTED]`. */
export function createLogger(opts: CreateLoggerOptions = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    base: { pid: process.pid, hostname: hostname(), ...opts.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      // Both the fields of each call and a child logger's bindings pass through the same walk.
      bindings: (bindings) => redactSecrets(bindings),
      log: (object) => redactSecrets(object),
    },
    serializers: { err: scrubbedErr, error: scrubbedErr },
    hooks: {
      // The message string itself (`log.warn(obj, msg)`) may quote an upstream error.
      // Copies the arguments only when a string among them changes (almost never).
      logMethod(args, method) {
        let scrubbed: unknown[] | undefined;
        for (let i = 0; i < args.length; i++) {
          const arg: unknown = args[i];
          if (typeof arg !== 'string') continue;
          const clean = scrubSecrets(arg);
          if (clean !== arg) (scrubbed ??= [...args])[i] = clean;
        }
        method.apply(this, (scrubbed ?? args) as Parameters<typeof method>);
      },
    },
  };
  if (opts.format === 'pretty') return pino(options, prettyDestination(opts));
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/**
 * pino-pretty's formatter applied to each line in this process, written synchronously, rather
 * than a transport worker thread: the last lines before an exit are never lost and a short-lived
 * CLI process starts no thread. It renders the redacted lines (redaction runs in pino's
 * formatters, before any destination).
 */
function prettyDestination(opts: CreateLoggerOptions): DestinationStream {
  const target = opts.destination ?? pino.destination({ fd: 1, sync: true });
  const prettify = pinoPretty.prettyFactory({
    colorize: opts.colorize ?? (opts.destination === undefined && process.stdout.isTTY === true && pinoPretty.isColorSupported),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,component',
    messageFormat: '{if component}[{component}] {end}{msg}',
    singleLine: true,
  });
  return { write: (line: string) => target.write(prettify(line)) };
}

/**
 * The format a process logs in: LOG_FORMAT when set, else `pretty` only where a person is
 * watching (`interactiveDefault` and stdout is a terminal), else JSON — never pretty in a pipe,
 * a container or a log collector unless asked for.
 */
export function resolveLogFormat(configured: LogFormat | undefined, interactiveDefault: boolean, stdoutIsTty = process.stdout.isTTY === true): LogFormat {
  if (configured !== undefined) return configured;
  return interactiveDefault && stdoutIsTty ? 'pretty' : 'json';
}
