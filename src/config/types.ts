/** Settings read from the YAML file, after validation. Durations are already milliseconds. */
export interface RotatorFileConfig {
  /** `'all'` discovers every active mailbox; a list limits rotation to those ids. */
  mailboxes: 'all' | string[];
  /** Cron expression (5 or 6 fields) deciding when mailboxes are due. */
  schedule: string;
  /** IANA time zone the schedule is read in. */
  timezone: string;
  /** Secrets Manager name template; contains `{mailboxId}`. */
  secretName: string;
  /** Grace period before the previous key is revoked; `null` = never revoke. */
  revokePreviousAfterMs: number | null;
  /** A mailbox rotated more recently than this is skipped by scheduled runs. */
  minRotationIntervalMs: number;
  /** Rotate any key older than this even off-schedule; `null` = off. */
  maxKeyAgeMs: number | null;
  /**
   * How often a scheduler role rebuilds lost revocation work from Secrets Manager (the
   * reconciler, src/reconcile/); it also runs once at start-up.
   */
  reconcileIntervalMs: number;
  kmsKeyId?: string;
  /** Tags put on secrets the rotator creates. */
  tags: Record<string, string>;
  groups: RotationGroup[];
  rotation: RotationSettings;
  rateLimit: RateLimitSettings;
  sendmux: { timeoutMs: number };
  retention: RetentionSettings;
  alerts: AlertSettings;
  /** Bull Board: read-only unless `readOnly: false` (job actions: dangerous). Absent = read-only. */
  /**
   * publicBasePath: the prefix a reverse proxy serves the rotator under (e.g. `/rotator`);
   * trustedProxies: peers (IPs, CIDRs, `loopback`) whose X-Forwarded-Prefix is believed instead.
   */
  dashboard?: { readOnly: boolean; publicBasePath?: string; trustedProxies?: string[] };
  /** Consumer notifications (rotation.succeeded, key.revoked), signed per Standard Webhooks. */
  notify: {
    webhookUrl?: string;
    /** Allow private-network and cloud-metadata destinations for notify.webhookUrl. Default false. */
    allowPrivateNetwork?: boolean;
  };
  /** Named API tokens (values read from the environment) and the failed-authentication limit. Absent = defaults. */
  api?: ApiSettings;
}

/**
 * What a token may do. `viewer`: safe methods (GET, HEAD) only — reads, the dashboard, the
 * mailbox page, /metrics. `operator`: everything, including rotate, pause, resume, retry and revoke.
 */
export type ApiRole = 'viewer' | 'operator';
export const API_ROLES: readonly ApiRole[] = ['viewer', 'operator'];

/** One `api.tokens` entry as written in the file: the token's value is in the variable `tokenEnv`. */
export interface ApiTokenReference {
  name: string;
  role: ApiRole;
  tokenEnv: string;
}

/** A named token with its value, after loadSettings (a secret: masked by `config check`, never logged). */
export interface NamedApiToken {
  name: string;
  role: ApiRole;
  token: string;
}

export interface ApiSettings {
  tokens: ApiTokenReference[];
  /** Wrong or missing credentials allowed per client address per window, shared by every replica through Redis. */
  failedAuth: { max: number; windowMs: number };
}

export interface AlertSettings {
  webhookUrl?: string;
  /**
   * Extra request headers for the webhook. In the file each value is `env:VARIABLE`; after
   * loadSettings, the variable's value (a credential: never logged, masked by `config check`).
   */
  webhookHeaders?: Record<string, string>;
  /**
   * Allow private-network and cloud-metadata webhook destinations (`alerts.allowPrivateNetwork`,
   * or its earlier name `alerts.allowPrivateTargets`). Default false.
   */
  allowPrivateNetwork?: boolean;
}

/** A subset of mailboxes with its own schedule. Exactly one of `mailboxes` / `emailGlob` is set. */
export interface RotationGroup {
  name: string;
  mailboxes?: string[];
  emailGlob?: string;
  schedule: string;
  timezone?: string;
  revokePreviousAfterMs?: number | null;
}

export interface RotationSettings {
  attempts: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Jobs processed at once, per worker process. */
  concurrency: number;
  onLimitExceeded: 'fail' | 'revoke-previous';
  /** Mint `app_name` is `${appNamePrefix} ${slot}`. */
  appNamePrefix: string;
  /**
   * How long a worker's claim on a job lasts without renewal. A worker that dies leaves its job to
   * be taken over after this; shorter = faster recovery, longer = tolerates event-loop stalls.
   */
  lockDurationMs: number;
  /** How often workers look for jobs whose worker died (stalled jobs). */
  stalledIntervalMs: number;
  /** On SIGTERM, how long to wait for jobs in progress before handing them back to the queue. */
  shutdownTimeoutMs: number;
}

/** BullMQ queue limiter: at most `max` jobs per `durationMs`, shared by every replica through Redis. */
export interface RateLimitSettings {
  max: number;
  durationMs: number;
}

export interface RetentionSettings {
  completedAgeMs: number;
  completedCount: number;
  failedAgeMs: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** `json`: one JSON object a line (machines); `pretty`: pino-pretty's human-readable lines. */
export type LogFormat = 'json' | 'pretty';

/** Settings read from environment variables (secrets and deployment specifics). */
/** A Redis (or Sentinel) host and port from REDIS_CLUSTER_NODES / REDIS_SENTINELS. */
export interface RedisHostPort {
  host: string;
  port: number;
}

/** What every mode shares: credentials (override a URL's) and TLS. */
export interface RedisCommonSettings {
  username?: string;
  password?: string;
  /** TLS on (REDIS_TLS=true, or a rediss:// URL). */
  tls: boolean;
  /** REDIS_TLS_CA_FILE: path and PEM text of a private CA to trust (read when the settings load). */
  tlsCa?: { file: string; pem: string };
}

/**
 * How to reach Redis: exactly one mode, chosen by which variable is set.
 * `variable` is the environment variable that chose the mode, for error messages.
 */
export type RedisTarget =
  | (RedisCommonSettings & { mode: 'single'; variable: 'REDIS_URL'; url: string })
  | (RedisCommonSettings & { mode: 'cluster'; variable: 'REDIS_CLUSTER_NODES'; nodes: RedisHostPort[] })
  | (RedisCommonSettings & { mode: 'sentinel'; variable: 'REDIS_SENTINELS'; sentinels: RedisHostPort[]; masterName: string });

export interface RotatorEnv {
  redis: RedisTarget;
  sendmuxApiUrl: string;
  sendmuxApiKey?: string;
  sendmuxApiKeySecretId?: string;
  awsRegion?: string;
  /**
   * The variables the AWS region is resolved from (AWS_REGION, AWS_DEFAULT_REGION, AWS_PROFILE,
   * AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, HOME), as given: `resolveAwsRegion`
   * (src/aws/region.ts) reads them, never process.env. Absent: only `awsRegion`.
   */
  awsRegionInputs?: Readonly<Record<string, string | undefined>>;
  awsSecretsManagerEndpoint?: string;
  queuePrefix: string;
  logLevel: LogLevel;
  /** Unset: JSON for `start`; the demo picks pretty in an interactive terminal. */
  logFormat?: LogFormat;
  port: number;
  host: string;
  apiToken?: string;
  /** The file's `api.tokens`, each resolved from its variable (loadSettings); absent when there are none. */
  apiTokens?: NamedApiToken[];
  /** Standard Webhooks signing secret (`whsec_…`) for notify.webhookUrl. */
  notifyWebhookSecret?: string;
  /** The notify secret being replaced: notifications are signed with both while it is set. */
  notifyWebhookSecretPrevious?: string;
  /** Standard Webhooks signing secret (`whsec_…`) for alerts.webhookUrl; unset: alerts go unsigned. */
  alertWebhookSecret?: string;
  /** The alert secret being replaced: alerts are signed with both while it is set. */
  alertWebhookSecretPrevious?: string;
  /** Absolute path of the YAML file these settings were read from. */
  configPath: string;
}

export interface RotatorSettings {
  file: RotatorFileConfig;
  env: RotatorEnv;
}
