/**
 * A Dockerfile read as text (no Docker engine here): its stages and instructions, and what its
 * ENV instructions set. Shared by the bench, which runs workers with the image's runtime settings,
 * and by test/deploy, which checks the Dockerfile.
 */

export interface DockerInstruction {
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
  line: number;
}

export interface DockerStage {
  /** `FROM <image> AS <name>`. */
  image: string;
  name: string | null;
  instructions: DockerInstruction[];
}

/** Splits a Dockerfile into stages of instructions (comments dropped, `\` continuations joined). */
export function parseDockerfile(text: string): DockerStage[] {
  const instructions: DockerInstruction[] = [];
  const lines = text.split('\n');
  let pending: { text: string; line: number } | null = null;
  lines.forEach((raw, index) => {
    const trimmed = raw.trim();
    if (pending === null && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (pending !== null && trimmed.startsWith('#')) return;
    const continued = trimmed.endsWith('\\');
    const piece = continued ? trimmed.slice(0, -1).trim() : trimmed;
    pending = pending === null ? { text: piece, line: index + 1 } : { text: `${pending.text} ${piece}`.trim(), line: pending.line };
    if (!continued) {
      const match = /^(\S+)\s*(.*)$/.exec(pending.text);
      if (!match) throw new Error(`Dockerfile line ${pending.line}: cannot read "${pending.text}"`);
      instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2] ?? '', line: pending.line });
      pending = null;
    }
  });
  if (pending !== null) throw new Error('Dockerfile ends with a line continuation');

  const stages: DockerStage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!match) throw new Error(`Dockerfile line ${instruction.line}: cannot read FROM ${instruction.args}`);
      stages.push({ image: match[1]!, name: match[2] ?? null, instructions: [] });
    } else {
      const stage = stages[stages.length - 1];
      if (!stage) throw new Error(`Dockerfile line ${instruction.line}: ${instruction.keyword} before the first FROM`);
      stage.instructions.push(instruction);
    }
  }
  return stages;
}

export function instructionsOf(stage: DockerStage, keyword: string): DockerInstruction[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword);
}

/**
 * The variables one ENV instruction sets: `NAME=value [NAME2="value 2" …]` (double or single
 * quotes, backslash escapes) or the legacy `NAME value` form. Throws on anything else, so a form
 * the reader does not know is never read as something it is not.
 */
export function envOf(instruction: DockerInstruction): Record<string, string> {
  const args = instruction.args.trim();
  const legacy = /^([A-Za-z_][A-Za-z0-9_]*)\s+([^=\s].*)$/.exec(args);
  if (legacy) return { [legacy[1]!]: legacy[2]!.trim() };
  const env: Record<string, string> = {};
  let rest = args;
  while (rest.length > 0) {
    const name = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(rest);
    if (!name) throw new Error(`Dockerfile line ${instruction.line}: cannot read ENV ${instruction.args}`);
    rest = rest.slice(name[0].length);
    let value = '';
    while (rest.length > 0 && !/^\s/.test(rest)) {
      const quote = rest[0];
      if (quote === '"' || quote === "'") {
        const close = quote === '"' ? /^"((?:[^"\\]|\\.)*)"/.exec(rest) : /^'([^']*)'/.exec(rest);
        if (!close) throw new Error(`Dockerfile line ${instruction.line}: unterminated quote in ENV ${instruction.args}`);
        value += quote === '"' ? close[1]!.replace(/\\(.)/g, '$1') : close[1]!;
        rest = rest.slice(close[0].length);
      } else if (rest[0] === '\\' && rest.length > 1) {
        value += rest[1];
        rest = rest.slice(2);
      } else {
        value += rest[0];
        rest = rest.slice(1);
      }
    }
    env[name[1]!] = value;
    rest = rest.trimStart();
  }
  return env;
}

/** What the stage's ENV instructions set, in order (a later instruction wins). */
export function envOfStage(stage: DockerStage): Record<string, string> {
  return Object.assign({}, ...instructionsOf(stage, 'ENV').map(envOf)) as Record<string, string>;
}
