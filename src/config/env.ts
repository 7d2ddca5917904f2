import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { maskApiKey, maskToken, maskUrlCredentials } from './masking';
import type { ConfigProblem } from './problems';
import type { LogFormat, LogLevel, RedisHostPort, RedisTarget, RotatorEnv } from './types';
import { apiTokenProblem, TOKEN_FIX } from './token-strength';
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
  { name: 'REDIS_URL', required: false, default: 'redis://127.0.0.1:6379', description: 'single-node Redis (or a primary endpoint) for BullMQ: redis:// or rediss:// (TLS), user and password may be in it' },
  { name: 'REDIS_CLUSTER_NODES', required: false, description: 'Redis Cluster seed nodes "host:port,host:port" (instead of REDIS_URL); ROTATOR_QUEUE_PREFIX must then hold a {hash tag}' },
  { name: 'REDIS_SENTINELS', required: false, description: 'Redis Sentinel addresses "host:port,host:port" (instead of REDIS_URL); needs REDIS_SENTINEL_MASTER' },
  { name: 'REDIS_SENTINEL_MASTER', required: false, description: 'the master group name the sentinels watch (with REDIS_SENTINELS)' },
  { name: 'REDIS_USERNAME', required: false, description: 'Redis ACL user (overrides the one in REDIS_URL)' },
  { name: 'REDIS_PASSWORD', required: false, description: 'Redis password / AUTH token (overrides the one in REDIS_URL)' },
  { name: 'REDIS_TLS', required: false, default: 'false (true with rediss://)', description: 'true to connect to Redis over TLS' },
  { name: 'REDIS_TLS_CA_FILE', required: false, description: 'PEM file of a private CA to trust for Redis TLS (implies REDIS_TLS=true)' },
  { name: 'SENDMUX_API_URL', required: false, default: 'https://app.sendmux.ai/api/v1', description: 'Sendmux API base URL' },
  { name: 'AWS_REGION', required: false, description: 'AWS region of the secrets; needed by every command that touches AWS' },
  { name: 'AWS_ENDPOINT_URL_SECRETS_MANAGER', required: false, description: 'Secrets Manager endpoint override (read by the AWS SDK itself)' },
  { name: 'AWS_ENDPOINT_URL', required: false, description: 'endpoint override for every AWS service (read by the AWS SDK itself, below AWS_ENDPOINT_URL_SECRETS_MANAGER); held to the same plain-text rule' },
  { name: 'ROTATOR_ALLOW_PLAINTEXT_UPSTREAMS', required: false, default: 'false', description: 'true to allow http:// (no TLS) SENDMUX_API_URL / AWS_ENDPOINT_URL_SECRETS_MANAGER on a host other than loopback; the root key and every secret then travel in clear' },
  { name: 'ROTATOR_QUEUE_PREFIX', required: false, default: 'rotator', description: 'BullMQ key prefix; may be a Redis Cluster hash tag like {rotator}' },
  { name: 'LOG_LEVEL', required: false, default: 'info', description: 'fatal, error, warn, info, debug, trace or silent' },
  { name: 'LOG_FORMAT', required: false, description: 'json (one JSON object a line; the default) or pretty (human-readable; the demo uses it in a terminal)' },
  { name: 'PORT', required: false, default: '3000', description: 'HTTP port (0 = any free port)' },
  { name: 'HOST', required: false, default: '0.0.0.0', description: 'HTTP listen address' },
  { name: 'ROTATOR_API_TOKEN', required: false, description: 'Bearer token for the HTTP API: the operator token named "default" (at least 128 bits of randomness, e.g. `openssl rand -hex 32`); more tokens with roles in the YAML under api.tokens' },
  { name: 'NOTIFY_WEBHOOK_SECRET', required: false, description: 'Standard Webhooks signing secret (whsec_<base64>) for notify.webhookUrl; required when that is set' },
  { name: 'NOTIFY_WEBHOOK_SECRET_PREVIOUS', required: false, description: 'the notify secret being replaced: while set, each notification is signed with both (docs/security.md)' },
  { name: 'ALERT_WEBHOOK_SECRET', required: false, description: 'Standard Webhooks signing secret (whsec_<base64>) for alerts.webhookUrl; alerts go unsigned without it' },
  { name: 'ALERT_WEBHOOK_SECRET_PREVIOUS', required: false, description: 'the alert secret being replaced: while set, each alert is signed with both (docs/security.md)' },
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

function hostPortList(example: string) {
  return (value: unknown): LeafResult<RedisHostPort[]> => {
    const expected = `a comma list of host:port, e.g. "${example}"`;
    if (typeof value !== 'string') return fail(expected);
    const nodes: RedisHostPort[] = [];
    for (const part of value.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
      const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(part);
      const portNumber = match ? Number(match[2]) : 0;
      if (!match || portNumber < 1 || portNumber > 65535) return fail(`${expected} (${JSON.stringify(part.slice(0, 80))} is not host:port)`);
      nodes.push({ host: match[1]!.replace(/^\[|\]$/g, ''), port: portNumber });
    }
    return nodes.length > 0 ? pass(nodes) : fail(expected);
  };
}

function sentinelMaster(value: unknown): LeafResult<string> {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(value)) {
    return fail('the master group name the sentinels monitor (letters, digits, _.:-), e.g. "mymaster"');
  }
  return pass(value);
}

function redisUsername(value: unknown): LeafResult<string> {
  if (typeof value !== 'string' || !/^\S{1,256}$/.test(value)) return fail('a Redis ACL user name without spaces');
  return pass(value);
}

function redisPassword(value: unknown): LeafResult<string> {
  if (typeof value !== 'string' || value.length > 4096 || /[\r\n]/.test(value)) return fail('a Redis password (one line)');
  return pass(value);
}

function booleanFlag(value: unknown): LeafResult<boolean> {
  const text = typeof value === 'string' ? value.toLowerCase() : value;
  if (text === 'true' || text === '1' || text === 'yes') return pass(true);
  if (text === 'false' || text === '0' || text === 'no') return pass(false);
  return fail('true or false');
}

function filePath(value: unknown): LeafResult<string> {
  if (typeof value !== 'string' || value.length > 4096 || /[\0\r\n]/.test(value)) return fail('the path of a PEM file');
  return pass(value);
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

/** What the AWS region is resolved from (src/aws/region.ts), copied out of the environment. */
const REGION_INPUTS = ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'HOME'] as const;

function regionInputsOf(source: NodeJS.ProcessEnv): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const name of REGION_INPUTS) {
    const value = source[name];
    if (value !== undefined && value !== '') inputs[name] = value;
  }
  return inputs;
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
  if (typeof value !== 'string') return fail(`a random token; ${TOKEN_FIX}`);
  const problem = apiTokenProblem(value);
  return problem === undefined ? pass(value) : fail(problem);
}

/** Standard Webhooks: `whsec_` + base64 of a 24 to 64-byte key. */
function webhookSigningSecret(value: unknown): LeafResult<string> {
  const expected = 'a Standard Webhooks signing secret "whsec_<base64 of 24 to 64 random bytes>", e.g. from `openssl rand -base64 32`';
  if (typeof value !== 'string' || !/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(value)) return fail(expected);
  const bytes = Buffer.from(value.slice('whsec_'.length), 'base64').length;
  return bytes >= 24 && bytes <= 64 ? pass(value) : fail(`${expected} (this one decodes to ${bytes} bytes)`);
}

const envSchema = z.object({
  REDIS_URL: leaf(redisUrl).optional(),
  REDIS_CLUSTER_NODES: leaf(hostPortList('10.0.1.10:6379,10.0.2.10:6379')).optional(),
  REDIS_SENTINELS: leaf(hostPortList('10.0.1.10:26379,10.0.2.10:26379')).optional(),
  REDIS_SENTINEL_MASTER: leaf(sentinelMaster).optional(),
  REDIS_USERNAME: leaf(redisUsername).optional(),
  REDIS_PASSWORD: leaf(redisPassword).optional(),
  REDIS_TLS: leaf(booleanFlag).optional(),
  REDIS_TLS_CA_FILE: leaf(filePath).optional(),
  SENDMUX_API_URL: leaf(httpUrl('an http:// or https:// base URL like "https://app.sendmux.ai/api/v1"')).default(ENV_DEFAULTS.SENDMUX_API_URL),
  SENDMUX_API_KEY: leaf(sendmuxApiKey).optional(),
  SENDMUX_API_KEY_SECRET_ID: leaf(secretId).optional(),
  AWS_REGION: leaf(awsRegion).optional(),
  AWS_ENDPOINT_URL_SECRETS_MANAGER: leaf(httpUrl('an http:// or https:// endpoint URL like "http://127.0.0.1:4566"')).optional(),
  AWS_ENDPOINT_URL: leaf(httpUrl('an http:// or https:// endpoint URL like "https://vpce-….secretsmanager.eu-west-1.vpce.amazonaws.com"')).optional(),
  ROTATOR_ALLOW_PLAINTEXT_UPSTREAMS: leaf(booleanFlag).optional(),
  ROTATOR_QUEUE_PREFIX: leaf(queuePrefix).default(ENV_DEFAULTS.ROTATOR_QUEUE_PREFIX),
  LOG_LEVEL: leaf(logLevel).default(ENV_DEFAULTS.LOG_LEVEL),
  LOG_FORMAT: leaf(logFormat).optional(),
  PORT: leaf(port).default(ENV_DEFAULTS.PORT),
  HOST: leaf(host).default(ENV_DEFAULTS.HOST),
  ROTATOR_API_TOKEN: leaf(apiToken).optional(),
  NOTIFY_WEBHOOK_SECRET: leaf(webhookSigningSecret).optional(),
  NOTIFY_WEBHOOK_SECRET_PREVIOUS: leaf(webhookSigningSecret).optional(),
  ALERT_WEBHOOK_SECRET: leaf(webhookSigningSecret).optional(),
  ALERT_WEBHOOK_SECRET_PREVIOUS: leaf(webhookSigningSecret).optional(),
});

type EnvName = keyof z.input<typeof envSchema>;
const ENV_NAMES = Object.keys(envSchema.shape) as EnvName[];

/** How a bad value of each variable may be shown. Unlisted variables hold nothing secret. */
const MASKS: Partial<Record<EnvName, (value: string) => string>> = {
  SENDMUX_API_KEY: maskApiKey,
  ROTATOR_API_TOKEN: (value) => `${maskToken()} (${value.length} characters)`,
  NOTIFY_WEBHOOK_SECRET: (value) => `${maskToken()} (${value.length} characters)`,
  NOTIFY_WEBHOOK_SECRET_PREVIOUS: (value) => `${maskToken()} (${value.length} characters)`,
  ALERT_WEBHOOK_SECRET: (value) => `${maskToken()} (${value.length} characters)`,
  ALERT_WEBHOOK_SECRET_PREVIOUS: (value) => `${maskToken()} (${value.length} characters)`,
  REDIS_URL: maskUrlCredentials,
  REDIS_PASSWORD: (value) => `${maskToken()} (${value.length} characters)`,
  SENDMUX_API_URL: maskUrlCredentials,
  AWS_ENDPOINT_URL_SECRETS_MANAGER: maskUrlCredentials,
  AWS_ENDPOINT_URL: maskUrlCredentials,
};

function maskEnvValue(path: ReadonlyArray<string | number>, value: unknown): unknown {
  const mask = MASKS[path[0] as EnvName];
  return mask !== undefined && typeof value === 'string' ? mask(value) : value;
}

export type EnvParseResult = { ok: true; env: RotatorEnv } | { ok: false; problems: ConfigProblem[] };

/** Reads a file as UTF-8 text; injectable so tests can stand in for the file system. */
export type ReadTextFile = (path: string) => string;

/** Validates the rotator's environment variables; an empty variable counts as unset. */
export function parseEnv(source: NodeJS.ProcessEnv, configPath: string, readTextFile: ReadTextFile = (p) => readFileSync(p, 'utf8')): EnvParseResult {
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

  for (const current of ['NOTIFY_WEBHOOK_SECRET', 'ALERT_WEBHOOK_SECRET'] as const) {
    const previous = `${current}_PREVIOUS` as const;
    if (input[previous] === undefined) continue;
    if (input[current] === undefined) {
      problems.push({ field: previous, value: undefined, expected: `to be set only together with ${current} (the new secret); ${previous} holds the one being replaced`, source: 'env' });
    } else if (input[current] === input[previous]) {
      problems.push({ field: previous, value: undefined, expected: `the secret being replaced, different from ${current} (unset it once every receiver has the new one)`, source: 'env' });
    }
  }

  if (parsed.success && parsed.data.ROTATOR_ALLOW_PLAINTEXT_UPSTREAMS !== true) {
    for (const name of PLAINTEXT_CHECKED) {
      const value = parsed.data[name];
      if (value !== undefined && isPlaintextRemote(value)) {
        problems.push(
          problem(
            name,
            value,
            `an https:// URL: ${name} is http:// on a host that is not loopback, so ${PLAINTEXT_CARGO[name]} would travel unencrypted; ` +
              'use https://, or set ROTATOR_ALLOW_PLAINTEXT_UPSTREAMS=true if the network path is protected some other way (only loopback hosts are allowed without it)',
          ),
        );
      }
    }
  }

  const redis = parsed.success ? redisTargetOf(parsed.data, input, problems, readTextFile) : undefined;

  if (problems.length > 0 || !parsed.success || redis === undefined) return { ok: false, problems };
  const env = parsed.data;
  return {
    ok: true,
    env: {
      redis,
      sendmuxApiUrl: env.SENDMUX_API_URL,
      ...(env.SENDMUX_API_KEY === undefined ? {} : { sendmuxApiKey: env.SENDMUX_API_KEY }),
      ...(env.SENDMUX_API_KEY_SECRET_ID === undefined ? {} : { sendmuxApiKeySecretId: env.SENDMUX_API_KEY_SECRET_ID }),
      ...(env.AWS_REGION === undefined ? {} : { awsRegion: env.AWS_REGION }),
      awsRegionInputs: regionInputsOf(source),
      ...(env.AWS_ENDPOINT_URL_SECRETS_MANAGER === undefined ? {} : { awsSecretsManagerEndpoint: env.AWS_ENDPOINT_URL_SECRETS_MANAGER }),
      queuePrefix: env.ROTATOR_QUEUE_PREFIX,
      logLevel: env.LOG_LEVEL,
      ...(env.LOG_FORMAT === undefined ? {} : { logFormat: env.LOG_FORMAT }),
      port: env.PORT,
      host: env.HOST,
      ...(env.ROTATOR_API_TOKEN === undefined ? {} : { apiToken: env.ROTATOR_API_TOKEN }),
      ...(env.NOTIFY_WEBHOOK_SECRET === undefined ? {} : { notifyWebhookSecret: env.NOTIFY_WEBHOOK_SECRET }),
      ...(env.NOTIFY_WEBHOOK_SECRET_PREVIOUS === undefined ? {} : { notifyWebhookSecretPrevious: env.NOTIFY_WEBHOOK_SECRET_PREVIOUS }),
      ...(env.ALERT_WEBHOOK_SECRET === undefined ? {} : { alertWebhookSecret: env.ALERT_WEBHOOK_SECRET }),
      ...(env.ALERT_WEBHOOK_SECRET_PREVIOUS === undefined ? {} : { alertWebhookSecretPrevious: env.ALERT_WEBHOOK_SECRET_PREVIOUS }),
      configPath,
    },
  };
}

type ParsedEnv = z.output<typeof envSchema>;

/** Whether a Redis URL names a password in its query string (ioredis would read it; the rotator builds its own options and does not). */
function queryPassword(url: string): boolean {
  try {
    return [...new URL(url).searchParams.keys()].some((name) => /^(password|pass|pwd)$/i.test(name));
  } catch {
    return false;
  }
}

/** Upstreams that carry secrets: refused over plain HTTP off loopback unless ROTATOR_ALLOW_PLAINTEXT_UPSTREAMS=true. */
const PLAINTEXT_CHECKED = ['SENDMUX_API_URL', 'AWS_ENDPOINT_URL_SECRETS_MANAGER', 'AWS_ENDPOINT_URL'] as const;
const PLAINTEXT_CARGO: Record<(typeof PLAINTEXT_CHECKED)[number], string> = {
  SENDMUX_API_URL: 'the root management key and every minted mailbox key',
  AWS_ENDPOINT_URL_SECRETS_MANAGER: 'every stored secret',
  // The SDK uses it for Secrets Manager when the service-specific variable is unset.
  AWS_ENDPOINT_URL: 'every stored secret (the AWS SDK sends Secrets Manager there when AWS_ENDPOINT_URL_SECRETS_MANAGER is unset)',
};

/**
 * Whether `url` is http:// to a host other than loopback (127.0.0.0/8, ::1, localhost). A name
 * is judged as written, not resolved: only these literal forms count as this machine.
 */
export function isPlaintextRemote(url: string): boolean {
  const parsed = parseUrl(url);
  if (parsed === undefined || parsed.protocol !== 'http:') return false;
  return !isLoopbackHostName(parsed.hostname);
}

/** URL host names (IPv6 in brackets) that always mean this machine. */
export function isLoopbackHostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name === '[::1]' || name === '::1') return true;
  // WHATWG URL parsing already normalised 127.1, 0x7f.1 and friends to dotted quads.
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

const problem = (field: EnvName, value: unknown, expected: string): ConfigProblem => ({
  field,
  value: maskEnvValue([field], value),
  expected,
  source: 'env',
});

/**
 * Picks the one Redis mode the variables ask for and checks the variables that go with it.
 * Pushes a problem (and returns undefined) for conflicting or missing variables.
 */
function redisTargetOf(env: ParsedEnv, input: Partial<Record<EnvName, string>>, problems: ConfigProblem[], readTextFile: ReadTextFile): RedisTarget | undefined {
  const before = problems.length;
  const modes = (['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'] as const).filter((name) => env[name] !== undefined);
  if (modes.length > 1) {
    problems.push(
      problem(modes[1]!, input[modes[1]!], `to be unset when ${modes[0]} is set: set exactly one of REDIS_URL (single node), REDIS_CLUSTER_NODES (cluster) or REDIS_SENTINELS (sentinel)`),
    );
  }
  if (env.REDIS_SENTINELS !== undefined && env.REDIS_SENTINEL_MASTER === undefined) {
    problems.push(problem('REDIS_SENTINEL_MASTER', undefined, 'the master group name the sentinels monitor (needed with REDIS_SENTINELS), e.g. "mymaster"'));
  }
  if (env.REDIS_SENTINELS === undefined && env.REDIS_SENTINEL_MASTER !== undefined) {
    problems.push(problem('REDIS_SENTINEL_MASTER', env.REDIS_SENTINEL_MASTER, 'to be unset without REDIS_SENTINELS (set REDIS_SENTINELS too, or drop it)'));
  }
  if (env.REDIS_CLUSTER_NODES !== undefined && !/\{[^{}]+\}/.test(env.ROTATOR_QUEUE_PREFIX)) {
    problems.push(
      problem(
        'ROTATOR_QUEUE_PREFIX',
        env.ROTATOR_QUEUE_PREFIX,
        // BullMQ runs Lua scripts over several keys of a queue; on a cluster they must share one slot
        // (https://docs.bullmq.io/patterns/redis-cluster).
        `a prefix with a {hash tag} when REDIS_CLUSTER_NODES is set, e.g. "{${env.ROTATOR_QUEUE_PREFIX.replace(/[{}]/g, '')}}", so every queue key lands in one cluster slot (BullMQ needs it)`,
      ),
    );
  }

  if (env.REDIS_URL !== undefined && queryPassword(env.REDIS_URL)) {
    problems.push(problem('REDIS_URL', input.REDIS_URL,
      'a URL without a password in its query: the rotator does not read ?password=… (it would connect without one); put it in the userinfo (redis://:PASSWORD@host:6379/0) or in REDIS_PASSWORD'));
  }
  const urlTls = env.REDIS_URL?.startsWith('rediss:') ?? false;
  if (urlTls && env.REDIS_TLS === false) {
    problems.push(problem('REDIS_TLS', 'false', 'true or unset: REDIS_URL is rediss://, which always means TLS'));
  }
  let tlsCa: { file: string; pem: string } | undefined;
  if (env.REDIS_TLS_CA_FILE !== undefined) {
    if (env.REDIS_TLS === false) {
      problems.push(problem('REDIS_TLS', 'false', 'true or unset: REDIS_TLS_CA_FILE is set, which means TLS'));
    }
    try {
      const pem = readTextFile(env.REDIS_TLS_CA_FILE);
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
        problems.push(problem('REDIS_TLS_CA_FILE', env.REDIS_TLS_CA_FILE, 'a PEM file holding at least one "-----BEGIN CERTIFICATE-----" block (the CA that signed the Redis server certificate)'));
      } else tlsCa = { file: env.REDIS_TLS_CA_FILE, pem };
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      problems.push(problem('REDIS_TLS_CA_FILE', env.REDIS_TLS_CA_FILE, `a readable PEM file of the CA that signed the Redis server certificate (reading it failed: ${reason})`));
    }
  }
  if (problems.length > before) return undefined;

  const common = {
    ...(env.REDIS_USERNAME === undefined ? {} : { username: env.REDIS_USERNAME }),
    ...(env.REDIS_PASSWORD === undefined ? {} : { password: env.REDIS_PASSWORD }),
    tls: urlTls || env.REDIS_TLS === true || tlsCa !== undefined,
    ...(tlsCa === undefined ? {} : { tlsCa }),
  };
  if (env.REDIS_CLUSTER_NODES !== undefined) return { mode: 'cluster', variable: 'REDIS_CLUSTER_NODES', nodes: env.REDIS_CLUSTER_NODES, ...common };
  if (env.REDIS_SENTINELS !== undefined) {
    return { mode: 'sentinel', variable: 'REDIS_SENTINELS', sentinels: env.REDIS_SENTINELS, masterName: env.REDIS_SENTINEL_MASTER!, ...common };
  }
  return { mode: 'single', variable: 'REDIS_URL', url: env.REDIS_URL ?? ENV_DEFAULTS.REDIS_URL, ...common };
}
