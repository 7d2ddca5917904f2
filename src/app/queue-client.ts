import type { RotatorSettings } from '../config';
import { renderSecretName } from '../config';
import { closeRedisConnection, createRedisConnection, type RedisClient, type RedisPurpose } from '../queue/redis-connection';
import { RotationQueue } from '../queue/rotation-queue';
import { MailboxLedger } from '../rotation/mailbox-ledger';

/**
 * The producer side only: what the CLI, the HTTP API and the scheduler need to enqueue and
 * inspect rotations. No Sendmux or AWS credentials are needed for it.
 */
export interface QueueClient {
  redis: RedisClient;
  queue: RotationQueue;
  ledger: MailboxLedger;
  close(): Promise<void>;
}

/**
 * Uses `redis` when given (the caller closes it), else opens a connection for `purpose` to
 * `settings.env.redis`. Connecting is lazy: the first command waits for it (see waitUntilReachable).
 */
export function createQueueClient(settings: RotatorSettings, redis?: RedisClient, purpose: Exclude<RedisPurpose, 'worker'> = 'producer'): QueueClient {
  const { env, file } = settings;
  const connection = redis ?? createRedisConnection(env.redis, purpose);
  const ledger = new MailboxLedger(connection, env.queuePrefix);
  const queue = new RotationQueue({
    connection,
    prefix: env.queuePrefix,
    ledger,
    policy: {
      renderSecretName: (mailboxId) => renderSecretName(file.secretName, mailboxId),
      appNamePrefix: file.rotation.appNamePrefix,
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
      // Queue.close() sends commands; with Redis gone it would wait for a reconnect that may never come.
      if (connection.status === 'ready') {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([queue.close().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, 1_000)))]);
        clearTimeout(timer);
      }
      if (!redis) await closeRedisConnection(connection);
    },
  };
}
