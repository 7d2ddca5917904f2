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
      alerts: {
        ...file.alerts,
        ...(file.alerts.webhookUrl === undefined ? {} : { webhookUrl: maskWebhookUrl(file.alerts.webhookUrl) }),
        // Header values are credentials read from the environment: only their names are shown.
        ...(file.alerts.webhookHeaders === undefined
          ? {}
          : { webhookHeaders: Object.fromEntries(Object.keys(file.alerts.webhookHeaders).map((name) => [name, maskToken()])) }),
      },
      notify: file.notify.webhookUrl === undefined ? {} : { webhookUrl: maskWebhookUrl(file.notify.webhookUrl) },
    },
    env: {
      ...env,
      redis: maskRedisTargetForDisplay(env.redis),
      sendmuxApiUrl: maskUrlCredentials(env.sendmuxApiUrl),
      ...(env.sendmuxApiKey === undefined ? {} : { sendmuxApiKey: maskApiKey(env.sendmuxApiKey) }),
      ...(env.awsSecretsManagerEndpoint === undefined ? {} : { awsSecretsManagerEndpoint: maskUrlCredentials(env.awsSecretsManagerEndpoint) }),
      ...(env.apiToken === undefined ? {} : { apiToken: maskToken() }),
      ...(env.apiTokens === undefined ? {} : { apiTokens: env.apiTokens.map(({ name, role }) => ({ name, role, token: maskToken() })) }),
      ...(env.notifyWebhookSecret === undefined ? {} : { notifyWebhookSecret: maskToken() }),
    },
  };
}
