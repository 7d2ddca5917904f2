import { classifyHost } from '../security/private-destinations';

/**
 * What a webhook URL may be. The URL is where the rotator POSTs on its own, so it must not carry
 * a credential (it would be logged, masked or not, by proxies; use `alerts.webhookHeaders`), must
 * not travel in clear text beyond this machine, and must not point at a private network or a
 * cloud-metadata endpoint unless that webhook's section says `allowPrivateNetwork: true`
 * (src/security/private-destinations.ts lists the ranges and names). Loopback written in the URL
 * (127.0.0.1, [::1], localhost) is allowed: it is this machine, chosen on purpose, and the only
 * place plain http:// may go. A name that later resolves to loopback or a private address is
 * refused at delivery (src/webhooks/destination-guard.ts).
 */
export interface WebhookUrlRuleOptions {
  /** `<section>.allowPrivateNetwork` (or the older `alerts.allowPrivateTargets`): allow private and metadata destinations. */
  allowPrivateNetwork?: boolean;
  /** The config section the URL is in, to name the fix: "alerts" or "notify". Default "alerts". */
  section?: string;
}

export const WEBHOOK_HEADERS_HINT =
  'for alerts put the credential in alerts.webhookHeaders instead, e.g. Authorization: "env:ALERT_WEBHOOK_AUTH"; consumer notifications are signed with NOTIFY_WEBHOOK_SECRET and need none';

/** The first rule `raw` breaks, as "what is expected"; undefined when it is acceptable. Never quotes the URL's path or credentials. */
export function webhookUrlProblem(raw: string, opts: WebhookUrlRuleOptions = {}): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'an http:// or https:// URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'an http:// or https:// URL';
  if (url.username !== '' || url.password !== '') return `a URL without user:password@ (${WEBHOOK_HEADERS_HINT})`;
  const host = classifyHost(url.hostname);
  if (url.protocol === 'http:' && host.kind !== 'loopback') return 'an https:// URL (plain http:// only for a loopback host such as 127.0.0.1)';
  if (!opts.allowPrivateNetwork && host.kind === 'private') return privateDestinationProblem(host.range, opts.section ?? 'alerts');
  return undefined;
}

/** The "expected" text for a refused destination, naming the range and the fix. */
export function privateDestinationProblem(range: string, section: string): string {
  return (
    `a URL that does not point at a private network or cloud-metadata destination (this one is ${range}); ` +
    `if the receiver is meant to be on a private network, set ${section}.allowPrivateNetwork: true`
  );
}
