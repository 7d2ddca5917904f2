import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { createSecretsManagerClient } from '../../../src/aws/secrets-manager-client';
import { SecretsManagerStandIn, startSecretsManagerStandIn } from '../../../standins/secrets-manager';
import { failureOf, token, useFakeAwsCredentials } from '../../aws/support/aws-test-env';

useFakeAwsCredentials();

let standIn: SecretsManagerStandIn;
let client: SecretsManagerClient;
let nameCounter = 0;
const uniqueName = (label: string): string => `test/${label}-${(nameCounter += 1)}`;

beforeAll(async () => {
  standIn = await startSecretsManagerStandIn({ region: 'us-east-1' });
  client = createSecretsManagerClient({ region: 'us-east-1', endpoint: standIn.url, maxAttempts: 1 });
});

afterAll(async () => {
  client.destroy();
  await standIn.close();
});

async function createWithValue(name: string, value: string, versionToken = token(`${name}:v1`)): Promise<string> {
  await client.send(new CreateSecretCommand({ Name: name, SecretString: value, ClientRequestToken: versionToken }));
  return versionToken;
}

async function stagesById(secretId: string): Promise<Record<string, string[]>> {
  const description = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
  return description.VersionIdsToStages ?? {};
}

describe('wire protocol', () => {
  it('answers every call with an x-amzn-RequestId header and the JSON 1.1 content type', async () => {
    const response = await fetch(`${standIn.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.ListSecrets' },
      body: '{}',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.1');
  });

  it('answers errors with x-amzn-ErrorType and a {"__type","message"} body', async () => {
    const response = await fetch(`${standIn.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.DescribeSecret' },
      body: JSON.stringify({ SecretId: 'test/never-created' }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
    expect(response.headers.get('x-amzn-requestid')).toBeTruthy();
    expect(await response.json()).toEqual({
      __type: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret.",
    });
  });

  it('rejects an operation it does not implement with UnknownOperationException', async () => {
    const response = await fetch(`${standIn.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.RotateSecret' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
  });

  it('rejects a body that is not JSON with SerializationException', async () => {
    const response = await fetch(`${standIn.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.ListSecrets' },
      body: '{not json',
    });
    expect(response.headers.get('x-amzn-errortype')).toBe('SerializationException');
  });
});

describe('CreateSecret', () => {
  it('gives the first version AWSCURRENT and uses ClientRequestToken as its VersionId', async () => {
    const name = uniqueName('create-with-value');
    const versionToken = token(`${name}:first`);
    const created = await client.send(
      new CreateSecretCommand({ Name: name, SecretString: 'value-1', ClientRequestToken: versionToken }),
    );
    expect(created.VersionId).toBe(versionToken);
    expect(created.ARN).toMatch(new RegExp(`^arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}-[A-Za-z0-9]{6}$`));
    expect(await stagesById(name)).toEqual({ [versionToken]: ['AWSCURRENT'] });
  });

  it('creates a secret with no version when no value is given', async () => {
    const name = uniqueName('create-empty');
    const created = await client.send(new CreateSecretCommand({ Name: name }));
    expect(created.VersionId).toBeUndefined();
    expect(await stagesById(name)).toEqual({});
    const error = await failureOf(client.send(new GetSecretValueCommand({ SecretId: name })));
    expect(error.name).toBe('ResourceNotFoundException');
  });

  it('stores and echoes KmsKeyId, Description and Tags', async () => {
    const name = uniqueName('create-metadata');
    await client.send(
      new CreateSecretCommand({
        Name: name,
        KmsKeyId: 'alias/rotator',
        Description: 'mailbox key',
        Tags: [{ Key: 'team', Value: 'mail' }],
      }),
    );
    const description = await client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(description).toMatchObject({
      Name: name,
      KmsKeyId: 'alias/rotator',
      Description: 'mailbox key',
      Tags: [{ Key: 'team', Value: 'mail' }],
    });
    expect(description.CreatedDate).toBeInstanceOf(Date);
    expect(description.LastChangedDate).toBeInstanceOf(Date);
  });

  it('answers ResourceExistsException when the name is taken', async () => {
    const name = uniqueName('create-twice');
    await client.send(new CreateSecretCommand({ Name: name }));
    const error = await failureOf(client.send(new CreateSecretCommand({ Name: name })));
    expect(error.name).toBe('ResourceExistsException');
  });

  it('finds a secret by its full ARN as well as by its name', async () => {
    const name = uniqueName('by-arn');
    const created = await client.send(new CreateSecretCommand({ Name: name, SecretString: 'v' }));
    const byArn = await client.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    expect(byArn.Name).toBe(name);
  });

  it.each([
    ['a character AWS does not allow', 'bad name!'],
    ['an empty name', ''],
    ['a name longer than 512 characters', 'n'.repeat(513)],
  ])('rejects %s with InvalidParameterException naming the field', async (_case, badName) => {
    const error = await failureOf(client.send(new CreateSecretCommand({ Name: badName })));
    expect(error.name).toBe('InvalidParameterException');
    expect(error.message).toContain('Name');
  });

  it('accepts every character AWS allows in a name', async () => {
    const name = `ok/A-z_0+9=.@-${(nameCounter += 1)}`;
    await expect(client.send(new CreateSecretCommand({ Name: name }))).resolves.toMatchObject({ Name: name });
  });
});

describe('PutSecretValue', () => {
  it('is a no-op for the same ClientRequestToken and the same value', async () => {
    const name = uniqueName('idempotent');
    await client.send(new CreateSecretCommand({ Name: name }));
    const versionToken = token(`${name}:pending`);
    const put = () =>
      client.send(
        new PutSecretValueCommand({ SecretId: name, ClientRequestToken: versionToken, SecretString: 'same', VersionStages: ['AWSPENDING'] }),
      );
    const first = await put();
    const second = await put();
    expect(second.VersionId).toBe(first.VersionId);
    expect(standIn.secret(name)?.versions).toHaveLength(1);
  });

  it('answers ResourceExistsException for the same ClientRequestToken with a different value, keeping the stored one', async () => {
    const name = uniqueName('token-conflict');
    const versionToken = await createWithValue(name, 'original');
    const error = await failureOf(
      client.send(new PutSecretValueCommand({ SecretId: name, ClientRequestToken: versionToken, SecretString: 'conflicting-value-7f3a' })),
    );
    expect(error.name).toBe('ResourceExistsException');
    expect(error.message).not.toContain('conflicting-value-7f3a');
    expect(standIn.secret(name)?.versions.map((version) => version.secretString)).toEqual(['original']);
  });

  it('attaches AWSCURRENT by default and gives the old current version AWSPREVIOUS', async () => {
    const name = uniqueName('default-current');
    const v1 = await createWithValue(name, 'one');
    const v2 = token(`${name}:v2`);
    const put = await client.send(new PutSecretValueCommand({ SecretId: name, ClientRequestToken: v2, SecretString: 'two' }));
    expect(put.VersionStages).toEqual(['AWSCURRENT']);
    expect(await stagesById(name)).toEqual({ [v2]: ['AWSCURRENT'], [v1]: ['AWSPREVIOUS'] });
  });

  it('takes AWSPREVIOUS away from the version before, which becomes deprecated', async () => {
    const name = uniqueName('previous-moves');
    const v1 = await createWithValue(name, 'one');
    const v2 = token(`${name}:v2`);
    const v3 = token(`${name}:v3`);
    await client.send(new PutSecretValueCommand({ SecretId: name, ClientRequestToken: v2, SecretString: 'two' }));
    await client.send(new PutSecretValueCommand({ SecretId: name, ClientRequestToken: v3, SecretString: 'three' }));
    const stages = await stagesById(name);
    expect(stages).toEqual({ [v3]: ['AWSCURRENT'], [v2]: ['AWSPREVIOUS'] });
    expect(stages[v1]).toBeUndefined();
  });

  it('stages AWSPENDING without moving AWSCURRENT', async () => {
    const name = uniqueName('pending');
    const v1 = await createWithValue(name, 'current');
    const v2 = token(`${name}:v2`);
    await client.send(
      new PutSecretValueCommand({ SecretId: name, ClientRequestToken: v2, SecretString: 'next', VersionStages: ['AWSPENDING'] }),
    );
    expect(await stagesById(name)).toEqual({ [v1]: ['AWSCURRENT'], [v2]: ['AWSPENDING'] });
  });

  it('also attaches AWSCURRENT to the first version of a secret, as AWS documents', async () => {
    const name = uniqueName('first-version');
    await client.send(new CreateSecretCommand({ Name: name }));
    const v1 = token(`${name}:v1`);
    const put = await client.send(
      new PutSecretValueCommand({ SecretId: name, ClientRequestToken: v1, SecretString: 'first', VersionStages: ['AWSPENDING'] }),
    );
    expect(put.VersionStages).toEqual(['AWSPENDING', 'AWSCURRENT']);
  });

  it('moves a custom label that another version carries', async () => {
    const name = uniqueName('custom-label');
    await createWithValue(name, 'one');
    const v2 = token(`${name}:v2`);
    const v3 = token(`${name}:v3`);
    await client.send(new PutSecretValueCommand({ SecretId: name, ClientRequestToken: v2, SecretString: 'two', VersionStages: ['BLUE'] }));
    await client.send(new PutSecretValueCommand({ SecretId: name, ClientRequestToken: v3, SecretString: 'three', VersionStages: ['BLUE'] }));
    const stages = await stagesById(name);
    expect(stages[v3]).toEqual(['BLUE']);
    expect(stages[v2]).toBeUndefined();
  });

  it('rejects a ClientRequestToken shorter than 32 characters', async () => {
    const name = uniqueName('short-token');
    await client.send(new CreateSecretCommand({ Name: name }));
    const error = await failureOf(
      client.send(new PutSecretValueCommand({ SecretId: name, ClientRequestToken: 'short', SecretString: 'x' })),
    );
    expect(error.name).toBe('InvalidParameterException');
    expect(error.message).toContain('ClientRequestToken');
  });

  it('answers ResourceNotFoundException for a secret that does not exist', async () => {
    const error = await failureOf(client.send(new PutSecretValueCommand({ SecretId: 'test/missing-put', SecretString: 'x' })));
    expect(error.name).toBe('ResourceNotFoundException');
  });
});

describe('GetSecretValue', () => {
  let name: string;
  let v1: string;
  let v2: string;

  beforeAll(async () => {
    name = uniqueName('get');
    v1 = await createWithValue(name, 'current-value');
    v2 = token(`${name}:v2`);
    await client.send(
      new PutSecretValueCommand({ SecretId: name, ClientRequestToken: v2, SecretString: 'pending-value', VersionStages: ['AWSPENDING'] }),
    );
  });

  it('returns AWSCURRENT by default', async () => {
    const value = await client.send(new GetSecretValueCommand({ SecretId: name }));
    expect(value).toMatchObject({ Name: name, VersionId: v1, SecretString: 'current-value', VersionStages: ['AWSCURRENT'] });
    expect(value.CreatedDate).toBeInstanceOf(Date);
  });

  it('returns the version that carries the requested stage', async () => {
    const value = await client.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPENDING' }));
    expect(value).toMatchObject({ VersionId: v2, SecretString: 'pending-value' });
  });

  it('returns a version by its VersionId', async () => {
    const value = await client.send(new GetSecretValueCommand({ SecretId: name, VersionId: v1 }));
    expect(value.SecretString).toBe('current-value');
  });

  it.each([
    ['a secret that does not exist', { SecretId: 'test/missing-get' }],
    ['a stage no version carries', { VersionStage: 'AWSPREVIOUS' }],
    ['a version id that does not exist', { VersionId: token('never-put') }],
  ])('answers ResourceNotFoundException for %s', async (_case, selector) => {
    const error = await failureOf(client.send(new GetSecretValueCommand({ SecretId: name, ...selector })));
    expect(error.name).toBe('ResourceNotFoundException');
  });
});

describe('UpdateSecretVersionStage', () => {
  async function currentAndPending(label: string): Promise<{ name: string; v1: string; v2: string }> {
    const name = uniqueName(label);
    const v1 = await createWithValue(name, 'old');
    const v2 = token(`${name}:v2`);
    await client.send(
      new PutSecretValueCommand({ SecretId: name, ClientRequestToken: v2, SecretString: 'new', VersionStages: ['AWSPENDING'] }),
    );
    return { name, v1, v2 };
  }

  it('moves AWSCURRENT to the new version and gives the old one AWSPREVIOUS', async () => {
    const { name, v1, v2 } = await currentAndPending('promote');
    await client.send(
      new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', MoveToVersionId: v2, RemoveFromVersionId: v1 }),
    );
    expect(await stagesById(name)).toEqual({ [v2]: ['AWSPENDING', 'AWSCURRENT'], [v1]: ['AWSPREVIOUS'] });
  });

  it('removes AWSPENDING when only RemoveFromVersionId is given', async () => {
    const { name, v1, v2 } = await currentAndPending('remove-pending');
    await client.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSPENDING', RemoveFromVersionId: v2 }));
    const stages = await stagesById(name);
    expect(stages).toEqual({ [v1]: ['AWSCURRENT'] });
  });

  it('answers InvalidParameterException when the label is on another version and RemoveFromVersionId is missing', async () => {
    const { name, v1, v2 } = await currentAndPending('move-without-remove');
    const error = await failureOf(
      client.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', MoveToVersionId: v2 })),
    );
    expect(error.name).toBe('InvalidParameterException');
    expect(error.message).toContain('RemoveFromVersionId');
    expect(error.message).toContain(v1);
    expect(await stagesById(name)).toEqual({ [v1]: ['AWSCURRENT'], [v2]: ['AWSPENDING'] });
  });

  it('answers InvalidParameterException when RemoveFromVersionId is not the version that carries the label', async () => {
    const { name, v2 } = await currentAndPending('remove-wrong-version');
    const error = await failureOf(
      client.send(
        new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', MoveToVersionId: v2, RemoveFromVersionId: v2 }),
      ),
    );
    expect(error.name).toBe('InvalidParameterException');
  });

  it('treats moving a label onto the version that already carries it as a no-op', async () => {
    const { name, v1, v2 } = await currentAndPending('move-noop');
    await client.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', MoveToVersionId: v1 }));
    expect(await stagesById(name)).toEqual({ [v1]: ['AWSCURRENT'], [v2]: ['AWSPENDING'] });
  });

  it('refuses to remove AWSCURRENT without moving it somewhere', async () => {
    const { name, v1 } = await currentAndPending('remove-current');
    const error = await failureOf(
      client.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', RemoveFromVersionId: v1 })),
    );
    expect(error.name).toBe('InvalidParameterException');
  });

  it('answers ResourceNotFoundException for a MoveToVersionId that does not exist', async () => {
    const { name, v1 } = await currentAndPending('move-to-missing');
    const error = await failureOf(
      client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: name,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: token('no-such-version'),
          RemoveFromVersionId: v1,
        }),
      ),
    );
    expect(error.name).toBe('ResourceNotFoundException');
  });

  it('answers InvalidParameterException when neither MoveToVersionId nor RemoveFromVersionId is given', async () => {
    const { name } = await currentAndPending('no-version-ids');
    const error = await failureOf(client.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSPENDING' })));
    expect(error.name).toBe('InvalidParameterException');
  });
});

describe('ListSecretVersionIds', () => {
  it('lists labelled versions, and unlabelled ones only with IncludeDeprecated', async () => {
    const name = uniqueName('list-versions');
    const v1 = await createWithValue(name, 'one');
    const v2 = token(`${name}:v2`);
    const v3 = token(`${name}:v3`);
    await client.send(new PutSecretValueCommand({ SecretId: name, ClientRequestToken: v2, SecretString: 'two' }));
    await client.send(new PutSecretValueCommand({ SecretId: name, ClientRequestToken: v3, SecretString: 'three' }));

    const labelled = await client.send(new ListSecretVersionIdsCommand({ SecretId: name }));
    expect(labelled.Versions?.map((version) => version.VersionId)).toEqual([v3, v2]);
    expect(labelled.Versions?.[0]?.CreatedDate).toBeInstanceOf(Date);

    const all = await client.send(new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true }));
    expect(all.Versions?.map((version) => [version.VersionId, version.VersionStages])).toEqual([
      [v3, ['AWSCURRENT']],
      [v2, ['AWSPREVIOUS']],
      [v1, []],
    ]);
  });

  it('pages with MaxResults and NextToken', async () => {
    const name = uniqueName('list-versions-pages');
    await createWithValue(name, 'one');
    for (const label of ['v2', 'v3', 'v4']) {
      await client.send(new PutSecretValueCommand({ SecretId: name, ClientRequestToken: token(`${name}:${label}`), SecretString: label }));
    }
    const first = await client.send(new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true, MaxResults: 3 }));
    expect(first.Versions).toHaveLength(3);
    expect(first.NextToken).toBeDefined();
    const second = await client.send(
      new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true, MaxResults: 3, NextToken: first.NextToken }),
    );
    expect(second.Versions).toHaveLength(1);
    expect(second.NextToken).toBeUndefined();
  });

  it('keeps at most 100 deprecated versions, dropping the oldest', async () => {
    const name = uniqueName('prune');
    const first = await createWithValue(name, 'value-0');
    for (let index = 1; index <= 102; index += 1) {
      await client.send(
        new PutSecretValueCommand({ SecretId: name, ClientRequestToken: token(`${name}:${index}`), SecretString: `value-${index}` }),
      );
    }
    const versions = standIn.secret(name)?.versions ?? [];
    expect(versions.filter((version) => version.stages.length === 0)).toHaveLength(100);
    expect(versions).toHaveLength(102);
    expect(versions.some((version) => version.versionId === first)).toBe(false);
  });
});

describe('ListSecrets', () => {
  const prefix = `list-${Date.now()}`;

  beforeAll(async () => {
    for (const suffix of ['a', 'b', 'c']) {
      await client.send(new CreateSecretCommand({ Name: `${prefix}/${suffix}`, Tags: [{ Key: 'suffix', Value: suffix }] }));
    }
    await client.send(new CreateSecretCommand({ Name: `other-${prefix}` }));
  });

  it('filters by name prefix', async () => {
    const listed = await client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [`${prefix}/`] }] }));
    expect(listed.SecretList?.map((secret) => secret.Name)).toEqual([`${prefix}/a`, `${prefix}/b`, `${prefix}/c`]);
    expect(listed.SecretList?.[0]?.Tags).toEqual([{ Key: 'suffix', Value: 'a' }]);
  });

  it('pages with MaxResults and NextToken', async () => {
    const filters = [{ Key: 'name' as const, Values: [`${prefix}/`] }];
    const first = await client.send(new ListSecretsCommand({ Filters: filters, MaxResults: 2 }));
    expect(first.SecretList).toHaveLength(2);
    const second = await client.send(new ListSecretsCommand({ Filters: filters, MaxResults: 2, NextToken: first.NextToken }));
    expect(second.SecretList?.map((secret) => secret.Name)).toEqual([`${prefix}/c`]);
    expect(second.NextToken).toBeUndefined();
  });

  it('answers InvalidNextTokenException for a token from another listing', async () => {
    const first = await client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [`${prefix}/`] }], MaxResults: 1 }));
    const error = await failureOf(
      client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['other'] }], NextToken: first.NextToken })),
    );
    expect(error.name).toBe('InvalidNextTokenException');
  });

  it('leaves out secrets scheduled for deletion unless IncludePlannedDeletion is set', async () => {
    const name = `${prefix}-deleted`;
    await client.send(new CreateSecretCommand({ Name: name }));
    await client.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    const filters = [{ Key: 'name' as const, Values: [name] }];
    expect((await client.send(new ListSecretsCommand({ Filters: filters }))).SecretList).toEqual([]);
    const withDeleted = await client.send(new ListSecretsCommand({ Filters: filters, IncludePlannedDeletion: true }));
    expect(withDeleted.SecretList?.[0]?.DeletedDate).toBeInstanceOf(Date);
  });
});

describe('TagResource', () => {
  it('adds tags and overwrites the value of an existing key', async () => {
    const name = uniqueName('tags');
    await client.send(new CreateSecretCommand({ Name: name, Tags: [{ Key: 'a', Value: '1' }] }));
    await client.send(new TagResourceCommand({ SecretId: name, Tags: [{ Key: 'a', Value: '2' }, { Key: 'b', Value: '3' }] }));
    expect(standIn.secret(name)?.tags).toEqual({ a: '2', b: '3' });
  });
});

describe('DeleteSecret', () => {
  it('schedules deletion: DescribeSecret shows DeletedDate and further access answers InvalidRequestException', async () => {
    const name = uniqueName('scheduled-delete');
    await createWithValue(name, 'value');
    const deleted = await client.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    expect(deleted.DeletionDate).toBeInstanceOf(Date);

    const description = await client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(description.DeletedDate).toBeInstanceOf(Date);
    for (const call of [
      client.send(new GetSecretValueCommand({ SecretId: name })),
      client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'new' })),
      client.send(new CreateSecretCommand({ Name: name })),
    ]) {
      expect((await failureOf(call)).name).toBe('InvalidRequestException');
    }
  });

  it('deletes at once with ForceDeleteWithoutRecovery, so the name can be reused', async () => {
    const name = uniqueName('force-delete');
    await createWithValue(name, 'value');
    await client.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
    expect(standIn.secret(name)).toBeUndefined();
    await expect(client.send(new CreateSecretCommand({ Name: name }))).resolves.toMatchObject({ Name: name });
  });

  it('succeeds for a forced delete of a secret that does not exist, so retries are safe', async () => {
    await expect(
      client.send(new DeleteSecretCommand({ SecretId: 'test/never-existed', ForceDeleteWithoutRecovery: true })),
    ).resolves.toMatchObject({ Name: 'test/never-existed' });
  });

  it('rejects ForceDeleteWithoutRecovery together with RecoveryWindowInDays', async () => {
    const name = uniqueName('delete-both');
    await client.send(new CreateSecretCommand({ Name: name }));
    const error = await failureOf(
      client.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true, RecoveryWindowInDays: 7 })),
    );
    expect(error.name).toBe('InvalidParameterException');
  });
});

describe('inspection', () => {
  it('snapshot() shows each version with its stages, value and creation date', async () => {
    const name = uniqueName('snapshot');
    const v1 = await createWithValue(name, 'snap-value');
    const secret = standIn.snapshot().find((candidate) => candidate.name === name);
    expect(secret?.versions).toEqual([
      { versionId: v1, stages: ['AWSCURRENT'], secretString: 'snap-value', createdDate: expect.any(Date) },
    ]);
  });

  it('counts calls by operation and by outcome', async () => {
    const before = { ...standIn.counters };
    await failureOf(client.send(new DescribeSecretCommand({ SecretId: 'test/missing-count' })));
    expect(standIn.counters['DescribeSecret']).toBe((before['DescribeSecret'] ?? 0) + 1);
    expect(standIn.counters['DescribeSecret:ResourceNotFoundException']).toBe(
      (before['DescribeSecret:ResourceNotFoundException'] ?? 0) + 1,
    );
  });
});
