import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { TEST_API_TOKEN, postJson, startHarness, waitForJobState, type HttpHarness } from '../http/support/http-harness';
import { ARTIFACTS_DIR, launchChromium } from './support/chromium';

const SCREENSHOT_PATH = path.join(ARTIFACTS_DIR, 'mailboxes.png');

/**
 * The mailbox overview page in a real (headless) Chromium: Basic credentials get the browser in,
 * every mailbox is a row, a column header re-sorts on the server, and a job link opens Bull Board.
 */
describe('the mailbox overview page in a browser', () => {
  let harness: HttpHarness;
  let browser: Browser;

  beforeAll(async () => {
    harness = await startHarness({
      label: 'browser-mailboxes',
      mailboxes: 3,
      overview: true,
      config: { mailboxes: ['mbx_test_0001', 'mbx_test_0002', 'mbx_test_0003', 'mbx_missing_0001'], revokePreviousAfter: '6h' },
    });
    for (const mailboxId of ['mbx_test_0001', 'mbx_test_0002', 'mbx_test_0002', 'mbx_missing_0001']) {
      const response = await postJson(`${harness.url}/rotations`, { mailboxIds: [mailboxId], force: true });
      const jobId = ((await response.json()) as { rotations: Array<{ jobId: string }> }).rotations[0]!.jobId;
      await waitForJobState(harness, jobId, mailboxId.startsWith('mbx_missing') ? 'failed' : 'completed');
    }
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await harness?.close();
  });

  it('refuses a browser with the wrong password', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'operator', password: 'not-the-api-token' } });
    try {
      const response = await (await context.newPage()).goto(`${harness.url}/admin/mailboxes`, { waitUntil: 'domcontentloaded' });
      expect(response?.status()).toBe(401);
    } finally {
      await context.close();
    }
  });

  it('shows one row per mailbox, re-sorts by failures on a header click, and links a job into Bull Board', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: 'operator', password: TEST_API_TOKEN },
      viewport: { width: 1400, height: 700 },
    });
    try {
      const page = await context.newPage();
      const response = await page.goto(`${harness.url}/admin/mailboxes`, { waitUntil: 'load' });
      expect(response?.status()).toBe(200);
      const rowIds = () => page.locator('tbody th[scope="row"]').allInnerTexts();
      expect(await rowIds()).toEqual(['mbx_missing_0001', 'mbx_test_0001', 'mbx_test_0002', 'mbx_test_0003']);
      // The stylesheet applied (it is a file of its own, not inline).
      expect(await page.locator('table').evaluate((table) => (globalThis as unknown as { getComputedStyle(e: unknown): { borderCollapse: string } }).getComputedStyle(table).borderCollapse)).toBe('collapse');

      await page.getByRole('link', { name: 'Failures in a row' }).click();
      await page.waitForURL(/sort=failures$/);
      expect((await rowIds())[0]).toBe('mbx_missing_0001');
      expect(await page.locator('tr.failing').count()).toBe(1);

      mkdirSync(path.dirname(SCREENSHOT_PATH), { recursive: true });
      await page.screenshot({ path: SCREENSHOT_PATH, fullPage: true });
      expect(existsSync(SCREENSHOT_PATH)).toBe(true);

      await page.locator('tr', { hasText: 'mbx_test_0002' }).getByRole('link', { name: 'revocation' }).click();
      await page.waitForURL(/\/admin\/queues\/queue\/sendmux-keys\/revoke__mbx_test_0002__/);
      await page.getByText('revoke__mbx_test_0002__').first().waitFor({ timeout: 15_000 });
    } finally {
      await context.close();
    }
  });
});
