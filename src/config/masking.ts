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
 * Query parameters whose values are masked in any printed URL: names that hold or contain
 * password, pass, pwd, secret, token, key, auth, credential or signature (`?password=…`,
 * `?access_token=…`, `?X-Amz-Signature=…`, `?apikey=…`).
 */
const SECRET_QUERY_PARAM = /^[^=]*(?:pass|pwd|secret|token|key|auth|credential|sig)/i;

/**
 * Masks the user-info part of a URL (`redis://user:pw@host` → `redis://user:****@host`) and the
 * values of secret-looking query parameters (`?password=pw` → `?password=****`). Works on text
 * that does not parse as a URL too, since a malformed URL may still hold a password. Without a
 * `:` the whole user-info is masked: Redis clients read a lone user-info as the password.
 */
export function maskUrlCredentials(value: string): string {
  const withoutUserinfo = value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)@/, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    const masked = colon === -1 ? '****' : `${userinfo.slice(0, colon)}:****`;
    return `${scheme}${masked}@`;
  });
  const query = withoutUserinfo.indexOf('?');
  if (query < 0) return withoutUserinfo;
  const hash = withoutUserinfo.indexOf('#', query);
  const end = hash < 0 ? withoutUserinfo.length : hash;
  const params = withoutUserinfo
    .slice(query + 1, end)
    .split('&')
    .map((param) => {
      const eq = param.indexOf('=');
      const name = eq < 0 ? param : param.slice(0, eq);
      return eq >= 0 && SECRET_QUERY_PARAM.test(safeDecode(name)) ? `${name}=****` : param;
    });
  // A fragment is never needed to locate a server and may hold anything.
  return `${withoutUserinfo.slice(0, query)}?${params.join('&')}${hash < 0 ? '' : '#****'}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
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
