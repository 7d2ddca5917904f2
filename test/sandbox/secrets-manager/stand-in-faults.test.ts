import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { createSecretsManagerClient } from '../../../src/aws/secrets-manager-client';
import { SecretsManagerStandIn, startSecretsManagerStandIn } from '../../../standins/secrets-manager';
import { FaultPlan } from '../../../standins/secrets-manager/faults';
import { failureOf, token, useFakeAwsCredentials } from '../../aws/support/aws-test-env';

useFakeAwsCredentials();

let standIn: SecretsManagerStandIn;
let client: SecretsManagerClient;
let nameCounter = 0;
const uniqueName = (label: string): string => `faults/${label}-${(nameCounter += 1)}`;

beforeAll(async () => {
  standIn = await startSecretsManagerStandIn();
  client = createSecretsManagerClient({ region: 'us-east-1', endpoint: standIn.url, maxAttempts: 1, requestTimeoutMs: 2000 });
});

afterEach(() => standIn.faults.clear());

afterAll(async () => {
  client.destroy();
  await standIn.close();
});

describe('fault injection', () => {
  it('answers 400 ThrottlingException and applies nothing', async () => {
    const name = uniqueName('throttle');
    standIn.faults.inject({ operation: 'CreateSecret', kind: 'throttle', times: 1 });
    const error = await failureOf(client.send(new CreateSecretCommand({ Name: name })));
    expect(error.name).toBe('ThrottlingException');
    expect((error.$metadata as { httpStatusCode?: number }).httpStatusCode).toBe(400);
    expect(standIn.secret(name)).toBeUndefined();
    expect(standIn.faults.injected.throttle).toBe(1);
  });

  it('answers 500 InternalServiceError, only as many times as asked', async () => {
    standIn.faults.inject({ operation: 'ListSecrets', kind: 'internalError', times: 1 });
    const error = await failureOf(client.send(new ListSecretsCommand({})));
    expect(error.name).toBe('InternalServiceError');
    expect((error.$metadata as { httpStatusCode?: number }).httpStatusCode).toBe(500);
    await expect(client.send(new ListSecretsCommand({}))).resolves.toBeDefined();
  });

  it('hits only the operation it names', async () => {
    const name = uniqueName('scoped');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'v' }));
    standIn.faults.inject({ operation: 'PutSecretValue', kind: 'throttle' });
    await expect(client.send(new GetSecretValueCommand({ SecretId: name }))).resolves.toMatchObject({ SecretString: 'v' });
    expect((await failureOf(client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'w' })))).name).toBe(
      'ThrottlingException',
    );
  });

  it('lets the SDK standard retry absorb a single throttle', async () => {
    const retryingClient = createSecretsManagerClient({ region: 'us-east-1', endpoint: standIn.url, maxAttempts: 3 });
    try {
      standIn.faults.inject({ operation: 'ListSecrets', kind: 'throttle', times: 1 });
      const before = standIn.counters['ListSecrets'] ?? 0;
      await expect(retryingClient.send(new ListSecretsCommand({}))).resolves.toBeDefined();
      expect(standIn.counters['ListSecrets']).toBe(before + 2);
    } finally {
      retryingClient.destroy();
    }
  });

  it('applyThenTimeout stores the version although the client times out', async () => {
    const name = uniqueName('apply-then-timeout');
    await client.send(new CreateSecretCommand({ Name: name }));
    const impatientClient = createSecretsManagerClient({
      region: 'us-east-1',
      endpoint: standIn.url,
      maxAttempts: 1,
      requestTimeoutMs: 300,
    });
    try {
      standIn.faults.inject({ operation: 'PutSecretValue', kind: 'applyThenTimeout', times: 1 });
      const versionToken = token(`${name}:v1`);
      const error = await failureOf(
        impatientClient.send(new PutSecretValueCommand({ SecretId: name, ClientRequestToken: versionToken, SecretString: 'stored' })),
      );
      expect(error.name).toBe('TimeoutError');
      expect(standIn.secret(name)?.versions).toEqual([expect.objectContaining({ versionId: versionToken, secretString: 'stored' })]);
      expect(standIn.faults.injected.applyThenTimeout).toBe(1);
    } finally {
      impatientClient.destroy();
    }
  });

  it('applyThenTimeout with delayMs answers, late', async () => {
    standIn.faults.inject({ operation: 'ListSecrets', kind: 'applyThenTimeout', delayMs: 250, times: 1 });
    const started = Date.now();
    await expect(client.send(new ListSecretsCommand({}))).resolves.toBeDefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
  });

  it('delay answers normally after delayMs', async () => {
    standIn.faults.inject({ kind: 'delay', delayMs: 200, times: 1 });
    const started = Date.now();
    await expect(client.send(new ListSecretsCommand({}))).resolves.toBeDefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(standIn.faults.injected.delay).toBe(1);
  });

  it('rejects a fault spec with an unknown operation, naming the valid ones', () => {
    expect(() => standIn.faults.inject({ operation: 'PutSecret', kind: 'throttle' })).toThrow(/operation must be '\*' or one of .*PutSecretValue/);
  });

  it('clear() disarms every fault and resets the counts', async () => {
    standIn.faults.inject({ kind: 'throttle' });
    await failureOf(client.send(new ListSecretsCommand({})));
    standIn.faults.clear();
    await expect(client.send(new ListSecretsCommand({}))).resolves.toBeDefined();
    expect(standIn.faults.injected.throttle).toBe(0);
  });
});

describe('fault probability', () => {
  it('fires only when the random draw falls under the probability', () => {
    const draws = [0.7, 0.2];
    const plan = new FaultPlan(() => draws.shift() ?? 1);
    plan.inject({ kind: 'throttle', probability: 0.5 });
    expect(plan.take('ListSecrets')).toBeUndefined();
    expect(plan.take('ListSecrets')).toEqual({ kind: 'throttle' });
  });
});

describe('latency', () => {
  it('adds latencyMs to every answer', async () => {
    const slow = await startSecretsManagerStandIn({ latencyMs: 150 });
    const slowClient = createSecretsManagerClient({ region: 'us-east-1', endpoint: slow.url, maxAttempts: 1 });
    try {
      const started = Date.now();
      await slowClient.send(new ListSecretsCommand({}));
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    } finally {
      slowClient.destroy();
      await slow.close();
    }
  });
});

describe('closing', () => {
  it('close() returns while an answer is still being withheld', async () => {
    const standInToClose = await startSecretsManagerStandIn();
    standInToClose.faults.inject({ kind: 'applyThenTimeout' });
    const pending = fetch(`${standInToClose.url}/`, {
      method: 'POST',
      headers: { 'x-amz-target': 'secretsmanager.ListSecrets', 'content-type': 'application/x-amz-json-1.1' },
      body: '{}',
    }).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await standInToClose.close();
    expect(Date.now() - started).toBeLessThan(1000);
    // The withheld request ends as a network failure rather than hanging.
    expect(await pending).toMatchObject({ message: 'fetch failed' });
  });
});
