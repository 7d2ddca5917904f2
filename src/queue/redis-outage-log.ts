import type { Logger } from 'pino';
import type { RedisTarget } from '../config/types';
import { describeRedisTarget } from '../config/redis-target';
import { MAX_RECONNECT_DELAY_MS, type RedisClient } from './redis-connection';

/** Errors that only say Redis cannot be reached (ioredis, BullMQ and Node socket wording). */
const CONNECTION_ERROR =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|Connection is closed|connect ETIMEDOUT|Stream isn't writeable|enableOfflineQueue|Failed to refresh slots cache|None of startup nodes is available|All sentinels are unreachable|max retries per request|CLUSTERDOWN|LOADING|READONLY|socket hang up|Client network socket disconnected/i;

/** Whether `err` only reports that Redis is unreachable (the outage log says it once instead). */
export function isRedisConnectionError(err: unknown): boolean {
  // Duck-typed: socket errors may come from another realm (e.g. a test runner's), failing instanceof.
  const { name, message } = (typeof err === 'object' && err !== null ? err : {}) as { name?: unknown; message?: unknown };
  return CONNECTION_ERROR.test(`${String(name ?? '')} ${String(message ?? '')}`);
}

/**
 * Logs a Redis outage once when it starts and once when it ends, for every connection of the
 * process together (not once per reconnect attempt, which ioredis makes every 0.2-5 s). The
 * process is "down" while any watched connection has failed since it was last ready.
 */
export class RedisOutageLog {
  private readonly failing = new Map<string, string>();
  private downSince: number | undefined;

  constructor(
    private readonly target: RedisTarget,
    private readonly logger: Logger,
  ) {}

  /** Follows `client`'s events under `name` (e.g. "producer", "worker"). */
  watch(client: RedisClient, name: string): void {
    client.on('error', (err: Error) => this.failed(name, err.message.split('\n')[0] ?? err.name));
    client.on('ready', () => this.recovered(name));
  }

  /** True between the first failure and the moment every failed connection is ready again. */
  get isDown(): boolean {
    return this.downSince !== undefined;
  }

  private failed(name: string, reason: string): void {
    this.failing.set(name, reason);
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    this.logger.error(
      {
        redis: describeRedisTarget(this.target),
        variable: this.target.variable,
        connection: name,
        reason,
        reconnect: `every 0.2 s growing by 0.2 s to at most ${MAX_RECONNECT_DELAY_MS / 1000} s, until it answers`,
      },
      `Redis unreachable at ${describeRedisTarget(this.target)} (${this.target.variable}): ${reason}; reconnecting with backoff up to ${MAX_RECONNECT_DELAY_MS / 1000} s`,
    );
  }

  private recovered(name: string): void {
    this.failing.delete(name);
    if (this.downSince === undefined || this.failing.size > 0) return;
    const downForMs = Date.now() - this.downSince;
    this.downSince = undefined;
    this.logger.info({ redis: describeRedisTarget(this.target), downForMs }, `Redis reachable again after ${(downForMs / 1000).toFixed(1)} s`);
  }
}
