import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretStoreError } from '../../src/aws/errors';
import { MANAGED_BY_TAG, SecretNameNotAllowedError, SecretStore, allowedSecretNames, isAllowedSecretId } from '../../src/aws/secret-store';
import { createSecretsManagerClient } from '../../src/aws/secrets-manager-client';
import { FILE_DEFAULTS } from '../../src/config/file-schema';
import { SecretsManagerStandIn, startSecretsManagerStandIn } from '../../standins/secrets-manager';
import { useFakeAwsCredentials } from './support/aws-test-env';

useFakeAwsCredentials();

let standIn: SecretsManagerStandIn;
let client: SecretsManagerClient;
let store: SecretStore;
const allowed = allowedSecretNames(FILE_DEFAULTS.secretName, 'sendmux/management-key');

beforeAll(async () => {
  standIn = await startSecretsManagerStandIn();
  client = createSecretsManagerClient({ region: 'us-east-1', endpoint: standIn.url, maxAttempts: 1, requestTimeoutMs: 2000 });
  store = new SecretStore({ client, allowed });
});
afterAll(async () => {
  client.destroy();
  await standIn.close();
});

describe('a secret store limited to the configured names', () => {
  it('derives the prefix from the secretName template and allows the management-key secret by name', () => {
    expect(allowed).toEqual({ prefixes: ['sendmux/mailboxes/'], names: ['sendmux/management-key'] });
  });

  it.each([
    ['sendmux/other/mbx_1', 'another folder'],
    ['sendmux/mailboxes', 'the prefix without its slash'],
    ['prod/database/password', 'an unrelated secret'],
    ['sendmux/management-key-old', 'a name that only starts like the management key'],
    ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbC123', 'an ARN outside the prefix'],
  ])('refuses %s (%s) with a typed error, before anything reaches AWS', async (secretId) => {
    const callsBefore = Object.values(standIn.counters).reduce((a, b) => a + b, 0);
    const calls = [
      store.describeSecret(secretId),
      store.createSecretIfMissing(secretId),
      store.getSecretVersion(secretId, { versionStage: 'AWSCURRENT' }),
      store.tagSecret(secretId, { a: '1' }),
      store.listVersions(secretId),
    ];
    for (const call of calls) {
      const error = await call.then(() => undefined, (err: unknown) => err);
      expect(error).toBeInstanceOf(SecretNameNotAllowedError);
      expect(error).toBeInstanceOf(SecretStoreError);
      expect(error).toMatchObject({ code: 'secret_name_not_allowed', retryable: false, secretId });
    }
    expect(standIn.secret(secretId)).toBeUndefined();
    expect(Object.values(standIn.counters).reduce((a, b) => a + b, 0)).toBe(callsBefore);
  });

  it('works on names under the prefix and on the management-key secret', async () => {
    const name = 'sendmux/mailboxes/mbx_allowlist_1';
    await store.createSecretIfMissing(name);
    expect(await store.describeSecret(name)).toMatchObject({ name });
    await store.createSecretIfMissing('sendmux/management-key');
    expect(await store.describeSecret('sendmux/management-key')).toMatchObject({ name: 'sendmux/management-key' });
  });

  it('accepts ARNs of allowed names', () => {
    expect(isAllowedSecretId('arn:aws:secretsmanager:eu-west-1:123456789012:secret:sendmux/mailboxes/mbx_1-AbC123', allowed)).toBe(true);
    expect(isAllowedSecretId('arn:aws:secretsmanager:eu-west-1:123456789012:secret:sendmux/management-key-AbC123', allowed)).toBe(true);
    expect(isAllowedSecretId('arn:aws:secretsmanager:eu-west-1:123456789012:secret:sendmux/management-key-old-AbC123', allowed)).toBe(false);
  });

  it('tags every secret it creates or tags as managed by the rotator', async () => {
    const name = 'sendmux/mailboxes/mbx_allowlist_tags';
    await store.createSecretIfMissing(name, { tags: { team: 'mail', [MANAGED_BY_TAG.key]: 'someone-else' } });
    expect(standIn.secret(name)?.tags).toEqual({ team: 'mail', [MANAGED_BY_TAG.key]: MANAGED_BY_TAG.value });
  });
});
