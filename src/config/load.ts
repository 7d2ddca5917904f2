import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { parseEnv } from './env';
import { DEFAULT_API_TOKEN_NAME, ENV_REFERENCE, fileConfigSchema, isSecretFilePath } from './file-schema';
import { apiTokenProblem, TOKEN_FIX } from './token-strength';
import { maskWebhookUrl } from './masking';
import { ConfigError, type ConfigProblem } from './problems';
import type { ApiTokenReference, NamedApiToken, RotatorSettings } from './types';
import { issuesToProblems } from './zod-helpers';

export const DEFAULT_CONFIG_PATH = 'config/rotator.yaml';
export const EXAMPLE_CONFIG_PATH = 'config/rotator.example.yaml';

export interface ResolvedConfigPath {
  path: string;
  /** Where the path came from, so a missing file can be blamed on the right setting. */
  origin: 'option' | 'env' | 'default';
}

/** `--config` beats `ROTATOR_CONFIG`, which beats `config/rotator.yaml`, then the example file. */
export function resolveConfigPath(opts: { env: NodeJS.ProcessEnv; configPath?: string; cwd?: string }): ResolvedConfigPath {
  const cwd = opts.cwd ?? process.cwd();
  if (opts.configPath !== undefined && opts.configPath !== '') return { path: path.resolve(cwd, opts.configPath), origin: 'option' };
  const fromEnv = opts.env.ROTATOR_CONFIG;
  if (fromEnv !== undefined && fromEnv !== '') return { path: path.resolve(cwd, fromEnv), origin: 'env' };
  const preferred = path.resolve(cwd, DEFAULT_CONFIG_PATH);
  return { path: existsSync(preferred) ? preferred : path.resolve(cwd, EXAMPLE_CONFIG_PATH), origin: 'default' };
}

/**
 * Reads the configuration file and the environment. Throws a ConfigError listing every
 * problem found in both, including an unreadable file.
 */
export function loadSettings(opts: { env: NodeJS.ProcessEnv; configPath?: string; cwd?: string; purpose?: SettingsPurpose }): RotatorSettings {
  const resolved = resolveConfigPath(opts);
  let text: string;
  try {
    text = readFileSync(resolved.path, 'utf8');
  } catch (error) {
    const reason = describeReadError(error);
    const problems: ConfigProblem[] = [
      {
        field: resolved.origin === 'env' ? 'ROTATOR_CONFIG' : 'config file',
        value: resolved.path,
        expected: `a readable YAML file (this one: ${reason}); set ROTATOR_CONFIG or pass --config <path>`,
        source: resolved.origin === 'env' ? 'env' : 'file',
      },
    ];
    const env = parseEnv(opts.env, resolved.path);
    if (!env.ok) problems.push(...env.problems);
    throw new ConfigError(problems, resolved.path);
  }
  return parseSettings(text, opts.env, resolved.path, opts.purpose);
}

/**
 * Who reads the settings: `service` (start, demo, config check — everything the running service
 * needs must be there) or `operator` (CLI commands that only act on the queue, Redis or the
 * vendors: an operator can pause the queue in an incident without the notification signing secret).
 */
export type SettingsPurpose = 'service' | 'operator';

/** Validates YAML text and an environment. Throws a ConfigError listing every problem. */
export function parseSettings(yamlText: string, env: NodeJS.ProcessEnv, configPath: string, purpose: SettingsPurpose = 'service'): RotatorSettings {
  const problems: ConfigProblem[] = [];

  const yaml = readYaml(yamlText);
  let file: RotatorSettings['file'] | undefined;
  if (yaml.ok) {
    const parsed = fileConfigSchema.safeParse(yaml.value);
    if (parsed.success) file = parsed.data;
    else problems.push(...issuesToProblems(parsed.error.issues, yaml.value, 'file', maskFileValue));
  } else {
    problems.push(...yaml.problems);
  }

  const parsedEnv = parseEnv(env, configPath);
  if (!parsedEnv.ok) problems.push(...parsedEnv.problems);
  if (purpose === 'service' && file?.notify.webhookUrl !== undefined && parsedEnv.ok && parsedEnv.env.notifyWebhookSecret === undefined) {
    problems.push({
      field: 'NOTIFY_WEBHOOK_SECRET',
      value: undefined,
      expected: 'a Standard Webhooks signing secret "whsec_<base64>", required because notify.webhookUrl is set (consumers verify each notification with it)',
      source: 'env',
    });
  }

  if (file?.alerts.webhookHeaders !== undefined) {
    const resolved = resolveEnvReferences(file.alerts.webhookHeaders, env, 'alerts.webhookHeaders');
    problems.push(...resolved.problems);
    file = { ...file, alerts: { ...file.alerts, webhookHeaders: resolved.values } };
  }

  const apiTokens = file?.api === undefined ? undefined : resolveApiTokens(file.api.tokens, env, parsedEnv.ok ? parsedEnv.env.apiToken : undefined);
  if (apiTokens) problems.push(...apiTokens.problems);

  if (problems.length > 0 || file === undefined || !parsedEnv.ok) throw new ConfigError(problems, configPath);
  const tokens = apiTokens?.tokens ?? [];
  return { file, env: tokens.length === 0 ? parsedEnv.env : { ...parsedEnv.env, apiTokens: tokens } };
}

/**
 * `api.tokens` → each token's value from its variable, checked like ROTATOR_API_TOKEN (length,
 * randomness). Two names sharing one value are refused: the audit could not tell who acted.
 */
function resolveApiTokens(
  references: readonly ApiTokenReference[],
  env: NodeJS.ProcessEnv,
  defaultToken: string | undefined,
): { tokens: NamedApiToken[]; problems: ConfigProblem[] } {
  const tokens: NamedApiToken[] = [];
  const problems: ConfigProblem[] = [];
  const owners = new Map<string, string>(defaultToken === undefined ? [] : [[defaultToken, `ROTATOR_API_TOKEN (token "${DEFAULT_API_TOKEN_NAME}")`]]);
  references.forEach((reference, index) => {
    const field = `api.tokens[${index}] (${reference.name})`;
    const value = env[reference.tokenEnv];
    const problem = (expected: string): ConfigProblem => ({
      field: reference.tokenEnv,
      value: value === undefined || value === '' ? undefined : `******** (${value.length} characters)`,
      expected: `${expected} — ${field} reads its token from it`,
      source: 'env',
    });
    if (value === undefined || value === '') {
      problems.push(problem(`the token of "${reference.name}"; ${TOKEN_FIX}`));
      return;
    }
    const weakness = apiTokenProblem(value);
    if (weakness !== undefined) {
      problems.push(problem(weakness));
      return;
    }
    const owner = owners.get(value);
    if (owner !== undefined) {
      problems.push(problem(`a token of its own: it is the same as ${owner}, so the audit could not tell them apart`));
      return;
    }
    owners.set(value, `${reference.tokenEnv} (token "${reference.name}")`);
    tokens.push({ name: reference.name, role: reference.role, token: value });
  });
  return { tokens, problems };
}

/** `{ Authorization: "env:ALERT_WEBHOOK_AUTH" }` → the variables' values; a missing or empty one is a problem. */
function resolveEnvReferences(
  references: Record<string, string>,
  env: NodeJS.ProcessEnv,
  field: string,
): { values: Record<string, string>; problems: ConfigProblem[] } {
  const values: Record<string, string> = {};
  const problems: ConfigProblem[] = [];
  for (const [name, reference] of Object.entries(references)) {
    const variable = ENV_REFERENCE.exec(reference)?.[1];
    const value = variable === undefined ? undefined : env[variable];
    if (variable !== undefined && value !== undefined && value !== '' && !/[\r\n]/.test(value)) {
      values[name] = value;
      continue;
    }
    problems.push({
      field: `${field}.${name}`,
      value: reference,
      expected: `the environment variable ${variable ?? '(named after env:)'} set to the header's value (one line)`,
      source: 'env',
    });
  }
  return { values, problems };
}

function describeReadError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'not found';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return code ?? 'unreadable';
}

function maskFileValue(fieldPath: ReadonlyArray<string | number>, value: unknown): unknown {
  if (!isSecretFilePath(fieldPath)) return value;
  return typeof value === 'string' ? maskWebhookUrl(value) : '…(masked)';
}

type YamlResult = { ok: true; value: unknown } | { ok: false; problems: ConfigProblem[] };

/**
 * Parses YAML, reporting syntax errors with their position. Only the parser's one-line reason
 * is kept, never its excerpt of the source, since a line of the file may hold a webhook URL.
 */
function readYaml(text: string): YamlResult {
  // logLevel 'error': a collection used as a key would otherwise print a process warning; it is
  // stringified and then reported as an unknown key like any other.
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true, logLevel: 'error' });
  if (document.errors.length > 0) {
    return {
      ok: false,
      problems: document.errors.map((error) => {
        const position = error.linePos?.[0];
        const where = position === undefined ? 'YAML' : `YAML line ${position.line}, column ${position.col}`;
        const reason = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
        return { field: where, value: reason, expected: 'valid YAML syntax', source: 'file' as const };
      }),
    };
  }
  try {
    return { ok: true, value: document.toJS({ maxAliasCount: 100 }) };
  } catch (error) {
    // e.g. too many aliases (a "billion laughs" document)
    const reason = error instanceof Error ? error.message.split('\n')[0] ?? '' : 'unreadable document';
    return { ok: false, problems: [{ field: 'YAML', value: reason, expected: 'a YAML document that expands to a reasonable size', source: 'file' }] };
  }
}
