import type { Logger } from 'pino';
import type { RotatorEnv } from '../config';
import type { SecretStore } from '../aws/secret-store';
import type { ManagementKeySource } from '../sendmux/client';
import { errorSummary } from '../logging/error-summary';

/**
 * Where the Sendmux management (root) key comes from: SENDMUX_API_KEY, or a Secrets Manager
 * secret named by SENDMUX_API_KEY_SECRET_ID that is read at start-up and again after a 401, so the
 * management key itself can be rotated without restarting the service.
 *
 * The secret holds either the plain key or JSON with an "api_key" field (the shape the rotator
 * itself writes for mailbox keys). Its value is never logged nor put in an error message.
 */
export function createManagementKeySource(deps: {
  env: Pick<RotatorEnv, 'sendmuxApiKey' | 'sendmuxApiKeySecretId'>;
  secrets: Pick<SecretStore, 'getCurrentVersion'>;
  logger: Logger;
}): ManagementKeySource {
  const { env, secrets, logger } = deps;
  if (!env.sendmuxApiKeySecretId) {
    const key = env.sendmuxApiKey;
    if (!key) throw new Error('no Sendmux management key: set SENDMUX_API_KEY or SENDMUX_API_KEY_SECRET_ID');
    return { current: () => key };
  }
  const secretId = env.sendmuxApiKeySecretId;
  let cached: Promise<string> | null = null;
  let refreshing: Promise<string> | null = null;

  const load = async (): Promise<string> => {
    const version = await secrets.getCurrentVersion(secretId);
    if (!version) throw new Error(`SENDMUX_API_KEY_SECRET_ID: secret ${secretId} does not exist or has no AWSCURRENT value`);
    const key = extractManagementKey(version.secretString);
    if (!key) {
      throw new Error(
        `SENDMUX_API_KEY_SECRET_ID: secret ${secretId} holds neither a plain key nor JSON with an "api_key" field; ` +
          'store the smx_root_… key as the secret string, or as {"api_key": "smx_root_…"}',
      );
    }
    logger.info({ secretId, versionId: version.versionId }, 'loaded the Sendmux management key from Secrets Manager');
    return key;
  };

  /** Starts a load and caches it; a failed load is forgotten so that the next request tries again. */
  const startLoad = (): Promise<string> => {
    const loading = load();
    cached = loading;
    loading.catch(() => {
      if (cached === loading) cached = null;
    });
    return loading;
  };

  // Read at start-up, so a missing or unreadable secret shows in the logs before the first rotation.
  startLoad().catch((error: unknown) => {
    logger.warn(
      { secretId, err: errorSummary(error) },
      'could not read the Sendmux management key at start-up; it is read again before the first Sendmux call',
    );
  });

  return {
    current() {
      return cached ?? startLoad();
    },
    refresh() {
      // Concurrent requests that all met the same 401 share one reload instead of one each.
      if (refreshing) return refreshing;
      logger.warn({ secretId }, 'Sendmux answered 401: reloading the management key from Secrets Manager');
      const reload = startLoad();
      const shared = reload.finally(() => {
        if (refreshing === shared) refreshing = null;
      });
      refreshing = shared;
      return shared;
    },
  };
}

function extractManagementKey(secretString: string): string | null {
  const trimmed = secretString.trim();
  if (!trimmed.startsWith('{')) return trimmed.length > 0 ? trimmed : null;
  try {
    const parsed = JSON.parse(trimmed) as Record<string, unknown>;
    for (const field of ['api_key', 'apiKey', 'SENDMUX_API_KEY', 'key']) {
      const value = parsed[field];
      if (typeof value === 'string' && value.trim().length > 0) return value.trim();
    }
  } catch {
    return null;
  }
  return null;
}
