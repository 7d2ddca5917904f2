import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1 (bound and released at once). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A throwaway redis-server child process on its own port, so a test can stop and restart Redis
 * without touching the shared instance on 6379. Without `persistDir` a restart starts empty; with
 * it, Redis keeps an append-only file there (fsync on every write) and a restart keeps the queue,
 * like a production Redis for BullMQ.
 */
export class RedisServerProcess {
  private child: ChildProcess | undefined;

  protected constructor(
    readonly port: number,
    readonly persistDir?: string,
  ) {}

  static async start(options: { persistDir?: string } = {}): Promise<RedisServerProcess> {
    const server = new RedisServerProcess(await freePort(), options.persistDir);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error(`redis-server on port ${this.port} is already running`);
    const persistence = this.persistDir
      ? ['--dir', this.persistDir, '--appendonly', 'yes', '--appendfsync', 'always']
      : ['--appendonly', 'no'];
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--daemonize', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server on port ${this.port} did not start within 10s:\n${output}`)), 10_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`could not run redis-server (is it installed?): ${err.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server on port ${this.port} exited with ${code} before it was ready:\n${output}`));
      });
    });
    // Keep draining the pipes so the child never blocks on a full buffer.
    child.stdout?.resume();
    child.stderr?.resume();
  }

  /** SIGSTOP: the port still accepts connections but nothing answers (a hung Redis). */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  /** SIGCONT after freeze(). */
  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  /** SIGTERM, then wait for the process to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      // A frozen (SIGSTOPped) process only acts on SIGTERM once continued.
      child.kill('SIGCONT');
    });
  }
}
