import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { TEST_API_TOKEN, postJson, startHarness, waitForJobState, type HttpHarness } from '../http/support/http-harness';
import { ARTIFACTS_DIR, launchChromium } from './support/chromium';

const SCREENSHOT_PATH = path.join(ARTIFACTS_DIR, 'dashboard.png');

/**
 * The Bull Board dashboard in a real (headless) Chromium: HTTP Basic credentials get the browser
 * in, the rotation queue is listed, and a completed rotation shows in the queue's completed tab.
 */
describe('the queue dashboard in a browser', () => {
  let harness: HttpHarness;
  let browser: Browser;
  let jobId: string;

  beforeAll(async () => {
    harness = await startHarness({ label: 'browser' });
    const response = await postJson(`${harness.url}/rotations`, { mailboxIds: [harness.bed.mailboxIds[0]] });
    jobId = ((await response.json()) as { rotations: Array<{ jobId: string }> }).rotations[0]!.jobId;
    await waitForJobState(harness, jobId, 'completed');
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await harness?.close();
  });

  it('refuses a browser with the wrong password', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'operator', password: 'not-the-api-token' } });
    try {
      const page = await context.newPage();
      const response = await page.goto(`${harness.url}/admin/queues`, { waitUntil: 'domcontentloaded' });
      expect(response?.status()).toBe(401);
      expect(await page.getByText('sendmux-keys').count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('shows the rotation queue and its completed rotation job to a browser with Basic credentials, under its CSP', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: 'operator', password: TEST_API_TOKEN },
      viewport: { width: 1400, height: 900 },
    });
    try {
      const page = await context.newPage();
      // Every CSP violation, from the console and from the DOM event (which also catches reports
      // Chromium does not print).
      const violations: string[] = [];
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
      });
      await page.exposeFunction('reportCspViolation', (text: string) => violations.push(text));
      // A string, since the test compiles without DOM types.
      await page.addInitScript({
        content:
          "document.addEventListener('securitypolicyviolation', (e) => window.reportCspViolation(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')));",
      });
      const overview = await page.goto(`${harness.url}/admin/queues`, { waitUntil: 'domcontentloaded' });
      expect(overview?.status()).toBe(200);
      expect(overview?.headers()['content-security-policy']).toContain("script-src 'self'");
      await page.getByText('sendmux-keys').first().waitFor({ timeout: 15_000 });

      await page.goto(`${harness.url}/admin/queues/queue/sendmux-keys?status=completed`, { waitUntil: 'domcontentloaded' });
      await page.getByText(jobId).first().waitFor({ timeout: 15_000 });
      expect(await page.getByText(jobId).count()).toBeGreaterThan(0);

      await page.waitForLoadState('networkidle').catch(() => undefined);
      expect(violations).toEqual([]);

      mkdirSync(path.dirname(SCREENSHOT_PATH), { recursive: true });
      await page.screenshot({ path: SCREENSHOT_PATH, fullPage: true });
      expect(existsSync(SCREENSHOT_PATH)).toBe(true);
    } finally {
      await context.close();
    }
  });
});
