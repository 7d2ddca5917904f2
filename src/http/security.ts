import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import helmet from '@fastify/helmet';
import { isIPv4 } from 'node:net';
import { sendError } from './errors';

/**
 * The Content-Security-Policy of every answer. Bull Board's UI is same-origin scripts and
 * styles plus inline style attributes/blocks; its Google Fonts link is taken out of the page
 * (src/http/dashboard.ts), so no other origin is allowed: nothing else may load, nothing may
 * frame the rotator, forms post only to it.
 */
export const CONTENT_SECURITY_POLICY: Record<string, string[]> = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  fontSrc: ["'self'", 'data:'],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

/**
 * Security headers on every answer (API, dashboard, probes, errors) through @fastify/helmet:
 * CSP above, X-Frame-Options DENY, X-Content-Type-Options nosniff, Referrer-Policy no-referrer.
 * No HSTS: the rotator speaks plain HTTP and TLS belongs to whatever terminates it.
 */
export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: false,
  });
}

/**
 * onRequest hook for token-less (loopback) mode. Binding to 127.0.0.1 keeps other machines out,
 * but not a web page in the operator's browser: a cross-site page can POST to loopback, and a
 * DNS-rebinding page reaches it under its own host name. So without a token a request is
 * served only when its Host is a loopback name/address and nothing shows a cross-origin caller
 * (an Origin other than the server's own, `Sec-Fetch-Site` other than same-origin/none).
 */
export async function requireLoopbackCaller(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const problem = requestLineProblem(request.raw.rawHeaders, request.raw.url) ?? loopbackCallerProblem(request.headers);
  if (problem === undefined) return;
  request.log.warn({ host: safeHeader(request.headers.host), origin: safeHeader(request.headers.origin), problem }, 'refused a request to the token-less server');
  await sendError(reply, 403, 'forbidden', `${problem}; without ROTATOR_API_TOKEN only same-origin requests to a loopback host name are served`);
}

/**
 * Forms no browser sends, which could smuggle a foreign target past the Host check: several Host
 * headers (Node keeps only the first) or an absolute-form request target (RFC 9112 §3.2.2: the
 * target's authority, not Host, names the server).
 */
export function requestLineProblem(rawHeaders: readonly string[], url: string | undefined): string | undefined {
  let hosts = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]?.toLowerCase() === 'host') hosts++;
  if (hosts > 1) return 'the request has more than one Host header';
  if (url !== undefined && !url.startsWith('/')) return 'the request target is not a path (absolute-form or asterisk-form)';
  return undefined;
}

/** Why these headers do not come from a loopback, same-origin caller; undefined when they do. */
export function loopbackCallerProblem(headers: FastifyRequest['headers']): string | undefined {
  const host = headers.host;
  if (typeof host !== 'string' || host === '') return 'the request has no Host header';
  const hostName = hostNameOf(host);
  if (hostName === undefined || !isLoopbackName(hostName)) return 'the Host header does not name a loopback address';
  const fetchSite = headers['sec-fetch-site'];
  if (typeof fetchSite === 'string' && fetchSite !== 'same-origin' && fetchSite !== 'none') {
    return `the request comes from another site (Sec-Fetch-Site: ${fetchSite === 'same-site' ? 'same-site' : 'cross-site'})`;
  }
  const origin = headers.origin;
  if (typeof origin === 'string') {
    let originHost: string | undefined;
    try {
      const url = new URL(origin);
      originHost = url.protocol === 'http:' || url.protocol === 'https:' ? url.host : undefined;
    } catch {
      originHost = undefined;
    }
    if (originHost === undefined || originHost.toLowerCase() !== host.trim().toLowerCase()) {
      return 'the request comes from another origin (Origin header)';
    }
  }
  return undefined;
}

/** Host header → host name without port and brackets, lower-cased; undefined when malformed. */
function hostNameOf(host: string): string | undefined {
  const value = host.trim().toLowerCase();
  const bracketed = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(value);
  if (bracketed) return bracketed[1];
  const plain = /^([a-z0-9.-]+)(?::\d{1,5})?$/.exec(value);
  return plain?.[1];
}

function isLoopbackName(name: string): boolean {
  if (name === 'localhost' || name === '::1' || name === '0:0:0:0:0:0:0:1') return true;
  // The whole 127.0.0.0/8 block is loopback.
  return isIPv4(name) && name.startsWith('127.');
}

function safeHeader(value: unknown): string | undefined {
  return typeof value === 'string' ? value.slice(0, 200).replace(/[^\x20-\x7e]/g, '?') : undefined;
}
