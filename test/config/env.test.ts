import { parseSettings } from '../../src/config';
import { CONFIG_PATH, FAKE_API_TOKEN, FAKE_ROOT_KEY, MINIMAL_YAML, VALID_ENV } from './fixtures';
import { configErrorOf, fieldsOf, problemsOf } from './problems-of';

const envOf = (env: NodeJS.ProcessEnv) => parseSettings(MINIMAL_YAML, env, CONFIG_PATH).env;
const envProblems = (env: NodeJS.ProcessEnv) => problemsOf(MINIMAL_YAML, env);

describe('environment variables', () => {
  it('applies the defaults when only the management key is set', () => {
    expect(envOf({ SENDMUX_API_KEY: FAKE_ROOT_KEY })).toEqual({
      redis: { mode: 'single', variable: 'REDIS_URL', url: 'redis://127.0.0.1:6379', tls: false },
      sendmuxApiUrl: 'https://app.sendmux.ai/api/v1',
      sendmuxApiKey: FAKE_ROOT_KEY,
      awsRegionInputs: {},
      queuePrefix: 'rotator',
      logLevel: 'info',
      port: 3000,
      host: '0.0.0.0',
      configPath: CONFIG_PATH,
    });
  });

  it('keeps the variables the AWS region is resolved from (src/aws/region.ts), and no others', () => {
    const env = envOf({ SENDMUX_API_KEY: FAKE_ROOT_KEY, AWS_DEFAULT_REGION: 'eu-west-1', AWS_PROFILE: 'ops', AWS_CONFIG_FILE: '/etc/aws/config', HOME: '/home/op', AWS_SECRET_ACCESS_KEY: 'never-copied' });
    expect(env.awsRegion).toBeUndefined();
    expect(env.awsRegionInputs).toEqual({ AWS_DEFAULT_REGION: 'eu-west-1', AWS_PROFILE: 'ops', AWS_CONFIG_FILE: '/etc/aws/config', HOME: '/home/op' });
  });

  it('reads every variable that is set', () => {
    expect(
      envOf({
        SENDMUX_API_KEY_SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sendmux/root-AbCdEf',
        REDIS_URL: 'rediss://user:pw@redis.internal:6380/2',
        SENDMUX_API_URL: 'http://127.0.0.1:4010/api/v1/',
        AWS_REGION: 'eu-west-1',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:4566',
        ROTATOR_QUEUE_PREFIX: '{rotator}',
        LOG_LEVEL: 'DEBUG',
        PORT: '0',
        HOST: '127.0.0.1',
        ROTATOR_API_TOKEN: FAKE_API_TOKEN,
      }),
    ).toEqual({
      redis: { mode: 'single', variable: 'REDIS_URL', url: 'rediss://user:pw@redis.internal:6380/2', tls: true },
      sendmuxApiUrl: 'http://127.0.0.1:4010/api/v1',
      sendmuxApiKeySecretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sendmux/root-AbCdEf',
      awsRegion: 'eu-west-1',
      awsRegionInputs: { AWS_REGION: 'eu-west-1' },
      awsSecretsManagerEndpoint: 'http://127.0.0.1:4566',
      queuePrefix: '{rotator}',
      logLevel: 'debug',
      port: 0,
      host: '127.0.0.1',
      apiToken: FAKE_API_TOKEN,
      configPath: CONFIG_PATH,
    });
  });

  it('treats an empty variable as unset', () => {
    expect(envOf({ ...VALID_ENV, PORT: '', REDIS_URL: '' })).toMatchObject({ port: 3000, redis: { mode: 'single', url: 'redis://127.0.0.1:6379' } });
  });

  it('requires SENDMUX_API_KEY or SENDMUX_API_KEY_SECRET_ID', () => {
    const problems = envProblems({ AWS_REGION: 'us-east-1' });
    expect(problems).toEqual([expect.objectContaining({ field: 'SENDMUX_API_KEY', source: 'env', value: undefined })]);
    expect(problems[0]?.expected).toContain('SENDMUX_API_KEY_SECRET_ID');
  });

  it('refuses both SENDMUX_API_KEY and SENDMUX_API_KEY_SECRET_ID at once', () => {
    expect(fieldsOf(envProblems({ ...VALID_ENV, SENDMUX_API_KEY_SECRET_ID: 'sendmux/root' }))).toEqual(['SENDMUX_API_KEY_SECRET_ID']);
  });

  it.each([
    ['SENDMUX_API_KEY', 'smx_mbx_FAKEMAILBOXKEY1234', 'a mailbox key instead of a root key'],
    ['SENDMUX_API_KEY', 'not-a-sendmux-key', 'no smx_root_ prefix'],
    ['SENDMUX_API_KEY', 'smx_root_', 'only the prefix'],
    ['REDIS_URL', 'http://127.0.0.1:6379', 'the wrong scheme'],
    ['REDIS_URL', '127.0.0.1:6379', 'no scheme'],
    ['REDIS_URL', 'redis://127.0.0.1:6379/db', 'a non-numeric database'],
    ['PORT', 'http', 'a name'],
    ['PORT', '65536', 'a number above 65535'],
    ['PORT', '-1', 'a negative number'],
    ['ROTATOR_API_TOKEN', 'too-short-token', 'fewer than 16 characters'],
    ['ROTATOR_API_TOKEN', 'has a space in it somewhere', 'whitespace'],
    ['LOG_LEVEL', 'verbose', 'an unknown level'],
    ['SENDMUX_API_URL', 'ftp://app.sendmux.ai/api/v1', 'a non-HTTP scheme'],
    ['SENDMUX_API_URL', 'https://u:p@app.sendmux.ai/api/v1', 'credentials in it'],
    ['AWS_REGION', 'US East', 'not a region code'],
    ['AWS_ENDPOINT_URL_SECRETS_MANAGER', 'localhost:4566', 'no scheme'],
    ['ROTATOR_QUEUE_PREFIX', 'a b', 'a space'],
    ['ROTATOR_QUEUE_PREFIX', '{a}{b}', 'two hash tags'],
    ['HOST', 'my host', 'a space'],
  ])('rejects %s=%j (%s)', (name, value) => {
    const problems = envProblems({ ...VALID_ENV, [name]: value });
    expect(problems.map((problem) => [problem.source, problem.field])).toEqual([['env', name]]);
    expect(problems[0]?.expected.length).toBeGreaterThan(0);
  });

  it('names the variable with an "env" prefix in the message', () => {
    expect(configErrorOf(MINIMAL_YAML, { ...VALID_ENV, PORT: 'http' }).message).toContain(
      '  - env PORT: got "http" — expected a TCP port number from 0 to 65535',
    );
  });

  describe('never printing secrets in problems', () => {
    const secrets = {
      SENDMUX_API_KEY: 'smx_mbx_LEAKCHECKKEY987',
      ROTATOR_API_TOKEN: 'LEAKTOKEN',
      REDIS_URL: 'http://admin:LEAKPASSWORD@redis:6379',
    };

    it('masks each secret in the message and in the problem values', () => {
      const error = configErrorOf(MINIMAL_YAML, secrets);
      expect(fieldsOf(error.problems)).toEqual(['REDIS_URL', 'SENDMUX_API_KEY', 'ROTATOR_API_TOKEN']);
      for (const leak of ['LEAKCHECKKEY987', 'LEAKTOKEN', 'LEAKPASSWORD']) {
        expect(error.message).not.toContain(leak);
        expect(JSON.stringify(error.problems)).not.toContain(leak);
      }
    });

    it('keeps the non-secret parts that help fixing the value', () => {
      const message = configErrorOf(MINIMAL_YAML, secrets).message;
      expect(message).toContain('got "smx_mbx_…(masked)"');
      expect(message).toContain('got "http://admin:****@redis:6379"');
      expect(message).toContain('got "******** (9 characters)"');
    });

    it('masks a Redis URL whose only credential is a password without a colon', () => {
      const message = configErrorOf(MINIMAL_YAML, { ...VALID_ENV, REDIS_URL: 'redis://LEAKPW@redis/x' }).message;
      expect(message).not.toContain('LEAKPW');
    });
  });
});
