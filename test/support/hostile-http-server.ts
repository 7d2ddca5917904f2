import { createServer, type Server } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { once } from 'node:events';

/**
 * A raw TCP server on 127.0.0.1 that plays a hostile HTTP upstream for any client: it reads the
 * request head, then answers in one of the ways below and records, per connection, how many
 * bytes of the answer the socket accepted before the client hung up. Written on node:net so the
 * answer can be cut, trickled or made endless byte by byte.
 */
export type HostileAnswer =
  /** 200 with a Content-Length of `totalBytes` and that many bytes, produced lazily as the socket drains. */
  | { kind: 'huge'; totalBytes: number; contentType?: string }
  /** 200 headers at once, then one body byte every `everyMs` forever. */
  | { kind: 'trickle-body'; everyMs: number }
  /** The status line and headers one byte every `everyMs`: never a complete head. */
  | { kind: 'trickle-head'; everyMs: number };

export interface HostileConnection {
  /** Bytes of the answer (head and body) the socket took before it closed. */
  bytesWritten: number;
  /** Resolves when the client's side of the connection is gone. */
  closed: Promise<void>;
  isClosed: boolean;
}

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

export class HostileHttpServer {
  readonly connections: HostileConnection[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    private readonly answer: HostileAnswer,
  ) {}

  static async start(answer: HostileAnswer): Promise<HostileHttpServer> {
    let instance: HostileHttpServer | undefined;
    const server = createServer((socket) => instance!.handle(socket));
    instance = new HostileHttpServer(server, answer);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return instance;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  private handle(socket: Socket): void {
    this.sockets.add(socket);
    let resolveClosed!: () => void;
    const connection: HostileConnection = { bytesWritten: 0, isClosed: false, closed: new Promise((resolve) => (resolveClosed = resolve)) };
    this.connections.push(connection);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      connection.isClosed = true;
      this.sockets.delete(socket);
      resolveClosed();
    });
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.resume();
      this.respond(socket, connection);
    };
    socket.on('data', onData);
  }

  private write(socket: Socket, connection: HostileConnection, data: Buffer | string): boolean {
    if (socket.destroyed) return false;
    const ok = socket.write(data);
    connection.bytesWritten += Buffer.byteLength(data);
    return ok;
  }

  private respond(socket: Socket, connection: HostileConnection): void {
    const answer = this.answer;
    if (answer.kind === 'huge') {
      this.write(socket, connection, `HTTP/1.1 200 OK\r\ncontent-type: ${answer.contentType ?? 'application/json'}\r\ncontent-length: ${answer.totalBytes}\r\n\r\n`);
      let left = answer.totalBytes;
      const pump = () => {
        while (left > 0 && !socket.destroyed) {
          const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
          left -= chunk.length;
          if (!this.write(socket, connection, chunk)) {
            socket.once('drain', pump);
            return;
          }
        }
        if (left === 0) socket.end();
      };
      pump();
      return;
    }
    const text = answer.kind === 'trickle-body' ? '' : 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-padding: ' + 'p'.repeat(10_000);
    if (answer.kind === 'trickle-body') this.write(socket, connection, 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n');
    let at = 0;
    const timer = setInterval(() => {
      if (socket.destroyed) {
        clearInterval(timer);
        this.timers.delete(timer);
        return;
      }
      if (answer.kind === 'trickle-body') this.write(socket, connection, '1\r\n{\r\n');
      else this.write(socket, connection, text[at++ % text.length]!);
    }, answer.everyMs);
    this.timers.add(timer);
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
