import { z } from 'zod';
import { maskApiKey, maskToken, maskUrlCredentials } from './masking';
import type { ConfigProblem } from './problems';
import type { LogFormat, LogLevel, RotatorEnv } from './types';
import { issuesToProblems, leaf, type LeafResult } from './zod-helpers';

export interface EnvVarDoc {
  name: string;
  required: boolean | 'one-of';
  default?: string;
  description: string;
}

export const ENV_VARS: ReadonlyArray<EnvVarDoc> = [
  { name: 'SENDMUX_API_KEY', required: 'one-of', description: 'Sendmux root management key (smx_root_…); or set SENDMUX_API_KEY_SECRET_ID' },
  { name: 'SENDMUX_API_KEY_SECRET_ID', required: 'one-of', description: 'Secrets Manager secret id/ARN holding the management key; or set SENDMUX_API_KEY' },
  { name: 'REDIS_URL', required: false, default: 'redis://127.0.0.1:6379', description: 'Redis for BullMQ (redis:// or rediss://)' },
  { name: 'SENDMUX_API_URL', required: false, default: 'https://app.sendmux.ai/api/v1', description: 'Sendmux API base URL' },
  { name: 'AWS_REGION', required: false, description: 'AWS region of the secrets; needed by every command that touches AWS' },
  { name: 'AWS_ENDPOINT_URL_SECRETS_MANAGER', required: false, description: 'Secrets Manager endpoint override (read by the AWS SDK itself)' },
  { name: 'ROTATOR_QUEUE_PREFIX', required: false, default: 'rotator', description: 'BullMQ key prefix; may be a Redis Cluster hash tag like {rotator}' },
  { name: 'LOG_LEVEL', required: false, default: 'info', description: 'fatal, error, warn, info, debug, trace or silent' },
  { name: 'LOG_FORMAT', required: false, description: 'json (one JSON object a line; the default) or pretty (human-readable; the demo uses it in a terminal)' },
  { name: 'PORT', required: false, default: '3000', description: 'HTTP port (0 = any free port)' },
  { name: 'HOST', required: false, default: '0.0.0.0', description: 'HTTP listen address' },
  { name: 'ROTATOR_API_TOKEN', required: false, description: 'Bearer token for the HTTP API (at least 16 characters)' },
  { name: 'NOTIFY_WEBHOOK_SECRET', required: false, description: 'Standard Webhooks signing secret (whsec_<base64>) for notify.webhookUrl; required when that is set' },
  { name: 'ROTATOR_CONFIG', required: false, default: 'config/rotator.yaml if present, else config/rotator.example.yaml', description: 'Path of the YAML configuration file' },
];

export const ENV_DEFAULTS = {
  REDIS_URL: 'redis://127.0.0.1:6379',
  SENDMUX_API_URL: 'https://app.sendmux.ai/api/v1',
  ROTATOR_QUEUE_PREFIX: 'rotator',
  LOG_LEVEL: 'info',
  PORT: '3000',
  HOST: '0.0.0.0',
} as const;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];
const ROOT_KEY_PREFIX = 'smx_root_';
const MIN_API_TOKEN_CHARS = 16;

const fail = (expected: string): LeafResult<never> => ({ ok: false, expected });
const pass = <T>(value: T): LeafResult<T> => ({ ok: true, value });

function parseUrl(value: unknown): URL | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function redisUrl(value: unknown): LeafResult<string> {
  const expected = 'a Redis URL like "redis://127.0.0.1:6379", "redis://:password@host:6379/0" or "rediss://…" (TLS)';
  const url = parseUrl(value);
  if (url === undefined || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') return fail(expected);
  if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d+$/.test(url.pathname)) {
    return fail(`${expected} — the path, when present, is a database number`);
  }
  return pass(value as string);
}

function httpUrl(expected: string) {
  return (value: unknown): LeafResult<string> => {
    const url = parseUrl(value);
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) return fail(expected);
    if (url.username !== '' || url.password !== '') return fail(`${expected}, without credentials in it`);
    if (url.search !== '' || url.hash !== '') return fail(`${expected}, without a query string or fragment`);
    return pass((value as string).replace(/\/+$/, ''));
  };
}

function sendmuxApiKey(value: unknown): LeafResult<string> {
  const expected = `a Sendmux root management key starting with "${ROOT_KEY_PREFIX}"`;
  if (typeof value !== 'string') return fail(expected);
  if (value.startsWith('smx_mbx_')) return fail(`${expected} — this is a mailbox key, which cannot manage keys`);
  if (!value.startsWith(ROOT_KEY_PREFIX) || value.length === ROOT_KEY_PREFIX.length || /\s/.test(value)) return fail(expected);
  return pass(value);
}

function secretId(value: unknown): LeafResult<string> {
  if (typeof value !== 'string' || !/^[A-Za-z0-9/_+=.@:-]{1,2048}$/.test(value)) {
    return fail('a Secrets Manager secret name or ARN (letters, digits and /_+=.@:-)');
  }
  return pass(value);
}

function awsRegion(value: unknown): LeafResult<string> {
  if (typeof value !== 'string' || !/^[a-z]{2}(-[a-z0-9]+)+-\d{1,2}$/.test(value)) {
    return fail('an AWS region like "us-east-1" or "eu-west-2"');
  }
  return pass(value);
}

function queuePrefix(value: unknown): LeafResult<string> {
  // Optional single {hash tag} so every queue key lands in one Redis Cluster slot.
  if (typeof value !== 'string' || value.length > 128 || !/^[A-Za-z0-9_.:-]*(\{[A-Za-z0-9_.:-]+\})?[A-Za-z0-9_.:-]*$/.test(value) || value === '') {
    return fail('a key prefix of 1-128 letters, digits or _.:- with at most one {hash tag}, e.g. "rotator" or "{rotator}"');
  }
  return pass(value);
}

function logLevel(value: unknown): LeafResult<LogLevel> {
  const level = typeof value === 'string' ? value.toLowerCase() : value;
  return LOG_LEVELS.includes(level as LogLevel) ? pass(level as LogLevel) : fail(`one of ${LOG_LEVELS.join(', ')}`);
}

function logFormat(value: unknown): LeafResult<LogFormat> {
  const format = typeof value === 'string' ? value.toLowerCase() : value;
  return LOG_FORMATS.includes(format as LogFormat)
    ? pass(format as LogFormat)
    : fail('json (one JSON object a line, for log pipelines) or pretty (human-readable, for a terminal)');
}

function port(value: unknown): LeafResult<number> {
  const expected = 'a TCP port number from 0 to 65535';
  if (typeof value !== 'string' || !/^\d{1,5}$/.test(value)) return fail(expected);
  const number = Number(value);
  return number <= 65535 ? pass(number) : fail(expected);
}

function host(value: unknown): LeafResult<string> {
  if (typeof value !== 'string' || !/^[^\s/]{1,253}$/.test(value)) return fail('a host name or IP address to listen on, e.g. "0.0.0.0"');
  return pass(value);
}

function apiToken(value: unknown): LeafResult<string> {
  if (typeof value !== 'string' || value.length < MIN_API_TOKEN_CHARS || value.length > 1024 || /\s/.test(value)) {
    return fail(`a token of at least ${MIN_API_TOKEN_CHARS} characters without spaces`);
  }
  return pass(value);
}

/** Standard Webhooks: `whsec_` + base64 of a 24 to 64-byte key. */
function webhookSigningSecret(value: unknown): LeafResult<string> {
  const expected = 'a Standard Webhooks signing secret "whsec_<base64 of 24 to 64 random bytes>", e.g. from `openssl rand -base64 32`';
  if (typeof value !== 'string' || !/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(value)) return fail(expected);
  const bytes = Buffer.from(value.slice('whsec_'.length), 'base64').length;
  return bytes >= 24 && bytes <= 64 ? pass(value) : fail(`${expected} (this one decodes to ${bytes} bytes)`);
}

const envSchema = z.object({
  REDIS_URL: leaf(redisUrl).default(ENV_DEFAULTS.REDIS_URL),
  SENDMUX_API_URL: leaf(httpUrl('an http:// or https:// base URL like "https://app.sendmux.ai/api/v1"')).default(ENV_DEFAULTS.SENDMUX_API_URL),
  SENDMUX_API_KEY: leaf(sendmuxApiKey).optional(),
  SENDMUX_API_KEY_SECRET_ID: leaf(secretId).optional(),
  AWS_REGION: leaf(awsRegion).optional(),
  AWS_ENDPOINT_URL_SECRETS_MANAGER: leaf(httpUrl('an http:// or https:// endpoint URL like "http://127.0.0.1:4566"')).optional(),
  ROTATOR_QUEUE_PREFIX: leaf(queuePrefix).default(ENV_DEFAULTS.ROTATOR_QUEUE_PREFIX),
  LOG_LEVEL: leaf(logLevel).default(ENV_DEFAULTS.LOG_LEVEL),
  LOG_FORMAT: leaf(logFormat).optional(),
  PORT: leaf(port).default(ENV_DEFAULTS.PORT),
  HOST: leaf(host).default(ENV_DEFAULTS.HOST),
  ROTATOR_API_TOKEN: leaf(apiToken).optional(),
  NOTIFY_WEBHOOK_SECRET: leaf(webhookSigningSecret).optional(),
});

type EnvName = keyof z.input<typeof envSchema>;
const ENV_NAMES = Object.keys(envSchema.shape) as EnvName[];

/** How a bad value of each variable may be shown. Unlisted variables hold nothing secret. */
const MASKS: Partial<Record<EnvName, (value: string) => string>> = {
  SENDMUX_API_KEY: maskApiKey,
  ROTATOR_API_TOKEN: (value) => `${maskToken()} (${value.length} characters)`,
  NOTIFY_WEBHOOK_SECRET: (value) => `${maskToken()} (${value.length} characters)`,
  REDIS_URL: maskUrlCredentials,
  SENDMUX_API_URL: maskUrlCredentials,
  AWS_ENDPOINT_URL_SECRETS_MANAGER: maskUrlCredentials,
};

function maskEnvValue(path: ReadonlyArray<string | number>, value: unknown): unknown {
  const mask = MASKS[path[0] as EnvName];
  return mask !== undefined && typeof value === 'string' ? mask(value) : value;
}

export type EnvParseResult = { ok: true; env: RotatorEnv } | { ok: false; problems: ConfigProblem[] };

/** Validates the rotator's environment variables; an empty variable counts as unset. */
export function parseEnv(source: NodeJS.ProcessEnv, configPath: string): EnvParseResult {
  const input: Partial<Record<EnvName, string>> = {};
  for (const name of ENV_NAMES) {
    const value = source[name];
    if (value !== undefined && value !== '') input[name] = value;
  }

  const problems: ConfigProblem[] = [];
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) problems.push(...issuesToProblems(parsed.error.issues, input, 'env', maskEnvValue));

  const hasKey = input.SENDMUX_API_KEY !== undefined;
  const hasSecretId = input.SENDMUX_API_KEY_SECRET_ID !== undefined;
  if (!hasKey && !hasSecretId) {
    problems.push({
      field: 'SENDMUX_API_KEY',
      value: undefined,
      expected: 'the Sendmux root management key (smx_root_…), or SENDMUX_API_KEY_SECRET_ID naming a Secrets Manager secret that holds it',
      source: 'env',
    });
  } else if (hasKey && hasSecretId) {
    problems.push({
      field: 'SENDMUX_API_KEY_SECRET_ID',
      value: input.SENDMUX_API_KEY_SECRET_ID,
      expected: 'to be unset when SENDMUX_API_KEY is set (set exactly one of the two)',
      source: 'env',
    });
  }

  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  const env = parsed.data;
  return {
    ok: true,
    env: {
      redisUrl: env.REDIS_URL,
      sendmuxApiUrl: env.SENDMUX_API_URL,
      ...(env.SENDMUX_API_KEY === undefined ? {} : { sendmuxApiKey: env.SENDMUX_API_KEY }),
      ...(env.SENDMUX_API_KEY_SECRET_ID === undefined ? {} : { sendmuxApiKeySecretId: env.SENDMUX_API_KEY_SECRET_ID }),
      ...(env.AWS_REGION === undefined ? {} : { awsRegion: env.AWS_REGION }),
      ...(env.AWS_ENDPOINT_URL_SECRETS_MANAGER === undefined ? {} : { awsSecretsManagerEndpoint: env.AWS_ENDPOINT_URL_SECRETS_MANAGER }),
      queuePrefix: env.ROTATOR_QUEUE_PREFIX,
      logLevel: env.LOG_LEVEL,
      ...(env.LOG_FORMAT === undefined ? {} : { logFormat: env.LOG_FORMAT }),
      port: env.PORT,
      host: env.HOST,
      ...(env.ROTATOR_API_TOKEN === undefined ? {} : { apiToken: env.ROTATOR_API_TOKEN }),
      ...(env.NOTIFY_WEBHOOK_SECRET === undefined ? {} : { notifyWebhookSecret: env.NOTIFY_WEBHOOK_SECRET }),
      configPath,
    },
  };
}
