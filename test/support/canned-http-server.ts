/**
 * A real HTTP server on 127.0.0.1 that answers each request with the next behaviour a test queued
 * and records what it received. Used to exercise HTTP clients end to end without mocking fetch.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedRequest {
  method: string;
  /** Path including the query string, exactly as sent on the request line. */
  url: string;
  path: string;
  query: URLSearchParams;
  /** Lower-cased header names, as node:http reports them. */
  headers: IncomingHttpHeaders;
  body: string;
}

export type CannedBehaviour =
  /** Answer with status, headers and body (an object is sent as JSON). */
  | { kind: 'reply'; status: number; headers?: Record<string, string>; body?: string | object }
  /** Send status and headers, then stream chunks without Content-Length until the client hangs up. */
  | { kind: 'endless-body'; status: number; headers?: Record<string, string>; chunkBytes?: number }
  /** Reset the TCP connection (RST) without answering: the client sees ECONNRESET. */
  | { kind: 'reset' }
  /** Never answer; the socket stays open until the client gives up or the server closes. */
  | { kind: 'hang' };

/** Progress of one `endless-body` response. */
export interface EndlessStream {
  bytesWritten: number;
  /** True once the client hung up (closed or reset the connection). */
  closed: boolean;
}

export class CannedHttpServer {
  readonly received: ReceivedRequest[] = [];
  readonly endlessStreams: EndlessStream[] = [];
  private readonly queue: CannedBehaviour[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly endlessTimers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
  ) {}

  /** Starts on an ephemeral port; `basePath` is appended to `baseUrl` (e.g. `/api/v1`). */
  static async start(basePath = ''): Promise<CannedHttpServer> {
    let instance: CannedHttpServer | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const url = req.url ?? '/';
        const parsed = new URL(url, 'http://canned.invalid');
        instance?.received.push({
          method: req.method ?? '',
          url,
          path: parsed.pathname,
          query: parsed.searchParams,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        instance?.respond(res);
      });
    });
    server.on('connection', (socket) => {
      instance?.sockets.add(socket);
      socket.on('close', () => instance?.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    instance = new CannedHttpServer(server, `http://127.0.0.1:${port}${basePath}`);
    return instance;
  }

  /** Queues the behaviour for the next unanswered request. */
  next(behaviour: CannedBehaviour): this {
    this.queue.push(behaviour);
    return this;
  }

  /** Shorthand for a JSON (or raw string) reply. */
  reply(status: number, body?: string | object, headers?: Record<string, string>): this {
    return this.next({ kind: 'reply', status, ...(body === undefined ? {} : { body }), ...(headers ? { headers } : {}) });
  }

  get pendingBehaviours(): number {
    return this.queue.length;
  }

  lastRequest(): ReceivedRequest {
    const last = this.received[this.received.length - 1];
    if (!last) throw new Error('the canned server has not received any request');
    return last;
  }

  async close(): Promise<void> {
    for (const timer of this.endlessTimers) clearInterval(timer);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private respond(res: ServerResponse): void {
    const behaviour = this.queue.shift();
    if (!behaviour) {
      res.writeHead(599, { 'content-type': 'text/plain' }).end('canned server: no behaviour queued for this request');
      return;
    }
    switch (behaviour.kind) {
      case 'reply': {
        const isJson = typeof behaviour.body === 'object';
        const payload = behaviour.body === undefined ? '' : isJson ? JSON.stringify(behaviour.body) : String(behaviour.body);
        res.writeHead(behaviour.status, {
          ...(isJson ? { 'content-type': 'application/json' } : {}),
          'content-length': String(Buffer.byteLength(payload)),
          ...behaviour.headers,
        });
        res.end(payload);
        return;
      }
      case 'endless-body': {
        res.writeHead(behaviour.status, { 'content-type': 'application/json', ...behaviour.headers });
        const chunk = Buffer.alloc(behaviour.chunkBytes ?? 64 * 1024, 0x61);
        const stream: EndlessStream = { bytesWritten: 0, closed: false };
        this.endlessStreams.push(stream);
        res.write('{"ok":true,"data":"');
        const timer = setInterval(() => {
          if (res.destroyed || res.writableEnded) return;
          // Respect backpressure so bytesWritten reflects what the client actually pulled.
          if (res.writableNeedDrain) return;
          res.write(chunk);
          stream.bytesWritten += chunk.length;
        }, 1);
        this.endlessTimers.add(timer);
        res.on('close', () => {
          stream.closed = true;
          clearInterval(timer);
          this.endlessTimers.delete(timer);
        });
        return;
      }
      case 'reset':
        res.socket?.resetAndDestroy();
        return;
      case 'hang':
        return;
    }
  }
}
