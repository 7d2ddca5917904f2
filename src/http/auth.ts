import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './errors';

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
        'set ROTATOR_API_TOKEN (at least 16 characters) or bind HOST=127.0.0.1',
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

export type AuthHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** onRequest hook for the JSON API and /metrics: Bearer token only. */
export function requireBearerToken(checker: TokenChecker): AuthHook {
  return async (request, reply) => {
    if (checker.matches(bearerToken(request))) return;
    reply.header('WWW-Authenticate', `Bearer realm="${AUTH_REALM}"`);
    await sendError(reply, 401, 'unauthorized', 'missing or wrong API token: send the header "Authorization: Bearer <ROTATOR_API_TOKEN>"');
  };
}

/**
 * onRequest hook for the dashboard: HTTP Basic (any user name, the token as password) so a
 * browser can open it; a Bearer header is accepted too, for scripts.
 */
export function requireDashboardCredentials(checker: TokenChecker): AuthHook {
  return async (request, reply) => {
    if (checker.matches(basicPassword(request) ?? bearerToken(request))) return;
    reply.header('WWW-Authenticate', `Basic realm="${AUTH_REALM}"`);
    await sendError(reply, 401, 'unauthorized', 'the dashboard needs HTTP Basic credentials: any user name, ROTATOR_API_TOKEN as the password');
  };
}
