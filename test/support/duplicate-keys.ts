/**
 * Keys that occur more than once in one JSON object, at any depth, of the JSON text `text`, as
 * `path.key` strings (`$` is the root; array items are `[i]`). JSON.parse keeps the last value of
 * a repeated key silently, so this walks the text itself. Throws on text that is not JSON.
 */
export function duplicateKeys(text: string): string[] {
  let i = 0;
  const found: string[] = [];
  const fail = (what: string): never => {
    throw new Error(`not JSON at offset ${i} (${what}): ${text.slice(Math.max(0, i - 20), i + 20)}`);
  };
  const skipSpace = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const readString = (): string => {
    if (text[i] !== '"') fail('expected a string');
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('unterminated string');
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const readValue = (path: string): void => {
    skipSpace();
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      skipSpace();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        skipSpace();
        const key = readString();
        if (seen.has(key)) found.push(`${path}.${key}`);
        seen.add(key);
        skipSpace();
        if (text[i] !== ':') fail('expected :');
        i++;
        readValue(`${path}.${key}`);
        skipSpace();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      skipSpace();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (let index = 0; ; index++) {
        readValue(`${path}[${index}]`);
        skipSpace();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else fail('expected , or ]');
      }
    }
    if (c === '"') {
      readString();
      return;
    }
    const literal = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 40));
    if (!literal) fail('expected a value');
    i += literal![0].length;
  };
  readValue('$');
  skipSpace();
  if (i !== text.length) fail('trailing text');
  return found;
}
