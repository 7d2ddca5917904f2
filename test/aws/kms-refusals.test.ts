import { SecretsManagerClient, SecretsManagerServiceException } from '@aws-sdk/client-secrets-manager';
import { SecretStoreError, toSecretStoreError } from '../../src/aws/errors';
import { SecretStore } from '../../src/aws/secret-store';
import { createSecretsManagerClient } from '../../src/aws/secrets-manager-client';
import { classifyRotationFailure } from '../../src/rotation/failures';
import { SecretsManagerStandIn, startSecretsManagerStandIn } from '../../standins/secrets-manager';
import type { KmsErrorName } from '../../standins/secrets-manager/faults';
import { failureOf, token, useFakeAwsCredentials } from './support/aws-test-env';

useFakeAwsCredentials();

const KEY_ARN = 'arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab';
let standIn: SecretsManagerStandIn;
let client: SecretsManagerClient;
let store: SecretStore;
let counter = 0;

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

async function encryptedSecret(): Promise<string> {
  const name = `kms/mailbox-${(counter += 1)}`;
  await store.createSecretIfMissing(name, { kmsKeyId: KEY_ARN });
  await store.putSecretVersion(name, { clientRequestToken: token(`${name}:v1`), secretString: 'value', versionStages: ['AWSCURRENT'] });
  return name;
}

async function refusal(kmsError: KmsErrorName, operation: 'GetSecretValue' | 'PutSecretValue'): Promise<SecretStoreError> {
  const name = await encryptedSecret();
  standIn.faults.inject({ kind: 'kms', kmsError, operation, times: 1 });
  const call =
    operation === 'GetSecretValue'
      ? store.getSecretVersion(name, { versionStage: 'AWSCURRENT' })
      : store.putSecretVersion(name, { clientRequestToken: token(`${name}:v2`), secretString: 'new', versionStages: ['AWSPENDING'] });
  const error = await failureOf(call);
  expect(error).toBeInstanceOf(SecretStoreError);
  return error as unknown as SecretStoreError;
}

describe('KMS refusals through the real SDK against the stand-in', () => {
  it('names a disabled key (KMSDisabledException) with its ARN, AWS own words and the fix, not an IAM gap', async () => {
    const error = await refusal('KMSDisabledException', 'GetSecretValue');
    expect(error).toMatchObject({ awsErrorName: 'KMSDisabledException', status: 400, kmsProblem: 'disabled', retryable: false });
    expect(error.message).toContain(`the KMS key ${KEY_ARN} is disabled (AWS: ${KEY_ARN} is disabled.)`);
    expect(error.message).toContain('enable-key');
    const decision = classifyRotationFailure(error, 'mb_1');
    expect(decision.message).toContain(`the KMS key ${KEY_ARN} is disabled`);
    expect(decision.message).not.toContain('IAM role lacks a permission');
  });

  it('names a key pending deletion (KMSInvalidStateException) and says how to cancel the deletion', async () => {
    const error = await refusal('KMSInvalidStateException', 'PutSecretValue');
    expect(error.kmsProblem).toBe('invalid-state');
    expect(error.message).toContain(`the KMS key ${KEY_ARN} is not usable (pending deletion or import) (AWS: ${KEY_ARN} is pending deletion.)`);
    expect(error.message).toContain('cancel-key-deletion');
  });

  it('reports AccessDeniedException "Access to KMS is not allowed" as a KMS key policy problem, not the Secrets Manager policy', async () => {
    const error = await refusal('AccessDeniedException', 'GetSecretValue');
    expect(error).toMatchObject({ awsErrorName: 'AccessDeniedException', kmsProblem: 'access-denied' });
    expect(error.message).toContain('(AWS: Access to KMS is not allowed)');
    expect(error.message).toContain('kms:Decrypt');
    const decision = classifyRotationFailure(error, 'mb_1');
    expect(decision.message).toContain('KMS refused');
    expect(decision.message).not.toContain('IAM role lacks a permission');
  });

  it('reports KMSAccessDeniedException as a KMS refusal quoting AWS', async () => {
    const error = await refusal('KMSAccessDeniedException', 'GetSecretValue');
    expect(error.kmsProblem).toBe('access-denied');
    expect(error.message).toContain('(AWS: The ciphertext refers to a customer master key');
  });

  it('reports the documented DecryptionFailure of GetSecretValue with its text and a fix', async () => {
    const error = await refusal('DecryptionFailure', 'GetSecretValue');
    expect(error.kmsProblem).toBe('decrypt-failed');
    expect(error.message).toContain("(AWS: Secrets Manager can't decrypt the protected secret text using the provided KMS key.)");
  });

  it('reports the documented EncryptionFailure of PutSecretValue without mistaking "not in an invalid state" for a key state', async () => {
    const error = await refusal('EncryptionFailure', 'PutSecretValue');
    expect(error.kmsProblem).toBe('encrypt-failed');
    expect(error.message).toContain("(AWS: Secrets Manager can't encrypt the protected secret text using the provided KMS key.");
    expect(error.message).toContain('kms:GenerateDataKey');
  });

  it('keeps a plain AccessDeniedException (no KMS in the message) an IAM problem', () => {
    const sdkError = new SecretsManagerServiceException({
      name: 'AccessDeniedException',
      message: 'User is not authorized to perform: secretsmanager:GetSecretValue',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    const error = toSecretStoreError(sdkError, { operation: 'GetSecretValue', secretId: 's' });
    expect(error.kmsProblem).toBeUndefined();
    expect(classifyRotationFailure(error, 'mb_1').message).toContain('IAM role lacks a permission');
  });
});
