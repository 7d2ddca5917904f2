/** `value` when it is a whole number ≥ 1; else a RangeError naming the option: "<name> must be a positive integer (got <value>)". */
export function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer (got ${String(value)})`);
  return value;
}
