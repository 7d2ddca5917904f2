import { DeleteSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretStoreError } from '../../src/aws/errors';
import { SecretStore } from '../../src/aws/secret-store';
import { createSecretsManagerClient } from '../../src/aws/secrets-manager-client';
import { SecretsManagerStandIn, startSecretsManagerStandIn } from '../../standins/secrets-manager';
import { captureLogs, failureOf, token, useFakeAwsCredentials } from './support/aws-test-env';

useFakeAwsCredentials();

let standIn: SecretsManagerStandIn;
let client: SecretsManagerClient;
let store: SecretStore;
let nameCounter = 0;
const uniqueName = (label: string): string => `store/${label}-${(nameCounter += 1)}`;

beforeAll(async () => {
  standIn = await startSecretsManagerStandIn();
  client = createSecretsManagerClient({ region: 'us-east-1', endpoint: standIn.url, maxAttempts: 1, requestTimeoutMs: 2000 });
  store = new SecretStore({ client });
});

afterEach(() => standIn.faults.clear());

afterAll(async () => {
  client.destroy();
  await standIn.close();
});

async function secretWithCurrent(label: string, value = 'current-value'): Promise<{ name: string; current: string }> {
  const name = uniqueName(label);
  await store.createSecretIfMissing(name);
  const current = token(`${name}:current`);
  await store.putSecretVersion(name, { clientRequestToken: current, secretString: value, versionStages: ['AWSCURRENT'] });
  return { name, current };
}

async function storeErrorOf(promise: Promise<unknown>): Promise<SecretStoreError> {
  const error = await failureOf(promise);
  expect(error).toBeInstanceOf(SecretStoreError);
  return error as unknown as SecretStoreError;
}

describe('createSecretIfMissing', () => {
  it('creates the secret the first time and reports created: false the second time, with the same ARN', async () => {
    const name = uniqueName('create');
    const first = await store.createSecretIfMissing(name, { kmsKeyId: 'alias/rotator', tags: { team: 'mail' } });
    const second = await store.createSecretIfMissing(name, { kmsKeyId: 'alias/rotator', tags: { team: 'mail' } });
    expect(first.created).toBe(true);
    expect(second).toEqual({ arn: first.arn, created: false });
  });

  it('creates no version, and stores the KMS key, description and tags', async () => {
    const name = uniqueName('create-metadata');
    await store.createSecretIfMissing(name, { kmsKeyId: 'alias/rotator', tags: { team: 'mail' }, description: 'd' });
    expect(standIn.secret(name)).toMatchObject({ kmsKeyId: 'alias/rotator', tags: { team: 'mail' }, description: 'd', versions: [] });
  });

  it('fails with a non-retryable InvalidRequestException for a name scheduled for deletion', async () => {
    const name = uniqueName('create-deleted');
    await store.createSecretIfMissing(name);
    await client.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    const error = await storeErrorOf(store.createSecretIfMissing(name));
    expect(error).toMatchObject({ awsErrorName: 'InvalidRequestException', retryable: false, status: 400 });
  });
});

describe('describeSecret', () => {
  it('answers null for a secret that does not exist', async () => {
    await expect(store.describeSecret('store/never-created')).resolves.toBeNull();
  });

  it('maps ARN, name, KMS key, tags, stages, creation and last-change dates', async () => {
    const name = uniqueName('describe');
    const { arn } = await store.createSecretIfMissing(name, { kmsKeyId: 'alias/k', tags: { a: '1' } });
    const v1 = token(`${name}:v1`);
    await store.putSecretVersion(name, { clientRequestToken: v1, secretString: 's', versionStages: ['AWSPENDING'] });
    const description = await store.describeSecret(name);
    expect(description).toEqual({
      arn,
      name,
      kmsKeyId: 'alias/k',
      tags: { a: '1', 'managed-by': 'sendmux-key-rotator' },
      versionIdsToStages: { [v1]: ['AWSPENDING', 'AWSCURRENT'] },
      createdDate: expect.any(Date),
      lastChangedDate: expect.any(Date),
    });
  });

  it('tagSecret adds or overwrites tags and keeps the others', async () => {
    const name = uniqueName('tag');
    await store.createSecretIfMissing(name, { tags: { a: '1' } });
    await store.tagSecret(name, { 'rotator:retired-key': 'k1' });
    await store.tagSecret(name, { 'rotator:retired-key': 'k2' });
    expect((await store.describeSecret(name))?.tags).toEqual({ a: '1', 'managed-by': 'sendmux-key-rotator', 'rotator:retired-key': 'k2' });
  });

  it('reports deletedDate for a secret scheduled for deletion', async () => {
    const name = uniqueName('describe-deleted');
    await store.createSecretIfMissing(name);
    await client.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    expect((await store.describeSecret(name))?.deletedDate).toBeInstanceOf(Date);
  });
});

describe('putSecretVersion', () => {
  it('returns the same version for a repeated token and value, storing one version', async () => {
    const name = uniqueName('put-idempotent');
    await store.createSecretIfMissing(name);
    const input = { clientRequestToken: token(`${name}:p`), secretString: 'new-key', versionStages: ['AWSPENDING'] };
    const first = await store.putSecretVersion(name, input);
    const second = await store.putSecretVersion(name, input);
    expect(second).toEqual(first);
    expect(first.versionId).toBe(input.clientRequestToken);
    expect(standIn.secret(name)?.versions).toHaveLength(1);
  });

  it('throws a non-retryable ResourceExistsException for a repeated token with another value, without the value in the message', async () => {
    const { name, current } = await secretWithCurrent('put-conflict');
    const error = await storeErrorOf(
      store.putSecretVersion(name, { clientRequestToken: current, secretString: 'other-value-91c2', versionStages: ['AWSPENDING'] }),
    );
    expect(error).toMatchObject({ operation: 'PutSecretValue', secretId: name, awsErrorName: 'ResourceExistsException', retryable: false });
    expect(error.message).not.toContain('other-value-91c2');
    expect(error.message).not.toContain('current-value');
  });
});

describe('getSecretVersion', () => {
  it('reads AWSCURRENT by default, a stage, or a version id', async () => {
    const { name, current } = await secretWithCurrent('get');
    const pending = token(`${name}:pending`);
    await store.putSecretVersion(name, { clientRequestToken: pending, secretString: 'pending-value', versionStages: ['AWSPENDING'] });

    expect(await store.getSecretVersion(name)).toMatchObject({ versionId: current, secretString: 'current-value', versionStages: ['AWSCURRENT'] });
    expect(await store.getSecretVersion(name, { versionStage: 'AWSPENDING' })).toMatchObject({ versionId: pending });
    const byId = await store.getSecretVersion(name, { versionId: pending });
    expect(byId).toMatchObject({ secretString: 'pending-value', versionStages: ['AWSPENDING'], createdDate: expect.any(Date) });
  });

  it.each([
    ['the secret does not exist', 'store/missing-get', {}],
    ['no version carries the stage', undefined, { versionStage: 'AWSPENDING' }],
    ['the version id does not exist', undefined, { versionId: token('missing-version') }],
  ])('answers null when %s', async (_case, secretId, selector) => {
    const { name } = await secretWithCurrent('get-null');
    await expect(store.getSecretVersion(secretId ?? name, selector)).resolves.toBeNull();
  });

  it('throws a non-retryable InvalidRequestException for a secret scheduled for deletion', async () => {
    const { name } = await secretWithCurrent('get-deleted');
    await client.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    const error = await storeErrorOf(store.getSecretVersion(name));
    expect(error).toMatchObject({ awsErrorName: 'InvalidRequestException', retryable: false });
  });
});

describe('moveStage', () => {
  it('promotes the pending version: AWSCURRENT moves, the old version gets AWSPREVIOUS, AWSPENDING is removed', async () => {
    const { name, current } = await secretWithCurrent('promote');
    const next = token(`${name}:next`);
    await store.putSecretVersion(name, { clientRequestToken: next, secretString: 'next-value', versionStages: ['AWSPENDING'] });

    await store.moveStage(name, { stage: 'AWSCURRENT', moveToVersionId: next, removeFromVersionId: current });
    await store.moveStage(name, { stage: 'AWSPENDING', removeFromVersionId: next });

    expect((await store.describeSecret(name))?.versionIdsToStages).toEqual({ [next]: ['AWSCURRENT'], [current]: ['AWSPREVIOUS'] });
  });

  it('throws a non-retryable InvalidParameterException when RemoveFromVersionId does not hold the label', async () => {
    const { name } = await secretWithCurrent('promote-wrong');
    const next = token(`${name}:next`);
    await store.putSecretVersion(name, { clientRequestToken: next, secretString: 'n', versionStages: ['AWSPENDING'] });
    const error = await storeErrorOf(store.moveStage(name, { stage: 'AWSCURRENT', moveToVersionId: next, removeFromVersionId: next }));
    expect(error).toMatchObject({ operation: 'UpdateSecretVersionStage', awsErrorName: 'InvalidParameterException', retryable: false });
  });
});

describe('listVersions', () => {
  it('returns labelled versions, and deprecated ones too when asked', async () => {
    const { name, current } = await secretWithCurrent('list');
    const next = token(`${name}:next`);
    const third = token(`${name}:third`);
    await store.putSecretVersion(name, { clientRequestToken: next, secretString: 'n', versionStages: ['AWSCURRENT'] });
    await store.putSecretVersion(name, { clientRequestToken: third, secretString: 't', versionStages: ['AWSCURRENT'] });

    expect((await store.listVersions(name)).map((version) => version.versionId)).toEqual([third, next]);
    const all = await store.listVersions(name, { includeDeprecated: true });
    expect(all.map((version) => [version.versionId, version.versionStages])).toEqual([
      [third, ['AWSCURRENT']],
      [next, ['AWSPREVIOUS']],
      [current, []],
    ]);
    expect(all[0]?.createdDate).toBeInstanceOf(Date);
  });

  it('follows NextToken through every page', async () => {
    const { name } = await secretWithCurrent('list-pages');
    for (let index = 0; index < 101; index += 1) {
      await store.putSecretVersion(name, { clientRequestToken: token(`${name}:${index}`), secretString: `v${index}`, versionStages: ['AWSCURRENT'] });
    }
    const before = standIn.counters['ListSecretVersionIds:ok'] ?? 0;
    const versions = await store.listVersions(name, { includeDeprecated: true });
    expect(versions).toHaveLength(102);
    expect(new Set(versions.map((version) => version.versionId)).size).toBe(102);
    expect(standIn.counters['ListSecretVersionIds:ok']).toBe(before + 2);
  });
});

describe('errors', () => {
  it.each([
    ['throttle', 'ThrottlingException', 400],
    ['internalError', 'InternalServiceError', 500],
  ] as const)('surfaces an injected %s as a retryable SecretStoreError with the AWS name and request id', async (kind, awsErrorName, status) => {
    const { name } = await secretWithCurrent(`fault-${kind}`);
    standIn.faults.inject({ operation: 'GetSecretValue', kind, times: 1 });
    const error = await storeErrorOf(store.getSecretVersion(name));
    expect(error).toMatchObject({ operation: 'GetSecretValue', secretId: name, awsErrorName, status, retryable: true });
    expect(error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(error.message).toContain(awsErrorName);
    expect(error.message).toContain(error.requestId);
    expect(error.message).toContain(name);
  });

  it('applyThenTimeout: the call times out (retryable, no status) but the version is stored, and the retry is a no-op', async () => {
    const name = uniqueName('timeout');
    await store.createSecretIfMissing(name);
    const impatientClient = createSecretsManagerClient({ region: 'us-east-1', endpoint: standIn.url, maxAttempts: 1, requestTimeoutMs: 300 });
    const input = { clientRequestToken: token(`${name}:v`), secretString: 'stored-anyway', versionStages: ['AWSPENDING'] };
    standIn.faults.inject({ operation: 'PutSecretValue', kind: 'applyThenTimeout', times: 1 });

    const error = await storeErrorOf(new SecretStore({ client: impatientClient }).putSecretVersion(name, input)).finally(() =>
      impatientClient.destroy(),
    );
    expect(error).toMatchObject({ awsErrorName: 'TimeoutError', status: null, retryable: true });
    expect(standIn.secret(name)?.versions.map((version) => version.versionId)).toEqual([input.clientRequestToken]);

    const retried = await store.putSecretVersion(name, input);
    expect(retried.versionId).toBe(input.clientRequestToken);
    expect(standIn.secret(name)?.versions).toHaveLength(1);
  });

  it('surfaces a refused connection as a retryable SecretStoreError without a status', async () => {
    const closed = await startSecretsManagerStandIn();
    const url = closed.url;
    await closed.close();
    const unreachable = createSecretsManagerClient({ region: 'us-east-1', endpoint: url, maxAttempts: 1 });
    try {
      const error = await storeErrorOf(new SecretStore({ client: unreachable }).describeSecret('store/any'));
      expect(error).toMatchObject({ awsErrorName: 'ECONNREFUSED', status: null, retryable: true });
    } finally {
      unreachable.destroy();
    }
  });
});

describe('logging', () => {
  it('logs one line per call with operation, secretId, awsRequestId, status and durationMs', async () => {
    const logs = captureLogs();
    const loggedStore = new SecretStore({ client, logger: logs.logger });
    const name = uniqueName('logs');
    await loggedStore.createSecretIfMissing(name);
    await loggedStore.describeSecret(name);

    const lines = logs.lines();
    expect(lines.map((line) => line['operation'])).toEqual(['CreateSecret', 'DescribeSecret']);
    for (const line of lines) {
      expect(line).toMatchObject({ secretId: name, status: 200 });
      expect(line['awsRequestId']).toMatch(/^[0-9a-f-]{36}$/);
      expect(typeof line['durationMs']).toBe('number');
    }
  });

  it('never logs the secret value, on success or on failure', async () => {
    const logs = captureLogs();
    const loggedStore = new SecretStore({ client, logger: logs.logger });
    const name = uniqueName('no-secret-in-logs');
    const secretString = 'sk_live_do-not-log-me-4711';
    const clientRequestToken = token(`${name}:v`);
    await loggedStore.createSecretIfMissing(name);
    await loggedStore.putSecretVersion(name, { clientRequestToken, secretString, versionStages: ['AWSPENDING'] });
    await loggedStore.getSecretVersion(name, { versionId: clientRequestToken });
    await failureOf(loggedStore.putSecretVersion(name, { clientRequestToken, secretString: `${secretString}-changed`, versionStages: ['AWSPENDING'] }));
    standIn.faults.inject({ operation: 'GetSecretValue', kind: 'throttle', times: 1 });
    await failureOf(loggedStore.getSecretVersion(name, { versionId: clientRequestToken }));

    expect(logs.lines()).toHaveLength(5);
    expect(logs.text()).not.toContain('do-not-log-me');
  });

  it('logs the request id of a failed call', async () => {
    const logs = captureLogs();
    const loggedStore = new SecretStore({ client, logger: logs.logger });
    standIn.faults.inject({ operation: 'DescribeSecret', kind: 'throttle', times: 1 });
    const error = await storeErrorOf(loggedStore.describeSecret('store/throttled'));
    expect(logs.lines()[0]).toMatchObject({
      operation: 'DescribeSecret',
      awsRequestId: error.requestId,
      awsErrorName: 'ThrottlingException',
      retryable: true,
      status: 400,
    });
  });
});
