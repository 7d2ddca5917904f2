/**
 * A strict parser for the Prometheus text exposition format (0.0.4): every line must be a
 * HELP/TYPE comment, a sample, or empty; anything else throws naming the line.
 */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromExposition {
  samples: PromSample[];
  types: Map<string, string>;
  help: Map<string, string>;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_NAME = '[a-zA-Z_][a-zA-Z0-9_]*';
const LABEL_VALUE = '"(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const SAMPLE_LINE = new RegExp(
  `^(${NAME})(?:\\{((?:${LABEL_NAME}=${LABEL_VALUE})(?:,${LABEL_NAME}=${LABEL_VALUE})*,?)?\\})? (\\S+)(?: (-?\\d+))?$`,
);
const LABEL_PAIR = new RegExp(`(${LABEL_NAME})=(${LABEL_VALUE})`, 'g');
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parsePrometheusText(text: string): PromExposition {
  const samples: PromSample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  text.split('\n').forEach((line, index) => {
    const where = `line ${index + 1} (${JSON.stringify(line.slice(0, 120))})`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const comment = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!comment) throw new Error(`${where}: a comment must be "# HELP <name> <text>" or "# TYPE <name> <type>"`);
      const [, kind, name, rest] = comment as unknown as [string, string, string, string];
      if (!new RegExp(`^${NAME}$`).test(name)) throw new Error(`${where}: bad metric name`);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type ${rest}`);
        if (types.has(name)) throw new Error(`${where}: second TYPE for ${name}`);
        types.set(name, rest);
      } else {
        help.set(name, rest);
      }
      return;
    }
    const match = SAMPLE_LINE.exec(line);
    if (!match) throw new Error(`${where}: not a valid sample line`);
    const [, name, labelText, rawValue] = match as unknown as [string, string, string | undefined, string];
    const labels: Record<string, string> = {};
    for (const pair of (labelText ?? '').matchAll(LABEL_PAIR)) {
      const labelName = pair[1]!;
      if (labelName in labels) throw new Error(`${where}: label ${labelName} twice`);
      labels[labelName] = JSON.parse(pair[2]!) as string;
    }
    samples.push({ name, labels, value: parseValue(rawValue, where) });
  });
  return { samples, types, help };
}

function parseValue(raw: string, where: string): number {
  // Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any letter case.
  if (/^nan$/i.test(raw)) return Number.NaN;
  if (/^\+?inf$/i.test(raw)) return Number.POSITIVE_INFINITY;
  if (/^-inf$/i.test(raw)) return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) throw new Error(`${where}: value ${raw} is not a number`);
  return Number(raw);
}

/** The value of the one sample with this name and exactly these labels (undefined when absent). */
export function sampleValue(exposition: PromExposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  const found = exposition.samples.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === wanted);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${wanted}`);
  return found[0]?.value;
}

export function samplesNamed(exposition: PromExposition, name: string): PromSample[] {
  return exposition.samples.filter((s) => s.name === name);
}
