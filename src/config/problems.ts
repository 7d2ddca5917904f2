import { scrubSendmuxKeys } from './masking';

/** One thing wrong with the configuration, phrased for the operator who has to fix it. */
export interface ConfigProblem {
  /** Dot path in the YAML file (`groups[1].schedule`) or the environment variable's name. */
  field: string;
  /** What was found, already masked when the field is a secret. `undefined` = missing. */
  value: unknown;
  /** What would have been accepted, e.g. `a duration like "24h"`. */
  expected: string;
  source: 'file' | 'env';
}

/** Thrown when settings are invalid; carries every problem found, not only the first. */
export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  readonly configPath: string | undefined;

  constructor(problems: ConfigProblem[], configPath?: string) {
    super(`${describeProblemCount(problems.length, configPath)}\n${formatConfigProblems(problems)}`);
    this.name = 'ConfigError';
    this.problems = problems;
    this.configPath = configPath;
  }
}

export function describeProblemCount(count: number, configPath?: string): string {
  const noun = count === 1 ? 'problem' : 'problems';
  const where = configPath === undefined ? '' : ` (config file: ${configPath})`;
  return `Invalid rotator configuration: ${count} ${noun}${where}`;
}

/** One line per problem: `field: got <value> — expected <what>`. */
export function formatConfigProblems(problems: ConfigProblem[]): string {
  return problems
    .map((problem) => {
      const field = problem.source === 'env' ? `env ${problem.field}` : problem.field;
      return `  - ${field}: got ${renderValue(problem.value)} — expected ${problem.expected}`;
    })
    .join('\n');
}

const MAX_STRING_CHARS = 80;
const MAX_RENDERED_CHARS = 100;
const MAX_DEPTH = 3;
const MAX_ENTRIES = 10;

/**
 * A bounded, JSON-safe copy of a value for a problem report: strings truncated and scrubbed,
 * nesting and entry counts limited, cycles (YAML aliases can build them) cut.
 */
export function sanitizeProblemValue(value: unknown): unknown {
  return sanitize(value, 0, new Set());
}

function sanitize(value: unknown, depth: number, seen: Set<object>): unknown {
  if (typeof value === 'string') return truncate(scrubSendmuxKeys(value), MAX_STRING_CHARS);
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object') return `<${typeof value}>`;
  if (value instanceof Uint8Array) return `<binary, ${value.length} bytes>`;
  if (seen.has(value)) return '<circular>';
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? '[…]' : '{…}';
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      const items = value.slice(0, MAX_ENTRIES).map((item) => sanitize(item, depth + 1, seen));
      if (value.length > MAX_ENTRIES) items.push(`…${value.length - MAX_ENTRIES} more`);
      return items;
    }
    const entries = Object.entries(value);
    const copy: Record<string, unknown> = {};
    for (const [key, item] of entries.slice(0, MAX_ENTRIES)) {
      Object.defineProperty(copy, truncate(scrubSendmuxKeys(key), MAX_STRING_CHARS), {
        value: sanitize(item, depth + 1, seen),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    if (entries.length > MAX_ENTRIES) copy['…'] = `${entries.length - MAX_ENTRIES} more`;
    return copy;
  } finally {
    seen.delete(value);
  }
}

function renderValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  const text = typeof value === 'string' ? JSON.stringify(value) : safeJson(value);
  return truncate(text, MAX_RENDERED_CHARS);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(sanitizeProblemValue(value)) ?? String(value);
  } catch {
    return '<unprintable value>';
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
