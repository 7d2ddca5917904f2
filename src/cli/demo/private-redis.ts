import { spawn, type ChildProcess } from 'node:child_process';
import { childProcessEnv } from '../../shared/child-env';
import { accessSync, constants as fsConstants } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';

/** A redis-server child process on a loopback port, with nothing written to disk. */
export interface PrivateRedis {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** SIGTERM, then SIGKILL after `graceMs` (default 5000); resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

export class PrivateRedisError extends Error {
  override readonly name = 'PrivateRedisError';
}

/** The first executable `name` in the directories of `pathVariable` (a PATH value), or undefined. */
export function findExecutable(name: string, pathVariable: string | undefined): string | undefined {
  for (const dir of (pathVariable ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (bound and released). */
export async function freeLoopbackPort(): Promise<number> {
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
 * Starts `binary` (a redis-server) on a free 127.0.0.1 port with persistence off (`--save ""`,
 * `--appendonly no`) and resolves once it answers PING, within `readyTimeoutMs` (default 5000).
 * The child runs in its own process group, so a Ctrl-C in the terminal reaches only the demo,
 * which stops Redis last, after its own connections are closed; if this process exits without
 * calling stop() (an uncaught error), an exit hook kills the child, and if it is SIGKILLed a
 * watchdog process (startWatchdog) stops the child within a few seconds. Throws PrivateRedisError
 * when it exits or does not answer in time (and leaves no process behind).
 */
export async function startPrivateRedis(binary: string, readyTimeoutMs = 5_000): Promise<PrivateRedis> {
  const port = await freeLoopbackPort();
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'yes'],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: childProcessEnv() },
  );
  let output = '';
  const keepTail = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-2_000);
  };
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const watchdog = startWatchdog(process.pid, child.pid);
  const killOnExit = () => {
    watchdog?.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const stop = async (graceMs = 5_000): Promise<void> => {
    // The watchdog first, so it never signals a pid that the system has reused after Redis exited.
    if (watchdog && watchdog.exitCode === null && watchdog.signalCode === null) watchdog.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    process.off('exit', killOnExit);
  };

  try {
    await waitUntilAnswering(child, port, readyTimeoutMs, () => output);
  } catch (err) {
    await stop(1_000);
    throw err;
  }
  return { url: `redis://127.0.0.1:${port}`, port, pid: child.pid!, stop };
}

/**
 * Nothing in this process runs when it is SIGKILLed, and redis-server (its own process group, so
 * a Ctrl-C reaches only the demo) would then run on for good. A detached `sh` polls once a second
 * whether `ownerPid` still exists; when it is gone it sends redis-server SIGTERM, then SIGKILL
 * after 3 s. It ends by itself when redis-server has exited. Undefined when sh cannot be run.
 */
function startWatchdog(ownerPid: number, redisPid: number | undefined): ChildProcess | undefined {
  if (redisPid === undefined) return undefined;
  const script =
    'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; ' +
    'if kill -0 "$2" 2>/dev/null; then kill -TERM "$2"; sleep 3; kill -KILL "$2" 2>/dev/null; fi';
  try {
    const watchdog = spawn('/bin/sh', ['-c', script, 'rotator-demo-redis-watchdog', String(ownerPid), String(redisPid)], { stdio: 'ignore', detached: true, env: childProcessEnv() });
    watchdog.on('error', () => undefined);
    watchdog.unref();
    return watchdog;
  } catch {
    return undefined;
  }
}

async function waitUntilAnswering(child: ChildProcess, port: number, timeoutMs: number, output: () => string): Promise<void> {
  const spawnError = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new PrivateRedisError(`could not run redis-server: ${err.message}`)));
    child.once('exit', (code, signal) =>
      reject(new PrivateRedisError(`redis-server exited (${signal ?? `code ${code}`}) before it answered:\n${output().trim()}`)),
    );
  });
  spawnError.catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 500 });
    client.on('error', () => undefined);
    try {
      const pong = await Promise.race([client.connect().then(() => client.ping()), spawnError]);
      if (pong === 'PONG') return;
    } catch (err) {
      if (err instanceof PrivateRedisError) throw err;
    } finally {
      client.disconnect();
    }
    await Promise.race([new Promise((resolve) => setTimeout(resolve, 100)), spawnError]);
  }
  throw new PrivateRedisError(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms:\n${output().trim()}`);
}
