import type { Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { RotatorSettings } from '../config';
import { SendmuxClient } from '../sendmux/client';
import type { SendmuxCallRecord } from '../sendmux/types';
import { createSecretsManagerClient } from '../aws/secrets-manager-client';
import { allowedSecretNames, SecretStore } from '../aws/secret-store';
import { closeRedisConnection, createRedisConnection, type RedisClient } from '../queue/redis-connection';
import { isRedisConnectionError, type RedisOutageLog } from '../queue/redis-outage-log';
import type { RotationQueue } from '../queue/rotation-queue';
import { createRotationWorker } from '../queue/rotation-worker';
import { RateLimitGuard } from '../queue/rate-limit-guard';
import type { MailboxLedger } from '../rotation/mailbox-ledger';
import { createQueueClient } from './queue-client';
import type { BookkeepingWrites } from '../queue/bookkeeping-writes';
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
import { settlesWithin } from '../shared/deadline';
import { resolveAwsRegion, type RegionEnv } from '../aws/region';
import type { RotatorEnv } from '../config/types';
import { errorSummary } from '../logging/error-summary';

/** The variables the region is resolved from (settings made by hand carry only awsRegion). */
export function regionInputs(env: RotatorEnv): RegionEnv {
  return env.awsRegionInputs ?? (env.awsRegion === undefined ? {} : { AWS_REGION: env.awsRegion });
}

/** A region provider for the SDK that resolves once (a failure is retried on the next call). */
function memoizedRegion(inputs: RegionEnv): () => Promise<string> {
  let resolved: Promise<string> | undefined;
  return () => {
    resolved ??= resolveAwsRegion(inputs).then(
      (r) => r.region,
      (err: unknown) => {
        resolved = undefined;
        throw err;
      },
    );
    return resolved;
  };
}

export interface RotatorRuntimeOptions {
  settings: RotatorSettings;
  logger: Logger;
  /** Start a BullMQ worker in this process. */
  runWorker: boolean;
  /** The producer Redis connection, when the caller shares it (audit, alerts); closed by the caller then. */
  redis?: RedisClient;
  /** Tracks bookkeeping writes on `redis` with the caller's (the service's audit and alerts), flushed at shutdown. */
  writes?: BookkeepingWrites;
  /** 'cli' gives up connecting sooner than the service's 'producer' (when `redis` is not given). */
  redisPurpose?: 'producer' | 'cli';
  /** Told about the worker connection's outages, so they are logged once per state change. */
  outageLog?: RedisOutageLog;
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
  redis: RedisClient;
  queue: RotationQueue;
  ledger: MailboxLedger;
  sendmux: SendmuxClient;
  secrets: SecretStore;
  worker?: Worker;
  /** Ids of the jobs this process's worker is running now. */
  jobsInProgress(): string[];
  /** Stops taking jobs, lets in-flight ones finish, closes Redis and HTTP clients. May wait as long as a job takes. */
  close(): Promise<void>;
  /**
   * Stops at once without waiting for jobs in progress (at most ~1 s per connection): their
   * processors are left unfinished and their Redis locks are not renewed, so BullMQ hands them to
   * another worker once the lock expires (lockDuration). The caller must then end the process, so
   * an abandoned processor cannot act after another worker took its job over.
   */
  abandon(): Promise<void>;
}

export async function createRotatorRuntime(opts: RotatorRuntimeOptions): Promise<RotatorRuntime> {
  const { settings, logger } = opts;
  const { env, file } = settings;

  const smClient =
    opts.secretsManagerClient ??
    // No default region: one nobody chose would store secrets where no consumer reads them. A
    // command that never calls Secrets Manager runs without one; the first call that needs it
    // fails with the variables to set (`start` refuses before anything starts: service.ts).
    createSecretsManagerClient({ region: memoizedRegion(regionInputs(env)), requestTimeoutMs: file.sendmux.timeoutMs });
  const secrets = new SecretStore({
    client: smClient,
    logger: logger.child({ component: 'secrets-manager' }),
    maxServerDelayMs: file.rotation.backoffMaxMs,
    // Only the configured mailbox secrets and the management-key secret: a bug or a hostile input
    // that names another secret is refused before anything is sent to AWS.
    allowed: allowedSecretNames(file.secretName, env.sendmuxApiKeySecretId),
  });

  const queueClient = createQueueClient(settings, opts.redis, opts.redisPurpose ?? 'producer', opts.writes);
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
  let workerRedis: RedisClient | undefined;
  const inProgress = new Set<string>();
  // The ids of jobs this process is running, so a shutdown can say which it abandons.
  const tracked =
    <A extends [Job, ...unknown[]], R>(process: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const id = String(args[0].id);
      inProgress.add(id);
      try {
        return await process(...args);
      } finally {
        inProgress.delete(id);
      }
    };
  if (opts.runWorker) {
    workerRedis = createRedisConnection(env.redis, 'worker');
    opts.outageLog?.watch(workerRedis, 'worker');
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
        [ROTATE_JOB_NAME]: tracked(createRotateMailboxKeyProcessor(rotationDeps)),
        [REVOKE_JOB_NAME]: tracked(
          createRevokePreviousKeyProcessor({
            file, sendmux, secrets, jobs: rotationDeps.jobs, busyRetryMs: file.rotation.backoffInitialMs, pauseQueueFor, logger: jobLogger, events: opts.events,
          }),
        ),
      },
    });
    // The worker re-emits every failed reconnect as 'error' (every 0.2-5 s while Redis is away);
    // the outage log reports those once per state change, so only other errors are logged here.
    worker.removeAllListeners('error');
    worker.on('error', (err) => {
      if (isRedisConnectionError(err)) jobLogger.debug({ err: errorSummary(err) }, 'worker: Redis connection error');
      else jobLogger.error({ err: errorSummary(err) }, 'worker error');
    });
  }

  let closed = false;
  const abandon = async () => {
    closed = true;
    // close(true) does not wait for the processors; it may still wait on a Redis that is gone.
    if (worker) await settlesWithin(worker.close(true), 1_000);
    await queueClient.close();
    if (workerRedis) workerRedis.disconnect();
    if (!opts.secretsManagerClient) smClient.destroy();
  };
  return {
    settings,
    logger,
    redis,
    queue,
    ledger,
    sendmux,
    secrets,
    worker,
    jobsInProgress: () => [...inProgress],
    abandon,
    async close() {
      if (closed) return;
      closed = true;
      // worker.close() waits for the jobs in progress to finish before it resolves.
      if (worker) await worker.close();
      await queueClient.close();
      if (workerRedis) await closeRedisConnection(workerRedis);
      if (!opts.secretsManagerClient) smClient.destroy();
    },
  };
}
