import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { RotatorSettings } from '../config';
import { SendmuxClient } from '../sendmux/client';
import type { SendmuxCallRecord } from '../sendmux/types';
import { createSecretsManagerClient } from '../aws/secrets-manager-client';
import { SecretStore } from '../aws/secret-store';
import { createRedisConnection } from '../queue/redis-connection';
import type { RotationQueue } from '../queue/rotation-queue';
import { createRotationWorker } from '../queue/rotation-worker';
import { RateLimitGuard } from '../queue/rate-limit-guard';
import type { MailboxLedger } from '../rotation/mailbox-ledger';
import { createQueueClient } from './queue-client';
import {
  createAbandonedRotationHandler,
  createRotateMailboxKeyProcessor,
  type RotateMailboxKeyDeps,
} from '../../jobs/rotate-mailbox-key';
import type { RotatorEventSink } from '../rotation/events';
import { REVOKE_JOB_NAME, ROTATE_JOB_NAME, type RotationJobData, type RotationStep } from '../rotation/job-data';
import { bullmqJobDirectory } from '../rotation/exclusion';
import type { Job } from 'bullmq';
import { createRevokePreviousKeyProcessor } from '../../jobs/revoke-previous-key';
import { createManagementKeySource } from './management-key';
import { clampServerDelay } from '../retry/server-delay';

export interface RotatorRuntimeOptions {
  settings: RotatorSettings;
  logger: Logger;
  /** Start a BullMQ worker in this process. */
  runWorker: boolean;
  /** The producer Redis connection, when the caller shares it (audit, alerts); closed by the caller then. */
  redis?: Redis;
  /** Tests and the local demo may hand in a client pointed at the stand-in. */
  secretsManagerClient?: SecretsManagerClient;
  events?: RotatorEventSink;
  onStep?: (job: Job<RotationJobData>, step: RotationStep) => void;
  onSendmuxCall?: (record: SendmuxCallRecord) => void;
  workerTuning?: { lockDurationMs?: number; stalledIntervalMs?: number; maxStalledCount?: number; concurrency?: number };
}

/** Everything one rotator process holds, built from settings, closed in reverse order. */
export interface RotatorRuntime {
  settings: RotatorSettings;
  logger: Logger;
  redis: Redis;
  queue: RotationQueue;
  ledger: MailboxLedger;
  sendmux: SendmuxClient;
  secrets: SecretStore;
  worker?: Worker;
  /** Stops taking jobs, lets in-flight ones finish (or hands them back), closes Redis and HTTP clients. */
  close(): Promise<void>;
}

export async function createRotatorRuntime(opts: RotatorRuntimeOptions): Promise<RotatorRuntime> {
  const { settings, logger } = opts;
  const { env, file } = settings;

  const smClient =
    opts.secretsManagerClient ??
    createSecretsManagerClient({ region: env.awsRegion ?? 'us-east-1', requestTimeoutMs: file.sendmux.timeoutMs });
  const secrets = new SecretStore({ client: smClient, logger: logger.child({ component: 'secrets-manager' }), maxServerDelayMs: file.rotation.backoffMaxMs });

  const queueClient = createQueueClient(settings, opts.redis);
  const { redis, queue, ledger } = queueClient;

  // Every queue-wide pause passes here: whatever delay a server named, the queue never stops for
  // longer than rotation.backoffMaxDelay (a non-finite one becomes the bound, not a Redis error).
  const maxServerDelayMs = file.rotation.backoffMaxMs;
  const pauseQueueFor = (ms: number) => queue.pauseFor(clampServerDelay(ms, maxServerDelayMs) ?? maxServerDelayMs);
  // Only a worker spends the management key's budget at the queue's pace, so only it paces the queue.
  const guard = opts.runWorker
    ? new RateLimitGuard({ pauseQueueFor, maxPauseMs: maxServerDelayMs, logger: logger.child({ component: 'rate-limit-guard' }) })
    : undefined;
  const onSendmuxCall = opts.onSendmuxCall;
  const sendmux = new SendmuxClient({
    baseUrl: env.sendmuxApiUrl,
    managementKey: createManagementKeySource({ env, secrets, logger }),
    timeoutMs: file.sendmux.timeoutMs,
    maxServerDelayMs,
    // SendmuxClient binds its own component ('sendmux-client').
    logger,
    onCall:
      guard || onSendmuxCall
        ? (record) => {
            guard?.observe(record);
            onSendmuxCall?.(record);
          }
        : undefined,
  });

  let worker: Worker | undefined;
  let workerRedis: Redis | undefined;
  if (opts.runWorker) {
    workerRedis = createRedisConnection(env.redisUrl, 'worker');
    const jobLogger = logger.child({ component: 'worker' });
    const rotationDeps: RotateMailboxKeyDeps = {
      file,
      sendmux,
      mailboxes: sendmux,
      secrets,
      ledger,
      jobs: bullmqJobDirectory(queue.queue),
      scheduleRevocation: (data, delayMs) => queue.scheduleRevocation(data, delayMs),
      pauseQueueFor,
      logger: jobLogger,
      events: opts.events,
      onStep: opts.onStep,
      // A rotation waiting for another of its mailbox looks again after the first backoff step.
      busyRetryMs: file.rotation.backoffInitialMs,
    };
    worker = createRotationWorker({
      onAbandonedRotation: createAbandonedRotationHandler(rotationDeps),
      connection: workerRedis,
      prefix: env.queuePrefix,
      concurrency: opts.workerTuning?.concurrency ?? file.rotation.concurrency,
      limiter: { max: file.rateLimit.max, durationMs: file.rateLimit.durationMs },
      backoff: { initialMs: file.rotation.backoffInitialMs, maxMs: file.rotation.backoffMaxMs },
      logger: jobLogger,
      lockDurationMs: opts.workerTuning?.lockDurationMs ?? file.rotation.lockDurationMs,
      stalledIntervalMs: opts.workerTuning?.stalledIntervalMs ?? file.rotation.stalledIntervalMs,
      maxStalledCount: opts.workerTuning?.maxStalledCount,
      processors: {
        [ROTATE_JOB_NAME]: createRotateMailboxKeyProcessor(rotationDeps),
        [REVOKE_JOB_NAME]: createRevokePreviousKeyProcessor({
          file, sendmux, secrets, jobs: rotationDeps.jobs, busyRetryMs: file.rotation.backoffInitialMs, pauseQueueFor, logger: jobLogger, events: opts.events,
        }),
      },
    });
  }

  let closed = false;
  return {
    settings,
    logger,
    redis,
    queue,
    ledger,
    sendmux,
    secrets,
    worker,
    async close() {
      if (closed) return;
      closed = true;
      // worker.close() waits for the jobs in progress to finish before it resolves.
      if (worker) await worker.close();
      await queueClient.close();
      await workerRedis?.quit().catch(() => undefined);
      if (!opts.secretsManagerClient) smClient.destroy();
    },
  };
}
