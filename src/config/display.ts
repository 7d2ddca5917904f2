import { maskApiKey, maskToken, maskUrlCredentials, maskWebhookUrl } from './masking';
import { maskRedisTargetForDisplay } from './redis-target';
import type { RotatorSettings } from './types';

/**
 * A copy of the settings that is safe to print or log: the management key, the API token,
 * Redis credentials and the webhook URL's secret part are masked.
 */
export function maskSettingsForDisplay(settings: RotatorSettings): object {
  const { env, file } = settings;
  return {
    file: {
      ...file,
      alerts: file.alerts.webhookUrl === undefined ? {} : { webhookUrl: maskWebhookUrl(file.alerts.webhookUrl) },
    },
    env: {
      ...env,
      redis: maskRedisTargetForDisplay(env.redis),
      sendmuxApiUrl: maskUrlCredentials(env.sendmuxApiUrl),
      ...(env.sendmuxApiKey === undefined ? {} : { sendmuxApiKey: maskApiKey(env.sendmuxApiKey) }),
      ...(env.awsSecretsManagerEndpoint === undefined ? {} : { awsSecretsManagerEndpoint: maskUrlCredentials(env.awsSecretsManagerEndpoint) }),
      ...(env.apiToken === undefined ? {} : { apiToken: maskToken() }),
    },
  };
}
