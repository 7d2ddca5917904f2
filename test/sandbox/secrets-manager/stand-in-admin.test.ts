import { createHash } from 'node:crypto';
import { CreateSecretCommand, ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createSecretsManagerClient } from '../../../src/aws/secrets-manager-client';
import { SecretsManagerStandIn, startSecretsManagerStandIn } from '../../../standins/secrets-manager';
import { startStandInFromEnv } from '../../../standins/secrets-manager/main';
import { captureLogs, failureOf, useFakeAwsCredentials } from '../../aws/support/aws-test-env';

useFakeAwsCredentials();

interface AdminState {
  standIn: boolean;
  secrets: Array<{ name: string; versions: Array<Record<string, unknown>> }>;
  counters: Record<string, number>;
  faults: { active: unknown[]; injected: Record<string, number> };
}

describe('admin HTTP surface', () => {
  let standIn: SecretsManagerStandIn;
  let client: SecretsManagerClient;

  beforeAll(async () => {
    standIn = await startSecretsManagerStandIn();
    client = createSecretsManagerClient({ region: 'us-east-1', endpoint: standIn.url, maxAttempts: 1 });
    await client.send(new CreateSecretCommand({ Name: 'admin/one', SecretString: 'admin-secret-value' }));
  });

  afterAll(async () => {
    client.destroy();
    await standIn.close();
  });

  async function state(query = ''): Promise<AdminState> {
    const response = await fetch(`${standIn.url}/_standin/state${query}`);
    expect(response.status).toBe(200);
    return (await response.json()) as AdminState;
  }

  it('GET /_standin/state lists secrets with a fingerprint instead of the value', async () => {
    const body = await state();
    const text = JSON.stringify(body);
    expect(body.standIn).toBe(true);
    expect(text).not.toContain('admin-secret-value');
    expect(body.secrets[0]?.versions[0]).toMatchObject({
      stages: ['AWSCURRENT'],
      secretStringSha256: createHash('sha256').update('admin-secret-value').digest('hex'),
    });
    expect(body.counters['CreateSecret:ok']).toBe(1);
  });

  it('GET /_standin/state?includeSecretValues=true includes the values', async () => {
    const body = await state('?includeSecretValues=true');
    expect(body.secrets[0]?.versions[0]).toMatchObject({ secretString: 'admin-secret-value' });
  });

  it('POST /_standin/faults arms a fault and DELETE /_standin/faults disarms it', async () => {
    const armed = await fetch(`${standIn.url}/_standin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ operation: 'ListSecrets', kind: 'throttle' }),
    });
    expect(armed.status).toBe(201);
    expect((await failureOf(client.send(new ListSecretsCommand({})))).name).toBe('ThrottlingException');

    const cleared = await fetch(`${standIn.url}/_standin/faults`, { method: 'DELETE' });
    expect(cleared.status).toBe(204);
    await expect(client.send(new ListSecretsCommand({}))).resolves.toBeDefined();
  });

  it('POST /_standin/faults answers 400 with the reason for an invalid spec', async () => {
    const response = await fetch(`${standIn.url}/_standin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'explode' }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toContain('kind');
  });
});

describe('main (own process entry point)', () => {
  it('starts from the environment and logs one line saying it is a LOCAL STAND-IN', async () => {
    const logs = captureLogs();
    const standIn = await startStandInFromEnv({ STANDIN_HOST: '127.0.0.1', STANDIN_PORT: '0', AWS_REGION: 'eu-west-1' }, logs.logger);
    try {
      expect(standIn.url).toBe(`http://127.0.0.1:${standIn.port}`);
      expect(standIn.region).toBe('eu-west-1');
      const lines = logs.lines();
      expect(lines).toHaveLength(1);
      expect(String(lines[0]?.['msg'])).toContain('LOCAL STAND-IN');
      expect(lines[0]?.['url']).toBe(standIn.url);
    } finally {
      await standIn.close();
    }
  });

  it('refuses a STANDIN_PORT that is not a port number', async () => {
    await expect(startStandInFromEnv({ STANDIN_PORT: 'http' }, captureLogs().logger)).rejects.toThrow(
      'STANDIN_PORT must be an integer between 0 and 65535, got "http".',
    );
  });
});
