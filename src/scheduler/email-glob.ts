/**
 * Whether `email` matches `glob`, where `*` matches any run of characters (also none) and `?`
 * exactly one; everything else is literal and the comparison ignores case.
 *
 * A linear two-pointer matcher rather than a RegExp: a glob such as "*a*a*a*a*b" compiled to
 * ".*a.*a.*a.*a.*b" backtracks polynomially on long input, and globs come from configuration.
 */
export function matchesEmailGlob(glob: string, email: string): boolean {
  const pattern = Array.from(glob.toLowerCase());
  const text = Array.from(email.toLowerCase());
  let p = 0;
  let t = 0;
  let star = -1;
  let resumeAt = 0;
  while (t < text.length) {
    const wanted = pattern[p];
    if (wanted !== undefined && wanted !== '*' && (wanted === '?' || wanted === text[t])) {
      p++;
      t++;
    } else if (wanted === '*') {
      star = p++;
      resumeAt = t;
    } else if (star !== -1) {
      // Let the last star swallow one more character and retry from there.
      p = star + 1;
      t = ++resumeAt;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
