import { batchSocketWrites } from './socket-write-batching';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { RedisTarget } from '../config/types';
import { describeRedisTarget } from '../config/redis-target';
import { settlesWithin, withDeadline } from '../shared/deadline';

export { describeRedisTarget };

/** A connection in any mode: a single node or a Sentinel-managed primary (Redis), or a Cluster. */
export type RedisClient = Redis | Cluster;

/**
 * - `worker`: BullMQ Worker connections block on Redis and must never give up a command
 *   (`maxRetriesPerRequest: null`, a BullMQ requirement, also inside Cluster `redisOptions`).
 * - `producer`: the service's HTTP API, scheduler, audit and alerts: a call fails after a few
 *   retries when Redis is down, so the caller gets an error instead of waiting forever.
 * - `cli`: a producer that gives up connecting sooner (one CLI command should fail in ~5 s).
 */
export type RedisPurpose = 'worker' | 'producer' | 'cli';

/** Reconnect delay after the `times`-th failed attempt: 200 ms more each time, at most 5 s. */
export function reconnectDelayMs(times: number): number {
  return Math.min(200 * times, MAX_RECONNECT_DELAY_MS);
}
export const MAX_RECONNECT_DELAY_MS = 5_000;

const lastErrors = new WeakMap<RedisClient, Error>();
const failedSinceReady = new WeakSet<RedisClient>();

/**
 * Opens a connection to `target` (from `settings.env.redis`) with the options BullMQ needs for
 * `purpose`. Every role, the CLI and the API get their connections here, whatever the mode:
 * - single: `REDIS_URL` (credentials in it, overridden by REDIS_USERNAME / REDIS_PASSWORD);
 * - cluster: an ioredis `Cluster` over the seed nodes; node addresses the cluster announces are
 *   used as given (no DNS re-resolution), which ElastiCache TLS needs for its certificates;
 * - sentinel: ioredis asks the sentinels for the current primary and follows failovers.
 * TLS (with an optional private CA) applies to every node. `extra` overrides the defaults
 * (for a Cluster, it is merged into `redisOptions`). The connection starts connecting at once;
 * it reconnects forever (see `reconnectDelayMs`). Its errors are kept for `lastRedisError`
 * instead of reaching ioredis' "unhandled error" printout.
 */
export function createRedisConnection(target: RedisTarget, purpose: RedisPurpose, extra: RedisOptions = {}): RedisClient {
  const tls = tlsOptions(target);
  const base: RedisOptions = {
    maxRetriesPerRequest: purpose === 'worker' ? null : 2,
    enableReadyCheck: true,
    connectionName: `rotator-${purpose}`,
    connectTimeout: purpose === 'cli' ? 3_000 : 10_000,
    // A hung server never acknowledges the close: a CLI command should not wait 2 s for it to.
    ...(purpose === 'cli' ? { disconnectTimeout: 200 } : {}),
    retryStrategy: reconnectDelayMs,
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
    ...(tls ? { tls } : {}),
  };

  let client: RedisClient;
  if (target.mode === 'cluster') {
    const { retryStrategy: _perNode, ...redisOptions } = { ...base, ...extra };
    const options: ClusterOptions = {
      redisOptions,
      ...(extra.lazyConnect === undefined ? {} : { lazyConnect: extra.lazyConnect }),
      clusterRetryStrategy: reconnectDelayMs,
      enableReadyCheck: true,
      slotsRefreshTimeout: 2_000,
      dnsLookup: (address, callback) => callback(null, address),
    };
    client = new Cluster(
      target.nodes.map(({ host, port }) => ({ host, port })),
      options,
    );
  } else if (target.mode === 'sentinel') {
    client = new Redis({
      ...base,
      sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
      name: target.masterName,
      sentinelRetryStrategy: reconnectDelayMs,
      // No failoverDetector: with it, ioredis 5.11 keeps a sentinel subscription open after
      // disconnect(). A failover is followed anyway: the dead primary's reconnect asks the sentinels.
      ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
      ...extra,
    });
  } else {
    client = new Redis({ ...singleNodeOptions(target.url), ...base, ...extra });
  }
  client.on('error', (err: Error) => {
    lastErrors.set(client, err);
    failedSinceReady.add(client);
  });
  client.on('ready', () => failedSinceReady.delete(client));
  batchSocketWrites(client);
  return client;
}

/** Connection states in which no command can succeed until Redis answers again. */
const DOWN_STATES: ReadonlySet<string> = new Set(['reconnecting', 'close', 'end', 'disconnecting']);

/**
 * Whether `client` is known to be unable to reach Redis now: it is reconnecting or closed, or it
 * failed since it was last ready (a reconnect attempt in progress). A first connection still
 * being made is not "down".
 */
export function isRedisDown(client: RedisClient): boolean {
  if (client.status === 'ready') return false;
  return DOWN_STATES.has(client.status) || failedSinceReady.has(client);
}

/** The last error a connection made by `createRedisConnection` reported, if any. */
export function lastRedisError(client: RedisClient): Error | undefined {
  return lastErrors.get(client);
}

/** Host, port, database and credentials of a redis:// or rediss:// URL (the env check validated it). */
function singleNodeOptions(url: string): RedisOptions {
  const parsed = new URL(url);
  const db = parsed.pathname.replace(/^\//, '');
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(db === '' ? {} : { db: Number(db) }),
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
  };
}

function tlsOptions(target: RedisTarget): TlsOptions | undefined {
  if (!target.tls) return undefined;
  return target.tlsCa === undefined ? {} : { ca: target.tlsCa.pem };
}

/** Redis could not be reached in time; the message names the address and the variable that set it. */
export class RedisUnreachableError extends Error {
  constructor(
    readonly target: RedisTarget,
    readonly reason: string,
  ) {
    super(`cannot reach Redis at ${describeRedisTarget(target)} (${target.variable}): ${reason}`);
    this.name = 'RedisUnreachableError';
  }
}

/** Why a connection is not usable, in a few words: its last error, or its state. */
export function unreachableReason(client: RedisClient): string {
  const err = lastRedisError(client);
  const message = err ? (err.message || err.name).split('\n')[0]!.slice(0, 200) : '';
  // A TLS verification failure has one fix: trust the server's CA.
  if (/certificate|self[- ]signed/i.test(message)) return `${message}; give the CA's PEM file in REDIS_TLS_CA_FILE`;
  if (message !== '') return message;
  // 'connect': the TCP (and TLS) connection is up, but Redis never answered the ready check.
  return client.status === 'connect' ? 'connected, but Redis does not answer' : `connection is ${client.status}`;
}

/**
 * PING, on every master of a cluster: a Cluster client's own PING goes to one node, which may not
 * be the one serving the queue's hash slot, so a frozen queue node would look healthy half the time.
 * Resolves with the single node's answer, or 'PONG' when every master answered PONG.
 */
export async function pingRedis(client: RedisClient): Promise<string> {
  const first = await client.ping();
  if (!(client instanceof Cluster)) return first;
  // The first PING waited for the cluster client to be ready, so its node list is the slot map's.
  const answers = await Promise.all(client.nodes('master').map((node) => node.ping()));
  return answers.find((answer) => answer !== 'PONG') ?? 'PONG';
}

/**
 * Resolves once `client` answers PING; rejects with RedisUnreachableError after `timeoutMs`
 * (milliseconds) or when the PING fails, with the connection's last error as the reason.
 */
export async function waitUntilReachable(client: RedisClient, target: RedisTarget, timeoutMs: number): Promise<void> {
  const pinged = pingRedis(client).then(
    () => undefined,
    (err: Error) => {
      throw new RedisUnreachableError(target, lastRedisError(client) ? unreachableReason(client) : err.message);
    },
  );
  await withDeadline(pinged, timeoutMs, () => new RedisUnreachableError(target, `${unreachableReason(client)} (no answer within ${Math.round(timeoutMs / 100) / 10} s)`));
}

/** QUIT, but never wait longer than `timeoutMs`: then drop the socket (Redis may be gone). */
export async function closeRedisConnection(client: RedisClient, timeoutMs = 1_000): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  await settlesWithin(client.quit(), timeoutMs);
  if ((client.status as string) !== 'end') client.disconnect();
}
