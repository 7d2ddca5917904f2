import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { maskUrlCredentials } from '../../config/masking';
import { findExecutable, startPrivateRedis, type PrivateRedis } from './private-redis';

/** Network errors that mean "no Redis is listening there", as opposed to a Redis that refuses us. */
const NOTHING_THERE = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET']);

export type RedisProbe = { answers: true } | { answers: false; nothingThere: boolean; reason: string };

/**
 * One connection attempt and a PING at `url`, within `timeoutMs` (default 2000). `nothingThere`
 * is true when the connection itself failed (refused, unreachable, unknown host, timeout); a
 * Redis that answers with an error (wrong password, TLS mismatch) is something else.
 */
export async function probeRedis(url: string, timeoutMs = 2_000): Promise<RedisProbe> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    enableReadyCheck: false,
  });
  // ioredis rejects connect() with a generic "Connection is closed."; the socket's error says why.
  let socketError: NodeJS.ErrnoException | undefined;
  client.on('error', (err: NodeJS.ErrnoException) => (socketError ??= err));
  try {
    await client.connect();
    // What the service's connection does next: ioredis sends AUTH and SELECT on connect but only
    // emits their failure as an event, so the db of the URL is selected here again and must answer.
    const db = client.options.db ?? 0;
    if (db !== 0) await client.select(db);
    await client.ping();
    return { answers: true };
  } catch (err) {
    const error = socketError ?? (err as NodeJS.ErrnoException);
    const nothingThere =
      (error.code !== undefined && NOTHING_THERE.has(error.code)) || /ETIMEDOUT|Connection is closed|ECONNREFUSED/.test(error.message);
    if (nothingThere && (await acceptsTcp(client.options.host, client.options.port, timeoutMs))) {
      // Something listens there but did not speak Redis to us: a plain Redis behind rediss://
      // (the TLS handshake stalls), a TLS-only Redis behind redis://, another service. Never "nothing there".
      const tls = client.options.tls !== undefined;
      return {
        answers: false,
        nothingThere: false,
        reason: tls
          ? `a server listens at ${client.options.host}:${client.options.port} but the TLS handshake did not complete (${error.message}), as with a plain Redis that has no TLS (that one takes redis://)`
          : `a server listens at ${client.options.host}:${client.options.port} but did not answer as a Redis (${error.message}), as with a Redis that takes TLS only (that one takes rediss://)`,
      };
    }
    return { answers: false, nothingThere, reason: error.message };
  } finally {
    client.disconnect();
  }
}

/** Whether a plain TCP connection to host:port is accepted within `timeoutMs`. */
async function acceptsTcp(host: string | undefined, port: number | undefined, timeoutMs: number): Promise<boolean> {
  if (host === undefined || port === undefined) return false;
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (accepted: boolean) => {
      socket.destroy();
      resolve(accepted);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Neither REDIS_URL answers nor can the demo start a Redis of its own; the message says what to do. */
export class DemoRedisUnavailableError extends Error {
  override readonly name = 'DemoRedisUnavailableError';
}

export interface DemoRedis {
  /** The URL the demo uses: REDIS_URL, or the private Redis's. */
  url: string;
  /** Set when the demo started its own Redis; stop it last. */
  privateRedis?: PrivateRedis;
}

/**
 * The Redis for `rotator demo`: REDIS_URL when something answers there; otherwise, when
 * `redis-server` is on `pathVariable`, a private one on a free loopback port (see
 * startPrivateRedis). Throws DemoRedisUnavailableError naming REDIS_URL, what was tried and the
 * fix; `notice` hears that a private one started. Only the demo does this: `rotator start` must fail visibly rather than run on a Redis that
 * loses the queue at exit.
 */
export async function ensureDemoRedis(redisUrl: string, pathVariable: string | undefined, notice: (text: string) => void = () => undefined): Promise<DemoRedis> {
  const probe = await probeRedis(redisUrl);
  if (probe.answers) return { url: redisUrl };
  // Masked as `config check` shows it (a lone user-info is the password to Redis clients).
  const shown = maskUrlCredentials(redisUrl);
  if (!probe.nothingThere) {
    throw new DemoRedisUnavailableError(
      `the Redis at REDIS_URL=${shown} did not accept the demo's connection: ${probe.reason}. ` +
        'Fix REDIS_URL (password, database index, TLS: rediss://), or unset it to use a local Redis.',
    );
  }
  const binary = findExecutable('redis-server', pathVariable);
  if (binary === undefined) {
    throw new DemoRedisUnavailableError(
      `no Redis answers at REDIS_URL=${shown} (${probe.reason}), and redis-server is not on PATH, so the demo cannot start one of its own.\n` +
        `  Tried: a connection to ${shown}; redis-server in each PATH directory.\n` +
        '  Fix: install Redis (apt-get install -y redis-server) and run the demo again, ' +
        'or point REDIS_URL at a Redis 6.2+ (REDIS_URL=redis://host:6379 npm run demo).',
    );
  }
  const privateRedis = await startPrivateRedis(binary);
  notice(
    `no Redis answers at REDIS_URL=${shown} (${probe.reason}); started a private redis-server (pid ${privateRedis.pid}, ${binary}) ` +
      `at ${privateRedis.url}: LOCAL STAND-IN, no persistence, stopped with the demo`,
  );
  return { url: privateRedis.url, privateRedis };
}
