import { maskApiKey, maskToken, maskUrlCredentials, maskWebhookUrl } from './masking';
import { maskRedisTargetForDisplay } from './redis-target';
import type { RotatorSettings } from './types';

/**
 * A copy of the settings that is safe to print or log: the management key, the API token,
 * Redis credentials and the webhook URL's secret part are masked.
 */
export function maskSettingsForDisplay(settings: RotatorSettings): object {
  const { file } = settings;
  // The region's inputs (HOME, file paths) are shown as their outcome by `config check` instead.
  const { awsRegionInputs: _regionInputs, ...env } = settings.env;
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
      notify: { ...file.notify, ...(file.notify.webhookUrl === undefined ? {} : { webhookUrl: maskWebhookUrl(file.notify.webhookUrl) }) },
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
      ...(env.notifyWebhookSecretPrevious === undefined ? {} : { notifyWebhookSecretPrevious: maskToken() }),
      ...(env.alertWebhookSecret === undefined ? {} : { alertWebhookSecret: maskToken() }),
      ...(env.alertWebhookSecretPrevious === undefined ? {} : { alertWebhookSecretPrevious: maskToken() }),
    },
  };
}
