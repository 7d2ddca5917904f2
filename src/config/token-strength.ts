/**
 * A conservative estimate of how guessable an API token is, from its text alone. The token is
 * judged as if each character were drawn at random from the smallest common alphabet that holds
 * every character it uses (digits 10, hex 16, lower-case alphanumerics 36, alphanumerics 62,
 * base64/base64url 64, printable ASCII 95): `length × log2(alphabet)` bits. A random token scores
 * what it is worth; a human-chosen one is over-estimated, so two more rules catch the usual weak
 * shapes: too few distinct characters (`aaaa…`, `abab…`) and a length under 16.
 */

export const MIN_API_TOKEN_BITS = 128;
export const MIN_API_TOKEN_CHARS = 16;
/** A random 16-character token over any alphabet above uses at least this many distinct characters. */
export const MIN_DISTINCT_TOKEN_CHARS = 8;
export const MAX_API_TOKEN_CHARS = 1024;

/** The command the refusals suggest: 32 random bytes as 64 hex characters (256 bits). */
export const TOKEN_FIX = 'generate one with `openssl rand -hex 32`';

const ALPHABETS: ReadonlyArray<readonly [RegExp, number]> = [
  [/^[0-9]+$/, 10],
  [/^[0-9a-f]+$/, 16],
  [/^[0-9A-F]+$/, 16],
  [/^[0-9a-z]+$/, 36],
  [/^[0-9A-Z]+$/, 36],
  [/^[0-9A-Za-z]+$/, 62],
  [/^[0-9A-Za-z+/=]+$/, 64],
  [/^[0-9A-Za-z_-]+$/, 64],
];

/** Estimated bits of `token` (see the module comment); 0 for an empty string. */
export function estimateTokenBits(token: string): number {
  if (token.length === 0) return 0;
  const alphabet = ALPHABETS.find(([pattern]) => pattern.test(token))?.[1] ?? 95;
  return token.length * Math.log2(alphabet);
}

/** Why `token` is not acceptable as an API token (a sentence naming the fix), or undefined when it is. */
export function apiTokenProblem(token: string): string | undefined {
  if (/\s/.test(token)) return `a token without spaces or line breaks; ${TOKEN_FIX}`;
  if (token.length < MIN_API_TOKEN_CHARS || token.length > MAX_API_TOKEN_CHARS) {
    return `a token of ${MIN_API_TOKEN_CHARS} to ${MAX_API_TOKEN_CHARS} characters (this one has ${token.length}); ${TOKEN_FIX}`;
  }
  const distinct = new Set(token).size;
  if (distinct < MIN_DISTINCT_TOKEN_CHARS) {
    return `a random token: this one repeats ${distinct} distinct character${distinct === 1 ? '' : 's'}, which is easy to guess; ${TOKEN_FIX}`;
  }
  const bits = Math.floor(estimateTokenBits(token));
  if (bits < MIN_API_TOKEN_BITS) {
    return `a token of at least ${MIN_API_TOKEN_BITS} bits of randomness (this one: about ${bits}, from its length and alphabet); ${TOKEN_FIX}`;
  }
  return undefined;
}
