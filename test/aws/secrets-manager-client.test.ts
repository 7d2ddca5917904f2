import { CreateSecretCommand, ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import { createSecretsManagerClient } from '../../src/aws/secrets-manager-client';
import { SecretsManagerStandIn, startSecretsManagerStandIn } from '../../standins/secrets-manager';
import { failureOf, useFakeAwsCredentials } from './support/aws-test-env';

useFakeAwsCredentials();

let standIn: SecretsManagerStandIn;

beforeAll(async () => {
  standIn = await startSecretsManagerStandIn();
});

afterEach(() => standIn.faults.clear());

afterAll(async () => {
  await standIn.close();
});

describe('createSecretsManagerClient', () => {
  it('honours AWS_ENDPOINT_URL_SECRETS_MANAGER natively when no endpoint is given', async () => {
    const saved = process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'];
    process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] = standIn.url;
    const client = createSecretsManagerClient({ region: 'us-east-1', maxAttempts: 1 });
    try {
      await client.send(new CreateSecretCommand({ Name: 'client/via-env-endpoint' }));
      expect(standIn.secret('client/via-env-endpoint')).toBeDefined();
    } finally {
      client.destroy();
      if (saved === undefined) delete process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'];
      else process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] = saved;
    }
  });

  it('fails a call that outlives requestTimeoutMs with TimeoutError', async () => {
    const client = createSecretsManagerClient({ region: 'us-east-1', endpoint: standIn.url, maxAttempts: 1, requestTimeoutMs: 200 });
    standIn.faults.inject({ operation: 'ListSecrets', kind: 'delay', delayMs: 1500, times: 1 });
    try {
      const started = Date.now();
      const error = await failureOf(client.send(new ListSecretsCommand({})));
      expect(error.name).toBe('TimeoutError');
      expect(Date.now() - started).toBeLessThan(1200);
    } finally {
      client.destroy();
    }
  });

  it('makes maxAttempts attempts before giving up', async () => {
    const client = createSecretsManagerClient({ region: 'us-east-1', endpoint: standIn.url, maxAttempts: 2 });
    standIn.faults.inject({ operation: 'ListSecrets', kind: 'internalError' });
    const before = standIn.counters['ListSecrets'] ?? 0;
    try {
      expect((await failureOf(client.send(new ListSecretsCommand({})))).name).toBe('InternalServiceError');
      expect(standIn.counters['ListSecrets']).toBe(before + 2);
    } finally {
      client.destroy();
    }
  });

  it.each([
    ['an empty region', { region: ' ' }, 'region is required'],
    ['an endpoint that is not a URL', { region: 'us-east-1', endpoint: 'localhost:4566' }, 'endpoint must'],
    ['a non-http endpoint', { region: 'us-east-1', endpoint: 'ftp://127.0.0.1' }, 'endpoint must use http or https'],
    ['a zero request timeout', { region: 'us-east-1', requestTimeoutMs: 0 }, 'requestTimeoutMs must be a positive integer'],
    ['a fractional maxAttempts', { region: 'us-east-1', maxAttempts: 1.5 }, 'maxAttempts must be a positive integer'],
  ])('rejects %s with a message naming the option', (_case, options, message) => {
    expect(() => createSecretsManagerClient(options)).toThrow(message);
  });
});
