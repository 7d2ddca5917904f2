import { invalidParameter } from './aws-error';

/**
 * Readers for the untyped JSON request body. Each one names the AWS field and the fix in its
 * error, the way the real service's InvalidParameterException messages do.
 */
export type RequestInput = Record<string, unknown>;

interface StringRule {
  min: number;
  max: number;
  pattern?: RegExp;
  patternHint?: string;
}

function checkString(field: string, value: unknown, rule: StringRule): string {
  if (typeof value !== 'string') {
    throw invalidParameter(`Invalid parameter ${field}: expected a string, got ${describeType(value)}.`);
  }
  if (value.length < rule.min || value.length > rule.max) {
    throw invalidParameter(
      `Invalid parameter ${field}: length must be between ${rule.min} and ${rule.max} characters, got ${value.length}.`,
    );
  }
  if (rule.pattern && !rule.pattern.test(value)) {
    throw invalidParameter(`Invalid parameter ${field}: ${rule.patternHint ?? `must match ${String(rule.pattern)}`}.`);
  }
  return value;
}

export function requiredString(input: RequestInput, field: string, rule: StringRule): string {
  const value = input[field];
  if (value === undefined || value === null) {
    throw invalidParameter(`Missing required parameter ${field}: add "${field}" to the request.`);
  }
  return checkString(field, value, rule);
}

export function optionalString(input: RequestInput, field: string, rule: StringRule): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  return checkString(field, value, rule);
}

export function optionalBoolean(input: RequestInput, field: string): boolean | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') {
    throw invalidParameter(`Invalid parameter ${field}: expected true or false, got ${describeType(value)}.`);
  }
  return value;
}

export function optionalInteger(
  input: RequestInput,
  field: string,
  range: { min: number; max: number },
): number | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
    throw invalidParameter(
      `Invalid parameter ${field}: expected an integer between ${range.min} and ${range.max}, got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}

export function optionalStringList(
  input: RequestInput,
  field: string,
  rule: { minItems: number; maxItems: number; item: StringRule },
): string[] | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    throw invalidParameter(`Invalid parameter ${field}: expected a list of strings, got ${describeType(value)}.`);
  }
  if (value.length < rule.minItems || value.length > rule.maxItems) {
    throw invalidParameter(
      `Invalid parameter ${field}: must contain between ${rule.minItems} and ${rule.maxItems} items, got ${value.length}.`,
    );
  }
  return value.map((item, index) => checkString(`${field}[${index}]`, item, rule.item));
}

export interface TagInput {
  Key: string;
  Value: string;
}

export function optionalTags(input: RequestInput, field: string): TagInput[] | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    throw invalidParameter(`Invalid parameter ${field}: expected a list of {"Key","Value"} objects.`);
  }
  if (value.length > 50) {
    throw invalidParameter(`Invalid parameter ${field}: a secret can have at most 50 tags, got ${value.length}.`);
  }
  return value.map((tag, index) => {
    if (typeof tag !== 'object' || tag === null || Array.isArray(tag)) {
      throw invalidParameter(`Invalid parameter ${field}[${index}]: expected an object with "Key" and "Value".`);
    }
    const record = tag as RequestInput;
    return {
      Key: requiredString(record, 'Key', { min: 1, max: 128 }),
      Value: optionalString(record, 'Value', { min: 0, max: 256 }) ?? '',
    };
  });
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}
