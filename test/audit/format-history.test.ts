import { formatHistory } from '../../src/audit/format-history';
import type { AuditEntry } from '../../src/audit/audit-log';
import { failedRotationEvent, revocationEvent, rotationEvent } from './sample-events';

function entries(...events: AuditEntry['event'][]): AuditEntry[] {
  return events.map((event, i) => ({ id: `1764471600000-${i}`, event }));
}

describe('formatHistory', () => {
  it('prints a header and one aligned row per attempt, in the order given', () => {
    const table = formatHistory(
      entries(
        rotationEvent({ attempt: 1, step: 'verify', outcome: 'retrying', message: 'step verify: Sendmux answered 503' }),
        rotationEvent({ attempt: 2, requestedBy: 'cli:alice' }),
      ),
    );
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^TIME\s+JOB\s+ATTEMPT\s+STEP\s+OUTCOME\s+KEY IDS\s+SECRET VERSION\s+REQUEST IDS\s+WHO$/);
    const rows = lines.filter((l) => l.startsWith('2026-'));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/\s1\s+verify\s+retrying\s/);
    expect(rows[1]).toMatch(/\s2\s+done\s+rotated\s/);
    // Columns line up: every row's outcome starts where the header's does.
    const outcomeColumn = lines[0]!.indexOf('OUTCOME');
    expect(rows.map((r) => r.slice(outcomeColumn).split(/\s+/)[0])).toEqual(['retrying', 'rotated']);
  });

  it('shows the key ids, secret version, request ids and who asked', () => {
    const event = rotationEvent({ requestedBy: 'cli:alice' });
    const row = formatHistory(entries(event)).split('\n')[1]!;
    expect(row).toContain('smx_old_0001 → smx_new_0001');
    expect(row).toContain(event.secretVersionId);
    expect(row).toContain('mint=req_mint_1 verify=req_verify_1');
    expect(row).toContain(event.jobId);
    expect(row).toMatch(/cli:alice$/);
  });

  it('puts a failure message on its own indented line under the row, on one line', () => {
    const table = formatHistory(entries(failedRotationEvent({ message: 'step mint: Sendmux answered 422\nresume the mailbox' })));
    const lines = table.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/\smint\s+failed\s/);
    expect(lines[2]).toBe('    ↳ step mint: Sendmux answered 422 resume the mailbox');
  });

  it('shows a revocation with the revoked key and its request id', () => {
    const row = formatHistory(entries(revocationEvent())).split('\n')[1]!;
    expect(row).toMatch(/\srevoke\s+revoked\s+revoke smx_old_0001\s/);
    expect(row).toContain('revoke=req_revoke_1');
  });

  it('says so when there is no history', () => {
    expect(formatHistory([])).toBe('No audit entries.');
  });
});
