import { z } from 'zod';
import { type ConfigProblem, sanitizeProblemValue } from './problems';
import { closestKey } from './suggest';

export type LeafResult<T> = { ok: true; value: T } | { ok: false; expected: string };

/**
 * A field validated by one function that turns the raw YAML/env value into its final form or
 * says what was expected. The issue is fatal so that cross-field checks higher up only ever
 * run on fully valid values.
 */
export function leaf<T>(check: (value: unknown) => LeafResult<T>) {
  return z.unknown().transform((value, ctx): T => {
    const result = check(value);
    if (result.ok) return result.value;
    // Defaults are applied before a leaf runs, so `undefined` here means a required key is missing.
    const message = value === undefined ? `${result.expected} (this key is required)` : result.expected;
    ctx.addIssue({ code: z.ZodIssueCode.custom, message, fatal: true });
    return z.NEVER;
  });
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/**
 * A strict object whose unknown keys are reported with a "did you mean" hint. Unknown keys are
 * reported from a preprocess step (not `.strict()`) so they appear together with the problems
 * of the known keys, and so the hint can be computed from this object's own key list.
 */
export function closedObject<Shape extends z.ZodRawShape>(shape: Shape, options: { nullAsEmpty?: boolean } = {}) {
  const known = Object.keys(shape);
  return z.preprocess((value, ctx) => {
    if (value === null && options.nullAsEmpty) return {};
    if (!isPlainObject(value)) return value;
    const kept: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (known.includes(key)) {
        kept[key] = item;
        continue;
      }
      const suggestion = closestKey(key, known);
      const message =
        suggestion === undefined
          ? `a known key (this one is unknown; known keys here: ${known.join(', ')})`
          : `a known key (this one is unknown) — did you mean "${suggestion}"?`;
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message });
    }
    return kept;
  }, z.object(shape));
}

/** Renders a zod path as `groups[1].schedule` / `tags["Cost Center"]`. */
export function formatPath(path: ReadonlyArray<string | number>): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment.length > 60 ? `${segment.slice(0, 59)}…` : segment)}]`;
  }
  return text === '' ? '(top level)' : text;
}

export function valueAt(root: unknown, path: ReadonlyArray<string | number>): unknown {
  let current: unknown = root;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

const TYPE_DESCRIPTIONS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping (key: value lines)',
  array: 'a list',
};

function describeIssue(issue: z.ZodIssue): string {
  switch (issue.code) {
    case z.ZodIssueCode.invalid_type: {
      const wanted = TYPE_DESCRIPTIONS[issue.expected] ?? issue.expected;
      return issue.received === 'undefined' ? `${wanted} (this key is required)` : wanted;
    }
    case z.ZodIssueCode.invalid_enum_value:
      return `one of ${issue.options.map((option) => JSON.stringify(option)).join(', ')}`;
    default:
      return issue.message;
  }
}

/**
 * Turns zod issues into problems. `mask` decides how a field's bad value may be shown; it is
 * applied before the value is stored, so a secret never reaches a ConfigProblem.
 */
export function issuesToProblems(
  issues: readonly z.ZodIssue[],
  input: unknown,
  source: ConfigProblem['source'],
  mask: (path: ReadonlyArray<string | number>, value: unknown) => unknown,
): ConfigProblem[] {
  return issues.map((issue) => {
    const raw = valueAt(input, issue.path);
    return {
      field: formatPath(issue.path),
      value: sanitizeProblemValue(mask(issue.path, raw)),
      expected: describeIssue(issue),
      source,
    };
  });
}
