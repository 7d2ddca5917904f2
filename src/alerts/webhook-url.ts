import { webhookUrlProblem, type WebhookUrlRuleOptions } from '../config/webhook-url-rules';
import { policyFor, type DestinationPolicy } from '../webhooks/destination-guard';

/**
 * A webhook URL may carry its credential in the path (Slack: /services/T…/B…/<token>), so only
 * its origin is ever shown; anything else that might echo it is scrubbed.
 */
export interface WebhookTarget {
  url: URL;
  /** Scheme, host and port: safe for logs. */
  origin: string;
  /** What delivery may connect to (checked again on every connection, on the resolved addresses). */
  policy: DestinationPolicy;
  /** Replaces any occurrence of the URL (or its secret-bearing path) in text meant for logs. */
  scrub(text: string): string;
}

/**
 * Throws TypeError (never quoting the URL) when `raw` is not an http(s) URL or breaks a rule of
 * webhookUrlProblem. `field` names the setting in those messages, e.g. "alerts webhookUrl".
 */
export function parseWebhookUrl(raw: string, field = 'alerts webhookUrl', rules: WebhookUrlRuleOptions = {}): WebhookTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Never echo the value: it may be a Slack URL with its token.
    throw new TypeError(`${field} is not a valid URL: give an absolute http:// or https:// URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`${field} must use http:// or https:// (got ${url.protocol}//)`);
  }
  const problem = webhookUrlProblem(raw, rules);
  if (problem !== undefined) throw new TypeError(`${field} must be ${problem}`);
  const origin = url.origin;
  const secretParts = [raw, url.href, `${url.pathname}${url.search}`, url.username, url.password].filter(
    (part) => part.length > 1 && part !== '/',
  );
  return {
    url,
    origin,
    policy: policyFor(url, rules.allowPrivateNetwork ?? false),
    scrub(text: string): string {
      let out = text;
      for (const part of secretParts) out = out.split(part).join('[webhook-url]');
      return out;
    },
  };
}
