import { STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { RedisClient } from '../queue/redis-connection';
import type { Logger } from 'pino';
import type { RotatorMetrics } from '../metrics/rotator-metrics';
import type { RotationQueue } from '../queue/rotation-queue';
import { registerApiRoutes, type MailboxHistorySource } from './api-routes';
import type { IncidentCommands } from '../incidents';
import type { MailboxOverviewSource } from './mailbox-overview-page';
import { DEFAULT_TOKEN_NAME, InsecureBindError, TokenRegistry, bearerToken, isLoopbackHost, requireBearerToken, requireDashboardCredentials, type ApiTokenEntry, type AuthOptions } from './auth';
import { FailedAuthLimiter } from './failed-auth-limiter';
import { noWorkerMessage, type WorkerPresence } from '../queue/worker-presence';
import { createErrorHandler, notFoundHandler, sendError } from './errors';
import { checkRedis } from './readiness';
import { logRequest } from './request-log';
import { REQUEST_ID_LOG_KEY, echoRequestId, requestIdOf } from './request-id';
import { registerSecurityHeaders, requireLoopbackCaller } from './security';
import { coverageFromList, type CoverageVerdict } from '../scheduler/mailbox-coverage';
import { createPublicPathResolver, type PublicPathOptions } from './public-path';

export const DEFAULT_BODY_LIMIT_BYTES = 16 * 1024;
/** The whole request (headers and body) must arrive within this: a slow body cannot hold a connection. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/**
 * A socket with no traffic either way for this long is closed. A handler at work is silence on
 * the socket too, and `{"all": true}` pages through every mailbox first, so this is generous.
 */
export const CONNECTION_TIMEOUT_MS = 120_000;

export interface HttpServerDeps {
  /** Shared with the rest of the process. */
  logger: Logger;
  queue: RotationQueue;
  /** Checked by /readyz. */
  redis: RedisClient;
  /**
   * Who consumes the queue, for /readyz's detail: shown only to a caller holding the API token
   * (or on a token-less loopback server), never to an anonymous probe. Readiness itself stays
   * about this process (Redis): an API replica is ready to serve even when no worker runs.
   */
  workers?: () => Promise<WorkerPresence>;
  /** How Redis is named in 503 answers, e.g. `redis://127.0.0.1:6379 (REDIS_URL)`; no password. */
  redisName?: string;
  metrics: RotatorMetrics;
  /** ROTATOR_API_TOKEN: the token named `default`, role operator. Without any token the server only starts on a loopback host. */
  apiToken?: string;
  /** Named tokens with roles (`api.tokens`), accepted besides apiToken. */
  apiTokens?: readonly ApiTokenEntry[];
  /**
   * Failed authentications allowed per client address per window (429 after), counted in `redis`
   * under `keyPrefix` so every replica shares them. Default: 10 per minute under `rotator:auth-failures`.
   */
  failedAuth?: { max?: number; windowMs?: number; keyPrefix?: string };
  host: string;
  port: number;
  history: MailboxHistorySource;
  /** The mailboxes `{"all": true}` means. */
  resolveAllMailboxIds: () => Promise<string[]>;
  /** Whether the configuration covers a mailbox (POST /rotations refuses others). Default: it is one of resolveAllMailboxIds(). */
  covers?: (mailboxId: string) => Promise<CoverageVerdict>;
  /** The incident routes (revoke one key, retry a failed rotation); absent, they are not served. */
  incidents?: IncidentCommands;
  bodyLimitBytes?: number;
  /** Serves /admin/mailboxes (the api role) when given. */
  mailboxOverview?: MailboxOverviewSource;
  /** See DEFAULT_REQUEST_TIMEOUT_MS. */
  requestTimeoutMs?: number;
  /** Bull Board without job actions (retry, promote, clean, add, edit...). Default true. */
  dashboardReadOnly?: boolean;
  /** The dashboard and mailbox page behind a reverse proxy under a path prefix (src/http/public-path.ts). */
  publicPath?: PublicPathOptions;
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
  const auth = resolveAuth(deps);
  const bodyLimitBytes = deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const requestTimeoutMs = deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;

  // Typed as Fastify's logger interface so the instance keeps Fastify's default type parameters.
  const httpLogger: FastifyBaseLogger = deps.logger.child({ component: 'http' });
  const app = Fastify({
    loggerInstance: httpLogger,
    // Fastify's own request logging writes two lines; logRequest writes one.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: REQUEST_ID_LOG_KEY }),
    bodyLimit: bodyLimitBytes,
    // Job ids and mailbox ids are long; the default 100 is too tight for `rotate__<255 chars>__<slot>`.
    routerOptions: { maxParamLength: 700 },
    // Proxies in front of the rotator are not trusted to name the client.
    trustProxy: false,
    // X-Request-Id: the caller's when valid, else generated; echoed on every answer (echoRequestId)
    // and bound to each of the request's log lines as `requestId` (the LogController's label).
    genReqId: requestIdOf,
    requestTimeout: requestTimeoutMs,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    // Node reads requestTimeout for its deadline checks only when the server is created (setting it
    // afterwards, as Fastify does, has no effect), and checks every 30 s by default: every second.
    http: { requestTimeout: requestTimeoutMs, connectionsCheckingInterval: Math.min(1_000, requestTimeoutMs) },
    clientErrorHandler: answerClientError,
  });
  app.addHook('onRequest', echoRequestId);
  await registerSecurityHeaders(app);
  if (!auth) app.addHook('onRequest', requireLoopbackCaller);

  // Only JSON bodies are accepted: a text/plain POST is answered 415 rather than parsed as a string.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(createErrorHandler({ bodyLimitBytes }));
  app.setNotFoundHandler(notFoundHandler);
  app.addHook('onResponse', logRequest);

  // Probes stay open: an orchestrator has no token.
  app.get('/healthz', async () => ({ status: 'ok' }));
  // Without credentials the probes say only ok / not ok: a reason would tell anyone where Redis is
  // and why it fails. Any valid token (or the token-less loopback mode) gets the detail.
  const mayReadDetail = (request: FastifyRequest) => auth === undefined || auth.tokens.identify(bearerToken(request)) !== undefined;
  app.get('/readyz', async (request, reply) => {
    const redis = await checkRedis(deps.redis);
    const detailed = mayReadDetail(request);
    if (redis.ok) {
      if (!detailed) return { status: 'ok' };
      if (deps.workers === undefined) return { status: 'ok', redis: 'ok' };
      const workers = await deps.workers();
      return {
        status: 'ok',
        redis: 'ok',
        workers: { count: workers.count, queuePrefix: workers.queuePrefix },
        ...(workers.count === 0 ? { warnings: [noWorkerMessage(workers.queuePrefix)] } : {}),
      };
    }
    if (!detailed) return sendError(reply, 503, 'unavailable', 'not ready', { status: 'unavailable' });
    const where = deps.redisName === undefined ? '' : ` at ${deps.redisName}`;
    return sendError(reply, 503, 'unavailable', `Redis is not answering${where}: ${redis.reason}`, { status: 'unavailable', redis: redis.reason });
  });

  if (deps.surface === 'probes') {
    await app.register(async (scope) => {
      if (auth) scope.addHook('onRequest', requireBearerToken(auth));
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
    covers: deps.covers ?? coverageFromList(deps.resolveAllMailboxIds),
    ...(deps.incidents ? { incidents: deps.incidents } : {}),
    auth: auth ? requireBearerToken(auth) : undefined,
  });
  const publicPrefix = deps.publicPath ? createPublicPathResolver(deps.publicPath) : undefined;
  // Loaded only here: Bull Board and its UI cost ~9 MB of heap that worker replicas never use.
  const { registerDashboard } = await import('./dashboard');
  await registerDashboard(app, {
    queue: deps.queue.queue,
    auth: auth ? requireDashboardCredentials(auth) : undefined,
    readOnly: deps.dashboardReadOnly ?? true,
    ...(publicPrefix ? { publicPrefix } : {}),
  });
  if (deps.mailboxOverview) {
    const { registerMailboxOverviewPage } = await import('./mailbox-overview-page');
    await registerMailboxOverviewPage(app, {
      source: deps.mailboxOverview,
      auth: auth ? requireDashboardCredentials(auth) : undefined,
      ...(publicPrefix ? { publicPrefix } : {}),
    });
  }

  return app;
}

/**
 * Node's 'clientError' (a request the HTTP parser refused: a bad byte, headers over 16 KB, a
 * timeout) answered as Fastify's default does (400 / 431 / 408, then the socket is destroyed),
 * but logged by code only. Fastify's default logs the whole error, whose `rawPacket` holds the
 * request's bytes, Authorization header included.
 */
function answerClientError(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message, label] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Client Timeout', 'timeout']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Exceeded maximum allowed HTTP header size', 'header_overflow']
        : [400, 'Client Error', 'error'];
  this.log.trace({ clientError: { code: err.code ?? 'unknown' } }, `client ${label}`);
  if (socket.writable) {
    const reason = STATUS_CODES[status] ?? 'Error';
    const body = JSON.stringify({ error: reason, message, statusCode: status });
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
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

function resolveAuth(deps: HttpServerDeps): AuthOptions | undefined {
  const tokens: ApiTokenEntry[] = [
    ...(deps.apiToken === undefined || deps.apiToken === '' ? [] : [{ name: DEFAULT_TOKEN_NAME, role: 'operator' as const, token: deps.apiToken }]),
    ...(deps.apiTokens ?? []),
  ];
  if (tokens.length > 0) {
    const limiter = new FailedAuthLimiter({
      redis: deps.redis,
      keyPrefix: deps.failedAuth?.keyPrefix ?? 'rotator:auth-failures',
      ...(deps.failedAuth?.max === undefined ? {} : { max: deps.failedAuth.max }),
      ...(deps.failedAuth?.windowMs === undefined ? {} : { windowMs: deps.failedAuth.windowMs }),
    });
    return { tokens: new TokenRegistry(tokens), limiter };
  }
  if (!isLoopbackHost(deps.host)) throw new InsecureBindError(deps.host);
  deps.logger.warn(
    { component: 'http', host: deps.host },
    'ROTATOR_API_TOKEN is not set: the HTTP API, /metrics and the dashboard accept requests WITHOUT authentication; ' +
      'this is allowed only because HOST is a loopback address',
  );
  return undefined;
}
