import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { RotatorMetrics } from '../metrics/rotator-metrics';
import { QUEUE_JOB_STATES } from '../metrics/rotator-metrics';
import type { EnqueueOutcome, RotationQueue } from '../queue/rotation-queue';
import { requestedByOf, type AuthHook } from './auth';
import { sendError } from './errors';
import { checkRedis } from './readiness';
import { isRedisDown, type RedisClient } from '../queue/redis-connection';
import { describeJob } from './job-view';
import { mailboxHistoryDocument } from '../audit/history-document';
import { rateLimitRemainingMs, resumeProcessing } from '../queue/queue-control';
import { NOT_CONFIGURED, partitionByCoverage, type CoverageVerdict } from '../scheduler/mailbox-coverage';
import type { IncidentCommands } from '../incidents';
import {
  RequestValidationError,
  parseHistoryLimit,
  parseEmptyRequestBody,
  parseJobIdParam,
  parseKeyIdParam,
  parseMailboxIdParam,
  parseRotationRequestBody,
} from './request-validation';

/** How long an API request may wait before a silent Redis is suspected (then a 1 s PING decides). */
export const REDIS_ANSWER_DEADLINE_MS = 4_000;


export interface MailboxHistorySource {
  forMailbox(mailboxId: string, limit: number): Promise<unknown[]>;
}

export interface ApiRouteDeps {
  queue: RotationQueue;
  redis: RedisClient;
  /** How Redis is named in 503 answers, e.g. `redis://127.0.0.1:6379 (REDIS_URL)`; no password. */
  redisName?: string;
  metrics: RotatorMetrics;
  history: MailboxHistorySource;
  resolveAllMailboxIds: () => Promise<string[]>;
  /** Whether the configuration covers a mailbox; requests for others are refused before anything is enqueued. */
  covers: (mailboxId: string) => Promise<CoverageVerdict>;
  /** POST /mailboxes/:mailboxId/keys/:keyId/revoke and POST /rotations/:jobId/retry (src/incidents). */
  incidents?: IncidentCommands;
  auth?: AuthHook;
}

/** The JSON API and /metrics, in one scope behind the Bearer token. */
export async function registerApiRoutes(app: FastifyInstance, deps: ApiRouteDeps): Promise<void> {
  await app.register(async (api) => {
    if (deps.auth) api.addHook('onRequest', deps.auth);
    const redisName = deps.redisName ?? 'Redis';
    const unavailable = (reply: FastifyReply, reason = `connection is ${deps.redis.status}`) =>
      sendError(reply, 503, 'redis_unavailable', `cannot reach Redis at ${redisName}: ${reason}; retry when GET /readyz answers 200`);
    // Answer at once while the connection is known to be down (it failed and is reconnecting),
    // rather than after the client's retries, and before the body is checked (a 503 says more than
    // a 400 then). A first connection still being made is waited for.
    // /metrics still answers (without its Redis-backed gauges) so an outage stays visible.
    api.addHook('preHandler', async (request, reply) => {
      if (isRedisDown(deps.redis) && request.routeOptions.url !== '/metrics') return unavailable(reply);
      return undefined;
    });
    // A Redis that accepts connections but never answers (hung, or a network black hole) leaves the
    // connection "ready": a request still waiting after REDIS_ANSWER_DEADLINE_MS is answered 503 if
    // Redis does not answer a PING either (a slow Sendmux listing, with Redis fine, is waited for).
    api.addHook('onRequest', async (request, reply) => {
      if (request.routeOptions.url === '/metrics') return;
      const timer = setTimeout(() => {
        void checkRedis(deps.redis).then((check) => {
          if (check.ok || reply.sent) return;
          request.log.warn({ redis: check.reason }, 'request still waiting on a Redis that does not answer; answering 503');
          unavailable(reply, check.reason);
        });
      }, REDIS_ANSWER_DEADLINE_MS);
      reply.raw.once('close', () => clearTimeout(timer));
    });

    api.setErrorHandler(async (error: FastifyError, request, reply) => {
      if (error instanceof RequestValidationError) {
        return sendError(reply, 400, error.error, describeProblems(error), { problems: error.problems });
      }
      // A producer call fails when Redis is down; say so instead of a bare 500.
      const isClientError = typeof error.statusCode === 'number' && error.statusCode < 500;
      if (!isClientError && deps.redis.status !== 'ready') {
        request.log.warn({ err: error }, 'request failed while Redis is unavailable');
        return unavailable(reply);
      }
      throw error; // to the server's error handler
    });

    api.post('/rotations', async (request, reply) => {
      const body = parseRotationRequestBody(request.body);
      const mailboxIds = body.target.kind === 'all' ? await deps.resolveAllMailboxIds() : body.target.mailboxIds;
      if (mailboxIds.length === 0) {
        return sendError(reply, 409, 'no_mailboxes', '"all" matched no mailboxes: check the mailboxes selection in the configuration');
      }
      // `all` is resolved from the configuration itself; named ids are checked against it.
      const { covered, refused } =
        body.target.kind === 'all' ? { covered: mailboxIds, refused: [] } : await partitionByCoverage(mailboxIds, deps.covers);
      if (covered.length === 0) {
        return sendError(reply, 404, NOT_CONFIGURED, refused.map((r) => r.message).join('; '), {
          rotations: refused.map((r) => ({ mailboxId: r.mailboxId, status: 'refused', reason: NOT_CONFIGURED, message: r.message })),
        });
      }
      const outcomes = await deps.queue.requestRotations(
        covered.map((mailboxId) => ({
          mailboxId,
          reason: 'manual' as const,
          requestedBy: requestedByOf(request),
          force: body.force,
          revokeNow: body.revokeNow,
        })),
      );
      const rotations = [
        ...outcomes.map(toRotationView),
        ...refused.map((r): RotationView => ({ mailboxId: r.mailboxId, status: 'refused', reason: NOT_CONFIGURED, message: r.message })),
      ];
      const allRefused = rotations.every((r) => r.status === 'refused');
      return reply.code(allRefused ? 409 : 202).send({ rotations });
    });

    api.get<{ Params: { jobId: string } }>('/rotations/:jobId', async (request, reply) => {
      const jobId = parseJobIdParam(request.params.jobId);
      // State first, then the job: see describeJob.
      const state = await deps.queue.queue.getJobState(jobId);
      const job = await deps.queue.getJob(jobId);
      if (!job) {
        return sendError(reply, 404, 'job_not_found', `no job ${jobId}: it never existed or has been removed after its retention period`);
      }
      return describeJob(job, state === 'unknown' ? undefined : state);
    });

    if (deps.incidents) registerIncidentRoutes(api, deps.incidents);

    api.get<{ Params: { mailboxId: string }; Querystring: { limit?: string } }>(
      '/mailboxes/:mailboxId/history',
      async (request) => {
        const mailboxId = parseMailboxIdParam(request.params.mailboxId);
        const limit = parseHistoryLimit(request.query.limit);
        return mailboxHistoryDocument(mailboxId, await deps.history.forMailbox(mailboxId, limit));
      },
    );

    api.get('/queue', async () => queueStatus(deps.queue));

    api.post('/queue/pause', async (request) => {
      // BullMQ's pause is global: every replica's worker stops taking new jobs.
      await deps.queue.queue.pause();
      request.log.warn('rotation queue paused through the API');
      return queueStatus(deps.queue);
    });

    api.post('/queue/resume', async (request) => {
      await resumeProcessing(deps.queue.queue);
      request.log.info('rotation queue resumed through the API (pause and any rate-limit pause lifted)');
      return queueStatus(deps.queue);
    });

    api.get('/metrics', async (_request, reply: FastifyReply) => {
      const text = await deps.metrics.registry.metrics();
      return reply.type(deps.metrics.registry.contentType).send(text);
    });
  });
}

/** Same auth and validation as the other routes; 404/409 say what was refused and why, nothing was done. */
function registerIncidentRoutes(api: FastifyInstance, incidents: IncidentCommands): void {
  api.post<{ Params: { mailboxId: string; keyId: string } }>('/mailboxes/:mailboxId/keys/:keyId/revoke', async (request, reply) => {
    const mailboxId = parseMailboxIdParam(request.params.mailboxId);
    const keyId = parseKeyIdParam(request.params.keyId);
    parseEmptyRequestBody(request.body);
    const answer = await incidents.revokeKey({ mailboxId, keyId, requestedBy: requestedByOf(request) });
    request.log.warn({ mailboxId, keyId, outcome: answer.outcome }, `key revocation by hand through the API: ${answer.outcome}`);
    if (answer.outcome === 'revoked') return reply.code(200).send(answer);
    if (answer.outcome === 'not-found') return sendError(reply, 404, 'key_not_found', answer.message, { revocation: answer });
    if (answer.outcome === 'still-live') return sendError(reply, 502, 'key_still_live', answer.message, { revocation: answer });
    return sendError(reply, answer.reason === NOT_CONFIGURED ? 404 : 409, answer.reason, answer.message, { revocation: answer });
  });

  api.post<{ Params: { jobId: string } }>('/rotations/:jobId/retry', async (request, reply) => {
    const jobId = parseJobIdParam(request.params.jobId);
    parseEmptyRequestBody(request.body);
    const answer = await incidents.retryRotation(jobId, requestedByOf(request));
    if (answer.outcome === 'retried') {
      request.log.info({ jobId, mailboxId: answer.mailboxId }, 'failed rotation retried through the API');
      return reply.code(202).send(answer);
    }
    const notFound = answer.reason === 'job_not_found' || answer.reason === NOT_CONFIGURED;
    return sendError(reply, notFound ? 404 : 409, answer.reason, answer.message, { retry: answer });
  });
}

interface RotationView {
  mailboxId: string;
  status: EnqueueOutcome['status'];
  jobId?: string;
  /** `not_configured` when the configuration does not cover the mailbox. */
  reason?: typeof NOT_CONFIGURED;
  message?: string;
}

function toRotationView(outcome: EnqueueOutcome): RotationView {
  const view: RotationView = { mailboxId: outcome.mailboxId, status: outcome.status };
  if ('jobId' in outcome) view.jobId = outcome.jobId;
  if ('message' in outcome) view.message = outcome.message;
  return view;
}

async function queueStatus(
  queue: RotationQueue,
): Promise<{ paused: boolean; rateLimitedForMs: number; counts: Record<string, number> }> {
  const [paused, rateLimitedForMs, counts] = await Promise.all([
    queue.queue.isPaused(),
    rateLimitRemainingMs(queue.queue),
    queue.queue.getJobCounts(...QUEUE_JOB_STATES),
  ]);
  return { paused, rateLimitedForMs, counts };
}

function describeProblems(error: RequestValidationError): string {
  const [first, ...rest] = error.problems;
  if (!first) return 'the request is invalid';
  const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length === 1 ? '' : 's'})` : '';
  return `${first.field}: ${first.message}${more}`;
}
