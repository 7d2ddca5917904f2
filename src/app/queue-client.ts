import type { EventEmitter } from 'node:events';
import type { RotatorSettings } from '../config';
import { closeRedisConnection, createRedisConnection, type RedisClient, type RedisPurpose } from '../queue/redis-connection';
import { RotationQueue } from '../queue/rotation-queue';
import { MailboxLedger } from '../rotation/mailbox-ledger';
import { BookkeepingWrites } from '../queue/bookkeeping-writes';
import { settlesWithin } from '../shared/deadline';

const QUEUE_READY_WAIT_MS = 2_000;

/**
 * The producer side only: what the CLI, the HTTP API and the scheduler need to enqueue and
 * inspect rotations. No Sendmux or AWS credentials are needed for it.
 */
export interface QueueClient {
  redis: RedisClient;
  queue: RotationQueue;
  ledger: MailboxLedger;
  /** Sends and tracks the bookkeeping writes (ledger, audit, alert counters) on `redis`. */
  writes: BookkeepingWrites;
  close(): Promise<void>;
}

/**
 * Uses `redis` when given (the caller closes it), else opens a connection for `purpose` to
 * `settings.env.redis`. Connecting is lazy: the first command waits for it (see waitUntilReachable).
 */
export function createQueueClient(
  settings: RotatorSettings,
  redis?: RedisClient,
  purpose: Exclude<RedisPurpose, 'worker'> = 'producer',
  writes?: BookkeepingWrites,
): QueueClient {
  const { env, file } = settings;
  const connection = redis ?? createRedisConnection(env.redis, purpose);
  const bookkeeping = writes ?? new BookkeepingWrites(connection);
  const ledger = new MailboxLedger(connection, env.queuePrefix, bookkeeping);
  const queue = new RotationQueue({
    connection,
    prefix: env.queuePrefix,
    ledger,
    policy: {
      minRotationIntervalMs: file.minRotationIntervalMs,
      attempts: file.rotation.attempts,
      retention: file.retention,
    },
  });
  return {
    redis: connection,
    queue,
    ledger,
    writes: bookkeeping,
    async close() {
      // Recorded rotations go out before the connection does (bounded: Redis may be gone).
      if (connection.status === 'ready') await settlesWithin(bookkeeping.flush(), 1_000);
      // BullMQ's Queue drops its error listeners when closed, while its start-up check on a shared
      // connection may still be running; quitting the connection then fails that check with no
      // listener, which crashes the process (`rotator plan`, which never touches the queue, closed
      // it that early). So let the check finish first, but never wait long on an absent Redis
      // (both waits are bounded): Queue.close() sends commands, and with Redis gone it would wait
      // for a reconnect.
      await settlesWithin(queue.queue.waitUntilReady(), QUEUE_READY_WAIT_MS);
      // Closing the queue on a connection that never became ready would leave its commands (and
      // their errors) with no listener; the queue keeps its error listener when left open.
      if (connection.status === 'ready') await settlesWithin(queue.close(), 1_000);
      // BullMQ's connection wrapper reports a start-up check still unfinished when the socket
      // closes (a Redis node that stopped answering) as an 'error' event; once the queue is
      // closed nobody listens, and an unheard 'error' would crash the process on its way out.
      (queue.queue as unknown as { connection?: EventEmitter }).connection?.on('error', () => undefined);
      if (!redis) await closeRedisConnection(connection);
    },
  };
}
