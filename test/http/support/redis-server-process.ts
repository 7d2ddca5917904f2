import { spawn, type ChildProcess } from 'node:child_process';
import { freeLoopbackPort } from '../../../src/cli/demo/private-redis';

/** A free TCP port on 127.0.0.1 (bound and released at once): the demo's own helper. */
export const freePort = freeLoopbackPort;

export interface RedisServerOptions {
  /** Keep an append-only file (fsync on every write) here, so a restart keeps the data. */
  persistDir?: string;
  /** A config file given before the options (a sentinel needs one it can rewrite). */
  configFile?: string;
  /** More `--option value` arguments, e.g. TLS, requirepass, cluster or `--sentinel`. */
  extraArgs?: string[];
  /** The port to listen on (default: a free one). */
  port?: number;
}

/**
 * A throwaway redis-server child process on its own port, so a test can stop and restart Redis
 * without touching the shared instance on 6379. Without `persistDir` a restart starts empty; with
 * it, Redis keeps an append-only file there (fsync on every write) and a restart keeps the queue,
 * like a production Redis for BullMQ. `extraArgs` make it a TLS server, a cluster node or a
 * sentinel (see test/support/redis-topologies.ts).
 */
export class RedisServerProcess {
  private child: ChildProcess | undefined;
  private output = '';

  protected constructor(
    readonly port: number,
    readonly persistDir?: string,
    private readonly options: RedisServerOptions = {},
  ) {}

  static async start(options: RedisServerOptions = {}): Promise<RedisServerProcess> {
    const server = new RedisServerProcess(options.port ?? (await freePort()), options.persistDir, options);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The process id while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Everything the server printed so far (for a failing test's message). */
  get log(): string {
    return this.output;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error(`redis-server on port ${this.port} is already running`);
    const persistence = this.persistDir
      ? ['--dir', this.persistDir, '--appendonly', 'yes', '--appendfsync', 'always']
      : ['--appendonly', 'no'];
    const child = spawn(
      'redis-server',
      [
        ...(this.options.configFile ? [this.options.configFile] : []),
        '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--daemonize', 'no',
        ...(this.options.extraArgs ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server on port ${this.port} did not start within 10s:\n${output}`)), 10_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        // A sentinel never says "Ready": it is ready once it monitors its master.
        if (output.includes('Ready to accept connections') || output.includes('+monitor master')) {
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

  /** SIGKILL (a crash: nothing flushed, no goodbye to replicas), then wait for the exit. */
  async kill(): Promise<void> {
    await this.end('SIGKILL');
  }

  /** SIGTERM, then wait for the process to exit. */
  async stop(): Promise<void> {
    await this.end('SIGTERM');
  }

  private async end(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
      // A frozen (SIGSTOPped) process only acts on SIGTERM once continued.
      if (signal === 'SIGTERM') child.kill('SIGCONT');
    });
  }

}
