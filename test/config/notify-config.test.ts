import { ConfigError, parseSettings } from '../../src/config';
import { maskSettingsForDisplay } from '../../src/config/display';
import { CONFIG_PATH, MINIMAL_YAML, VALID_ENV } from './fixtures';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const NOTIFY_YAML = `${MINIMAL_YAML}notify:\n  webhookUrl: https://hooks.example.test/rotator/T0K3N\n`;

function problemsOf(yaml: string, env: NodeJS.ProcessEnv): ConfigError['problems'] {
  try {
    parseSettings(yaml, env, CONFIG_PATH);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('notify configuration', () => {
  it('reads notify.webhookUrl and NOTIFY_WEBHOOK_SECRET', () => {
    const settings = parseSettings(NOTIFY_YAML, { ...VALID_ENV, NOTIFY_WEBHOOK_SECRET: SECRET }, CONFIG_PATH);
    expect(settings.file.notify).toEqual({ webhookUrl: 'https://hooks.example.test/rotator/T0K3N' });
    expect(settings.env.notifyWebhookSecret).toBe(SECRET);
  });

  it('is off by default', () => {
    expect(parseSettings(MINIMAL_YAML, VALID_ENV, CONFIG_PATH).file.notify).toEqual({});
  });

  it('requires NOTIFY_WEBHOOK_SECRET when notify.webhookUrl is set', () => {
    expect(problemsOf(NOTIFY_YAML, VALID_ENV)).toEqual([
      expect.objectContaining({ field: 'NOTIFY_WEBHOOK_SECRET', expected: expect.stringContaining('required because notify.webhookUrl is set') }),
    ]);
  });

  it('does not require NOTIFY_WEBHOOK_SECRET of operator commands (an operator can pause in an incident without it)', () => {
    expect(() => parseSettings(NOTIFY_YAML, VALID_ENV, CONFIG_PATH, 'operator')).not.toThrow();
  });

  it('rejects a notify.webhookUrl with embedded credentials or a cloud-metadata target, like alerts.webhookUrl', () => {
    const withCredentials = `${MINIMAL_YAML}notify:\n  webhookUrl: https://user:pass@hooks.example.test/x\n`;
    const metadata = `${MINIMAL_YAML}notify:\n  webhookUrl: http://169.254.169.254/latest\n`;
    const env = { ...VALID_ENV, NOTIFY_WEBHOOK_SECRET: SECRET };
    expect(problemsOf(withCredentials, env)).toEqual([expect.objectContaining({ field: 'notify.webhookUrl' })]);
    expect(problemsOf(metadata, env)).toEqual([expect.objectContaining({ field: 'notify.webhookUrl' })]);
  });

  it('rejects a signing secret that is not whsec_ + base64 of 24-64 bytes, without showing it', () => {
    const short = `whsec_${Buffer.alloc(8, 1).toString('base64')}`;
    const problems = problemsOf(NOTIFY_YAML, { ...VALID_ENV, NOTIFY_WEBHOOK_SECRET: short });
    expect(problems).toEqual([expect.objectContaining({ field: 'NOTIFY_WEBHOOK_SECRET', expected: expect.stringContaining('8 bytes') })]);
    expect(JSON.stringify(problems)).not.toContain(short);
  });

  it('masks the URL and the secret for display', () => {
    const settings = parseSettings(NOTIFY_YAML, { ...VALID_ENV, NOTIFY_WEBHOOK_SECRET: SECRET }, CONFIG_PATH);
    const shown = JSON.stringify(maskSettingsForDisplay(settings));
    expect(shown).not.toContain('T0K3N');
    expect(shown).not.toContain(SECRET);
  });
});

describe('signing secrets being replaced (the _PREVIOUS variables)', () => {
  const OTHER = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;

  it('reads ALERT_WEBHOOK_SECRET and both _PREVIOUS secrets, and masks them in config check output', () => {
    const env = { ...VALID_ENV, NOTIFY_WEBHOOK_SECRET: SECRET, NOTIFY_WEBHOOK_SECRET_PREVIOUS: OTHER, ALERT_WEBHOOK_SECRET: OTHER, ALERT_WEBHOOK_SECRET_PREVIOUS: SECRET };
    const settings = parseSettings(NOTIFY_YAML, env, CONFIG_PATH);
    expect(settings.env).toMatchObject({ notifyWebhookSecret: SECRET, notifyWebhookSecretPrevious: OTHER, alertWebhookSecret: OTHER, alertWebhookSecretPrevious: SECRET });
    const shown = JSON.stringify(maskSettingsForDisplay(settings));
    expect(shown).not.toContain(SECRET.slice(6));
    expect(shown).not.toContain(OTHER.slice(6));
  });

  it('refuses a _PREVIOUS secret without the new one, and one equal to it', () => {
    expect(problemsOf(MINIMAL_YAML, { ...VALID_ENV, ALERT_WEBHOOK_SECRET_PREVIOUS: SECRET })).toEqual([
      expect.objectContaining({ field: 'ALERT_WEBHOOK_SECRET_PREVIOUS', expected: expect.stringContaining('only together with ALERT_WEBHOOK_SECRET') }),
    ]);
    expect(problemsOf(MINIMAL_YAML, { ...VALID_ENV, NOTIFY_WEBHOOK_SECRET: SECRET, NOTIFY_WEBHOOK_SECRET_PREVIOUS: SECRET })).toEqual([
      expect.objectContaining({ field: 'NOTIFY_WEBHOOK_SECRET_PREVIOUS', expected: expect.stringContaining('different from NOTIFY_WEBHOOK_SECRET') }),
    ]);
  });
});
