import { maskSettingsForDisplay, parseSettings } from '../../src/config';
import { CONFIG_PATH, MINIMAL_YAML, VALID_ENV } from './fixtures';
import { problemsOf } from './problems-of';

const withAlerts = (alerts: string) => `${MINIMAL_YAML}alerts:\n${alerts}`;
const parse = (yaml: string, env: NodeJS.ProcessEnv = VALID_ENV) => parseSettings(yaml, env, CONFIG_PATH);

describe('alerts.webhookUrl rules (finding 7)', () => {
  it('rejects embedded credentials and says to use alerts.webhookHeaders, without echoing them', () => {
    const [problem, ...rest] = problemsOf(withAlerts('  webhookUrl: https://user:hunter2pass@hooks.example.com/x\n'));
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ field: 'alerts.webhookUrl' });
    expect(problem!.expected).toMatch(/without user:password@.*alerts\.webhookHeaders/);
    expect(JSON.stringify(problem)).not.toContain('hunter2pass');
  });

  it('requires https except for a loopback host', () => {
    expect(problemsOf(withAlerts('  webhookUrl: http://hooks.example.com/x\n'))[0]!.expected).toMatch(/https:\/\//);
    expect(parse(withAlerts('  webhookUrl: http://127.0.0.1:9000/x\n')).file.alerts.webhookUrl).toBe('http://127.0.0.1:9000/x');
    expect(parse(withAlerts('  webhookUrl: http://localhost:9000/x\n')).file.alerts.webhookUrl).toBe('http://localhost:9000/x');
  });

  it.each([
    'https://169.254.169.254/latest/meta-data/',
    'https://[fd00:ec2::254]/',
    'https://[fe80::1]/hook',
    'https://metadata.google.internal/',
    'https://100.100.100.200/latest/meta-data/',
    'https://[::169.254.169.254]/',
    'https://[64:ff9b::a9fe:a9fe]/',
    'https://[::ffff:169.254.169.254]/',
  ])(
    'refuses the link-local / metadata target %s unless alerts.allowPrivateTargets is true',
    (url) => {
      expect(problemsOf(withAlerts(`  webhookUrl: "${url}"\n`))[0]!.expected).toMatch(/link-local or cloud-metadata.*allowPrivateTargets/);
      expect(parse(withAlerts(`  webhookUrl: "${url}"\n  allowPrivateTargets: true\n`)).file.alerts).toMatchObject({ webhookUrl: url, allowPrivateTargets: true });
    },
  );
});

describe('loopback addresses carried in IPv6', () => {
  it('accepts plain http:// to an IPv4-mapped loopback address like 127.0.0.1', () => {
    expect(parse(withAlerts('  webhookUrl: "http://[::ffff:127.0.0.1]:9000/x"\n')).file.alerts.webhookUrl).toBe('http://[::ffff:127.0.0.1]:9000/x');
  });
});

describe('alerts.webhookHeaders', () => {
  const yaml = withAlerts('  webhookUrl: https://hooks.example.com/x\n  webhookHeaders:\n    Authorization: "env:ALERT_WEBHOOK_AUTH"\n');

  it('reads each value from the environment variable it names', () => {
    const settings = parse(yaml, { ...VALID_ENV, ALERT_WEBHOOK_AUTH: 'Bearer hook-credential-123' });
    expect(settings.file.alerts.webhookHeaders).toEqual({ Authorization: 'Bearer hook-credential-123' });
  });

  it('masks the values in config check output', () => {
    const settings = parse(yaml, { ...VALID_ENV, ALERT_WEBHOOK_AUTH: 'Bearer hook-credential-123' });
    expect(JSON.stringify(maskSettingsForDisplay(settings))).not.toContain('hook-credential-123');
  });

  it('names the missing environment variable', () => {
    expect(problemsOf(yaml)).toEqual([expect.objectContaining({ field: 'alerts.webhookHeaders.Authorization', expected: expect.stringContaining('ALERT_WEBHOOK_AUTH') })]);
  });

  it('refuses a literal value, so no credential is written in the file', () => {
    const problems = problemsOf(withAlerts('  webhookHeaders:\n    Authorization: "Bearer literal"\n'));
    expect(problems).toEqual([expect.objectContaining({ field: 'alerts.webhookHeaders.Authorization', expected: expect.stringContaining('env:') })]);
  });
});

describe('dashboard.readOnly', () => {
  it('defaults to true, and false is an explicit opt-in', () => {
    expect(parse(MINIMAL_YAML).file.dashboard).toEqual({ readOnly: true });
    expect(parse(`${MINIMAL_YAML}dashboard:\n  readOnly: false\n`).file.dashboard).toEqual({ readOnly: false });
  });
});

describe('dashboard.publicBasePath and dashboard.trustedProxies', () => {
  it('accepts a path prefix (trailing slash dropped) and a list of proxies', () => {
    const yaml = `${MINIMAL_YAML}dashboard:\n  publicBasePath: /rotator/\n  trustedProxies: [loopback, 10.0.0.0/8, "::1"]\n`;
    expect(parse(yaml).file.dashboard).toEqual({ readOnly: true, publicBasePath: '/rotator', trustedProxies: ['loopback', '10.0.0.0/8', '::1'] });
  });

  it.each(['rotator', '/rot"ator', '//evil.example', '/a/../b'])('refuses publicBasePath %p, naming the field', (value) => {
    const [problem] = problemsOf(`${MINIMAL_YAML}dashboard:\n  publicBasePath: '${value.replace(/'/g, "''")}'\n`);
    expect(problem).toMatchObject({ field: 'dashboard.publicBasePath' });
    expect(problem!.expected).toMatch(/"\/rotator"/);
  });

  it('refuses a trusted proxy that is no address or range', () => {
    const [problem] = problemsOf(`${MINIMAL_YAML}dashboard:\n  trustedProxies: [proxy.internal]\n`);
    expect(problem).toMatchObject({ field: 'dashboard.trustedProxies[0]' });
    expect(problem!.expected).toMatch(/CIDR/);
  });
});
