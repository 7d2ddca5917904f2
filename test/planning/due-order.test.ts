import { readFileSync } from 'node:fs';
import path from 'node:path';
import { byNextDueThenMailbox } from '../../src/planning/due-order';

describe('byNextDueThenMailbox (the order of rotator plan and rotator status)', () => {
  const sorted = (rows: Array<{ mailboxId: string; due: string | null }>) => [...rows].sort(byNextDueThenMailbox((r) => r.due)).map((r) => r.mailboxId);

  it('lists the soonest due first, ascending, whatever order the rows came in', () => {
    expect(sorted([
      { mailboxId: 'mbx_c', due: '2026-12-08T03:00:00.000Z' },
      { mailboxId: 'mbx_a', due: '2026-12-09T03:00:00.000Z' },
      { mailboxId: 'mbx_b', due: '2026-12-08T01:00:00.000Z' },
    ])).toEqual(['mbx_b', 'mbx_c', 'mbx_a']);
  });

  it('breaks a tie by mailbox id and puts a mailbox that is never due last', () => {
    expect(sorted([
      { mailboxId: 'mbx_z', due: null },
      { mailboxId: 'mbx_b', due: '2026-12-08T01:00:00.000Z' },
      { mailboxId: 'mbx_a', due: '2026-12-08T01:00:00.000Z' },
    ])).toEqual(['mbx_a', 'mbx_b', 'mbx_z']);
  });

  it.each(['src/planning/plan.ts', 'src/cli/status.ts'])('is the order %s lists mailboxes in', (file) => {
    expect(readFileSync(path.resolve(__dirname, '../..', file), 'utf8')).toMatch(/\.sort\(byNextDueThenMailbox\(/);
  });
});
