import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseWebhookUrl } from '../../src/alerts/webhook-url';
import type { ResolveHost } from '../../src/webhooks/destination-guard';
import { WebhookDelivery, type WebhookDeliveryOptions } from '../../src/webhooks/webhook-delivery';
import { HostileHttpServer } from '../support/hostile-http-server';
import { LogCapture } from '../support/test-bed';
import { WebhookReceiver } from '../alerts/webhook-receiver';

const ONE_TRY = { attempts: 1, initialDelayMs: 0, maxDelayMs: 0 };
const MIB = 1024 * 1024;

describe('WebhookDelivery', () => {
  let logs: LogCapture;
  const closers: Array<() => Promise<void>> = [];

  beforeEach(() => {
    logs = new LogCapture();
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  function delivery(url: string, extra: Partial<WebhookDeliveryOptions> & { allowPrivateNetwork?: boolean } = {}): WebhookDelivery {
    const { allowPrivateNetwork, ...rest } = extra;
    const created = new WebhookDelivery({
      target: parseWebhookUrl(url, 'alerts webhookUrl', { allowPrivateNetwork: allowPrivateNetwork ?? false }),
      logger: logs.logger,
      noun: 'alert',
      retry: ONE_TRY,
      ...rest,
    });
    closers.push(() => created.abandon());
    return created;
  }

  async function hostile(...args: Parameters<typeof HostileHttpServer.start>): Promise<HostileHttpServer> {
    const server = await HostileHttpServer.start(...args);
    closers.push(() => server.close());
    return server;
  }

  function messages(): string[] {
    return logs.parsed().map((line) => String(line.msg));
  }

  describe('outbound calls are bounded', () => {
    it('reads at most 64 KiB of a 200 answer that streams 800 MB, then closes the socket, with little memory growth', async () => {
      const total = 800 * MIB;
      const server = await hostile({ kind: 'huge', totalBytes: total });
      const sender = delivery(`${server.origin}/hook`);
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      sender.enqueue({ body: '{"type":"test"}', context: { type: 'test' } });
      await sender.settled();
      await server.connections[0]!.closed;
      const rssGrowth = process.memoryUsage().rss - rssBefore;

      expect(messages()).toEqual(expect.arrayContaining([expect.stringMatching(/answer over 65536 bytes; connection closed/), 'alert delivered']));
      // The kernel's socket buffers hold a few MB the client never read; far from the whole body.
      expect(server.connections[0]!.bytesWritten).toBeLessThan(32 * MIB);
      expect(rssGrowth).toBeLessThan(64 * MIB);
    });

    it('stops waiting for a body that trickles in after the status once timeoutMs has passed, and closes the socket', async () => {
      const server = await hostile({ kind: 'trickle-body', everyMs: 20 });
      const sender = delivery(`${server.origin}/hook`, { timeoutMs: 300 });
      sender.enqueue({ body: '{}', context: { type: 'test' } });
      await sender.settled();
      await server.connections[0]!.closed;
      expect(messages()).toEqual(expect.arrayContaining([expect.stringMatching(/answer body not finished within 300ms; connection closed/), 'alert delivered']));
    });

    it('gives up on a status line that trickles in byte by byte once timeoutMs has passed', async () => {
      const server = await hostile({ kind: 'trickle-head', everyMs: 20 });
      const sender = delivery(`${server.origin}/hook`, { timeoutMs: 300 });
      sender.enqueue({ body: '{}', context: { type: 'test' } });
      await sender.settled();
      await server.connections[0]!.closed;
      const last = logs.parsed().find((line) => String(line.msg).startsWith('alert not delivered: giving up'));
      expect(last).toEqual(expect.objectContaining({ problem: 'no answer within 300ms' }));
    });
  });

  describe('where webhooks may go, checked on the addresses connected to', () => {
    it('resolves a name through the guard on every connection and refuses it once it resolves to a private address', async () => {
      const receiver = await WebhookReceiver.start();
      closers.push(() => receiver.close());
      const port = new URL(receiver.origin).port;
      const answers = [['127.0.0.1'], ['10.0.0.7']];
      const asked: string[] = [];
      const resolve: ResolveHost = async (hostname) => {
        asked.push(hostname);
        return (answers.shift() ?? []).map((address) => ({ address, family: 4 }));
      };
      const sender = delivery(`http://localhost:${port}/hook`, { resolve });
      sender.enqueue({ body: '{"n":1}', context: { n: 1 } });
      await sender.settled();
      sender.enqueue({ body: '{"n":2}', context: { n: 2 } });
      await sender.settled();

      expect(asked).toEqual(['localhost', 'localhost']);
      expect(receiver.received.map((request) => request.body)).toEqual([{ n: 1 }]);
      const refused = logs.parsed().find((line) => String(line.msg).startsWith('alert not delivered: destination refused'));
      expect(refused).toEqual(expect.objectContaining({ n: 2, reason: expect.stringMatching(/resolved to 10\.0\.0\.7.*10\.0\.0\.0\/8.*allowPrivateNetwork: true/) }));
    });

    it('refuses a public name that resolves to a cloud-metadata address, without retrying', async () => {
      const resolve: ResolveHost = async () => [{ address: '169.254.169.254', family: 4 }];
      const sender = delivery('https://hooks.example.com/hook', { resolve, retry: { attempts: 3, initialDelayMs: 0, maxDelayMs: 0 } });
      sender.enqueue({ body: '{}', context: { type: 'test' } });
      await sender.settled();
      expect(messages()).toEqual([expect.stringMatching(/^alert not delivered: destination refused .*169\.254\.0\.0\/16/)]);
    });

    it('refuses a public name that resolves to loopback (the URL does not name this machine)', async () => {
      const resolve: ResolveHost = async () => [{ address: '::1', family: 6 }];
      const sender = delivery('https://hooks.example.com/hook', { resolve });
      sender.enqueue({ body: '{}', context: { type: 'test' } });
      await sender.settled();
      expect(messages()).toEqual([expect.stringMatching(/^alert not delivered: destination refused .*loopback address the URL does not name/)]);
    });

    it('connects to a private address when the webhook says allowPrivateNetwork: true', async () => {
      let connections = 0;
      const server: Server = createServer();
      server.on('connection', (socket) => {
        connections++;
        socket.destroy();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      closers.push(() => new Promise((resolve) => server.close(() => resolve())));
      const { port } = server.address() as AddressInfo;
      const resolve: ResolveHost = async () => [{ address: '127.0.0.1', family: 4 }];
      const sender = delivery(`https://hooks.example.com:${port}/hook`, { resolve, allowPrivateNetwork: true });
      sender.enqueue({ body: '{}', context: { type: 'test' } });
      await sender.settled();
      expect(connections).toBe(1);
      expect(messages().some((message) => message.includes('destination refused'))).toBe(false);
    });

    it('does not follow a redirect: the second receiver gets nothing', async () => {
      const second = await WebhookReceiver.start();
      closers.push(() => second.close());
      const first = createServer((_req, res) => res.writeHead(302, { location: `${second.url}` }).end());
      await new Promise<void>((resolve) => first.listen(0, '127.0.0.1', resolve));
      closers.push(() => new Promise((resolve) => first.close(() => resolve())));
      const sender = delivery(`http://127.0.0.1:${(first.address() as AddressInfo).port}/hook`);
      sender.enqueue({ body: '{}', context: { type: 'test' } });
      await sender.settled();
      expect(second.received).toEqual([]);
      expect(logs.parsed().find((line) => String(line.msg).startsWith('alert rejected by the webhook'))).toEqual(expect.objectContaining({ status: 302 }));
    });
  });
});
