import pino from 'pino';
import { AuditLog } from '../../src/audit/audit-log';
import { AlertNotifier } from '../../src/alerts/alert-notifier';
import { collectStatus } from '../../src/cli/status';
import { collectMailboxOverview, type MailboxOverview } from '../../src/overview/mailbox-overview';
import { renderMailboxOverviewPage } from '../../src/http/mailbox-overview-page';
import { waitFor } from '../support/test-bed';
import { TEST_API_TOKEN, basic, bearer, postJson, startHarness, waitForJobState, type HttpHarness } from './support/http-harness';

/**
 * /admin/mailboxes: the per-mailbox view an operator asks for first, from the same model as
 * `rotator status`, behind the dashboard's credentials.
 */
describe('the mailbox overview page', () => {
  let harness: HttpHarness;
  const credentials = basic('operator', TEST_API_TOKEN);
  const newKeys: Record<string, string> = {};
  let firstKeyOf1: string;
  let revocationJobId: string;
  let failedJobId: string;

  async function rotate(mailboxId: string, expected: 'completed' | 'failed'): Promise<any> {
    const response = await postJson(`${harness.url}/rotations`, { mailboxIds: [mailboxId], force: true });
    const jobId = ((await response.json()) as { rotations: Array<{ jobId: string }> }).rotations[0]!.jobId;
    return waitForJobState(harness, jobId, expected);
  }

  async function page(query = ''): Promise<{ status: number; type: string | null; html: string }> {
    const response = await fetch(`${harness.url}/admin/mailboxes${query}`, { headers: credentials });
    return { status: response.status, type: response.headers.get('content-type'), html: await response.text() };
  }

  /** Mailbox ids in the order the table lists them. */
  const rowOrder = (html: string) => [...html.matchAll(/<th scope="row"><code>([^<]+)<\/code><\/th>/g)].map((m) => m[1]);

  beforeAll(async () => {
    harness = await startHarness({
      label: 'http-overview',
      mailboxes: 2,
      overview: true,
      config: { mailboxes: ['mbx_test_0001', 'mbx_test_0002', 'mbx_missing_0001'], revokePreviousAfter: '1h' },
    });
    newKeys.mbx_test_0002 = (await rotate('mbx_test_0002', 'completed')).result.newKeyId;
    // Key ages are whole seconds: make the two current keys' ages differ.
    await new Promise((r) => setTimeout(r, 1_100));
    firstKeyOf1 = (await rotate('mbx_test_0001', 'completed')).result.newKeyId;
    const second = await rotate('mbx_test_0001', 'completed');
    newKeys.mbx_test_0001 = second.result.newKeyId;
    revocationJobId = `revoke__mbx_test_0001__${firstKeyOf1}`;
    failedJobId = (await rotate('mbx_missing_0001', 'failed')).jobId;
    const alerts = new AlertNotifier({ redis: harness.bed.redis, prefix: harness.bed.prefix, logger: pino({ level: 'silent' }) });
    await waitFor(async () => (await alerts.consecutiveFailures()).get('mbx_missing_0001') === 1, 10_000, 'the failure counter');
    await alerts.close();
  }, 60_000);
  afterAll(async () => {
    await harness?.close();
  });

  it('needs the dashboard credentials', async () => {
    const response = await fetch(`${harness.url}/admin/mailboxes`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect((await fetch(`${harness.url}/admin/mailboxes`, { headers: basic('operator', 'wrong-password-wrong-password') })).status).toBe(401);
    expect((await fetch(`${harness.url}/admin/mailboxes`, { headers: bearer() })).status).toBe(200);
  });

  it('is one server-rendered HTML page without any script', async () => {
    const { status, type, html } = await page();
    expect(status).toBe(200);
    expect(type).toBe('text/html; charset=utf-8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|\son[a-z]+=|style=/i);
    const css = await fetch(`${harness.url}/admin/mailboxes/overview.css`, { headers: credentials });
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('lists every configured mailbox with its current key, key age, last outcome and next run', async () => {
    const { html } = await page();
    expect(rowOrder(html)).toEqual(['mbx_missing_0001', 'mbx_test_0001', 'mbx_test_0002']);
    const row = (id: string) => html.split('\n').find((line) => line.includes(`<th scope="row"><code>${id}</code>`))!;
    expect(row('mbx_test_0001')).toContain(`<code>${newKeys.mbx_test_0001}</code>`);
    expect(row('mbx_test_0002')).toContain(`<code>${newKeys.mbx_test_0002}</code>`);
    expect(row('mbx_test_0002')).toMatch(/<td>\d+s<\/td>/);
    expect(row('mbx_test_0001')).toContain('<span class="outcome good">rotated</span>');
    expect(row('mbx_missing_0001')).toContain('<span class="outcome bad">failed</span>');
    expect(row('mbx_missing_0001')).toContain('none yet');
    // The test config's cron: Mondays at 03:00 UTC.
    for (const id of ['mbx_test_0001', 'mbx_test_0002']) expect(row(id)).toMatch(/<time datetime="\d{4}-\d\d-\d\dT03:00:00\.000Z"/);
  });

  it('shows a pending revocation with its key and time, and failures in a row, with links to the jobs in Bull Board', async () => {
    const { html } = await page();
    const row = (id: string) => html.split('\n').find((line) => line.includes(`<th scope="row"><code>${id}</code>`))!;
    expect(row('mbx_test_0001')).toMatch(new RegExp(`<code>${firstKeyOf1}</code> <time datetime="[^"]+" title="[^"]+">in (59m|1h)</time>`));
    expect(row('mbx_test_0001')).toContain(`href="/admin/queues/queue/sendmux-keys/${encodeURIComponent(revocationJobId)}"`);
    expect(row('mbx_test_0002')).toContain('<td class="number">0</td>');
    expect(row('mbx_missing_0001')).toContain('<td class="number">1</td>');
    expect(row('mbx_missing_0001')).toContain('<tr class="failing">');
    expect(row('mbx_missing_0001')).toContain(`href="/admin/queues/queue/sendmux-keys/${encodeURIComponent(failedJobId)}"`);
    // A job link leads to the job in Bull Board.
    const job = await fetch(`${harness.url}/admin/queues/api/queues/sendmux-keys/${encodeURIComponent(failedJobId)}`, { headers: credentials });
    expect(job.status).toBe(200);
  });

  it('sorts by key age (oldest first) and by failures (most first) on the server', async () => {
    expect(rowOrder((await page('?sort=age')).html)).toEqual(['mbx_test_0002', 'mbx_test_0001', 'mbx_missing_0001']);
    expect(rowOrder((await page('?sort=failures')).html)).toEqual(['mbx_missing_0001', 'mbx_test_0001', 'mbx_test_0002']);
    expect(rowOrder((await page('?sort=mailbox')).html)).toEqual(['mbx_missing_0001', 'mbx_test_0001', 'mbx_test_0002']);
  });

  it.each([
    ['?sort=mailbox', 'Mailbox', 'ascending'],
    ['', 'Mailbox', 'ascending'],
    ['?sort=age', 'Key age', 'descending'],
    ['?sort=failures', 'Failures in a row', 'descending'],
  ])('marks only the sorted column with aria-sort in the order it is sorted (%s: %s %s)', async (query, column, direction) => {
    const { html } = await page(query);
    const marked = [...html.matchAll(/<th scope="col" aria-sort="(\w+)"><a [^>]*>([^<]+)<\/a>/g)].map((m) => [m[2], m[1]]);
    expect(marked).toEqual([[column, direction]]);
  });

  it.each(['?sort=oldest', '?sort=age&x=1', '?sort=<b>'])('answers 400 for %s', async (query) => {
    const { status, html } = await page(query);
    expect(status).toBe(400);
    expect(html).toContain('sort must be one of mailbox, age, failures');
    expect(html).not.toContain('<b>');
  });

  it('shows what rotator status reports for each mailbox (one shared model)', async () => {
    const now = new Date();
    const { bed, runtime } = harness;
    const audit = new AuditLog({ redis: bed.redis, prefix: bed.prefix, logger: pino({ level: 'silent' }) });
    const alerts = new AlertNotifier({ redis: bed.redis, prefix: bed.prefix, logger: pino({ level: 'silent' }) });
    try {
      const deps = { ledger: runtime.ledger, audit, alerts, secrets: runtime.secrets, now: () => now };
      const status = await collectStatus({ ...deps, settings: bed.settings, queue: runtime.queue });
      const overview = await collectMailboxOverview({ ...deps, file: bed.settings.file, queue: runtime.queue.queue });
      expect(status.mailboxes).toEqual(overview.mailboxes);
      expect(status.mailboxes.find((m) => m.mailboxId === 'mbx_test_0001')?.pendingRevocation?.keyId).toBe(firstKeyOf1);
    } finally {
      await alerts.close();
    }
  });
});

describe('renderMailboxOverviewPage', () => {
  const overview: MailboxOverview = {
    generatedAt: '2026-11-29T12:00:00.000Z',
    schedules: [{ name: 'default', cron: '0 3 * * *', timezone: 'UTC', nextRun: '2026-11-30T03:00:00.000Z' }],
    mailboxes: [
      {
        mailboxId: 'mbx_1',
        currentKeyId: 'smx_"key"',
        lastRotatedAt: null,
        keyAgeSeconds: null,
        keyState: 'error: <img src=x onerror=alert(1)>',
        lastOutcome: { outcome: 'failed', at: '2026-11-29T11:00:00.000Z', jobId: 'rotate__mbx_1__"><script>', step: 'mint', message: '</td><script>alert(1)</script>' },
        schedule: 'default',
        nextRun: '2026-11-30T03:00:00.000Z',
        pendingRevocation: null,
        consecutiveFailures: 2,
      },
    ],
    notes: [],
  };

  it('escapes every value it shows, in text and in attributes', () => {
    const html = renderMailboxOverviewPage(overview, 'mailbox');
    expect(html).not.toMatch(/<script|<img|onerror=alert\(1\)>/);
    expect(html).toContain('&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('smx_&quot;key&quot;');
    expect(html).toContain('href="/admin/queues/queue/sendmux-keys/rotate__mbx_1__%22%3E%3Cscript%3E"');
  });
});
