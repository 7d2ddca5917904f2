/**
 * How secrets are shown to humans. Used both for problem messages and for `config check`
 * output, so a secret is masked the same way wherever it could surface.
 */

const SENDMUX_KEY_PREFIX = /^(smx_[a-z]+_)/;
/** Anything that looks like a Sendmux key, wherever it appears in a string. */
const SENDMUX_KEY_ANYWHERE = /smx_[a-z]+_[A-Za-z0-9_-]+/g;

/** `smx_root_abc…` → `smx_root_…(masked)`; the prefix tells the reader which kind of key it is. */
export function maskApiKey(value: string): string {
  const prefix = SENDMUX_KEY_PREFIX.exec(value)?.[1] ?? '';
  return `${prefix}…(masked)`;
}

export function maskToken(): string {
  return '********';
}

/**
 * Masks the user-info part of a URL (`redis://user:pw@host` → `redis://user:****@host`).
 * Works on text that does not parse as a URL too, since a malformed URL may still hold a
 * password. Without a `:` the whole user-info is masked: Redis clients read a lone user-info
 * as the password.
 */
export function maskUrlCredentials(value: string): string {
  return value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)@/, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    const masked = colon === -1 ? '****' : `${userinfo.slice(0, colon)}:****`;
    return `${scheme}${masked}@`;
  });
}

/**
 * Webhook URLs (Slack, Teams, …) carry their credential in the path or query, so only the
 * origin is shown.
 */
export function maskWebhookUrl(value: string): string {
  try {
    return `${new URL(value).origin}/…(masked)`;
  } catch {
    return '…(masked)';
  }
}

/** Defence in depth: a Sendmux key pasted into the wrong place is still never echoed. */
export function scrubSendmuxKeys(text: string): string {
  return text.replace(SENDMUX_KEY_ANYWHERE, (key) => maskApiKey(key));
}
