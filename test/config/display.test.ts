import { maskSettingsForDisplay, parseSettings } from '../../src/config';
import { CONFIG_PATH, FAKE_API_TOKEN, FAKE_ROOT_KEY, MINIMAL_YAML } from './fixtures';

describe('maskSettingsForDisplay', () => {
  const settings = parseSettings(
    `${MINIMAL_YAML}alerts:\n  webhookUrl: "https://hooks.example.com/services/T0/WEBHOOKSECRET"\n`,
    {
      SENDMUX_API_KEY: FAKE_ROOT_KEY,
      ROTATOR_API_TOKEN: FAKE_API_TOKEN,
      REDIS_URL: 'redis://default:REDISPASSWORD@redis.internal:6379/0',
    },
    CONFIG_PATH,
  );
  const shown = maskSettingsForDisplay(settings) as { env: Record<string, unknown>; file: { alerts: Record<string, unknown>; schedule: string } };

  it('masks the management key but keeps its prefix', () => {
    expect(shown.env.sendmuxApiKey).toBe('smx_root_…(masked)');
  });

  it('masks the API token completely', () => {
    expect(shown.env.apiToken).toBe('********');
  });

  it('masks the Redis password but keeps user, host, port and database', () => {
    expect(shown.env.redis).toMatchObject({ mode: 'single', address: 'redis://default:****@redis.internal:6379/0' });
  });

  it('keeps only the origin of the webhook URL', () => {
    expect(shown.file.alerts.webhookUrl).toBe('https://hooks.example.com/…(masked)');
  });

  it('contains no secret anywhere', () => {
    const text = JSON.stringify(shown);
    for (const secret of [FAKE_ROOT_KEY, FAKE_API_TOKEN, 'REDISPASSWORD', 'WEBHOOKSECRET']) expect(text).not.toContain(secret);
  });

  it('shows the non-secret settings unchanged', () => {
    expect(shown.file.schedule).toBe('0 3 * * 1');
    expect(shown.env.configPath).toBe(CONFIG_PATH);
  });

  it('leaves the settings it was given unmasked', () => {
    expect(settings.env.sendmuxApiKey).toBe(FAKE_ROOT_KEY);
  });
});
