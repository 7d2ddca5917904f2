import { startSendmuxSandbox, DEFAULT_SANDBOX_MANAGEMENT_KEY, type SendmuxSandbox } from '../../standins/sendmux';
import type { SandboxMailboxInput } from '../../standins/sendmux';
import { SendmuxClient } from '../../src/sendmux/client';
import type { RotationGroup } from '../../src/config';
import { resolveMailboxes } from '../../src/scheduler/resolve-mailboxes';
import { DEFAULT_SCHEDULE_NAME } from '../../src/scheduler/schedules';
import { LogCapture } from '../support/test-bed';

/** Mailbox resolution against the Sendmux sandbox on loopback (real HTTP, real client). */

function mailbox(id: string, email: string, status: SandboxMailboxInput['status'] = 'active'): SandboxMailboxInput {
  return { id, email, status };
}

function group(name: string, claim: { mailboxes: string[] } | { emailGlob: string }): RotationGroup {
  return { name, schedule: '0 4 * * *', ...claim };
}

describe('resolveMailboxes', () => {
  let sandbox: SendmuxSandbox;
  let sendmux: SendmuxClient;

  afterEach(async () => {
    await sandbox?.close();
  });

  async function startWith(mailboxes: SandboxMailboxInput[]): Promise<void> {
    sandbox = await startSendmuxSandbox({ mailboxes, rateLimit: null });
    sendmux = new SendmuxClient({ baseUrl: sandbox.url, managementKey: DEFAULT_SANDBOX_MANAGEMENT_KEY });
  }

  const listCalls = () => Object.values(sandbox.state.counters.requests['listMailboxes'] ?? {}).reduce((a, b) => a + b, 0);

  it('with `mailboxes: all`, follows GET /mailboxes across pages and keeps every active mailbox', async () => {
    const active = Array.from({ length: 230 }, (_, i) => mailbox(`mbx_page_${i}`, `user-${i}@example.test`));
    await startWith(active);
    const logs = new LogCapture();

    const resolution = await resolveMailboxes({ file: { mailboxes: 'all', groups: [] }, sendmux, logger: logs.logger });

    expect(listCalls()).toBe(3); // 100 + 100 + 30
    expect(resolution.mailboxes.map((m) => m.mailboxId).sort()).toEqual(active.map((m) => m.id).sort());
    expect(resolution.mailboxes.every((m) => m.schedule === DEFAULT_SCHEDULE_NAME && m.source === 'listed')).toBe(true);
    expect(resolution.skipped).toEqual([]);
  });

  it('skips a suspended mailbox and logs its id and status', async () => {
    await startWith([mailbox('mbx_ok', 'ok@example.test'), mailbox('mbx_paused', 'paused@example.test', 'suspended')]);
    const logs = new LogCapture();

    const resolution = await resolveMailboxes({ file: { mailboxes: 'all', groups: [] }, sendmux, logger: logs.logger });

    expect(resolution.mailboxes.map((m) => m.mailboxId)).toEqual(['mbx_ok']);
    expect(resolution.skipped).toEqual([{ mailboxId: 'mbx_paused', email: 'paused@example.test', reason: expect.stringContaining('suspended') }]);
    const line = logs.parsed().find((l) => l['mailboxId'] === 'mbx_paused');
    expect(line).toMatchObject({ status: 'suspended' });
    expect(String(line?.['msg'])).toContain('mbx_paused skipped: status is suspended');
  });

  it('lets a group claim mailboxes by id and another by a case-insensitive email glob; the default schedule gets the rest', async () => {
    await startWith([
      mailbox('mbx_vip', 'ceo@example.test'),
      mailbox('mbx_sales_1', 'Alice@Sales.Example.test'),
      mailbox('mbx_sales_2', 'bob@sales.example.test'),
      mailbox('mbx_desk_7', 'desk-7@example.test'),
      mailbox('mbx_desk_17', 'desk-17@example.test'),
    ]);
    const file = {
      mailboxes: 'all' as const,
      groups: [group('vip', { mailboxes: ['mbx_vip'] }), group('sales', { emailGlob: '*@SALES.example.test' }), group('desks', { emailGlob: 'desk-?@example.test' })],
    };

    const resolution = await resolveMailboxes({ file, sendmux, logger: new LogCapture().logger });

    const owner = Object.fromEntries(resolution.mailboxes.map((m) => [m.mailboxId, m.schedule]));
    expect(owner).toEqual({
      mbx_vip: 'vip',
      mbx_sales_1: 'sales',
      mbx_sales_2: 'sales',
      mbx_desk_7: 'desks',
      mbx_desk_17: DEFAULT_SCHEDULE_NAME,
    });
    expect(resolution.bySchedule.get('sales')?.map((m) => m.mailboxId).sort()).toEqual(['mbx_sales_1', 'mbx_sales_2']);
  });

  it('gives a mailbox two groups claim to the first group in the file, and logs that once per process', async () => {
    await startWith([mailbox('mbx_both', 'both@sales.example.test')]);
    const file = { mailboxes: 'all' as const, groups: [group('by-glob', { emailGlob: '*@sales.example.test' }), group('by-id', { mailboxes: ['mbx_both'] })] };
    const logs = new LogCapture();
    const reportedConflicts = new Set<string>();

    const first = await resolveMailboxes({ file, sendmux, logger: logs.logger, reportedConflicts });
    const second = await resolveMailboxes({ file, sendmux, logger: logs.logger, reportedConflicts });

    expect(first.mailboxes[0]?.schedule).toBe('by-glob');
    expect(second.conflicts).toEqual([{ mailboxId: 'mbx_both', winner: 'by-glob', others: ['by-id'] }]);
    const conflictLines = logs.parsed().filter((l) => String(l['msg']).includes('is claimed by groups'));
    expect(conflictLines).toHaveLength(1);
    expect(conflictLines[0]).toMatchObject({ mailboxId: 'mbx_both', group: 'by-glob', alsoClaimedBy: ['by-id'] });
  });

  it('uses a list of ids as given, without calling Sendmux, and includes ids only a group names', async () => {
    await startWith([mailbox('mbx_a', 'a@example.test')]);
    const file = { mailboxes: ['mbx_a', 'mbx_not_in_sendmux'], groups: [group('extra', { mailboxes: ['mbx_group_only'] })] };

    const resolution = await resolveMailboxes({ file, sendmux, logger: new LogCapture().logger });

    expect(listCalls()).toBe(0);
    expect(resolution.listed).toBe(false);
    expect(resolution.mailboxes).toEqual([
      { mailboxId: 'mbx_a', source: 'config', schedule: DEFAULT_SCHEDULE_NAME },
      { mailboxId: 'mbx_not_in_sendmux', source: 'config', schedule: DEFAULT_SCHEDULE_NAME },
      { mailboxId: 'mbx_group_only', source: 'config', schedule: 'extra' },
    ]);
  });

  it('reads emails for a list of ids when a group matches by email glob', async () => {
    await startWith([mailbox('mbx_a', 'a@sales.example.test'), mailbox('mbx_b', 'b@example.test')]);
    const file = { mailboxes: ['mbx_a', 'mbx_b'], groups: [group('sales', { emailGlob: '*@sales.example.test' })] };

    const resolution = await resolveMailboxes({ file, sendmux, logger: new LogCapture().logger });

    expect(resolution.mailboxes.map((m) => [m.mailboxId, m.schedule])).toEqual([
      ['mbx_a', 'sales'],
      ['mbx_b', DEFAULT_SCHEDULE_NAME],
    ]);
  });

  it('with `mailboxes: all`, skips an id a group lists that GET /mailboxes does not return, saying so', async () => {
    await startWith([mailbox('mbx_a', 'a@example.test')]);
    const logs = new LogCapture();
    const file = { mailboxes: 'all' as const, groups: [group('vip', { mailboxes: ['mbx_gone'] })] };

    const resolution = await resolveMailboxes({ file, sendmux, logger: logs.logger });

    expect(resolution.mailboxes.map((m) => m.mailboxId)).toEqual(['mbx_a']);
    expect(resolution.skipped).toEqual([{ mailboxId: 'mbx_gone', reason: expect.stringContaining('group "vip" lists it, but GET /mailboxes did not return it') }]);
    expect(logs.text()).toContain('mailbox mbx_gone skipped');
  });
});
