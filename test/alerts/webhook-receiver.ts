import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The path part that stands for a Slack-style secret token; tests assert it never reaches a log. */
export const WEBHOOK_SECRET_PATH = '/services/T0TEST/B0TEST/xoxb-webhook-token-do-not-log';

export interface ReceivedRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  body: unknown;
  /** The body exactly as sent (signatures are computed over it). */
  rawBody: string;
  headers: Record<string, string>;
  at: number;
}

/** How the receiver answers the n-th request (0-based): an HTTP status, or never. */
export type Answer = number | 'hang';

/** A webhook on loopback that records what it is sent and answers as the test tells it. */
export class WebhookReceiver {
  readonly received: ReceivedRequest[] = [];
  /** Requests the receiver is deliberately not answering. */
  readonly hanging: ServerResponse[] = [];
  /** For each hanging request (same order), when the client gave up on it and closed the connection. */
  readonly abandonedAt: number[] = [];
  answer: (index: number) => Answer = () => 200;

  private constructor(private readonly server: Server) {}

  static async start(answer?: (index: number) => Answer): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | undefined;
    const server = createServer((req, res) => void receiver!.handle(req, res));
    receiver = new WebhookReceiver(server);
    if (answer) receiver.answer = answer;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}${WEBHOOK_SECRET_PATH}`;
  }

  get origin(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  bodies<T = Record<string, unknown>>(): T[] {
    return this.received.map((r) => r.body as T);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep the raw text; the test will show it
    }
    const index = this.received.length;
    const headers = Object.fromEntries(Object.entries(req.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')]));
    this.received.push({ method: req.method ?? '', path: req.url ?? '', contentType: req.headers['content-type'], body, rawBody: text, headers, at: Date.now() });
    const answer = this.answer(index);
    if (answer === 'hang') {
      const slot = this.hanging.push(res) - 1;
      res.on('close', () => {
        if (!res.writableEnded) this.abandonedAt[slot] = Date.now();
      });
      return;
    }
    res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer < 300 ? 'ok' : 'no');
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A loopback URL nothing listens on: connecting to it is refused at once. */
export async function refusedWebhookUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}${WEBHOOK_SECRET_PATH}`;
}
