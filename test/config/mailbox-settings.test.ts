import { parseSettings } from '../../src/config';
import { resolveMailboxSettings, settingsNeedEmail } from '../../src/config/mailbox-settings';
import { CONFIG_PATH, VALID_ENV } from './fixtures';

const fileOf = (yaml: string) => parseSettings(yaml, VALID_ENV, CONFIG_PATH).file;

const GROUPED = fileOf(`
mailboxes: [mbx_a, mbx_b, mbx_c]
schedule: "0 3 * * 1"
revokePreviousAfter: 24h
secretName: "team/{mailboxId}"
groups:
  - name: vip
    mailboxes: [mbx_a]
    schedule: "0 4 * * *"
    revokePreviousAfter: 2h
  - name: sales
    emailGlob: "*@sales.example.com"
    schedule: "0 5 * * *"
    revokePreviousAfter: never
`);

describe('the effective settings of one mailbox', () => {
  it("take the first claiming group's grace period and schedule, and the top level's secret name", () => {
    const resolved = resolveMailboxSettings(GROUPED, 'mbx_a');
    expect(resolved).toEqual({
      covered: true,
      settings: expect.objectContaining({ group: 'vip', revokePreviousAfterMs: 2 * 3_600_000, schedule: '0 4 * * *', secretName: 'team/mbx_a' }),
    });
  });

  it('take an email-glob group when the email matches, and the top level otherwise', () => {
    const sales = resolveMailboxSettings(GROUPED, 'mbx_b', 'ann@sales.example.com');
    expect(sales.covered && sales.settings).toMatchObject({ group: 'sales', revokePreviousAfterMs: null });
    const plain = resolveMailboxSettings(GROUPED, 'mbx_b', 'bob@example.com');
    expect(plain.covered && plain.settings).toMatchObject({ group: null, revokePreviousAfterMs: 24 * 3_600_000, schedule: '0 3 * * 1' });
  });

  it('say when the email is needed to tell the group', () => {
    expect(settingsNeedEmail(GROUPED, 'mbx_a')).toBe(false);
    expect(settingsNeedEmail(GROUPED, 'mbx_b')).toBe(true);
  });

  it('refuse a mailbox a list configuration does not name, and cover any valid id under "mailboxes: all"', () => {
    expect(resolveMailboxSettings(GROUPED, 'mbx_z')).toEqual({ covered: false, reason: expect.stringContaining('not covered by the configuration') });
    expect(resolveMailboxSettings(fileOf('mailboxes: all\nschedule: "0 3 * * 1"\n'), 'mbx_z').covered).toBe(true);
  });

  it('throw for an id that could address another secret', () => {
    expect(() => resolveMailboxSettings(GROUPED, '../mbx_a')).toThrow('Invalid mailbox id');
  });
});
