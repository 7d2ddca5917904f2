import { readFileSync, rmSync, writeFileSync } from 'node:fs';

/** Where `rotator demo` writes the environment the CLI needs to reach it, relative to the cwd. */
export const DEFAULT_DEMO_ENV_FILE = '.rotator-demo.env';

/**
 * `KEY=value` lines in the dotenv format `node --env-file` reads; a value with spaces, `#` or
 * quotes is wrapped in a quote character it does not contain (Node's parser has no escapes).
 * Throws on a value with a line break or all three quote characters.
 */
export function formatEnvFile(header: readonly string[], variables: Readonly<Record<string, string>>): string {
  const lines = header.map((line) => `# ${line}`);
  for (const [name, value] of Object.entries(variables)) {
    if (/[\r\n]/.test(value)) throw new Error(`${name} holds a line break; it cannot be written to an env file`);
    lines.push(`${name}=${quoted(name, value)}`);
  }
  return `${lines.join('\n')}\n`;
}

function quoted(name: string, value: string): string {
  if (!/[\s#"'`\\]/.test(value)) return value;
  // Single quotes first: inside double quotes Node turns `\n` into a line break.
  const quote = ["'", '"', '`'].find((q) => !value.includes(q));
  if (quote === undefined) throw new Error(`${name} holds all three quote characters; it cannot be written to an env file`);
  return `${quote}${value}${quote}`;
}

/** A file this process wrote; remove() deletes it only while it still holds what was written. */
export interface WrittenEnvFile {
  path: string;
  remove(): void;
}

/** Writes `content` to `file` (mode 0600: it names endpoints and fake credentials, still nobody else's business). */
export function writeEnvFile(file: string, content: string): WrittenEnvFile {
  writeFileSync(file, content, { mode: 0o600 });
  return {
    path: file,
    remove() {
      try {
        if (readFileSync(file, 'utf8') === content) rmSync(file);
      } catch {
        // already gone, or replaced by another demo: leave it
      }
    },
  };
}
