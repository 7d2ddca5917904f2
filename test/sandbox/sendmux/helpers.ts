import { DEFAULT_SANDBOX_MANAGEMENT_KEY } from '../../../standins/sendmux';
import type { SendmuxSandbox } from '../../../standins/sendmux';

export const ROOT_KEY = DEFAULT_SANDBOX_MANAGEMENT_KEY;

/** A response read in full; `json` is the parsed body (undefined when the body is not JSON). */
export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  // Tests inspect many different envelopes; the contract test checks their shapes with Ajv.
  json: any;
}

export interface CallOptions {
  /** Bearer key; default the sandbox root key. null sends no Authorization header. */
  key?: string | null;
  /** JSON-encoded as the body. */
  body?: unknown;
  /** Sent as-is (takes precedence over body). */
  rawBody?: string;
  headers?: Record<string, string>;
  idempotencyKey?: string;
}

export async function call(sandbox: SendmuxSandbox, method: string, path: string, options: CallOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? ROOT_KEY : options.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${sandbox.url}${path}`, { method, headers, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export function mint(
  sandbox: SendmuxSandbox,
  mailboxId: string,
  options: { appName?: string; idempotencyKey?: string; key?: string | null } = {},
): Promise<ApiResponse> {
  return call(sandbox, 'POST', `/mailboxes/${mailboxId}/keys`, {
    key: options.key,
    body: { app_name: options.appName ?? 'rotator-test' },
    idempotencyKey: options.idempotencyKey,
  });
}

/** Mints a key through the API and returns its id and secret (either mint shape). */
export async function mintSecret(sandbox: SendmuxSandbox, mailboxId: string): Promise<{ keyId: string; secret: string }> {
  const response = await mint(sandbox, mailboxId);
  if (response.status !== 201) throw new Error(`mint for ${mailboxId} answered ${response.status}: ${response.text}`);
  const data = response.json.data;
  if (data.credential) return { keyId: data.credential.public_id, secret: data.credential.secret };
  return { keyId: data.api_key.public_id, secret: data.api_key.key };
}

export function revoke(sandbox: SendmuxSandbox, mailboxId: string, keyId: string, options: { idempotencyKey?: string; key?: string | null } = {}) {
  return call(sandbox, 'DELETE', `/mailboxes/${mailboxId}/keys/${keyId}`, options);
}

export function me(sandbox: SendmuxSandbox, secret: string | null, query = ''): Promise<ApiResponse> {
  return call(sandbox, 'GET', `/mailbox/me${query}`, { key: secret });
}

/** Base URL of the sandbox's admin API (/_sandbox). */
export function adminUrl(sandbox: SendmuxSandbox, path: string): string {
  return `${sandbox.url.replace(/\/api\/v1$/, '')}/_sandbox${path}`;
}

export async function admin(sandbox: SendmuxSandbox, method: string, path: string, body?: unknown): Promise<ApiResponse> {
  const response = await fetch(adminUrl(sandbox, path), {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: text ? JSON.parse(text) : undefined };
}

export function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (condition()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error('condition not met in time'));
      setTimeout(poll, 5);
    };
    poll();
  });
}

export const ACTIVE = { id: 'mbx_active', email: 'active@example.test' };
export const OTHER_ACTIVE = { id: 'mbx_other', email: 'other@example.test' };
export const SUSPENDED = { id: 'mbx_suspended', email: 'suspended@example.test', status: 'suspended' as const };
export const DELETED = { id: 'mbx_deleted', email: 'deleted@example.test', status: 'deleted' as const };
