/**
 * The known key an unknown key was most likely meant to be, or undefined when none is close.
 * Case, `_` and `-` are ignored first (`secret_name` → `secretName`), then a small edit
 * distance is allowed (`timezon` → `timezone`).
 */
export function closestKey(unknown: string, known: readonly string[]): string | undefined {
  const normalise = (key: string): string => key.toLowerCase().replace(/[_-]/g, '');
  const target = normalise(unknown);
  const sameWhenNormalised = known.find((key) => normalise(key) === target);
  if (sameWhenNormalised !== undefined) return sameWhenNormalised;

  let best: { key: string; distance: number } | undefined;
  for (const key of known) {
    const distance = editDistance(target, normalise(key));
    if (best === undefined || distance < best.distance) best = { key, distance };
  }
  if (best === undefined) return undefined;
  const tolerance = Math.max(2, Math.floor(target.length / 3));
  return best.distance <= tolerance ? best.key : undefined;
}

function editDistance(a: string, b: string): number {
  // Keys are short; long garbage is never "close" to anything, so skip the quadratic work.
  if (Math.abs(a.length - b.length) > 10 || a.length > 200) return Number.POSITIVE_INFINITY;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? Number.POSITIVE_INFINITY;
}
