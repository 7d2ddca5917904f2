import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { authorize, identifyCaller } from './auth';
import type { Keyring, Principal } from './auth';
import { SandboxApiError, errorResult } from './envelope';
import type { OperationResult } from './envelope';
import { AFTER_WORK_FAULTS, BEFORE_WORK_FAULTS } from './faults';
import type { FaultController } from './faults';
import { IdempotencyStore, bodyFingerprint } from './idempotency';
import { API_BASE_PATH } from './operations';
import type { OperationRequest, SandboxOperations } from './operations';
import type { FixedWindowRateLimiter } from './rate-limiter';
import { dropConnection, faultResponse, prepare, prepareError, send } from './respond';
import type { PreparedResponse } from './respond';
import type { SandboxState } from './state';
import type { SandboxOperation } from './types';

/** The vendor caps request bodies at 64 KiB. */
export const MAX_BODY_BYTES = 64 * 1024;
/** The sandbox serves one team; every root key belongs to it (idempotency is cached per team). */
const SANDBOX_TEAM = 'team_sandbox';
const IDEMPOTENCY_KEY_MAX = 255;
const DEFAULT_DELAY_FAULT_MS = 1000;

export interface VendorApiDeps {
  state: SandboxState;
  faults: FaultController;
  operations: SandboxOperations;
  limiter: FixedWindowRateLimiter;
  idempotency: IdempotencyStore;
  keyring: Keyring;
  /** Milliseconds to hold the next response (the configured latency, drawn per response). */
  nextLatencyMs: () => number;
  logger?: Logger;
}

interface RouteSpec {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  operation: SandboxOperation;
  /** Accepts an Idempotency-Key header and replays cached successes. */
  idempotent: boolean;
}

const ROUTES: readonly RouteSpec[] = [
  { method: 'GET', url: '/mailboxes', operation: 'listMailboxes', idempotent: false },
  { method: 'GET', url: '/mailboxes/:public_id', operation: 'getMailbox', idempotent: false },
  { method: 'POST', url: '/mailboxes/:public_id/keys', operation: 'mintMailboxKey', idempotent: true },
  { method: 'DELETE', url: '/mailboxes/:public_id/keys/:key_id', operation: 'revokeMailboxKey', idempotent: true },
  { method: 'GET', url: '/mailbox/me', operation: 'getMailboxMe', idempotent: false },
];

/**
 * The vendor contract under /api/v1: request ids, auth, the per-key rate limit, idempotency,
 * injected faults and latency, around the five operations.
 */
export async function registerVendorApi(app: FastifyInstance, deps: VendorApiDeps): Promise<void> {
  await app.register(
    async (api) => {
      const principals = new WeakMap<FastifyRequest, Principal>();
      const dropped = new WeakSet<FastifyRequest>();

      // The sandbox validates bodies itself, so every content type arrives as text.
      api.removeAllContentTypeParsers();
      api.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

      api.addHook('onRequest', async (request, reply) => {
        reply.header('x-request-id', request.id);
      });
      api.addHook('onSend', async (_request, _reply, payload) => {
        const latencyMs = deps.nextLatencyMs();
        if (latencyMs > 0) await sleep(latencyMs);
        return payload;
      });

      api.setErrorHandler((error, request, reply) => {
        const apiError = error instanceof SandboxApiError ? error : fromFrameworkError(error);
        if (apiError.status >= 500) deps.logger?.error({ requestId: request.id, error: errorMessage(error) }, 'sandbox request failed');
        return send(reply, prepareError(apiError, request.id));
      });
      api.setNotFoundHandler((request, reply) => {
        const path = request.url.split('?')[0] ?? request.url;
        return send(reply, prepareError(new SandboxApiError(404, 'not_found', `No route for ${request.method} ${path}.`), request.id));
      });

      for (const spec of ROUTES) {
        api.route({
          method: spec.method,
          url: spec.url,
          bodyLimit: MAX_BODY_BYTES,
          onRequest: async (request, reply) => {
            const caller = identifyCaller(request.headers.authorization, deps.keyring, deps.state);
            // Every request made with a root key counts, even one it is not permitted to make;
            // /mailbox/me is not a management route and never counts.
            if (caller?.kind === 'management' && spec.operation !== 'getMailboxMe') applyRateLimit(caller.key, reply);
            principals.set(request, authorize(spec.operation, caller, deps.state));
          },
          onResponse: async (request, reply) => {
            if (dropped.has(request)) return;
            deps.state.recordResponse(spec.operation, String(reply.statusCode));
            deps.logger?.debug({ requestId: request.id, operation: spec.operation, status: reply.statusCode }, 'sandbox response');
          },
          handler: async (request, reply) => {
            const principal = principals.get(request);
            const outcome = await handle(spec, request, principal);
            if (outcome === 'drop') {
              dropped.add(request);
              deps.state.recordResponse(spec.operation, 'dropped');
              dropConnection(request, reply);
              return reply;
            }
            return send(reply, outcome);
          },
        });
      }

      function applyRateLimit(managementKey: string, reply: FastifyReply): void {
        const decision = deps.limiter.consume(managementKey);
        if (!decision) return;
        reply.header('x-ratelimit-limit', String(decision.limit));
        reply.header('x-ratelimit-remaining', String(decision.remaining));
        reply.header('x-ratelimit-reset', String(decision.resetAtSeconds));
        if (!decision.allowed) {
          deps.state.counters.rateLimited += 1;
          throw new SandboxApiError(429, 'rate_limit_exceeded', `Rate limit of ${decision.limit} requests per window exceeded; retry after ${decision.retryAfterSeconds}s.`, {
            headers: { 'retry-after': String(decision.retryAfterSeconds) },
          });
        }
      }
    },
    { prefix: API_BASE_PATH },
  );

  async function handle(spec: RouteSpec, request: FastifyRequest, principal: Principal | undefined): Promise<PreparedResponse | 'drop'> {
    const requestId = request.id;
    const params = request.params as Record<string, string | undefined>;
    const mailboxKey = principal?.kind === 'mailbox' ? principal.key : undefined;
    const mailboxId = mailboxKey ? mailboxKey.mailboxId : params.public_id;

    const fault = deps.faults.take(spec.operation, mailboxId, [...BEFORE_WORK_FAULTS, ...AFTER_WORK_FAULTS]);
    if (fault?.kind === 'drop') return 'drop';
    if (fault && BEFORE_WORK_FAULTS.includes(fault.kind)) return faultResponse(fault, spec.operation, requestId);

    const rawBody = typeof request.body === 'string' ? request.body : undefined;
    let idempotencyScope: string | undefined;
    try {
      let response: PreparedResponse;
      try {
        const idempotency = spec.idempotent ? idempotencyOf(request, rawBody) : undefined;
        const lookup = idempotency ? deps.idempotency.lookup(idempotency.scope, idempotency.fingerprint) : undefined;
        if (lookup?.kind === 'inFlight') {
          deps.state.counters.idempotencyConflicts += 1;
          throw new SandboxApiError(409, 'idempotency_conflict', 'A request with this Idempotency-Key is still in progress; retry shortly with the same key and body.', {
            param: 'Idempotency-Key',
            retryable: true,
          });
        }
        if (lookup?.kind === 'conflict') {
          deps.state.counters.idempotencyConflicts += 1;
          throw new SandboxApiError(409, 'idempotency_conflict', 'This Idempotency-Key was already used with a different request body; use a new key for a different request.', {
            param: 'Idempotency-Key',
            retryable: false,
          });
        }
        if (lookup?.kind === 'replay') {
          deps.state.counters.idempotentReplays += 1;
          response = lookup.response;
        } else {
          if (idempotency) {
            idempotencyScope = idempotency.scope;
            deps.idempotency.begin(idempotencyScope);
          }
          const result = run(spec.operation, {
            requestId,
            params,
            query: flattenQuery(request.query),
            headers: request.headers,
            rawBody,
            idempotencyKey: idempotency?.key ?? null,
            mailboxKey,
          });
          response = prepare(result, requestId);
          if (idempotency && isCacheable(result)) deps.idempotency.store(idempotency.scope, idempotency.fingerprint, response);
        }
      } catch (error) {
        if (!(error instanceof SandboxApiError)) throw error;
        response = prepareError(error, requestId);
      }
      // The work is done (and cached); these faults only spoil how its response is delivered. The
      // request stays "in flight" for idempotency until its response is ready.
      if (fault?.kind === 'delay') await sleep(fault.delayMs ?? DEFAULT_DELAY_FAULT_MS);
      if (fault?.kind === 'commitThenDrop') return 'drop';
      return response;
    } finally {
      if (idempotencyScope !== undefined) deps.idempotency.end(idempotencyScope);
    }
  }

  function run(operation: SandboxOperation, req: OperationRequest): OperationResult {
    try {
      return deps.operations[operation](req);
    } catch (error) {
      if (error instanceof SandboxApiError) return errorResult(error, req.requestId);
      throw error;
    }
  }
}

function idempotencyOf(request: FastifyRequest, rawBody: string | undefined) {
  const header = request.headers['idempotency-key'];
  if (header === undefined) return undefined;
  const key = Array.isArray(header) ? header.join(', ') : header;
  if (key.length < 1 || key.length > IDEMPOTENCY_KEY_MAX) {
    throw new SandboxApiError(400, 'invalid_parameter', `Idempotency-Key must be 1-${IDEMPOTENCY_KEY_MAX} characters, got ${key.length}.`, {
      param: 'Idempotency-Key',
    });
  }
  const path = request.url.split('?')[0] ?? request.url;
  return {
    key,
    scope: IdempotencyStore.scope(SANDBOX_TEAM, request.method, path, key),
    fingerprint: bodyFingerprint(rawBody),
  };
}

/** Only successes are cached: a failed attempt must not stop a retry from doing the work. */
function isCacheable(result: OperationResult): boolean {
  return result.status >= 200 && result.status < 300 && result.uncacheable !== true;
}

function flattenQuery(query: unknown): Record<string, string | undefined> {
  const flat: Record<string, string | undefined> = {};
  if (query === null || typeof query !== 'object') return flat;
  for (const [name, value] of Object.entries(query as Record<string, unknown>)) {
    if (typeof value === 'string') flat[name] = value;
    else if (Array.isArray(value) && typeof value[0] === 'string') flat[name] = value[0];
  }
  return flat;
}

function fromFrameworkError(error: unknown): SandboxApiError {
  const statusCode = (error as { statusCode?: unknown }).statusCode;
  if (statusCode === 413) {
    return new SandboxApiError(413, 'payload_too_large', `Request body exceeds ${MAX_BODY_BYTES / 1024} KiB.`);
  }
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new SandboxApiError(400, 'invalid_parameter', `Malformed request: ${errorMessage(error)}`);
  }
  return new SandboxApiError(500, 'internal_error', 'Internal sandbox error.');
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
