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
    'refuses the link-local / metadata target %s unless alerts.allowPrivateNetwork (or the older allowPrivateTargets) is true',
    (url) => {
      expect(problemsOf(withAlerts(`  webhookUrl: "${url}"\n`))[0]!.expected).toMatch(/private network or cloud-metadata.*alerts\.allowPrivateNetwork: true/);
      expect(parse(withAlerts(`  webhookUrl: "${url}"\n  allowPrivateNetwork: true\n`)).file.alerts).toMatchObject({ webhookUrl: url, allowPrivateNetwork: true });
      expect(parse(withAlerts(`  webhookUrl: "${url}"\n  allowPrivateTargets: true\n`)).file.alerts).toMatchObject({ webhookUrl: url, allowPrivateNetwork: true });
    },
  );
});

describe('where webhooks may go (private networks, NAT64/6to4, metadata names)', () => {
  const withNotify = (notify: string) => `${MINIMAL_YAML}notify:\n${notify}`;
  const NOTIFY_ENV = { ...VALID_ENV, NOTIFY_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}` };

  it.each([
    ['https://10.0.0.1/hook', /10\.0\.0\.0\/8/],
    ['https://172.16.5.4/hook', /172\.16\.0\.0\/12/],
    ['https://192.168.1.1/hook', /192\.168\.0\.0\/16/],
    ['https://100.64.1.2/hook', /100\.64\.0\.0\/10/],
    ['https://0.0.0.0/hook', /0\.0\.0\.0\/8/],
    ['https://[fd00::1]/hook', /fc00::\/7/],
    ['https://[::ffff:10.0.0.1]/hook', /10\.0\.0\.0\/8.*IPv4-mapped/],
    ['https://[64:ff9b::10.1.2.3]/hook', /10\.0\.0\.0\/8.*NAT64/],
    ['https://[64:ff9b:1::a9fe:a9fe]/hook', /64:ff9b:1::\/48/],
    ['https://[2002:a9fe:a9fe::1]/hook', /169\.254\.0\.0\/16.*6to4/],
    ['https://169.254.169.254.nip.io/latest', /spells 169\.254\.169\.254/],
    ['https://10-0-0-1.sslip.io/hook', /spells 10\.0\.0\.1/],
    ['https://app-a9fea9fe.nip.io/hook', /spells 169\.254\.169\.254/],
    ['https://metadata/computeMetadata/v1/', /cloud-metadata name/],
    ['https://instance-data/latest/', /cloud-metadata name/],
    ['https://metadata.google.internal/', /cloud-metadata name/],
    ['https://hooks.corp.internal/x', /private-use name/],
    ['https://webhook-receiver/x', /single-label name/],
  ])('config check refuses %s, naming the field and allowPrivateNetwork: true as the fix', (url, range) => {
    const [problem, ...rest] = problemsOf(withAlerts(`  webhookUrl: "${url}"\n`));
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ field: 'alerts.webhookUrl' });
    expect(problem!.expected).toMatch(range);
    expect(problem!.expected).toMatch(/set alerts\.allowPrivateNetwork: true/);
  });

  it('refuses a private notify.webhookUrl, naming notify.allowPrivateNetwork as the fix, and accepts it with that set', () => {
    const [problem] = problemsOf(withNotify('  webhookUrl: "https://192.168.1.1/hook"\n'), NOTIFY_ENV);
    expect(problem).toMatchObject({ field: 'notify.webhookUrl', expected: expect.stringMatching(/set notify\.allowPrivateNetwork: true/) });
    const settings = parse(withNotify('  webhookUrl: "https://192.168.1.1/hook"\n  allowPrivateNetwork: true\n'), NOTIFY_ENV);
    expect(settings.file.notify).toEqual({ webhookUrl: 'https://192.168.1.1/hook', allowPrivateNetwork: true });
  });

  it.each(['https://hooks.example.com/x', 'https://[2606:4700::1]/x', 'https://[64:ff9b::8.8.8.8]/x', 'https://8.8.8.8.nip.io/x', 'http://127.0.0.1:9000/x', 'http://[::1]:9000/x', 'http://localhost:9000/x'])(
    'accepts the public or explicitly loopback destination %s without an opt-in',
    (url) => {
      expect(parse(withAlerts(`  webhookUrl: "${url}"\n`)).file.alerts.webhookUrl).toBe(url);
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
