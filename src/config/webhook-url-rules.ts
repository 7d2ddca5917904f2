import { isIPv4, isIPv6 } from 'node:net';

/**
 * What an alert webhook URL may be. The URL is where the rotator POSTs on its own, so it must
 * not carry a credential (it would be logged, masked or not, by proxies; use
 * `alerts.webhookHeaders`), must not travel in clear text beyond this machine, and must not point
 * at link-local or cloud-metadata addresses (169.254.169.254, fd00:ec2::254 hand out instance
 * credentials) unless the operator says so.
 */
export interface WebhookUrlRuleOptions {
  /** `alerts.allowPrivateTargets`: allow link-local and metadata addresses. */
  allowPrivateTargets?: boolean;
}

/** Cloud metadata endpoints outside 169.254.0.0/16 (Alibaba Cloud). */
const METADATA_IPV4 = new Set(['100.100.100.200']);

export const WEBHOOK_HEADERS_HINT =
  'for alerts put the credential in alerts.webhookHeaders instead, e.g. Authorization: "env:ALERT_WEBHOOK_AUTH"; consumer notifications are signed with NOTIFY_WEBHOOK_SECRET and need none';

/** The first rule `raw` breaks, as "what is expected"; undefined when it is acceptable. Never quotes the URL. */
export function webhookUrlProblem(raw: string, opts: WebhookUrlRuleOptions = {}): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'an http:// or https:// URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'an http:// or https:// URL';
  if (url.username !== '' || url.password !== '') return `a URL without user:password@ (${WEBHOOK_HEADERS_HINT})`;
  const host = hostOf(url);
  if (url.protocol === 'http:' && !isLoopback(host)) return 'an https:// URL (plain http:// only for a loopback host such as 127.0.0.1)';
  if (!opts.allowPrivateTargets && isLinkLocalOrMetadata(host)) {
    return 'a URL that is not a link-local or cloud-metadata address (169.254.0.0/16, fe80::/10, fd00:ec2::254, 100.100.100.200, or those embedded in IPv6); set alerts.allowPrivateTargets: true if this is really meant';
  }
  return undefined;
}

function hostOf(url: URL): string {
  const name = url.hostname.toLowerCase();
  return name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name.replace(/\.$/, '');
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIPv4(host)) return host.startsWith('127.');
  if (!isIPv6(host)) return false;
  const embedded = embeddedIPv4(host);
  return embedded !== undefined ? embedded.startsWith('127.') : expandIPv6(host) === '0000:0000:0000:0000:0000:0000:0000:0001';
}

function isLinkLocalOrMetadata(host: string): boolean {
  if (host === 'metadata.google.internal') return true;
  if (isIPv4(host)) return host.startsWith('169.254.') || METADATA_IPV4.has(host);
  if (!isIPv6(host)) return false;
  const full = expandIPv6(host);
  if (full === undefined) return false;
  // fe80::/10: the first 10 bits are 1111 1110 10.
  const first = Number.parseInt(full.slice(0, 4), 16);
  if ((first & 0xffc0) === 0xfe80) return true;
  if (full === 'fd00:0ec2:0000:0000:0000:0000:0000:0254') return true;
  // An IPv4 address carried in IPv6 (mapped, compatible or NAT64) reaches the same target.
  const embedded = embeddedIPv4(host);
  return embedded !== undefined && isLinkLocalOrMetadata(embedded);
}

/**
 * The IPv4 address an IPv6 address carries in its last 32 bits when its prefix says it stands
 * for one: IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96, not :: or ::1) or the NAT64
 * well-known prefix (64:ff9b::/96). Undefined otherwise.
 */
function embeddedIPv4(host: string): string | undefined {
  const full = expandIPv6(host);
  if (full === undefined) return undefined;
  const prefix = full.slice(0, 29);
  const carries =
    prefix === '0000:0000:0000:0000:0000:ffff' ||
    prefix === '0064:ff9b:0000:0000:0000:0000' ||
    (prefix === '0000:0000:0000:0000:0000:0000' && full.slice(30, 34) !== '0000');
  if (!carries) return undefined;
  const high = Number.parseInt(full.slice(30, 34), 16);
  const low = Number.parseInt(full.slice(35, 39), 16);
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/** Eight 4-digit groups, or undefined when `host` is not plain IPv6 text this can expand. */
function expandIPv6(host: string): string | undefined {
  let text = host;
  // The WHATWG URL parser writes an embedded IPv4 part as hex already; handle the dotted form too.
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1] !== undefined && dotted[2] !== undefined) {
    const [a, b, c, d] = dotted[2].split('.').map(Number) as [number, number, number, number];
    text = `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  return groups.map((group) => group.padStart(4, '0')).join(':');
}
