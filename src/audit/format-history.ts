import type { AuditEntry } from './audit-log';

const COLUMNS = ['TIME', 'JOB', 'ATTEMPT', 'STEP', 'OUTCOME', 'KEY IDS', 'SECRET VERSION', 'REQUEST IDS', 'WHO'] as const;
const NONE = '-';

/**
 * A plain-text table of audit entries for `rotator history <mailboxId>`, oldest first as given.
 * A failure's or skip's message goes on an indented line under its row, where it stays readable
 * however long it is.
 */
export function formatHistory(entries: readonly AuditEntry[]): string {
  if (entries.length === 0) return 'No audit entries.';
  const rows = entries.map(rowOf);
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...rows.map((r) => r.cells[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();

  const out = [line(COLUMNS)];
  for (const row of rows) {
    out.push(line(row.cells));
    if (row.message) out.push(`    ↳ ${oneLine(row.message)}`);
  }
  return out.join('\n');
}

function rowOf({ event }: AuditEntry): { cells: string[]; message?: string } {
  if (event.kind === 'rotation') {
    const keyIds = event.previousKeyId || event.newKeyId ? `${event.previousKeyId ?? NONE} → ${event.newKeyId ?? NONE}` : NONE;
    const requestIds = Object.entries(event.requestIds ?? {})
      .filter((pair): pair is [string, string] => typeof pair[1] === 'string' && pair[1].length > 0)
      .map(([name, id]) => `${name}=${id}`)
      .join(' ');
    return {
      cells: [
        event.at,
        event.jobId,
        String(event.attempt),
        event.step,
        event.outcome,
        keyIds,
        event.secretVersionId ?? NONE,
        requestIds || NONE,
        event.requestedBy || NONE,
      ],
      message: event.message,
    };
  }
  return {
    cells: [
      event.at,
      event.jobId,
      String(event.attempt),
      'revoke',
      event.outcome,
      `revoke ${event.keyId}`,
      NONE,
      event.requestId ? `revoke=${event.requestId}` : NONE,
      // Revocations are scheduled by the rotation that superseded the key, not asked for by anyone.
      'rotator',
    ],
    message: event.message,
  };
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
