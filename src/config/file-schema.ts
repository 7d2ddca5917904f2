import { publicBasePathProblem, trustedProxyProblem } from '../http/public-path';
import { validateDetailed } from 'node-cron';
import { parseCron } from '../scheduler/cron-occurrences';
import { z } from 'zod';
import { checkDuration, describeExpectedDuration, type DurationOptions } from './duration';
import { checkSecretNameTemplate, describeExpectedSecretNameTemplate, MAILBOX_ID_PATTERN } from './secret-name';
import type { RotatorFileConfig } from './types';
import { webhookUrlProblem } from './webhook-url-rules';
import { closedObject, isPlainObject, leaf, type LeafResult } from './zod-helpers';
import { errorText } from '../logging/error-summary';

const fail = (expected: string): LeafResult<never> => ({ ok: false, expected });
const pass = <T>(value: T): LeafResult<T> => ({ ok: true, value });

/** The Sendmux management key allows 600 requests a minute, shared by every replica. */
export const SENDMUX_MANAGEMENT_REQUESTS_PER_MINUTE = 600;
/** Room left in the 255-character `app_name` for the slot (cron tick time or request id). */
const APP_NAME_SLOT_BUDGET = 64;
const APP_NAME_MAX = 255;

export const FILE_DEFAULTS = {
  timezone: 'UTC',
  secretName: 'sendmux/mailboxes/{mailboxId}',
  revokePreviousAfter: '24h',
  minRotationInterval: '15m',
  reconcileInterval: '1h',
  rotation: {
    attempts: 8,
    backoffInitialDelay: '5s',
    backoffMaxDelay: '5m',
    concurrency: 16,
    onLimitExceeded: 'fail',
    appNamePrefix: 'rotator',
    lockDuration: '30s',
    stalledInterval: '30s',
    shutdownTimeout: '60s',
  },
  rateLimit: { max: 9, duration: '1s' },
  sendmux: { timeout: '10s' },
  retention: { completedAge: '7d', completedCount: 10000, failedAge: '30d' },
} as const;

// ---------------------------------------------------------------- leaves

function cronExpression(value: unknown): LeafResult<string> {
  const expected = 'a cron expression like "0 3 * * 1" (minute hour day-of-month month day-of-week, optional leading seconds)';
  if (typeof value !== 'string' || value.trim() === '') return fail(expected);
  const expression = value.trim();
  try {
    const result = validateDetailed(expression);
    if (!result.valid) {
      const reason = result.errors[0]?.message;
      return fail(reason === undefined ? expected : `${expected} — ${reason}`);
    }
  } catch {
    return fail(expected);
  }
  // The scheduler computes occurrences with croner (see cron-occurrences): it must read it too.
  try {
    parseCron(expression);
    return pass(expression);
  } catch (err) {
    return fail(`${expected} — ${errorText(err)}`);
  }
}

/** Canonical zone names, checked first because constructing a DateTimeFormat is comparatively slow. */
const CANONICAL_TIME_ZONES: ReadonlySet<string> = new Set([...Intl.supportedValuesOf('timeZone'), 'UTC']);

export function isValidTimeZone(zone: string): boolean {
  if (CANONICAL_TIME_ZONES.has(zone)) return true;
  // Aliases such as "UTC" or "US/Eastern" are valid but not in the canonical list.
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function timeZone(value: unknown): LeafResult<string> {
  const expected = 'an IANA time zone like "UTC", "Europe/London" or "America/New_York"';
  if (typeof value !== 'string' || value.trim() === '' || !isValidTimeZone(value.trim())) return fail(expected);
  return pass(value.trim());
}

function duration(options: DurationOptions & { nullMeansNever?: boolean }) {
  return (value: unknown): LeafResult<number | null> => {
    if (value === null && options.nullMeansNever) return pass(null);
    const result = checkDuration(value, options);
    return result.ok ? pass(result.ms) : fail(result.expected);
  };
}

function finiteDuration(options: DurationOptions) {
  const check = duration({ ...options, allowNever: false });
  return (value: unknown): LeafResult<number> => {
    const result = check(value);
    return result.ok && result.value !== null ? pass(result.value) : fail(describeExpectedDuration(options));
  };
}

function wholeNumber(min: number, max: number) {
  return (value: unknown): LeafResult<number> => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      return fail(`a whole number from ${min} to ${max}`);
    }
    return pass(value);
  };
}

function mailboxId(value: unknown): LeafResult<string> {
  if (typeof value !== 'string' || !MAILBOX_ID_PATTERN.test(value)) {
    return fail('a mailbox id: 1-255 characters of A-Z, a-z, 0-9, _ or -');
  }
  return pass(value);
}

function secretNameTemplate(value: unknown): LeafResult<string> {
  if (typeof value !== 'string') return fail(describeExpectedSecretNameTemplate());
  const problem = checkSecretNameTemplate(value);
  return problem === null ? pass(value) : fail(problem);
}

function kmsKeyId(value: unknown): LeafResult<string> {
  if (typeof value !== 'string' || !/^[^\s]{1,2048}$/.test(value)) {
    return fail('a KMS key id, alias ("alias/…") or ARN, without spaces');
  }
  return pass(value);
}

function appNamePrefix(value: unknown): LeafResult<string> {
  const max = APP_NAME_MAX - 1 - APP_NAME_SLOT_BUDGET;
  if (typeof value !== 'string' || value.trim() === '' || value.length > max || /[\u0000-\u001f\u007f]/.test(value)) {
    return fail(`a name of 1-${max} printable characters (the mint app_name is "<prefix> <slot>", at most ${APP_NAME_MAX})`);
  }
  return pass(value);
}

function oneOf<T extends string>(options: readonly T[]) {
  return (value: unknown): LeafResult<T> =>
    typeof value === 'string' && (options as readonly string[]).includes(value)
      ? pass(value as T)
      : fail(`one of ${options.map((option) => JSON.stringify(option)).join(', ')}`);
}

function groupName(value: unknown): LeafResult<string> {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
    return fail('a group name: 1-64 characters of A-Z, a-z, 0-9, _ or -');
  }
  return pass(value);
}

function emailGlob(value: unknown): LeafResult<string> {
  const expected = 'an email pattern without spaces where * matches any characters and ? exactly one, e.g. "*@sales.example.com"';
  if (typeof value !== 'string' || !/^[^\s]{1,320}$/.test(value)) return fail(expected);
  // Shell-glob classes and alternatives ([13], {a,b}) are not supported by the matcher: they would
  // be taken literally and silently match nothing.
  if (/[[\]{}]/.test(value)) return fail(`${expected}; [ ] and { } are not supported (use several groups, or * and ?)`);
  return pass(value);
}

/** Shape rules only; private and metadata destinations are checked with the section's allowPrivateNetwork below. */
function webhookUrl(value: unknown): LeafResult<string> {
  if (typeof value !== 'string') return fail('an http:// or https:// URL');
  const problem = webhookUrlProblem(value, { allowPrivateNetwork: true });
  return problem === undefined ? pass(value) : fail(problem);
}

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
/** `env:NAME`: the value is read from that environment variable, so no credential sits in the file. */
export const ENV_REFERENCE = /^env:([A-Za-z_][A-Za-z0-9_]{0,127})$/;

const webhookHeadersField = z
  .record(z.unknown())
  .superRefine((headers, ctx) => {
    for (const [name, value] of Object.entries(headers)) {
      if (!HEADER_NAME.test(name)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [name], message: 'an HTTP header name (letters, digits, -)' });
      } else if (typeof value !== 'string' || !ENV_REFERENCE.test(value)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: [name],
          message: '"env:VARIABLE_NAME": header values are read from the environment, never written in the file',
        });
      }
    }
  })
  .transform((headers) => headers as Record<string, string>);

/** AWS tag rules: key 1-128, value 0-256 characters of letters, digits, spaces and `_.:/=+-@`. */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const MAX_TAGS = 50;

function tagKey(key: string): string | null {
  if (key.length < 1 || key.length > 128 || !TAG_TEXT.test(key)) {
    return 'a tag key of 1-128 letters, digits, spaces or _.:/=+-@';
  }
  if (key.toLowerCase().startsWith('aws:')) return 'a tag key not starting with "aws:" (reserved by AWS)';
  return null;
}

function tagValue(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 256 || !TAG_TEXT.test(value)) {
    return 'a tag value: a string of 0-256 letters, digits, spaces or _.:/=+-@ (quote numbers and booleans)';
  }
  return null;
}

// ---------------------------------------------------------------- composites

/** A list whose items are checked one by one, so each bad item is reported at its own index. */
function listOf<T>(item: (value: unknown) => LeafResult<T>, options: { describe: string; unique?: boolean }) {
  return z.unknown().transform((value, ctx): T[] => {
    if (!Array.isArray(value) || value.length === 0) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `a non-empty list of ${options.describe}`, fatal: true });
      return z.NEVER;
    }
    const items: T[] = [];
    const seen = new Set<unknown>();
    value.forEach((raw: unknown, index) => {
      const result = item(raw);
      if (!result.ok) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [index], message: result.expected, fatal: true });
      } else if (options.unique && seen.has(result.value)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [index], message: 'each entry once (this one is a duplicate)', fatal: true });
      } else {
        seen.add(result.value);
        items.push(result.value);
      }
    });
    return items;
  });
}

const mailboxIdList = listOf(mailboxId, { describe: 'mailbox ids', unique: true });

const mailboxesField = z.unknown().transform((value, ctx): 'all' | string[] => {
  if (value === 'all') return 'all';
  const parsed = mailboxIdList.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    const required = value === undefined ? ' (this key is required)' : '';
    const message = issue.path.length === 0 ? `"all" or ${issue.message}${required}` : issue.message;
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: issue.path, message, fatal: true });
  }
  return z.NEVER;
});

const tagsField = z.unknown().transform((value, ctx): Record<string, string> => {
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'a mapping of tag keys to string values', fatal: true });
    return z.NEVER;
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_TAGS) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `at most ${MAX_TAGS} tags (AWS limit)`, fatal: true });
  }
  const tags: Array<[string, string]> = [];
  for (const [key, tag] of entries) {
    const problem = tagKey(key) ?? tagValue(tag);
    if (problem !== null) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message: problem, fatal: true });
    else tags.push([key, tag as string]);
  }
  // fromEntries defines own properties, so a "__proto__" tag key stays an ordinary key.
  return Object.fromEntries(tags);
});

const groupSchema = closedObject({
  name: leaf(groupName),
  mailboxes: mailboxIdList.optional(),
  emailGlob: leaf(emailGlob).optional(),
  schedule: leaf(cronExpression),
  timezone: leaf(timeZone).optional(),
  revokePreviousAfter: leaf(duration({ allowNever: true })).optional(),
}).superRefine((group, ctx) => {
  if ((group.mailboxes === undefined) === (group.emailGlob === undefined)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'exactly one of "mailboxes" (a list of ids) or "emailGlob" in each group' });
  }
});

const groupsField = z
  .preprocess((value) => (value === null ? [] : value), z.array(groupSchema))
  .superRefine((groups, ctx) => {
    const names = new Map<string, number>();
    const owners = new Map<string, string>();
    groups.forEach((group, index) => {
      if (names.has(group.name)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [index, 'name'], message: `a unique group name ("${group.name}" is also group ${names.get(group.name)})` });
      } else {
        names.set(group.name, index);
      }
      for (const id of group.mailboxes ?? []) {
        const owner = owners.get(id);
        if (owner !== undefined) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: [index, 'mailboxes'],
            message: `each mailbox in at most one group ("${id}" is also in group "${owner}")`,
          });
        } else {
          owners.set(id, group.name);
        }
      }
    });
  });

const positive = { allowNever: false, positive: true } as const;

const rotationSection = closedObject(
  {
    attempts: leaf(wholeNumber(1, 100)).default(FILE_DEFAULTS.rotation.attempts),
    backoffInitialDelay: leaf(finiteDuration(positive)).default(FILE_DEFAULTS.rotation.backoffInitialDelay),
    backoffMaxDelay: leaf(finiteDuration(positive)).default(FILE_DEFAULTS.rotation.backoffMaxDelay),
    concurrency: leaf(wholeNumber(1, 1000)).default(FILE_DEFAULTS.rotation.concurrency),
    onLimitExceeded: leaf(oneOf(['fail', 'revoke-previous'] as const)).default(FILE_DEFAULTS.rotation.onLimitExceeded),
    appNamePrefix: leaf(appNamePrefix).default(FILE_DEFAULTS.rotation.appNamePrefix),
    lockDuration: leaf(finiteDuration(positive)).default(FILE_DEFAULTS.rotation.lockDuration),
    stalledInterval: leaf(finiteDuration(positive)).default(FILE_DEFAULTS.rotation.stalledInterval),
    shutdownTimeout: leaf(finiteDuration(positive)).default(FILE_DEFAULTS.rotation.shutdownTimeout),
  },
  { nullAsEmpty: true },
)
  .superRefine((rotation, ctx) => {
    if (rotation.backoffMaxDelay < rotation.backoffInitialDelay) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['backoffMaxDelay'], message: 'a duration at least as long as rotation.backoffInitialDelay' });
    }
  })
  .transform((rotation) => ({
    attempts: rotation.attempts,
    backoffInitialMs: rotation.backoffInitialDelay,
    backoffMaxMs: rotation.backoffMaxDelay,
    concurrency: rotation.concurrency,
    onLimitExceeded: rotation.onLimitExceeded,
    appNamePrefix: rotation.appNamePrefix,
    lockDurationMs: rotation.lockDuration,
    stalledIntervalMs: rotation.stalledInterval,
    shutdownTimeoutMs: rotation.shutdownTimeout,
  }));

const rateLimitSection = closedObject(
  {
    max: leaf(wholeNumber(1, 100_000)).default(FILE_DEFAULTS.rateLimit.max),
    duration: leaf(finiteDuration(positive)).default(FILE_DEFAULTS.rateLimit.duration),
  },
  { nullAsEmpty: true },
).transform((limit) => ({ max: limit.max, durationMs: limit.duration }));

/**
 * Jobs per minute the limiter allows. Above the management key's limit is valid (a test
 * sandbox may allow more) but production would hit 429s, so `config check` points it out.
 */
export function rateLimitPerMinute(limit: { max: number; durationMs: number }): number {
  return (limit.max * 60_000) / limit.durationMs;
}

const sendmuxSection = closedObject(
  { timeout: leaf(finiteDuration(positive)).default(FILE_DEFAULTS.sendmux.timeout) },
  { nullAsEmpty: true },
).transform((section) => ({ timeoutMs: section.timeout }));

const retentionSection = closedObject(
  {
    completedAge: leaf(finiteDuration(positive)).default(FILE_DEFAULTS.retention.completedAge),
    completedCount: leaf(wholeNumber(0, 1_000_000_000)).default(FILE_DEFAULTS.retention.completedCount),
    failedAge: leaf(finiteDuration(positive)).default(FILE_DEFAULTS.retention.failedAge),
  },
  { nullAsEmpty: true },
).transform((section) => ({
  completedAgeMs: section.completedAge,
  completedCount: section.completedCount,
  failedAgeMs: section.failedAge,
}));

const alertsSection = closedObject(
  {
    webhookUrl: leaf(webhookUrl).optional(),
    webhookHeaders: webhookHeadersField.default({}),
    allowPrivateNetwork: z.boolean({ message: 'true or false' }).default(false),
    /** The earlier name of allowPrivateNetwork, still read so existing files keep working. */
    allowPrivateTargets: z.boolean({ message: 'true or false (the earlier name of allowPrivateNetwork)' }).default(false),
  },
  { nullAsEmpty: true },
).superRefine((alerts, ctx) => {
  if (alerts.webhookUrl === undefined || alerts.allowPrivateNetwork || alerts.allowPrivateTargets) return;
  const problem = webhookUrlProblem(alerts.webhookUrl, { allowPrivateNetwork: false, section: 'alerts' });
  if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['webhookUrl'], message: problem });
});

function publicBasePath(value: unknown): LeafResult<string> {
  if (typeof value !== 'string') return fail('a path such as "/rotator" (the prefix a reverse proxy serves the rotator under)');
  const problem = publicBasePathProblem(value);
  return problem === undefined ? pass(value.endsWith('/') ? value.slice(0, -1) : value) : fail(problem);
}

function trustedProxy(value: unknown): LeafResult<string> {
  if (typeof value !== 'string') return fail('an IP address, a CIDR range such as "10.0.0.0/8", or "loopback"');
  const problem = trustedProxyProblem(value);
  return problem === undefined ? pass(value) : fail(problem);
}

const dashboardSection = closedObject(
  {
    readOnly: z.boolean({ message: 'true or false (false enables job actions in the dashboard: dangerous)' }).default(true),
    // The prefix a reverse proxy serves the dashboard and the mailbox page under (docs/runbook-faults.md).
    publicBasePath: leaf(publicBasePath).optional(),
    // Peers whose X-Forwarded-Prefix is believed; the header of anyone else is ignored.
    trustedProxies: z.array(leaf(trustedProxy)).max(100).optional(),
  },
  { nullAsEmpty: true },
);

// Consumer notifications follow the same URL rules as alerts (no credentials, https except loopback,
// no private or metadata destinations without allowPrivateNetwork); the body is signed, so no header option is needed.
const notifySection = closedObject(
  { webhookUrl: leaf(webhookUrl).optional(), allowPrivateNetwork: z.boolean({ message: 'true or false' }).default(false) },
  { nullAsEmpty: true },
).superRefine((notify, ctx) => {
  if (notify.webhookUrl === undefined || notify.allowPrivateNetwork) return;
  const problem = webhookUrlProblem(notify.webhookUrl, { allowPrivateNetwork: false, section: 'notify' });
  if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['webhookUrl'], message: problem });
});

/** Token names appear in logs, the audit and `requestedBy` (`api:<name>`): short and plain. */
export const API_TOKEN_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
/** The name ROTATOR_API_TOKEN goes by (role operator); not available to api.tokens entries. */
export const DEFAULT_API_TOKEN_NAME = 'default';
export const FILE_API_DEFAULTS = { failedAuth: { max: 10, window: '1m' } } as const;

const apiTokenEntry = closedObject({
  name: leaf((value): LeafResult<string> =>
    typeof value === 'string' && API_TOKEN_NAME.test(value) && value !== DEFAULT_API_TOKEN_NAME
      ? pass(value)
      : fail(`a token name of 1-64 lower-case letters, digits or _.- (not "${DEFAULT_API_TOKEN_NAME}", which is ROTATOR_API_TOKEN's), e.g. "grafana"`)),
  role: leaf(oneOf(['viewer', 'operator'] as const)),
  tokenEnv: leaf((value): LeafResult<string> =>
    typeof value === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(value)
      ? pass(value)
      : fail('the name of the environment variable holding the token, e.g. "ROTATOR_TOKEN_GRAFANA" (token values are never written in the file)')),
});

const apiSection = closedObject(
  {
    tokens: z.array(apiTokenEntry, { message: 'a list of { name, role, tokenEnv }' }).max(100, 'at most 100 tokens').default([]),
    failedAuth: closedObject(
      {
        max: leaf(wholeNumber(1, 10_000)).default(FILE_API_DEFAULTS.failedAuth.max),
        window: leaf(finiteDuration({ allowNever: false, positive: true })).default(FILE_API_DEFAULTS.failedAuth.window),
      },
      { nullAsEmpty: true },
    ).default({}),
  },
  { nullAsEmpty: true },
).superRefine((api, ctx) => {
  const names = new Set<string>();
  api.tokens.forEach((token, index) => {
    if (names.has(token.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['tokens', index, 'name'], message: `a name not used by another token ("${token.name}" is)` });
    names.add(token.name);
  });
});

export const fileConfigSchema = closedObject(
  {
    mailboxes: mailboxesField,
    schedule: leaf(cronExpression),
    timezone: leaf(timeZone).default(FILE_DEFAULTS.timezone),
    secretName: leaf(secretNameTemplate).default(FILE_DEFAULTS.secretName),
    revokePreviousAfter: leaf(duration({ allowNever: true })).default(FILE_DEFAULTS.revokePreviousAfter),
    minRotationInterval: leaf(finiteDuration({ allowNever: false })).default(FILE_DEFAULTS.minRotationInterval),
    maxKeyAge: leaf(duration({ allowNever: true, positive: true, nullMeansNever: true })).default(null),
    reconcileInterval: leaf(finiteDuration({ allowNever: false, positive: true })).default(FILE_DEFAULTS.reconcileInterval),
    kmsKeyId: leaf(kmsKeyId).optional(),
    tags: tagsField,
    groups: groupsField.default([]),
    rotation: rotationSection.default({}),
    rateLimit: rateLimitSection.default({}),
    sendmux: sendmuxSection.default({}),
    retention: retentionSection.default({}),
    alerts: alertsSection.default({}),
    notify: notifySection.default({}),
    dashboard: dashboardSection.default({}),
    api: apiSection.default({}),
  },
  { nullAsEmpty: true },
).transform(
  (raw): RotatorFileConfig => ({
    mailboxes: raw.mailboxes,
    schedule: raw.schedule,
    timezone: raw.timezone,
    secretName: raw.secretName,
    revokePreviousAfterMs: raw.revokePreviousAfter,
    minRotationIntervalMs: raw.minRotationInterval,
    maxKeyAgeMs: raw.maxKeyAge,
    reconcileIntervalMs: raw.reconcileInterval,
    ...(raw.kmsKeyId === undefined ? {} : { kmsKeyId: raw.kmsKeyId }),
    tags: raw.tags,
    groups: raw.groups.map((group) => ({
      name: group.name,
      ...(group.mailboxes === undefined ? {} : { mailboxes: group.mailboxes }),
      ...(group.emailGlob === undefined ? {} : { emailGlob: group.emailGlob }),
      schedule: group.schedule,
      ...(group.timezone === undefined ? {} : { timezone: group.timezone }),
      ...(group.revokePreviousAfter === undefined ? {} : { revokePreviousAfterMs: group.revokePreviousAfter }),
    })),
    rotation: raw.rotation,
    rateLimit: raw.rateLimit,
    sendmux: raw.sendmux,
    retention: raw.retention,
    alerts: {
      ...(raw.alerts.webhookUrl === undefined ? {} : { webhookUrl: raw.alerts.webhookUrl }),
      ...(Object.keys(raw.alerts.webhookHeaders).length === 0 ? {} : { webhookHeaders: raw.alerts.webhookHeaders }),
      ...(raw.alerts.allowPrivateNetwork || raw.alerts.allowPrivateTargets ? { allowPrivateNetwork: true } : {}),
    },
    dashboard: {
      readOnly: raw.dashboard.readOnly,
      ...(raw.dashboard.publicBasePath === undefined ? {} : { publicBasePath: raw.dashboard.publicBasePath }),
      ...(raw.dashboard.trustedProxies === undefined ? {} : { trustedProxies: raw.dashboard.trustedProxies }),
    },
    notify: {
      ...(raw.notify.webhookUrl === undefined ? {} : { webhookUrl: raw.notify.webhookUrl }),
      ...(raw.notify.allowPrivateNetwork ? { allowPrivateNetwork: true } : {}),
    },
    api: { tokens: raw.api.tokens, failedAuth: { max: raw.api.failedAuth.max, windowMs: raw.api.failedAuth.window } },
  }),
);

/** Which file fields hold secrets, so their bad values are masked in problem reports. */
export function isSecretFilePath(path: ReadonlyArray<string | number>): boolean {
  return (path[0] === 'alerts' || path[0] === 'notify') && path[1] === 'webhookUrl';
}
