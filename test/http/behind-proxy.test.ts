import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basic, startHarness, TEST_API_TOKEN, type HttpHarness } from './support/http-harness';
import type { PublicPathOptions } from '../../src/http/public-path';

/**
 * The dashboard and the mailbox page behind a real reverse proxy: a Node HTTP proxy that serves
 * the rotator under /rotator, strips the prefix, forwards to the rotator and (optionally) says
 * so in X-Forwarded-Prefix, as nginx or Traefik would.
 */
const PREFIX = '/rotator';
const credentials = basic('operator', TEST_API_TOKEN);

async function startPrefixProxy(upstream: string, options: { sendPrefixHeader: boolean }): Promise<{ url: string; close(): Promise<void> }> {
  const target = new URL(upstream);
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (path !== PREFIX && !path.startsWith(`${PREFIX}/`)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`the proxy serves only ${PREFIX}/`);
      return;
    }
    const headers = { ...req.headers, host: target.host, ...(options.sendPrefixHeader ? { 'x-forwarded-prefix': PREFIX } : {}) };
    const forward = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: path.slice(PREFIX.length) || '/', headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.writeHead(502).end('bad gateway'));
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Every `href` / `src` of the page, resolved against its `<base href>` the way a browser does. */
function referencedUrls(html: string, pageUrl: string): { base: string | undefined; urls: string[] } {
  const base = /<base href="([^"]*)"/.exec(html)?.[1];
  const resolveFrom = new URL(base ?? '', pageUrl).toString();
  const refs = [...html.matchAll(/\b(?:href|src)="([^"]+)"/g)].map((m) => m[1]!).filter((ref) => ref !== base && !/^https?:\/\//.test(ref));
  return { base, urls: [...new Set(refs.map((ref) => new URL(ref.replace(/&amp;/g, '&'), resolveFrom).toString()))] };
}

describe.each<{ how: string; publicPath: PublicPathOptions; sendPrefixHeader: boolean }>([
  { how: 'X-Forwarded-Prefix from a trusted proxy', publicPath: { trustedProxies: ['loopback'] }, sendPrefixHeader: true },
  { how: 'a configured publicBasePath', publicPath: { basePath: PREFIX }, sendPrefixHeader: false },
])('the dashboard behind a proxy at /rotator/ with $how', ({ publicPath, sendPrefixHeader }) => {
  let harness: HttpHarness;
  let proxy: { url: string; close(): Promise<void> };
  beforeAll(async () => {
    harness = await startHarness({ label: 'behind-proxy', overview: true, server: () => ({ publicPath }) });
    proxy = await startPrefixProxy(harness.url, { sendPrefixHeader });
  });
  afterAll(async () => {
    await proxy?.close();
    await harness?.close();
  });

  it('gives Bull Board a <base href> under the prefix, and every asset and API URL the page uses answers 200 through the proxy', async () => {
    const pageUrl = `${proxy.url}${PREFIX}/admin/queues/`;
    const page = await fetch(pageUrl, { headers: credentials });
    expect(page.status).toBe(200);
    const html = await page.text();
    const { base, urls } = referencedUrls(html, pageUrl);
    expect(base).toBe(`${PREFIX}/admin/queues/`);
    expect(urls.filter((url) => url.includes('/static/')).length).toBeGreaterThanOrEqual(2);
    // The UI calls its API at `${base}api/…` (the first call lists the queues).
    const api = new URL('api/queues?activeQueue=&page=1&jobsPerPage=10', new URL(base!, pageUrl)).toString();
    for (const url of [...urls, api]) {
      expect(url.startsWith(`${proxy.url}${PREFIX}/`)).toBe(true);
      const answer = await fetch(url, { headers: credentials });
      expect({ url, status: answer.status }).toEqual({ url, status: 200 });
    }
  });

  it('gives the mailbox page links under the prefix that answer 200 through the proxy', async () => {
    const pageUrl = `${proxy.url}${PREFIX}/admin/mailboxes`;
    const page = await fetch(pageUrl, { headers: credentials });
    expect(page.status).toBe(200);
    const { urls } = referencedUrls(await page.text(), pageUrl);
    expect(urls).toEqual(expect.arrayContaining([`${proxy.url}${PREFIX}/admin/mailboxes/overview.css`, `${proxy.url}${PREFIX}/admin/queues`]));
    for (const url of urls) {
      expect(url.startsWith(`${proxy.url}${PREFIX}/`)).toBe(true);
      expect({ url, status: (await fetch(url, { headers: credentials })).status }).toEqual({ url, status: 200 });
    }
  });
});

describe('X-Forwarded-Prefix from a peer that is not a trusted proxy', () => {
  let harness: HttpHarness;
  beforeAll(async () => {
    harness = await startHarness({ label: 'untrusted-prefix', server: () => ({ publicPath: { trustedProxies: ['10.0.0.0/8'] } }) });
  });
  afterAll(async () => harness?.close());

  it('is ignored: the base stays /admin/queues/', async () => {
    const page = await fetch(`${harness.url}/admin/queues/`, { headers: { ...credentials, 'x-forwarded-prefix': '/evil' } });
    expect(/<base href="([^"]*)"/.exec(await page.text())?.[1]).toBe('/admin/queues/');
  });
});
