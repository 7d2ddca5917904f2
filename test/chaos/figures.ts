import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { InvariantFigures } from './invariants';

/** What one scenario did and what the checker found afterwards. */
export interface ScenarioFigures {
  scenario: string;
  mailboxes: number;
  rounds: number;
  rotationsAttempted: number;
  rotationsCompleted: number;
  rotationsFailed: number;
  revocationsCompleted: number;
  faultsInjected: Record<string, number>;
  kills: number;
  secretsLost: number;
  plaintextLeaks: number;
  duplicateMints: number;
  orphanedLiveKeys: number;
  orphansRevokedAfterWindowExpiry: number;
  violations: number;
  durationMs: number;
}

export interface RunInfo {
  profile: string;
  seed: number;
  startedAt: string;
}

const COLUMNS: Array<[keyof ScenarioFigures | 'faults', string]> = [
  ['scenario', 'Scenario'],
  ['mailboxes', 'Mailboxes'],
  ['rotationsAttempted', 'Rotations attempted'],
  ['faults', 'Faults injected (by kind)'],
  ['kills', 'Kills'],
  ['rotationsCompleted', 'Rotations completed'],
  ['rotationsFailed', 'Failed cleanly'],
  ['secretsLost', 'Secrets lost'],
  ['plaintextLeaks', 'Plaintext leaks'],
  ['duplicateMints', 'Duplicate mints'],
  ['orphanedLiveKeys', 'Orphaned live keys'],
];

export function scenarioFigures(
  base: Pick<ScenarioFigures, 'scenario' | 'mailboxes' | 'rounds' | 'kills' | 'faultsInjected' | 'durationMs'> & {
    rotationsAttempted: number;
    rotationsCompleted: number;
    rotationsFailed: number;
    revocationsCompleted: number;
  },
  checked: InvariantFigures,
  violations: number,
): ScenarioFigures {
  return {
    ...base,
    secretsLost: checked.secretsLost,
    plaintextLeaks: checked.plaintextLeaks,
    duplicateMints: checked.duplicateMints,
    orphanedLiveKeys: checked.orphanedLiveKeys,
    orphansRevokedAfterWindowExpiry: checked.orphansRevokedAfterWindowExpiry,
    violations,
  };
}

/** Collects each scenario's figures and renders the table docs/operations.md quotes. */
export class FiguresBook {
  private readonly rows: ScenarioFigures[] = [];

  constructor(private readonly run: RunInfo) {}

  add(row: ScenarioFigures): void {
    this.rows.push(row);
  }

  get size(): number {
    return this.rows.length;
  }

  totals(): ScenarioFigures {
    const faults: Record<string, number> = {};
    for (const row of this.rows) for (const [kind, n] of Object.entries(row.faultsInjected)) faults[kind] = (faults[kind] ?? 0) + n;
    const sum = (field: keyof ScenarioFigures) => this.rows.reduce((total, row) => total + (row[field] as number), 0);
    return {
      scenario: 'Total',
      mailboxes: sum('mailboxes'),
      rounds: sum('rounds'),
      rotationsAttempted: sum('rotationsAttempted'),
      rotationsCompleted: sum('rotationsCompleted'),
      rotationsFailed: sum('rotationsFailed'),
      revocationsCompleted: sum('revocationsCompleted'),
      faultsInjected: faults,
      kills: sum('kills'),
      secretsLost: sum('secretsLost'),
      plaintextLeaks: sum('plaintextLeaks'),
      duplicateMints: sum('duplicateMints'),
      orphanedLiveKeys: sum('orphanedLiveKeys'),
      orphansRevokedAfterWindowExpiry: sum('orphansRevokedAfterWindowExpiry'),
      violations: sum('violations'),
      // Scenarios run side by side: the total is the wall-clock time of the whole run.
      durationMs: Date.now() - Date.parse(this.run.startedAt),
    };
  }

  markdown(): string {
    const cell = (row: ScenarioFigures, column: (typeof COLUMNS)[number][0]) =>
      column === 'faults' ? formatFaults(row.faultsInjected) : String(row[column]);
    const rows = [...this.rows, this.totals()];
    const lines = [
      `Chaos suite, profile \`${this.run.profile}\`, seed ${this.run.seed}, run ${this.run.startedAt}, ${Math.round(this.totals().durationMs / 1000)} s` +
        ` (replay: CHAOS_PROFILE=${this.run.profile} CHAOS_SEED=${this.run.seed} npm run test:chaos)`,
      '',
      `| ${COLUMNS.map(([, title]) => title).join(' | ')} |`,
      `| ${COLUMNS.map(([key]) => (key === 'scenario' || key === 'faults' ? '---' : '---:')).join(' | ')} |`,
      ...rows.map((row) => `| ${COLUMNS.map(([key]) => (row.scenario === 'Total' ? `**${cell(row, key)}**` : cell(row, key))).join(' | ')} |`),
    ];
    return `${lines.join('\n')}\n`;
  }

  json(): string {
    return `${JSON.stringify({ ...this.run, scenarios: this.rows, totals: this.totals() }, null, 2)}\n`;
  }

  /** Writes chaos-figures.json and chaos-figures.md (git-ignored) into `dir`. */
  write(dir: string): { json: string; markdown: string } {
    mkdirSync(dir, { recursive: true });
    const json = path.join(dir, 'chaos-figures.json');
    const markdown = path.join(dir, 'chaos-figures.md');
    writeFileSync(json, this.json());
    writeFileSync(markdown, this.markdown());
    return { json, markdown };
  }
}

function formatFaults(faults: Record<string, number>): string {
  const entries = Object.entries(faults).filter(([, n]) => n > 0);
  if (entries.length === 0) return '—';
  return entries
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
}
