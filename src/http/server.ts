import type { AddressInfo } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { RedisClient } from '../queue/redis-connection';
import type { Logger } from 'pino';
import type { RotatorMetrics } from '../metrics/rotator-metrics';
import type { RotationQueue } from '../queue/rotation-queue';
import { registerApiRoutes, type MailboxHistorySource } from './api-routes';
import { InsecureBindError, TokenChecker, isLoopbackHost, requireBearerToken, requireDashboardCredentials } from './auth';
import { createErrorHandler, notFoundHandler, sendError } from './errors';
import { checkRedis } from './readiness';
import { logRequest } from './request-log';

export const DEFAULT_BODY_LIMIT_BYTES = 16 * 1024;

export interface HttpServerDeps {
  /** Shared with the rest of the process. */
  logger: Logger;
  queue: RotationQueue;
  /** Checked by /readyz. */
  redis: RedisClient;
  /** How Redis is named in 503 answers, e.g. `redis://127.0.0.1:6379 (REDIS_URL)`; no password. */
  redisName?: string;
  metrics: RotatorMetrics;
  /** ROTATOR_API_TOKEN. Without it the server only starts on a loopback host. */
  apiToken?: string;
  host: string;
  port: number;
  history: MailboxHistorySource;
  /** The mailboxes `{"all": true}` means. */
  resolveAllMailboxIds: () => Promise<string[]>;
  bodyLimitBytes?: number;
  /**
   * 'full' (the api role): API, dashboard, /metrics and probes. 'probes': only /healthz, /readyz
   * and /metrics, so worker and scheduler replicas can be probed and scraped too.
   */
  surface?: 'full' | 'probes';
}

export interface RunningHttpServer {
  app: FastifyInstance;
  /** e.g. `http://127.0.0.1:3000`. */
  url: string;
  close(): Promise<void>;
}

/**
 * Builds the HTTP server (API, /metrics, probes, dashboard) without listening. Throws
 * InsecureBindError when there is no API token and the host is reachable from other machines.
 */
export async function createHttpServer(deps: HttpServerDeps): Promise<FastifyInstance> {
  const checker = resolveAuth(deps);
  const bodyLimitBytes = deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;

  // Typed as Fastify's logger interface so the instance keeps Fastify's default type parameters.
  const httpLogger: FastifyBaseLogger = deps.logger.child({ component: 'http' });
  const app = Fastify({
    loggerInstance: httpLogger,
    // Fastify's own request logging writes two lines; logRequest writes one.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: bodyLimitBytes,
    // Job ids and mailbox ids are long; the default 100 is too tight for `rotate__<255 chars>__<slot>`.
    routerOptions: { maxParamLength: 700 },
    // Proxies in front of the rotator are not trusted to name the client.
    trustProxy: false,
  });

  // Only JSON bodies are accepted: a text/plain POST is answered 415 rather than parsed as a string.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(createErrorHandler({ bodyLimitBytes }));
  app.setNotFoundHandler(notFoundHandler);
  app.addHook('onResponse', logRequest);

  // Probes stay open: an orchestrator has no token.
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const redis = await checkRedis(deps.redis);
    if (redis.ok) return { status: 'ok', redis: 'ok' };
    const where = deps.redisName === undefined ? '' : ` at ${deps.redisName}`;
    return sendError(reply, 503, 'unavailable', `Redis is not answering${where}: ${redis.reason}`, { status: 'unavailable', redis: redis.reason });
  });

  if (deps.surface === 'probes') {
    await app.register(async (scope) => {
      if (checker) scope.addHook('onRequest', requireBearerToken(checker));
      scope.get('/metrics', async (_request, reply) => reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()));
    });
    return app;
  }

  await registerApiRoutes(app, {
    queue: deps.queue,
    redis: deps.redis,
    ...(deps.redisName === undefined ? {} : { redisName: deps.redisName }),
    metrics: deps.metrics,
    history: deps.history,
    resolveAllMailboxIds: deps.resolveAllMailboxIds,
    auth: checker ? requireBearerToken(checker) : undefined,
  });
  // Loaded only here: Bull Board and its UI cost ~9 MB of heap that worker replicas never use.
  const { registerDashboard } = await import('./dashboard');
  await registerDashboard(app, {
    queue: deps.queue.queue,
    auth: checker ? requireDashboardCredentials(checker) : undefined,
  });

  return app;
}

/** createHttpServer, then listen on deps.host:deps.port (port 0 picks a free port). */
export async function startHttpServer(deps: HttpServerDeps): Promise<RunningHttpServer> {
  const app = await createHttpServer(deps);
  await app.listen({ host: deps.host, port: deps.port });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  app.log.info({ url }, 'HTTP server listening');
  let closing: Promise<void> | undefined;
  return {
    app,
    url,
    close() {
      closing ??= app.close();
      return closing;
    },
  };
}

function resolveAuth(deps: HttpServerDeps): TokenChecker | undefined {
  if (deps.apiToken !== undefined && deps.apiToken !== '') return new TokenChecker(deps.apiToken);
  if (!isLoopbackHost(deps.host)) throw new InsecureBindError(deps.host);
  deps.logger.warn(
    { component: 'http', host: deps.host },
    'ROTATOR_API_TOKEN is not set: the HTTP API, /metrics and the dashboard accept requests WITHOUT authentication; ' +
      'this is allowed only because HOST is a loopback address',
  );
  return undefined;
}
