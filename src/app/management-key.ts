import type { Logger } from 'pino';
import type { RotatorEnv } from '../config';
import type { SecretStore } from '../aws/secret-store';
import type { ManagementKeySource } from '../sendmux/client';

/**
 * Where the Sendmux management (root) key comes from: SENDMUX_API_KEY, or a Secrets Manager
 * secret named by SENDMUX_API_KEY_SECRET_ID that is read at start-up and again after a 401, so the
 * management key itself can be rotated without restarting the service.
 */
export function createManagementKeySource(deps: {
  env: Pick<RotatorEnv, 'sendmuxApiKey' | 'sendmuxApiKeySecretId'>;
  secrets: Pick<SecretStore, 'getSecretVersion'>;
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

  const load = async (): Promise<string> => {
    const version = await secrets.getSecretVersion(secretId, { versionStage: 'AWSCURRENT' });
    if (!version) throw new Error(`SENDMUX_API_KEY_SECRET_ID: secret ${secretId} has no AWSCURRENT value`);
    const key = extractManagementKey(version.secretString);
    if (!key) {
      throw new Error(
        `SENDMUX_API_KEY_SECRET_ID: secret ${secretId} holds neither a plain smx_root_ key nor JSON with an "api_key" field`,
      );
    }
    logger.info({ secretId, versionId: version.versionId }, 'loaded the Sendmux management key from Secrets Manager');
    return key;
  };

  return {
    current() {
      if (!cached) {
        cached = load();
        // A failed load must not be cached forever: the next request tries again.
        cached.catch(() => {
          cached = null;
        });
      }
      return cached;
    },
    async refresh() {
      logger.warn({ secretId }, 'Sendmux answered 401: reloading the management key from Secrets Manager');
      cached = load();
      cached.catch(() => {
        cached = null;
      });
      return cached;
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
      if (typeof value === 'string' && value.length > 0) return value;
    }
  } catch {
    return null;
  }
  return null;
}
