import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Which network destinations a webhook may reach without the operator saying so. A webhook URL
 * is where the rotator POSTs on its own; pointed (by mistake, or by a DNS answer that changed) at
 * a private network or a cloud-metadata endpoint it becomes a way into places the rotator can
 * reach and the receiver should not (169.254.169.254 and fd00:ec2::254 hand out instance
 * credentials). Ranges: IANA IPv4/IPv6 Special-Purpose Address Registries (RFC 6890), RFC 6052 and
 * RFC 8215 (NAT64), RFC 3056 (6to4), RFC 4291 (IPv4-mapped), RFC 6598 (CGNAT).
 */
export type AddressClass =
  | { kind: 'public' }
  /** 127.0.0.0/8 or ::1 (also when carried in IPv6). */
  | { kind: 'loopback' }
  /** `range` names the block, e.g. "10.0.0.0/8 (private)". */
  | { kind: 'private'; range: string };

interface Range {
  network: string;
  prefix: number;
  label: string;
}

/** IPv4 blocks a webhook needs an explicit opt-in for (loopback is classed separately). */
const IPV4_PRIVATE: readonly Range[] = [
  { network: '0.0.0.0', prefix: 8, label: '0.0.0.0/8 ("this network")' },
  { network: '10.0.0.0', prefix: 8, label: '10.0.0.0/8 (private, RFC 1918)' },
  { network: '100.64.0.0', prefix: 10, label: '100.64.0.0/10 (carrier-grade NAT, RFC 6598)' },
  { network: '169.254.0.0', prefix: 16, label: '169.254.0.0/16 (link-local, cloud metadata)' },
  { network: '172.16.0.0', prefix: 12, label: '172.16.0.0/12 (private, RFC 1918)' },
  { network: '192.0.0.0', prefix: 24, label: '192.0.0.0/24 (IETF protocol assignments)' },
  { network: '192.168.0.0', prefix: 16, label: '192.168.0.0/16 (private, RFC 1918)' },
  { network: '198.18.0.0', prefix: 15, label: '198.18.0.0/15 (benchmarking)' },
  { network: '224.0.0.0', prefix: 4, label: '224.0.0.0/4 (multicast)' },
  { network: '240.0.0.0', prefix: 4, label: '240.0.0.0/4 (reserved, broadcast)' },
];

/** IPv6 blocks refused outright; the ones that carry an IPv4 address are unwrapped instead (below). */
const IPV6_PRIVATE: readonly Range[] = [
  { network: '::', prefix: 128, label: ':: (unspecified)' },
  { network: 'fe80::', prefix: 10, label: 'fe80::/10 (link-local)' },
  { network: 'fec0::', prefix: 10, label: 'fec0::/10 (site-local)' },
  { network: 'fc00::', prefix: 7, label: 'fc00::/7 (unique-local; fd00:ec2::254 is the AWS metadata endpoint)' },
  { network: 'ff00::', prefix: 8, label: 'ff00::/8 (multicast)' },
  { network: '64:ff9b:1::', prefix: 48, label: '64:ff9b:1::/48 (local-use NAT64, RFC 8215)' },
];

function blockList(ranges: readonly Range[], family: 'ipv4' | 'ipv6'): BlockList {
  const list = new BlockList();
  for (const range of ranges) list.addSubnet(range.network, range.prefix, family);
  return list;
}

const IPV4_LISTS = IPV4_PRIVATE.map((range) => ({ range, list: blockList([range], 'ipv4') }));
const IPV6_LISTS = IPV6_PRIVATE.map((range) => ({ range, list: blockList([range], 'ipv6') }));
const IPV4_LOOPBACK = blockList([{ network: '127.0.0.0', prefix: 8, label: '' }], 'ipv4');

/** Classifies an IP address literal (IPv6 without brackets). Anything that is not an IP address is `private`: refuse what cannot be read. */
export function classifyAddress(address: string): AddressClass {
  if (isIPv4(address)) return classifyIPv4(address);
  if (!isIPv6(address)) return { kind: 'private', range: 'not an IP address' };
  const bytes = ipv6Bytes(address);
  if (bytes === undefined) return { kind: 'private', range: 'not an IP address' };
  const embedded = embeddedIPv4(bytes);
  if (embedded !== undefined) {
    const inner = classifyIPv4(embedded.address);
    return inner.kind === 'private' ? { kind: 'private', range: `${inner.range}, carried in ${embedded.how}` } : inner;
  }
  if (bytes.every((byte, i) => byte === (i === 15 ? 1 : 0))) return { kind: 'loopback' };
  for (const { range, list } of IPV6_LISTS) if (list.check(address, 'ipv6')) return { kind: 'private', range: range.label };
  return { kind: 'public' };
}

function classifyIPv4(address: string): AddressClass {
  if (IPV4_LOOPBACK.check(address, 'ipv4')) return { kind: 'loopback' };
  for (const { range, list } of IPV4_LISTS) if (list.check(address, 'ipv4')) return { kind: 'private', range: range.label };
  if (CLOUD_METADATA_IPV4.has(address)) return { kind: 'private', range: `${address} (cloud metadata)` };
  return { kind: 'public' };
}

/** Metadata endpoints outside the blocks above (Alibaba's 100.100.100.200 is inside 100.64/10 already). */
const CLOUD_METADATA_IPV4: ReadonlySet<string> = new Set(['100.100.100.200']);

/**
 * Host names that are cloud-metadata endpoints: GCP (metadata, metadata.google.internal,
 * metadata.goog), AWS (instance-data, instance-data.ec2.internal), Azure, Tencent, Oracle.
 */
const CLOUD_METADATA_NAMES: ReadonlySet<string> = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.azure.com',
  'metadata.tencentyun.com',
  'metadata.oraclecloud.com',
]);

/** Suffixes reserved for private use: .internal (ICANN 2024), .local (RFC 6762), .home.arpa (RFC 8375), .localdomain, .lan. */
const PRIVATE_SUFFIXES = ['.internal', '.local', '.home.arpa', '.localdomain', '.lan'];

/** Wildcard DNS services whose names spell the address they resolve to, also in hex (app-c0a80101.nip.io). */
const WILDCARD_DNS_SUFFIXES = ['.nip.io', '.sslip.io', '.xip.io', '.nip.direct', '.traefik.me', '.localtest.me'];

export type HostClass = AddressClass | { kind: 'name' };

/**
 * Classifies a URL host: an IP literal by its address, a name by what it says about itself
 * (metadata names, single-label and private-use names, names that spell a private address such as
 * 169.254.169.254.nip.io). `{ kind: 'name' }` is an ordinary public-looking name: only resolving it
 * tells where it goes, which delivery does on every connection.
 */
export function classifyHost(rawHost: string): HostClass {
  const host = normaliseHost(rawHost);
  if (isIPv4(host) || isIPv6(host)) return classifyAddress(host);
  if (host === 'localhost' || host.endsWith('.localhost')) return { kind: 'loopback' };
  if (CLOUD_METADATA_NAMES.has(host)) return { kind: 'private', range: `${host} (a cloud-metadata name)` };
  if (!host.includes('.')) return { kind: 'private', range: `${host} (a single-label name, resolved inside the local network)` };
  const suffix = PRIVATE_SUFFIXES.find((s) => host.endsWith(s));
  if (suffix !== undefined) return { kind: 'private', range: `${host} (a private-use name under ${suffix})` };
  for (const spelled of spelledAddresses(host)) {
    const inner = classifyAddress(spelled);
    if (inner.kind !== 'public') return { kind: 'private', range: `${host} (spells ${spelled}${inner.kind === 'private' ? `, ${inner.range}` : ', loopback'})` };
  }
  return { kind: 'name' };
}

/** Lower case, no brackets, no trailing dot. */
export function normaliseHost(rawHost: string): string {
  const name = rawHost.toLowerCase();
  return name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name.replace(/\.$/, '');
}

/** IPv4 addresses a name spells: dotted (10.0.0.1.nip.io), dashed (10-0-0-1.sslip.io), hex under a wildcard-DNS suffix. */
function spelledAddresses(host: string): string[] {
  const found: string[] = [];
  const octet = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
  for (const match of host.matchAll(new RegExp(`(?:^|[.-])${octet}[.-]${octet}[.-]${octet}[.-]${octet}(?=$|[.-])`, 'g'))) {
    found.push(`${match[1]}.${match[2]}.${match[3]}.${match[4]}`);
  }
  if (WILDCARD_DNS_SUFFIXES.some((suffix) => host.endsWith(suffix))) {
    for (const match of host.matchAll(/(?:^|[.-])([0-9a-f]{8})(?=$|[.-])/g)) {
      const n = Number.parseInt(match[1]!, 16);
      found.push(`${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`);
    }
  }
  return found;
}

/**
 * The IPv4 address an IPv6 address stands for: IPv4-mapped (::ffff:0:0/96), IPv4-compatible
 * (::/96 except :: and ::1), NAT64 well-known prefix (64:ff9b::/96, RFC 6052) and 6to4
 * (2002::/16, RFC 3056, address in bits 16-47).
 */
function embeddedIPv4(bytes: number[]): { address: string; how: string } | undefined {
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  const v4 = (at: number) => bytes.slice(at, at + 4).join('.');
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return { address: v4(12), how: 'IPv4-mapped IPv6 (::ffff:0:0/96)' };
  if (zeros(0, 12) && !zeros(12, 16) && !(zeros(12, 15) && bytes[15] === 1)) return { address: v4(12), how: 'IPv4-compatible IPv6 (::/96)' };
  if (bytes[0] === 0 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12)) return { address: v4(12), how: 'NAT64 (64:ff9b::/96)' };
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return { address: v4(2), how: '6to4 (2002::/16)' };
  return undefined;
}

/** The 16 bytes of an IPv6 address in text form (with or without a dotted IPv4 tail), or undefined. */
function ipv6Bytes(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, '');
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
  const bytes: number[] = [];
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return undefined;
    const n = Number.parseInt(group, 16);
    bytes.push(n >> 8, n & 0xff);
  }
  return bytes;
}
