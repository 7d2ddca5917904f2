/**
 * Finds plaintext secrets in text (a Redis dump, log lines, process output) without printing them.
 *
 * Mailbox key secrets are `smx_mbx_` + 40 random alphanumerics. Any 16-character run of that
 * random part counts as a leak, so a truncated secret or one with its prefix cut off is caught
 * too, while the vendor's own hints (the first 4 and last 4 characters) are not.
 */
const WINDOW = 16;
const ALNUM_RUN = new RegExp(`[A-Za-z0-9]{${WINDOW},}`, 'g');

export interface SecretToFind {
  /** What a report may name instead of the secret (e.g. the key's public id). */
  label: string;
  secret: string;
}

export interface TextToScan {
  source: string;
  text: string;
}

export interface Leak {
  /** The label of the secret, never the secret. */
  label: string;
  source: string;
}

export class LeakScanner {
  private readonly windows = new Map<string, string>();
  private readonly literals: SecretToFind[] = [];

  constructor(secrets: readonly SecretToFind[]) {
    for (const { label, secret } of secrets) {
      const random = secret.replace(/^smx_mbx_/, '');
      if (random.length >= WINDOW && /^[A-Za-z0-9]+$/.test(random)) {
        for (let i = 0; i + WINDOW <= random.length; i += 1) this.windows.set(random.slice(i, i + WINDOW), label);
      } else {
        // Not a random token (e.g. a fixed management key): only its exact text is searched for.
        this.literals.push({ label, secret });
      }
    }
  }

  /** Every (secret, source) pair found, each once. */
  scan(texts: readonly TextToScan[]): Leak[] {
    const found = new Map<string, Leak>();
    const note = (label: string, source: string) => found.set(`${label}\u0000${source}`, { label, source });
    for (const { source, text } of texts) {
      for (const run of text.matchAll(ALNUM_RUN)) {
        const token = run[0];
        for (let i = 0; i + WINDOW <= token.length; i += 1) {
          const label = this.windows.get(token.slice(i, i + WINDOW));
          if (label !== undefined) note(label, source);
        }
      }
      for (const { label, secret } of this.literals) if (text.includes(secret)) note(label, source);
    }
    return [...found.values()];
  }
}
