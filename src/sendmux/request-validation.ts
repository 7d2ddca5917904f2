/**
 * Checks on what callers hand the Sendmux client, run before any request is made. Ids are
 * checked by ./ids; these cover keys, names, sizes and the base URL.
 */
import type { ManagementKeySource } from './types';
import { InvalidSendmuxInputError } from './errors';

export const MAX_APP_NAME_LENGTH = 255;
export const SENDMUX_MAX_PAGE_SIZE = 100;

export function staticKeySource(key: string): ManagementKeySource {
  assertBearerToken('managementKey', key);
  return { current: () => key };
}

/** Keys are never echoed: the error names the field and the rule only. */
export function assertBearerToken(field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidSendmuxInputError(field, '[REDACTED]', `${field} must be a non-empty string`);
  }
  if (!/^[\x21-\x7e]+$/.test(value)) {
    throw new InvalidSendmuxInputError(
      field,
      '[REDACTED]',
      `${field} contains whitespace or non-printable characters; pass the bare key without "Bearer " or line breaks`,
    );
  }
}

export function assertAppName(appName: unknown): asserts appName is string {
  if (typeof appName !== 'string' || appName.length < 1 || appName.length > MAX_APP_NAME_LENGTH) {
    const got = typeof appName === 'string' ? `${appName.length} characters` : typeof appName;
    throw new InvalidSendmuxInputError(
      'appName',
      String(appName).slice(0, 80),
      `appName must be a string of 1–${MAX_APP_NAME_LENGTH} characters; got ${got}`,
    );
  }
}

export function pageSize(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > SENDMUX_MAX_PAGE_SIZE) {
    throw new InvalidSendmuxInputError(
      field,
      String(value),
      `${field} must be an integer from 1 to ${SENDMUX_MAX_PAGE_SIZE}; got ${String(value)}`,
    );
  }
  return value;
}


export function parseBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidSendmuxInputError(
      'baseUrl',
      value,
      `baseUrl ${JSON.stringify(value)} is not an absolute URL; use e.g. https://app.sendmux.ai/api/v1`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidSendmuxInputError('baseUrl', value, `baseUrl must use http or https; got ${url.protocol}`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new InvalidSendmuxInputError(
      'baseUrl',
      url.origin + url.pathname,
      'baseUrl must not carry credentials, a query string or a fragment',
    );
  }
  return url.toString().replace(/\/+$/, '');
}
