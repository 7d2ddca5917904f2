import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { instructionsOf, parseDockerfile, type DockerInstruction, type DockerStage } from '../../bench/lib/dockerfile';

export { envOf, envOfStage, instructionsOf, parseDockerfile, type DockerInstruction, type DockerStage } from '../../bench/lib/dockerfile';

/**
 * Readers for the deployment files (Dockerfile, docker-compose.yml), so tests can check them
 * without a Docker engine. They follow the Dockerfile reference and the Compose specification for
 * the parts these files use, and fail loudly on anything else rather than guess.
 */

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const COMPOSE_PATH = path.join(REPO_ROOT, 'docker-compose.yml');
export const DOCKERFILE_PATH = path.join(REPO_ROOT, 'Dockerfile');

export function readRepoFile(relativePath: string): string {
  return readFileSync(path.join(REPO_ROOT, relativePath), 'utf8');
}

// ---------------------------------------------------------------- Dockerfile

/** The JSON array of an exec-form instruction (`CMD ["node", ...]`), or null for the shell form. */
export function execForm(args: string): string[] | null {
  if (!args.trim().startsWith('[')) return null;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === 'string')) {
    throw new Error(`not an exec-form array of strings: ${args}`);
  }
  return parsed as string[];
}

/** `HEALTHCHECK [--option=value ...] CMD <command>` → its options and exec-form command. */
export function parseHealthcheck(args: string): { options: Record<string, string>; command: string[] | null } {
  const options: Record<string, string> = {};
  let rest = args.trim();
  for (let match = /^--([a-z-]+)=(\S+)\s+/.exec(rest); match; match = /^--([a-z-]+)=(\S+)\s+/.exec(rest)) {
    options[match[1]!] = match[2]!;
    rest = rest.slice(match[0].length);
  }
  if (!rest.startsWith('CMD ')) return { options, command: null };
  return { options, command: execForm(rest.slice('CMD '.length)) };
}

// ---------------------------------------------------------------- docker-compose.yml

export type ComposeService = {
  image?: string;
  build?: { context?: string; dockerfile?: string; target?: string } | string;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: Array<string | Record<string, unknown>>;
  volumes?: Array<string | Record<string, unknown>>;
  healthcheck?: { test?: string[] | string; interval?: string; timeout?: string; retries?: number; start_period?: string; disable?: boolean };
  depends_on?: Record<string, { condition?: string }> | string[];
  deploy?: { replicas?: number };
  stop_grace_period?: string;
  [key: string]: unknown;
};

export interface ComposeFile {
  name?: string;
  version?: unknown;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

export function parseCompose(text: string): ComposeFile {
  const parsed = parseYaml(text, { merge: true }) as ComposeFile;
  if (!parsed || typeof parsed !== 'object' || !parsed.services) throw new Error('docker-compose.yml has no services');
  return parsed;
}

/**
 * Compose interpolation of one value with the variables of the shell running `docker compose`:
 * `$$` is a literal `$`; `${VAR}`, `$VAR`, `${VAR:-default}` (unset or empty) and `${VAR-default}`
 * (unset) are supported. Any other form throws, so a new form in the file gets a reader first.
 */
export function interpolate(value: string, shell: Record<string, string | undefined> = {}): string {
  return value.replace(/\$(\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (whole, _inner: string, braced: string | undefined, bare: string | undefined) => {
    if (whole === '$$') return '$';
    if (bare !== undefined) return shell[bare] ?? '';
    const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:-|-|:\?|\?)(.*))?$/s.exec(braced ?? '');
    if (!match) throw new Error(`unsupported Compose interpolation "${whole}"`);
    const [, name, operator, fallback] = match;
    const current = shell[name!];
    // `${VAR:?message}`: Compose refuses to run when VAR is unset or empty (`?`: unset only).
    if ((operator === ':?' && (current === undefined || current === '')) || (operator === '?' && current === undefined)) {
      throw new MissingComposeVariableError(name!, fallback ?? '');
    }
    if (operator === ':?' || operator === '?') return current!;
    if (operator === ':-') return current === undefined || current === '' ? fallback! : current;
    if (operator === '-') return current === undefined ? fallback! : current;
    return current ?? '';
  });
}

/** What `docker compose` reports for a `${VAR:?message}` whose variable the shell does not set. */
export class MissingComposeVariableError extends Error {
  constructor(
    readonly variable: string,
    readonly hint: string,
  ) {
    super(`required variable ${variable} is missing a value: ${hint}`);
    this.name = 'MissingComposeVariableError';
  }
}

/** A service's environment as Compose hands it to the container (map or list form, interpolated). */
export function serviceEnv(service: ComposeService, shell: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  const raw = service.environment ?? {};
  const entries: Array<[string, unknown]> = Array.isArray(raw)
    ? raw.map((item) => {
        const eq = item.indexOf('=');
        return eq < 0 ? [item, shell[item]] : [item.slice(0, eq), item.slice(eq + 1)];
      })
    : Object.entries(raw);
  for (const [name, value] of entries) {
    if (value === undefined || value === null) continue;
    env[name] = interpolate(String(value), shell);
  }
  return env;
}

export function commandOf(service: ComposeService): string[] {
  const command = service.command;
  if (!Array.isArray(command)) throw new Error('expected an exec-form (list) command');
  return command;
}

export interface PortMapping {
  hostIp: string | null;
  published: number;
  target: number;
}

/** Short syntax `[HOST_IP:]PUBLISHED:TARGET[/PROTOCOL]` with single ports (no ranges). */
export function parsePortMapping(spec: string): PortMapping {
  const match = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(spec);
  if (!match) throw new Error(`unsupported port mapping "${spec}"`);
  return { hostIp: match[1] ?? null, published: Number(match[2]), target: Number(match[3]) };
}

export interface BindMount {
  source: string;
  target: string;
  readOnly: boolean;
}

/** Short syntax `SOURCE:TARGET[:ro]` of a bind mount (a source starting with . or /). */
export function parseBindMount(spec: string): BindMount | null {
  const [source, target, mode] = spec.split(':');
  if (!source || !target || !(source.startsWith('.') || source.startsWith('/'))) return null;
  return { source, target, readOnly: mode === 'ro' };
}

/** Compose durations like "90s", "1m30s", "2m". */
export function composeDurationMs(text: string): number {
  const units: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text;
  while (rest.length > 0) {
    const match = /^(\d+(?:\.\d+)?)(us|ms|s|m|h)/.exec(rest);
    if (!match) throw new Error(`unsupported Compose duration "${text}"`);
    total += Number(match[1]) * units[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return total;
}

/**
 * The compose text with the commented split-roles example turned on: the lines between the
 * BEGIN/END markers lose their "# " so the example can be parsed like the rest of the file.
 */
export function uncommentSplitRolesExample(text: string): string {
  const lines = text.split('\n');
  const begin = lines.findIndex((line) => line.trim() === '# BEGIN split-roles example');
  const end = lines.findIndex((line) => line.trim() === '# END split-roles example');
  if (begin < 0 || end < begin) throw new Error('docker-compose.yml has no "# BEGIN/END split-roles example" block');
  const indent = lines[begin]!.slice(0, lines[begin]!.indexOf('#'));
  const block = lines.slice(begin + 1, end).map((line) => {
    if (line.trim() === '#') return '';
    if (!line.startsWith(`${indent}# `)) throw new Error(`line inside the example is not commented: "${line}"`);
    return indent + line.slice(indent.length + 2);
  });
  return [...lines.slice(0, begin), ...block, ...lines.slice(end + 1)].join('\n');
}
