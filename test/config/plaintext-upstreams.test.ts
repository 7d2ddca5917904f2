import { parseSettings } from '../../src/config';
import { CONFIG_PATH, MINIMAL_YAML, VALID_ENV } from './fixtures';
import { problemsOf } from './problems-of';

const accepted = (env: NodeJS.ProcessEnv) => parseSettings(MINIMAL_YAML, { ...VALID_ENV, ...env }, CONFIG_PATH).env;

describe('plain-text upstreams', () => {
  it.each([
    ['SENDMUX_API_URL', 'http://sendmux.internal/api/v1'],
    ['SENDMUX_API_URL', 'http://10.0.0.5:4010/api/v1'],
    ['AWS_ENDPOINT_URL_SECRETS_MANAGER', 'http://localstack:4566'],
    ['AWS_ENDPOINT_URL_SECRETS_MANAGER', 'http://[fd00::1]:4566'],
    // The SDK sends Secrets Manager to the generic override when the service-specific one is unset.
    ['AWS_ENDPOINT_URL', 'http://sm.example.com:4130'],
  ])('refuses %s=%s (http:// off loopback) and names the variable and the fix', (name, url) => {
    const problems = problemsOf(MINIMAL_YAML, { ...VALID_ENV, [name]: url });
    expect(problems).toEqual([expect.objectContaining({ field: name, source: 'env' })]);
    expect(problems[0]?.expected).toMatch(/https:\/\//);
    expect(problems[0]?.expected).toContain('ROTATOR_ALLOW_PLAINTEXT_UPSTREAMS=true');
  });

  it.each([
    ['http://127.0.0.1:4010/api/v1'],
    ['http://127.8.9.10:4010/api/v1'],
    ['http://localhost:4010/api/v1'],
    ['http://[::1]:4010/api/v1'],
  ])('allows loopback %s over plain HTTP', (url) => {
    expect(accepted({ SENDMUX_API_URL: url, AWS_ENDPOINT_URL_SECRETS_MANAGER: url }).sendmuxApiUrl).toBe(url);
  });

  it('allows https:// on any host', () => {
    expect(accepted({ AWS_ENDPOINT_URL_SECRETS_MANAGER: 'https://secretsmanager.eu-west-1.amazonaws.com' }).awsSecretsManagerEndpoint).toBe(
      'https://secretsmanager.eu-west-1.amazonaws.com',
    );
  });

  it('allows http:// off loopback when ROTATOR_ALLOW_PLAINTEXT_UPSTREAMS=true', () => {
    const env = accepted({ SENDMUX_API_URL: 'http://sendmux-sandbox:4010/api/v1', AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://localstack:4566', ROTATOR_ALLOW_PLAINTEXT_UPSTREAMS: 'true' });
    expect(env.sendmuxApiUrl).toBe('http://sendmux-sandbox:4010/api/v1');
  });

  it('still refuses with ROTATOR_ALLOW_PLAINTEXT_UPSTREAMS=false', () => {
    const problems = problemsOf(MINIMAL_YAML, { ...VALID_ENV, SENDMUX_API_URL: 'http://sendmux.internal/api/v1', ROTATOR_ALLOW_PLAINTEXT_UPSTREAMS: 'false' });
    expect(problems.map((p) => p.field)).toEqual(['SENDMUX_API_URL']);
  });

  it('refuses a ROTATOR_ALLOW_PLAINTEXT_UPSTREAMS that is not a boolean', () => {
    const problems = problemsOf(MINIMAL_YAML, { ...VALID_ENV, ROTATOR_ALLOW_PLAINTEXT_UPSTREAMS: 'sure' });
    expect(problems).toEqual([expect.objectContaining({ field: 'ROTATOR_ALLOW_PLAINTEXT_UPSTREAMS', expected: 'true or false' })]);
  });

  it('refuses a REDIS_URL whose password is in the query (?password=…), which the rotator would not send, naming where it goes instead', () => {
    const problems = problemsOf(MINIMAL_YAML, { ...VALID_ENV, REDIS_URL: 'redis://127.0.0.1:6417/0?password=Sup3rSecretPw' });
    expect(problems).toEqual([expect.objectContaining({ field: 'REDIS_URL', source: 'env' })]);
    expect(problems[0]?.expected).toContain('REDIS_PASSWORD');
    expect(JSON.stringify(problems)).not.toContain('Sup3rSecretPw');
  });
});
