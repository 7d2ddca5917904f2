import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { classifyAddress, classifyHost } from '../security/private-destinations';

/** What a webhook may connect to: from its URL and its section's `allowPrivateNetwork`. */
export interface DestinationPolicy {
  /** `allowPrivateNetwork: true`: private and metadata addresses are allowed (the operator's choice). */
  allowPrivateNetwork: boolean;
  /**
   * The URL itself names loopback (127.0.0.1, [::1], localhost): loopback addresses are allowed.
   * A public-looking name that resolves to loopback is not (DNS rebinding onto this machine).
   */
  loopbackNamed: boolean;
}

/** Resolves a host name to every address it has, like dns.lookup with `all: true`. Injectable for tests. */
export type ResolveHost = (hostname: string, family: number) => Promise<LookupAddress[]>;

export const systemResolver: ResolveHost = (hostname, family) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, family: family === 4 || family === 6 ? family : 0 }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

/** A connection the policy refuses, before any byte is sent. `reason` names the address and its range, never the URL's path. */
export class RefusedDestinationError extends Error {
  readonly code = 'ERR_WEBHOOK_DESTINATION_REFUSED';
  constructor(
    readonly host: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super(`refused to connect to ${host}${host === address ? '' : ` (resolved to ${address})`}: ${reason}`);
    this.name = 'RefusedDestinationError';
  }
}

/** Why `address` may not be connected to under `policy`, or undefined when it may. */
export function addressRefusal(address: string, policy: DestinationPolicy): string | undefined {
  const found = classifyAddress(address);
  if (found.kind === 'public') return undefined;
  if (policy.allowPrivateNetwork) return undefined;
  if (found.kind === 'loopback') {
    return policy.loopbackNamed ? undefined : 'a loopback address the URL does not name; set allowPrivateNetwork: true if this is meant';
  }
  return `${found.range} is a private or cloud-metadata destination; set allowPrivateNetwork: true if this receiver is meant to be on a private network`;
}

/** The policy a webhook URL implies, given its section's allowPrivateNetwork. */
export function policyFor(url: URL, allowPrivateNetwork: boolean): DestinationPolicy {
  return { allowPrivateNetwork, loopbackNamed: classifyHost(url.hostname).kind === 'loopback' };
}

/**
 * A `lookup` for net/tls connections that resolves the name and refuses the connection when any
 * address it resolves to breaks the policy. The socket connects to exactly the address checked
 * here, so there is no gap between checking and connecting for a rebinding DNS answer to use.
 */
export function guardedLookup(policy: DestinationPolicy, resolve: ResolveHost = systemResolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, options.family === 4 || options.family === 6 ? options.family : 0).then(
      (addresses) => {
        if (addresses.length === 0) {
          callback(Object.assign(new Error(`${hostname} resolved to no address`), { code: 'ENOTFOUND' }), '', 0);
          return;
        }
        for (const { address } of addresses) {
          const refusal = addressRefusal(address, policy);
          if (refusal !== undefined) {
            callback(new RefusedDestinationError(hostname, address, refusal), '', 0);
            return;
          }
        }
        // net with autoSelectFamily asks for every address; older call sites for one.
        if (options.all) (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
