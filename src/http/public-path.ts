import { BlockList, isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';

/**
 * A public base path: '' (served at the root) or segments like `/rotator` or `/ops/rotator`, each
 * of unreserved URL characters only. Nothing else is accepted, so the value can go into an HTML
 * attribute and a URL as it is (no quoting, no `//host`, no `..`).
 */
const BASE_PATH = /^(\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*$/;

/** Why `value` is not a public base path, or undefined when it is one (a trailing slash is allowed and dropped). */
export function publicBasePathProblem(value: string): string | undefined {
  const trimmed = value.endsWith('/') ? value.slice(0, -1) : value;
  if (value.length > 200) return 'at most 200 characters';
  if (!BASE_PATH.test(trimmed) || trimmed.split('/').some((segment) => segment === '..' || segment === '.')) {
    return 'a path such as "/rotator" or "/ops/rotator": starting with "/", segments of letters, digits, ".", "_", "~", "-"';
  }
  return undefined;
}

/** `value` without its trailing slash; throws when publicBasePathProblem finds one. */
export function normalizePublicBasePath(value: string): string {
  const problem = publicBasePathProblem(value);
  if (problem) throw new Error(`public base path ${JSON.stringify(value)} is not valid: expected ${problem}`);
  return value.endsWith('/') ? value.slice(0, -1) : value;
}

export interface PublicPathOptions {
  /** The path a reverse proxy serves the rotator under (e.g. `/rotator`), used when no trusted proxy says otherwise. */
  basePath?: string;
  /**
   * Proxies whose `X-Forwarded-Prefix` is believed: IP addresses, CIDR ranges (`10.0.0.0/8`) or
   * `loopback`. From any other peer the header is ignored (anyone could send it).
   */
  trustedProxies?: readonly string[];
}

/** Why an entry of trustedProxies is unusable, or undefined. */
export function trustedProxyProblem(entry: string): string | undefined {
  if (entry === 'loopback') return undefined;
  const [address, bits, extra] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || extra !== undefined) return 'an IP address, a CIDR range such as "10.0.0.0/8", or "loopback"';
  if (bits !== undefined) {
    const prefix = Number(bits);
    if (!/^\d{1,3}$/.test(bits) || prefix > (family === 4 ? 32 : 128)) return `a prefix length from 0 to ${family === 4 ? 32 : 128} after "/"`;
  }
  return undefined;
}

/**
 * Resolves, per request, the path prefix under which the client sees the rotator: the first
 * X-Forwarded-Prefix value when the request's peer (the socket, not X-Forwarded-For) is a trusted
 * proxy and the value is a valid base path, else the configured base path, else ''.
 */
export function createPublicPathResolver(options: PublicPathOptions): (request: FastifyRequest) => string {
  const configured = options.basePath === undefined ? '' : normalizePublicBasePath(options.basePath);
  const trusted = new BlockList();
  let anyTrusted = false;
  for (const entry of options.trustedProxies ?? []) {
    const problem = trustedProxyProblem(entry);
    if (problem) throw new Error(`trusted proxy ${JSON.stringify(entry)} is not valid: expected ${problem}`);
    anyTrusted = true;
    if (entry === 'loopback') {
      trusted.addSubnet('127.0.0.0', 8, 'ipv4');
      trusted.addAddress('::1', 'ipv6');
      continue;
    }
    const [address, bits] = entry.split('/') as [string, string | undefined];
    const type = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) trusted.addAddress(address, type);
    else trusted.addSubnet(address, Number(bits), type);
  }
  return (request) => {
    if (!anyTrusted) return configured;
    const header = request.headers['x-forwarded-prefix'];
    const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0]?.trim();
    if (first === undefined || first === '' || publicBasePathProblem(first) !== undefined) return configured;
    const peer = unmapped(request.raw.socket.remoteAddress ?? '');
    const family = isIP(peer);
    if (family === 0 || !trusted.check(peer, family === 4 ? 'ipv4' : 'ipv6')) return configured;
    return first.endsWith('/') ? first.slice(0, -1) : first;
  };
}

/** `::ffff:127.0.0.1` (an IPv4 peer on a dual-stack socket) as `127.0.0.1`. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
