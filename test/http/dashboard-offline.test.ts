import { withoutExternalStylesheets } from '../../src/http/dashboard';
import { TEST_API_TOKEN, startHarness, type HttpHarness } from './support/http-harness';

/** The dashboard works offline: its HTML names no other origin, so the browser asks none (no Google Fonts). */
describe('the Bull Board dashboard page', () => {
  let harness: HttpHarness;
  beforeAll(async () => {
    harness = await startHarness({ label: 'http-dashboard-offline', mailboxes: 1 });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('contains no external http(s) URL in any link, script or style reference', async () => {
    const response = await fetch(`${harness.url}/admin/queues`, { headers: { authorization: `Basic ${Buffer.from(`op:${TEST_API_TOKEN}`).toString('base64')}` } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('static/js/');
    expect(html).not.toMatch(/(?:href|src)=["'](?:https?:)?\/\//i);
    expect(html).not.toContain('fonts.googleapis.com');
    // Nor does the policy allow any other origin to be asked.
    expect(response.headers.get('content-security-policy')).not.toMatch(/https?:/);
  });
});

describe('withoutExternalStylesheets', () => {
  it('removes a link to another origin and keeps same-origin ones', () => {
    const html = '<link href="https://fonts.googleapis.com/css2?family=X" rel="stylesheet">\n<link href="static/css/main.css" rel="stylesheet"><link rel="icon" href="//cdn.example/x.svg">';
    expect(withoutExternalStylesheets(html)).toBe('<link href="static/css/main.css" rel="stylesheet">');
  });
});
