import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiRole } from '../config/types';
import { sendError } from './errors';
import type { FailedAuthLimiter } from './failed-auth-limiter';

export const AUTH_REALM = 'rotator';

/** Hosts on which the server may run without a token: only this machine can reach it. */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '::1', '[::1]', 'localhost']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.trim().toLowerCase());
}

/** Thrown when the server would expose the API without a token on a non-loopback address. */
export class InsecureBindError extends Error {
  constructor(readonly host: string) {
    super(
      `refusing to serve the HTTP API on HOST=${host} without authentication: ` +
        'set ROTATOR_API_TOKEN (e.g. `openssl rand -hex 32`) or bind HOST=127.0.0.1',
    );
    this.name = 'InsecureBindError';
  }
}

/**
 * Compares presented credentials with the API token in constant time. Both sides are hashed
 * first so that timingSafeEqual always compares 32 bytes: a guess of another length takes the
 * same path as one of the right length.
 */
export class TokenChecker {
  private readonly expectedDigest: Buffer;

  constructor(token: string) {
    this.expectedDigest = digest(token);
  }

  matches(candidate: string | undefined): boolean {
    const candidateDigest = digest(candidate ?? '');
    // Evaluated in full even when the candidate is missing, so a missing token costs the same.
    const equal = timingSafeEqual(candidateDigest, this.expectedDigest);
    return equal && candidate !== undefined;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** The token of an `Authorization: Bearer <token>` header. Query strings are deliberately never consulted. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/** The password of an `Authorization: Basic base64(user:password)` header; the user name is ignored. */
export function basicPassword(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/** Who is calling: the name and role of the token presented. Never the token itself. */
export interface ApiCaller {
  name: string;
  role: ApiRole;
}

/** A token the server accepts. ROTATOR_API_TOKEN is `{ name: 'default', role: 'operator' }`. */
export interface ApiTokenEntry extends ApiCaller {
  token: string;
}

export const DEFAULT_TOKEN_NAME = 'default';

/**
 * The tokens the server accepts, compared in constant time: every presented value is hashed and
 * compared with every token's digest (no early exit), so neither a token's length nor which
 * entry matched shows in the time taken.
 */
export class TokenRegistry {
  private readonly entries: ReadonlyArray<{ caller: ApiCaller; digest: Buffer }>;

  constructor(tokens: readonly ApiTokenEntry[]) {
    if (tokens.length === 0) throw new Error('TokenRegistry needs at least one token');
    this.entries = tokens.map(({ name, role, token }) => ({ caller: { name, role }, digest: digest(token) }));
  }

  /** The caller `candidate` authenticates, or undefined for a missing or wrong token. */
  identify(candidate: string | undefined): ApiCaller | undefined {
    const candidateDigest = digest(candidate ?? '');
    let found: ApiCaller | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(candidateDigest, entry.digest) && found === undefined) found = entry.caller;
    }
    return candidate === undefined ? undefined : found;
  }
}

/**
 * Safe methods (RFC 9110 §9.2.1) change nothing: any role may use them. Every other method
 * (POST rotate, pause, resume, retry, revoke; the dashboard's job actions) needs `operator`.
 */
export function roleAllows(role: ApiRole, method: string): boolean {
  return role === 'operator' || method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The token that authenticated this request (name and role); undefined in token-less loopback mode. */
    apiCaller?: ApiCaller;
  }
}

/** What a route's requestedBy / audit entry says for a request: `api:<token name>`, or `api` without tokens. */
export function requestedByOf(request: FastifyRequest): string {
  return request.apiCaller === undefined ? 'api' : `api:${request.apiCaller.name}`;
}

export type AuthHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

export interface AuthOptions {
  tokens: TokenRegistry;
  /** Failed authentications per client address; absent: not limited. */
  limiter?: FailedAuthLimiter;
}

type Credentials = (request: FastifyRequest) => string | undefined;
type Challenge = (reply: FastifyReply) => Promise<unknown>;

/**
 * The shared path of every authenticated scope: a limited address is refused (429, Retry-After)
 * before its credentials are read; a wrong or missing token is counted and challenged (401); a
 * valid one is checked against the method (403 `insufficient_role`), then named on the request
 * (`request.apiCaller`) and on each of its log lines (`tokenName`).
 */
function authHook(options: AuthOptions, credentials: Credentials, challenge: Challenge): AuthHook {
  return async (request, reply) => {
    const address = request.ip;
    if (options.limiter) {
      const verdict = await options.limiter.check(address);
      if (verdict.limited) {
        const retryAfterS = Math.ceil(verdict.retryAfterMs / 1000);
        request.log.debug({ remoteAddress: address, retryAfterS }, 'refused a request from an address over the failed-authentication limit');
        reply.header('Retry-After', String(retryAfterS));
        await sendError(reply, 429, 'too_many_failed_authentications',
          `too many failed authentications from this address; retry after ${retryAfterS} s with a valid token`, { retryAfterS });
        return;
      }
    }
    const caller = options.tokens.identify(credentials(request));
    if (caller === undefined) {
      if (options.limiter) {
        const failure = await options.limiter.recordFailure(address);
        if (failure.reachedLimit) {
          request.log.warn(
            { remoteAddress: address, failures: failure.failures, windowMs: options.limiter.windowMs, limitedForMs: failure.resetsInMs },
            `failed authentication limit reached: ${failure.failures} failures from ${address}; its requests are refused (429) until the window ends`,
          );
        }
      }
      await challenge(reply);
      return;
    }
    request.apiCaller = caller;
    request.log = request.log.child({ tokenName: caller.name });
    if (!roleAllows(caller.role, request.method)) {
      request.log.warn({ role: caller.role, method: request.method }, 'refused a request the token\'s role does not allow');
      await sendError(reply, 403, 'insufficient_role',
        `the token "${caller.name}" has role ${caller.role}, which may only read (GET); ${request.method} needs a token with role operator`,
        { tokenName: caller.name, role: caller.role, requiredRole: 'operator' });
    }
  };
}

/** onRequest hook for the JSON API and /metrics: Bearer token only. */
export function requireBearerToken(options: AuthOptions | TokenRegistry): AuthHook {
  return authHook(asOptions(options), bearerToken, async (reply) => {
    reply.header('WWW-Authenticate', `Bearer realm="${AUTH_REALM}"`);
    await sendError(reply, 401, 'unauthorized', 'missing or wrong API token: send the header "Authorization: Bearer <token>" (ROTATOR_API_TOKEN or a token of api.tokens)');
  });
}

/**
 * onRequest hook for the dashboard: HTTP Basic (any user name, the token as password) so a
 * browser can open it; a Bearer header is accepted too, for scripts.
 */
export function requireDashboardCredentials(options: AuthOptions | TokenRegistry): AuthHook {
  return authHook(asOptions(options), (request) => basicPassword(request) ?? bearerToken(request), async (reply) => {
    reply.header('WWW-Authenticate', `Basic realm="${AUTH_REALM}"`);
    await sendError(reply, 401, 'unauthorized', 'the dashboard needs HTTP Basic credentials: any user name, an API token (ROTATOR_API_TOKEN or one of api.tokens) as the password');
  });
}

function asOptions(options: AuthOptions | TokenRegistry): AuthOptions {
  return options instanceof TokenRegistry ? { tokens: options } : options;
}
