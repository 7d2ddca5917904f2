import { positiveInteger } from '../shared/positive-integer';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { boundResponses, SECRETS_MANAGER_MAX_RESPONSE_BYTES } from './bounded-http-handler';

export interface SecretsManagerClientOptions {
  /** A region name, or a provider the SDK calls on the first request (it may throw, e.g. AwsRegionMissingError). */
  region: string | (() => Promise<string>);
  /**
   * Explicit endpoint, e.g. the local stand-in. Leave unset to let the SDK resolve it, which
   * includes the AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL environment overrides.
   */
  endpoint?: string;
  /** Whole-request timeout, the answer's body included; an exceeded request fails with TimeoutError. Default 10 000 ms. */
  requestTimeoutMs?: number;
  /** Most bytes of one answer read before the socket is closed. Default SECRETS_MANAGER_MAX_RESPONSE_BYTES (1 MiB). */
  maxResponseBytes?: number;
  /** TCP connect timeout. Default 3 000 ms. */
  connectionTimeoutMs?: number;
  /** Attempts per call including the first, using the SDK's standard retry strategy. Default 3. */
  maxAttempts?: number;
  /** Static credentials for the local stand-in only; production uses the standard provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_CONNECTION_TIMEOUT_MS = 3_000;
const DEFAULT_MAX_ATTEMPTS = 3;

/**
 * A real SecretsManagerClient with explicit timeouts. Credentials come from the SDK's standard
 * provider chain (environment, shared config, SSO, container/instance roles); nothing is hard-coded.
 */
export function createSecretsManagerClient(options: SecretsManagerClientOptions): SecretsManagerClient {
  const region = typeof options.region === 'function' ? options.region : options.region?.trim();
  if (!region) {
    throw new Error('createSecretsManagerClient: region is required (e.g. "eu-west-1"); set it in the configuration or AWS_REGION.');
  }
  if (options.endpoint !== undefined) assertHttpUrl(options.endpoint);
  const requestTimeout = positiveOrDefault('requestTimeoutMs', options.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS);
  const connectionTimeout = positiveOrDefault('connectionTimeoutMs', options.connectionTimeoutMs, DEFAULT_CONNECTION_TIMEOUT_MS);
  const maxAttempts = positiveOrDefault('maxAttempts', options.maxAttempts, DEFAULT_MAX_ATTEMPTS);
  const maxResponseBytes = positiveOrDefault('maxResponseBytes', options.maxResponseBytes, SECRETS_MANAGER_MAX_RESPONSE_BYTES);

  return new SecretsManagerClient({
    region,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    maxAttempts,
    requestHandler: boundResponses(
      new NodeHttpHandler({
        requestTimeout,
        connectionTimeout,
        // Without this, an exceeded requestTimeout only logs a warning in @smithy/node-http-handler 4.
        throwOnRequestTimeout: true,
      }),
      // requestTimeout ends at the answer's headers; the body is bounded here, in bytes and in time.
      { deadlineMs: requestTimeout, maxResponseBytes },
    ),
  });
}

function assertHttpUrl(endpoint: string): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`createSecretsManagerClient: endpoint must be an absolute http(s) URL, got "${endpoint}".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`createSecretsManagerClient: endpoint must use http or https, got "${url.protocol}".`);
  }
}

function positiveOrDefault(name: string, value: number | undefined, fallback: number): number {
  return value === undefined ? fallback : positiveInteger(`createSecretsManagerClient: ${name}`, value);
}
