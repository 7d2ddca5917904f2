import type { Logger } from 'pino';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { renderSecretName, type RotatorSettings } from '../config';
import { closeRedisConnection, createRedisConnection, describeRedisTarget, type RedisClient } from '../queue/redis-connection';
import { RedisOutageLog } from '../queue/redis-outage-log';
import { combineSinks, type RotatorEventSink } from '../rotation/events';
import { AuditLog } from '../audit/audit-log';
import { AlertNotifier } from '../alerts/alert-notifier';
import { ConsumerNotifier } from '../notify/consumer-notifier';
import { RotatorMetrics } from '../metrics/rotator-metrics';
import { RotationScheduler } from '../scheduler/rotation-scheduler';
import { resolveMailboxes } from '../scheduler/resolve-mailboxes';
import { createMailboxCoverage } from '../scheduler/mailbox-coverage';
import { startHttpServer, type RunningHttpServer } from '../http';
import { createRotatorRuntime, type RotatorRuntime } from './rotator-runtime';
import { collectMailboxOverview } from '../overview/mailbox-overview';
import { Reconciler, queueRevocationJobs } from '../reconcile/reconciler';
import { bullmqJobDirectory } from '../rotation/exclusion';
import { createIncidentCommands } from '../incidents';
import { settlesWithin } from '../shared/deadline';
import { BookkeepingWrites } from '../queue/bookkeeping-writes';
import { createServer } from 'node:net';
import { InsecureBindError } from '../http';
import { isLoopbackHost } from '../http/auth';
import { resolveAwsRegion, type ResolvedAwsRegion } from '../aws/region';
import { regionInputs } from './rotator-runtime';
import { workerPresence } from '../queue/worker-presence';
import { errorSummary } from '../logging/error-summary';

export const ROLES = ['worker', 'scheduler', 'api'] as const;
export type Role = (typeof ROLES)[number];

/** `all`, or a comma list of worker, scheduler, api. */
export function parseRoles(text: string): Set<Role> {
  const parts = text
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p.length > 0);
  if (parts.length === 0) throw new Error('--role is empty: use all, or a comma list of worker, scheduler, api');
  const roles = new Set<Role>();
  for (const part of parts) {
    if (part === 'all') ROLES.forEach((r) => roles.add(r));
    else if ((ROLES as readonly string[]).includes(part)) roles.add(part as Role);
    else throw new Error(`unknown role "${part}": use all, or a comma list of worker, scheduler, api`);
  }
  return roles;
}

export interface RotatorServiceOptions {
  settings: RotatorSettings;
  logger: Logger;
  roles: Set<Role>;
  secretsManagerClient?: SecretsManagerClient;
  /** Receives every rotation and revocation event too, after audit, alerts and metrics (the demo prints them). */
  events?: RotatorEventSink;
  /** How long shutdown waits for jobs in progress before handing them back to the queue. */
  shutdownTimeoutMs?: number;
}

export interface RotatorService {
  runtime: RotatorRuntime;
  roles: Set<Role>;
  metrics: RotatorMetrics;
  audit: AuditLog;
  alerts: AlertNotifier;
  /** Present when notify.webhookUrl is set. */
  notifier?: ConsumerNotifier;
  scheduler?: RotationScheduler;
  /** Present with the scheduler role: rebuilds lost revocation work from Secrets Manager. */
  reconciler?: Reconciler;
  http?: RunningHttpServer;
  close(): Promise<void>;
}

/** Thrown when the HTTP port cannot be bound; names HOST and PORT. */
export class PortUnavailableError extends Error {
  constructor(readonly host: string, readonly port: number, reason: string) {
    super(`cannot listen on HOST=${host} PORT=${port}: ${reason}; stop the process using it or set another PORT`);
    this.name = 'PortUnavailableError';
  }
}

/**
 * Every refusal start-up can make, made before any role starts — before the Redis connection, the
 * worker (which would take a job at once), the scheduler or the reconciler: an HTTP API on a
 * non-loopback HOST without ROTATOR_API_TOKEN (InsecureBindError), no AWS region
 * (AwsRegionMissingError / AwsRegionInvalidError, src/aws/region.ts; skipped when the caller hands
 * in its own Secrets Manager client), and an HTTP port that cannot be bound (PortUnavailableError,
 * checked by binding and releasing it). Configuration errors are refused earlier still, when the
 * settings are loaded. Returns the region and where it came from, for the start-up log line.
 */
export async function checkBeforeStarting(opts: Pick<RotatorServiceOptions, 'settings' | 'secretsManagerClient'>): Promise<{ region?: ResolvedAwsRegion }> {
  const { env } = opts.settings;
  if ((env.apiToken === undefined || env.apiToken === '') && !isLoopbackHost(env.host)) throw new InsecureBindError(env.host);
  const region = opts.secretsManagerClient ? undefined : await resolveAwsRegion(regionInputs(env));
  if (env.port !== 0) await assertCanListen(env.host, env.port);
  return region ? { region } : {};
}

function assertCanListen(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(new PortUnavailableError(host, port, err.code === 'EADDRINUSE' ? 'the port is in use' : (err.code ?? err.message))),
    );
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/**
 * One rotator process: the parts its roles ask for, sharing one Redis connection, one runtime
 * (clients, queue, optional worker) and one event fan-out (audit history, alerts, metrics).
 * Refuses (throws) before starting anything when `checkBeforeStarting` does.
 */
export async function startRotatorService(opts: RotatorServiceOptions): Promise<RotatorService> {
  const { settings, logger, roles } = opts;
  const { env, file } = settings;
  const preflight = await checkBeforeStarting(opts);
  const redis: RedisClient = createRedisConnection(env.redis, 'producer');
  const outageLog = new RedisOutageLog(env.redis, logger.child({ component: 'redis' }));
  outageLog.watch(redis, 'producer');
  // AuditLog, AlertNotifier, RotationScheduler, the HTTP server and SendmuxClient add their own
  // `component` binding; a second one here would repeat the key in every line they log.
  // One tracker for the audit entries, alert counters and ledger of every job, flushed at shutdown;
  // they leave with each event-loop turn's socket write.
  const writes = new BookkeepingWrites(redis);
  const audit = new AuditLog({ redis, prefix: env.queuePrefix, logger, writes });
  const alerts = new AlertNotifier({
    webhookUrl: file.alerts.webhookUrl,
    webhookHeaders: file.alerts.webhookHeaders,
    allowPrivateNetwork: file.alerts.allowPrivateNetwork ?? false,
    signingSecrets: [env.alertWebhookSecret, env.alertWebhookSecretPrevious].filter((secret): secret is string => secret !== undefined),
    maxServerDelayMs: file.rotation.backoffMaxMs,
    redis,
    writes,
    prefix: env.queuePrefix,
    logger,
  });

  // With a list, per-mailbox series and failure counters exist only for the listed ids (groups
  // included); with `all` the scheduler's discovery decides, and unknown ids are refused upstream.
  const configuredIds =
    file.mailboxes === 'all' ? undefined : new Set([...file.mailboxes, ...file.groups.flatMap((group) => group.mailboxes ?? [])]);
  if (configuredIds) {
    // Not awaited: start-up must not wait on Redis for housekeeping.
    void alerts.pruneFailureCounters(configuredIds).catch((err: Error) =>
      logger.warn({ err: errorSummary(err) }, 'could not prune failure counters of mailboxes no longer configured'),
    );
  }

  let runtime: RotatorRuntime | undefined;
  // Consumer notifications: events arrive only once the runtime exists, so its secret store is read late.
  const notifier =
    file.notify.webhookUrl !== undefined && env.notifyWebhookSecret !== undefined
      ? new ConsumerNotifier({
          webhookUrl: file.notify.webhookUrl,
          signingSecret: env.notifyWebhookSecret,
          ...(env.notifyWebhookSecretPrevious === undefined ? {} : { previousSigningSecret: env.notifyWebhookSecretPrevious }),
          allowPrivateNetwork: file.notify.allowPrivateNetwork ?? false,
          secrets: {
            describeSecret: async (secretId) => {
              if (!runtime) throw new Error('the rotator runtime is not started');
              return runtime.secrets.describeSecret(secretId);
            },
          },
          renderSecretName: (mailboxId) => renderSecretName(file.secretName, mailboxId),
          logger,
        })
      : undefined;
  const metrics = new RotatorMetrics({
    ...(configuredIds ? { isConfiguredMailbox: (mailboxId: string) => configuredIds.has(mailboxId) } : {}),
    queue: {
      getJobCounts: async (...states: string[]) => (runtime ? runtime.queue.queue.getJobCounts(...(states as never[])) : {}),
      isPaused: async () => {
        if (!runtime) throw new Error('the runtime is not started yet');
        return runtime.queue.queue.isPaused();
      },
    },
    maxKeyAgeMs: file.maxKeyAgeMs,
    lastRotations: async () => (runtime ? runtime.ledger.allLastRotations() : new Map()),
    consecutiveFailures: () => alerts.consecutiveFailures(),
  });

  const started: Array<() => Promise<void>> = [];
  const closeStarted = async () => {
    for (const stop of started.reverse()) await stop().catch((err: Error) => logger.warn({ err: errorSummary(err) }, 'error while closing'));
    await closeRedisConnection(redis);
  };

  const events = combineSinks([audit, alerts, metrics, opts.events, notifier], (err) =>
    logger.warn({ err: errorSummary(err) }, 'an event sink failed; the rotation is unaffected'),
  );
  try {
    runtime = await createRotatorRuntime({
      settings,
      logger,
      redis,
      writes,
      outageLog,
      runWorker: roles.has('worker'),
      secretsManagerClient: opts.secretsManagerClient,
      events,
      onSendmuxCall: (record) => metrics.onSendmuxCall(record),
    });
    const rt = runtime;
    started.push(async () => {
      await closeWithin(rt, opts.shutdownTimeoutMs ?? file.rotation.shutdownTimeoutMs, logger);
      await audit.flush();
      await alerts.close();
      await notifier?.close();
    });

    let scheduler: RotationScheduler | undefined;
    if (roles.has('scheduler')) {
      scheduler = new RotationScheduler({
        file,
        queue: rt.queue,
        sendmux: rt.sendmux,
        secrets: rt.secrets,
        renderSecretName: (mailboxId) => renderSecretName(file.secretName, mailboxId),
        logger,
      });
      const sched = scheduler;
      started.push(() => sched.stop());
      await scheduler.start();
    }

    // Every scheduler replica reconciles (idempotent: stable job ids); the pass times are jittered.
    let reconciler: Reconciler | undefined;
    if (roles.has('scheduler')) {
      const rec = new Reconciler({
        file,
        secrets: rt.secrets,
        sendmux: rt.sendmux,
        jobs: bullmqJobDirectory(rt.queue.queue),
        revocations: queueRevocationJobs(rt.queue),
        logger,
      });
      reconciler = rec;
      started.push(() => rec.stop());
      rec.start();
    }

    // Every process serves probes and /metrics; only the api role adds the API and the dashboard.
    let http: RunningHttpServer | undefined;
    {
      const covers = createMailboxCoverage({ file, sendmux: rt.sendmux });
      http = await startHttpServer({
        surface: roles.has('api') ? 'full' : 'probes',
        logger,
        queue: rt.queue,
        redis,
        redisName: `${describeRedisTarget(env.redis)} (${env.redis.variable})`,
        workers: () => workerPresence(rt.queue.queue, env.queuePrefix),
        metrics,
        apiToken: env.apiToken,
        ...(env.apiTokens === undefined ? {} : { apiTokens: env.apiTokens }),
        failedAuth: {
          keyPrefix: `${env.queuePrefix}:auth-failures`,
          ...(file.api === undefined ? {} : { max: file.api.failedAuth.max, windowMs: file.api.failedAuth.windowMs }),
        },
        host: env.host,
        port: env.port,
        history: audit,
        mailboxOverview: {
          collect: async () => {
            const [overview, workers] = await Promise.all([
              collectMailboxOverview({ file, ledger: rt.ledger, audit, queue: rt.queue.queue, alerts, secrets: rt.secrets, sendmux: rt.sendmux }),
              workerPresence(rt.queue.queue, env.queuePrefix),
            ]);
            return { ...overview, workers };
          },
        },
        dashboardReadOnly: file.dashboard?.readOnly ?? true,
        ...(file.dashboard?.publicBasePath !== undefined || file.dashboard?.trustedProxies !== undefined
          ? {
              publicPath: {
                ...(file.dashboard.publicBasePath === undefined ? {} : { basePath: file.dashboard.publicBasePath }),
                ...(file.dashboard.trustedProxies === undefined ? {} : { trustedProxies: file.dashboard.trustedProxies }),
              },
            }
          : {}),
        resolveAllMailboxIds: async () =>
          (await resolveMailboxes({ file, sendmux: rt.sendmux, logger })).mailboxes.map((m) => m.mailboxId),
        covers,
        incidents: createIncidentCommands({ file, sendmux: rt.sendmux, secrets: rt.secrets, events, logger: rt.logger.child({ component: 'incidents' }), queue: rt.queue, ledger: rt.ledger, covers }),
      });
      const server = http;
      // Stop accepting HTTP first, so nothing new is enqueued while the worker drains.
      started.push(() => server.close());
    }

    logger.info(
      {
        roles: [...roles],
        queuePrefix: env.queuePrefix,
        redis: `${env.redis.mode}: ${describeRedisTarget(env.redis)} (${env.redis.variable})`,
        sendmuxApiUrl: env.sendmuxApiUrl,
        http: http?.url,
        ...(preflight.region ? { awsRegion: preflight.region.region, awsRegionSource: preflight.region.source } : {}),
        alertsWebhook: alerts.webhookOrigin ?? null,
        alertsSigned: alerts.webhookOrigin === undefined ? null : alerts.signed,
        notifyWebhook: notifier?.webhookOrigin ?? null,
      },
      'rotator started',
    );
    if (alerts.webhookOrigin !== undefined && !alerts.signed) {
      logger.warn({ alertsWebhook: alerts.webhookOrigin }, 'alerts go out unsigned: set ALERT_WEBHOOK_SECRET (docs/security.md)');
    }
    return { runtime: rt, roles, metrics, audit, alerts, ...(notifier ? { notifier } : {}), scheduler, ...(reconciler ? { reconciler } : {}), http, close: closeStarted };
  } catch (err) {
    await closeStarted();
    throw err;
  }
}

/**
 * Waits up to `timeoutMs` for the jobs in progress, then abandons what is still running: the
 * process must exit right after (the `start` command does), so an abandoned processor cannot act
 * once another worker has taken its job over.
 */
async function closeWithin(runtime: RotatorRuntime, timeoutMs: number, logger: Logger): Promise<void> {
  const closing = runtime.close();
  if (await settlesWithin(closing, timeoutMs)) return closing; // a failed close still reports its error
  const jobIds = runtime.jobsInProgress();
  const lockDurationMs = runtime.settings.file.rotation.lockDurationMs;
  if (jobIds.length > 0) {
    // Their locks are no longer renewed: once lockDuration has passed, the stalled-job check of
    // another worker moves them back to waiting and it resumes them from the step they reached.
    logger.warn(
      { timeoutMs, jobIds, lockDurationMs },
      `shutdown timeout reached with ${jobIds.length} job(s) still running; abandoning them: their locks expire within ${lockDurationMs} ms and another worker resumes them from the step they reached`,
    );
  } else {
    logger.warn({ timeoutMs }, 'shutdown timeout reached while closing the worker (Redis unreachable?); stopping without waiting further');
  }
  await runtime.abandon();
}
