import type { Redis } from 'ioredis';
import type { RotatorSettings } from '../config';
import { createRedisConnection } from '../queue/redis-connection';
import { RotationQueue } from '../queue/rotation-queue';
import { MailboxLedger } from '../rotation/mailbox-ledger';

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
      revokePreviousAfterMs: file.revokePreviousAfterMs,
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
      await queue.close();
      if (!redis) await connection.quit().catch(() => undefined);
    },
  };
}
