import type { Redis } from 'ioredis';
import type { RotatorSettings } from '../config';
import { createRedisConnection } from '../queue/redis-connection';
import { RotationQueue } from '../queue/rotation-queue';
import { MailboxLedger } from '../rotation/mailbox-ledger';

const QUEUE_READY_WAIT_MS = 2_000;

/** Resolves when `promise` settles or after `ms`, whichever is first; never rejects. */
async function waitAtMost(ms: number, promise: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/**
 * The producer side only: what the CLI, the HTTP API and the scheduler need to enqueue and
 * inspect rotations. No Sendmux or AWS credentials are needed for it.
 */
export interface QueueClient {
  redis: Redis;
  queue: RotationQueue;
  ledger: MailboxLedger;
  close(): Promise<void>;
}

export function createQueueClient(settings: RotatorSettings, redis?: Redis): QueueClient {
  const { env, file } = settings;
  const connection = redis ?? createRedisConnection(env.redisUrl, 'producer');
  const ledger = new MailboxLedger(connection, env.queuePrefix);
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
    async close() {
      // BullMQ's Queue drops its error listeners when closed, while its start-up check on a shared
      // connection may still be running; quitting the connection then fails that check with no
      // listener, which crashes the process (`rotator plan`, which never touches the queue, closed
      // it that early). So let the check finish first, but never wait long on an absent Redis.
      await waitAtMost(QUEUE_READY_WAIT_MS, queue.queue.waitUntilReady());
      await queue.close();
      if (!redis) await connection.quit().catch(() => undefined);
    },
  };
}
