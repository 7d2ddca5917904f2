import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AwsServiceError, invalidParameter, invalidRequest, resourceExists, resourceNotFound } from './aws-error';
import {
  RequestInput,
  TagInput,
  optionalBoolean,
  optionalInteger,
  optionalString,
  optionalStringList,
  optionalTags,
  requiredString,
} from './input';

/**
 * The staging labels Secrets Manager itself moves (AWS Secrets Manager user guide, "Concepts:
 * Version"): a first version gets AWSCURRENT whatever was asked; moving AWSCURRENT away gives the
 * version it leaves AWSPREVIOUS. The stand-in keeps its own copy: it emulates AWS, not the rotator.
 */
const AWSCURRENT = 'AWSCURRENT';
const AWSPREVIOUS = 'AWSPREVIOUS';

/**
 * The in-memory state machine behind the stand-in: secrets, their versions and staging labels,
 * with the rules the AWS Secrets Manager API reference documents. It knows nothing about HTTP;
 * each operation takes the decoded JSON request and returns the JSON response body, or throws
 * an AwsServiceError.
 */

export const STANDIN_ACCOUNT_ID = '000000000000';

/** AWS keeps deprecated (unlabelled) versions around but prunes beyond roughly 100. */
const DEFAULT_MAX_DEPRECATED_VERSIONS = 100;
const MAX_SECRET_VALUE_BYTES = 65536;

const SECRET_NAME_RULE = {
  min: 1,
  max: 512,
  pattern: /^[A-Za-z0-9/_+=.@-]+$/,
  patternHint: 'secret names may contain only ASCII letters, digits and the characters /_+=.@-',
};
const SECRET_ID_RULE = { min: 1, max: 2048 };
const TOKEN_RULE = { min: 32, max: 64 };
const VERSION_ID_RULE = { min: 32, max: 64 };
const STAGE_RULE = { min: 1, max: 256 };

export const SUPPORTED_OPERATIONS = [
  'CreateSecret',
  'PutSecretValue',
  'GetSecretValue',
  'DescribeSecret',
  'UpdateSecretVersionStage',
  'ListSecretVersionIds',
  'ListSecrets',
  'TagResource',
  'DeleteSecret',
] as const;
export type SupportedOperation = (typeof SUPPORTED_OPERATIONS)[number];

export function isSupportedOperation(name: string): name is SupportedOperation {
  return (SUPPORTED_OPERATIONS as readonly string[]).includes(name);
}

export interface StandInSecretVersion {
  versionId: string;
  stages: string[];
  secretString?: string;
  /** Base64, exactly as the client sent it. */
  secretBinary?: string;
  createdDate: Date;
  lastAccessedDate?: Date;
}

export interface StandInSecret {
  arn: string;
  name: string;
  description?: string;
  kmsKeyId?: string;
  tags: Record<string, string>;
  createdDate: Date;
  lastChangedDate: Date;
  lastAccessedDate?: Date;
  /** Set when deletion is scheduled (DeleteSecret without ForceDeleteWithoutRecovery). */
  deletedDate?: Date;
  /** Newest first. */
  versions: StandInSecretVersion[];
}

interface VersionRecord {
  versionId: string;
  stages: string[];
  secretString?: string;
  secretBinary?: string;
  kmsKeyId?: string;
  createdDate: Date;
  lastAccessedDate?: Date;
  sequence: number;
}

interface SecretRecord {
  arn: string;
  name: string;
  description?: string;
  kmsKeyId?: string;
  tags: Map<string, string>;
  createdDate: Date;
  lastChangedDate: Date;
  lastAccessedDate?: Date;
  deletedDate?: Date;
  versions: Map<string, VersionRecord>;
  sequence: number;
}

export interface SecretsStoreOptions {
  region: string;
  now?: () => Date;
  maxDeprecatedVersions?: number;
}

type JsonObject = Record<string, unknown>;

export class SecretsStore {
  private readonly secretsByName = new Map<string, SecretRecord>();
  private readonly region: string;
  private readonly now: () => Date;
  private readonly maxDeprecatedVersions: number;
  private sequence = 0;

  constructor(options: SecretsStoreOptions) {
    this.region = options.region;
    this.now = options.now ?? (() => new Date());
    this.maxDeprecatedVersions = options.maxDeprecatedVersions ?? DEFAULT_MAX_DEPRECATED_VERSIONS;
  }

  execute(operation: SupportedOperation, input: RequestInput): JsonObject {
    switch (operation) {
      case 'CreateSecret':
        return this.createSecret(input);
      case 'PutSecretValue':
        return this.putSecretValue(input);
      case 'GetSecretValue':
        return this.getSecretValue(input);
      case 'DescribeSecret':
        return this.describeSecret(input);
      case 'UpdateSecretVersionStage':
        return this.updateSecretVersionStage(input);
      case 'ListSecretVersionIds':
        return this.listSecretVersionIds(input);
      case 'ListSecrets':
        return this.listSecrets(input);
      case 'TagResource':
        return this.tagResource(input);
      case 'DeleteSecret':
        return this.deleteSecret(input);
    }
  }

  snapshot(): StandInSecret[] {
    return [...this.secretsByName.values()].sort((a, b) => a.sequence - b.sequence).map(toSnapshot);
  }

  secret(name: string): StandInSecret | undefined {
    const record = this.secretsByName.get(name);
    return record ? toSnapshot(record) : undefined;
  }

  // --- operations -------------------------------------------------------------------------

  private createSecret(input: RequestInput): JsonObject {
    const name = requiredString(input, 'Name', SECRET_NAME_RULE);
    const token = optionalString(input, 'ClientRequestToken', TOKEN_RULE);
    const value = readSecretValue(input);
    const description = optionalString(input, 'Description', { min: 0, max: 2048 });
    const kmsKeyId = optionalString(input, 'KmsKeyId', { min: 0, max: 2048 });
    const tags = optionalTags(input, 'Tags') ?? [];

    const existing = this.secretsByName.get(name);
    if (existing) {
      if (existing.deletedDate) {
        throw invalidRequest(
          `You can't create this secret because a secret with the name ${name} is already scheduled for deletion. ` +
            'Restore it or delete it with ForceDeleteWithoutRecovery first.',
        );
      }
      // A retried CreateSecret (same token, same value) is a no-op, as for PutSecretValue.
      const sameVersion = token && value ? existing.versions.get(token) : undefined;
      if (sameVersion && value && sameValue(sameVersion, value)) {
        return { ARN: existing.arn, Name: existing.name, VersionId: sameVersion.versionId };
      }
      throw resourceExists(`The operation failed because the secret ${name} already exists.`);
    }

    const now = this.now();
    const record: SecretRecord = {
      arn: `arn:aws:secretsmanager:${this.region}:${STANDIN_ACCOUNT_ID}:secret:${name}-${randomArnSuffix()}`,
      name,
      ...(description !== undefined ? { description } : {}),
      ...(kmsKeyId !== undefined ? { kmsKeyId } : {}),
      tags: new Map(tags.map((tag) => [tag.Key, tag.Value])),
      createdDate: now,
      lastChangedDate: now,
      versions: new Map(),
      sequence: this.nextSequence(),
    };
    this.secretsByName.set(name, record);

    if (!value) return { ARN: record.arn, Name: record.name };
    const version = this.addVersion(record, token ?? randomUUID(), value, now);
    this.attachStage(record, version, AWSCURRENT);
    return { ARN: record.arn, Name: record.name, VersionId: version.versionId };
  }

  private putSecretValue(input: RequestInput): JsonObject {
    const secretId = requiredString(input, 'SecretId', SECRET_ID_RULE);
    // The SDKs fill ClientRequestToken automatically; raw callers may omit it.
    const token = optionalString(input, 'ClientRequestToken', TOKEN_RULE) ?? randomUUID();
    const value = readSecretValue(input);
    const requestedStages = optionalStringList(input, 'VersionStages', { minItems: 1, maxItems: 20, item: STAGE_RULE });
    const secret = this.requireLiveSecret(secretId);
    if (!value) throw invalidParameter('You must provide either SecretString or SecretBinary.');

    const existing = secret.versions.get(token);
    if (existing) {
      if (sameValue(existing, value)) {
        return { ARN: secret.arn, Name: secret.name, VersionId: existing.versionId, VersionStages: [...existing.stages] };
      }
      throw resourceExists(
        `You can't modify an existing version, you can only create new versions: version ${token} of secret ` +
          `${secret.name} already exists with different secret data. Use a new ClientRequestToken.`,
      );
    }

    const stages = dedupe(requestedStages ?? [AWSCURRENT]);
    // AWS: "If this operation creates the first version for the secret, then Secrets Manager
    // automatically attaches the staging label AWSCURRENT to it."
    if (secret.versions.size === 0 && !stages.includes(AWSCURRENT)) stages.push(AWSCURRENT);

    const now = this.now();
    const version = this.addVersion(secret, token, value, now);
    for (const stage of stages) this.attachStage(secret, version, stage);
    secret.lastChangedDate = now;
    this.pruneDeprecatedVersions(secret);
    return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: [...version.stages] };
  }

  private getSecretValue(input: RequestInput): JsonObject {
    const secretId = requiredString(input, 'SecretId', SECRET_ID_RULE);
    const versionId = optionalString(input, 'VersionId', VERSION_ID_RULE);
    const versionStage = optionalString(input, 'VersionStage', STAGE_RULE);
    const secret = this.requireLiveSecret(secretId);

    let version: VersionRecord | undefined;
    if (versionId !== undefined) {
      version = secret.versions.get(versionId);
      if (!version) {
        throw resourceNotFound(`Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
      }
      if (versionStage !== undefined && !version.stages.includes(versionStage)) {
        throw resourceNotFound(
          `Secrets Manager can't find the specified secret value for VersionId: ${versionId} ` +
            `with staging label: ${versionStage} (the version does not carry that label)`,
        );
      }
    } else {
      const stage = versionStage ?? AWSCURRENT;
      version = stageHolder(secret, stage);
      if (!version) {
        throw resourceNotFound(`Secrets Manager can't find the specified secret value for staging label: ${stage}`);
      }
    }

    // AWS records access at day resolution.
    const accessed = startOfUtcDay(this.now());
    version.lastAccessedDate = accessed;
    secret.lastAccessedDate = accessed;
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.versionId,
      ...(version.secretString !== undefined ? { SecretString: version.secretString } : {}),
      ...(version.secretBinary !== undefined ? { SecretBinary: version.secretBinary } : {}),
      VersionStages: [...version.stages],
      CreatedDate: epochSeconds(version.createdDate),
    };
  }

  private describeSecret(input: RequestInput): JsonObject {
    const secretId = requiredString(input, 'SecretId', SECRET_ID_RULE);
    const secret = this.requireSecret(secretId);
    // DescribeSecret and ListSecrets describe a secret alike; only the stage map's name differs.
    const { stages, ...summary } = this.summarize(secret);
    return { ...summary, VersionIdsToStages: stages };
  }

  private updateSecretVersionStage(input: RequestInput): JsonObject {
    const secretId = requiredString(input, 'SecretId', SECRET_ID_RULE);
    const stage = requiredString(input, 'VersionStage', STAGE_RULE);
    const moveToVersionId = optionalString(input, 'MoveToVersionId', VERSION_ID_RULE);
    const removeFromVersionId = optionalString(input, 'RemoveFromVersionId', VERSION_ID_RULE);
    if (moveToVersionId === undefined && removeFromVersionId === undefined) {
      throw invalidParameter(
        'You must specify MoveToVersionId (to attach the label), RemoveFromVersionId (to detach it), or both (to move it).',
      );
    }
    const secret = this.requireLiveSecret(secretId);
    const moveTo = moveToVersionId !== undefined ? this.requireVersion(secret, moveToVersionId) : undefined;
    const removeFrom = removeFromVersionId !== undefined ? this.requireVersion(secret, removeFromVersionId) : undefined;
    const holder = stageHolder(secret, stage);

    if (removeFrom && holder !== removeFrom) {
      throw invalidParameter(
        holder
          ? `When you move staging label ${stage}, if you specify RemoveFromVersionId, it must be set to the version ` +
              `that currently has the staging label ${stage} (${holder.versionId}), not ${removeFrom.versionId}.`
          : `Staging label ${stage} is not attached to version ${removeFrom.versionId} (it is attached to no version), ` +
              'so it cannot be removed from it. Omit RemoveFromVersionId.',
      );
    }

    if (moveTo) {
      if (holder && holder !== moveTo && !removeFrom) {
        throw invalidParameter(
          `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ` +
            `${holder.versionId}, so you must explicitly reference that version in RemoveFromVersionId.`,
        );
      }
      this.attachStage(secret, moveTo, stage);
    } else if (removeFrom) {
      if (stage === AWSCURRENT) {
        throw invalidParameter(
          'You can only move staging label AWSCURRENT to another version, not remove it: ' +
            'specify MoveToVersionId together with RemoveFromVersionId.',
        );
      }
      removeFrom.stages = removeFrom.stages.filter((label) => label !== stage);
    }

    secret.lastChangedDate = this.now();
    this.pruneDeprecatedVersions(secret);
    return { ARN: secret.arn, Name: secret.name };
  }

  private listSecretVersionIds(input: RequestInput): JsonObject {
    const secretId = requiredString(input, 'SecretId', SECRET_ID_RULE);
    const maxResults = optionalInteger(input, 'MaxResults', { min: 1, max: 100 }) ?? 100;
    const nextToken = optionalString(input, 'NextToken', { min: 1, max: 4096 });
    const includeDeprecated = optionalBoolean(input, 'IncludeDeprecated') ?? false;
    const secret = this.requireLiveSecret(secretId);

    const versions = versionsNewestFirst(secret).filter((version) => includeDeprecated || version.stages.length > 0);
    const queryKey = `versions:${secret.arn}:${includeDeprecated}`;
    const page = paginate(versions, maxResults, nextToken, queryKey);
    return {
      ARN: secret.arn,
      Name: secret.name,
      Versions: page.items.map((version) => ({
        VersionId: version.versionId,
        VersionStages: [...version.stages],
        CreatedDate: epochSeconds(version.createdDate),
        ...(version.lastAccessedDate ? { LastAccessedDate: epochSeconds(version.lastAccessedDate) } : {}),
        KmsKeyIds: [version.kmsKeyId ?? 'DefaultEncryptionKey'],
      })),
      ...(page.nextToken ? { NextToken: page.nextToken } : {}),
    };
  }

  private listSecrets(input: RequestInput): JsonObject {
    const maxResults = optionalInteger(input, 'MaxResults', { min: 1, max: 100 }) ?? 100;
    const nextToken = optionalString(input, 'NextToken', { min: 1, max: 4096 });
    const includePlannedDeletion = optionalBoolean(input, 'IncludePlannedDeletion') ?? false;
    const filters = readFilters(input);
    const sortOrder = optionalString(input, 'SortOrder', {
      min: 3,
      max: 4,
      pattern: /^(asc|desc)$/,
      patternHint: 'must be "asc" or "desc"',
    });
    const sortBy = optionalString(input, 'SortBy', {
      min: 1,
      max: 32,
      pattern: /^(created-date|last-accessed-date|last-changed-date|name)$/,
      patternHint: 'must be one of created-date, last-accessed-date, last-changed-date, name',
    });

    const matching = [...this.secretsByName.values()]
      .filter((secret) => includePlannedDeletion || !secret.deletedDate)
      .filter((secret) => filters.every((filter) => matchesFilter(secret, filter, this.region)))
      .sort(secretComparator(sortBy ?? 'created-date'));
    if (sortOrder === 'desc') matching.reverse();

    const queryKey = `secrets:${JSON.stringify({ filters, includePlannedDeletion, sortOrder, sortBy })}`;
    const page = paginate(matching, maxResults, nextToken, queryKey);
    return {
      SecretList: page.items.map((secret) => this.listEntry(secret)),
      ...(page.nextToken ? { NextToken: page.nextToken } : {}),
    };
  }

  private tagResource(input: RequestInput): JsonObject {
    const secretId = requiredString(input, 'SecretId', SECRET_ID_RULE);
    const tags = optionalTags(input, 'Tags');
    if (!tags) throw invalidParameter('Missing required parameter Tags: add a list of {"Key","Value"} objects.');
    const secret = this.requireLiveSecret(secretId);
    const merged = new Map(secret.tags);
    for (const tag of tags) merged.set(tag.Key, tag.Value);
    if (merged.size > 50) {
      throw invalidParameter(`A secret can have at most 50 tags; this request would give it ${merged.size}.`);
    }
    secret.tags = merged;
    secret.lastChangedDate = this.now();
    return {};
  }

  private deleteSecret(input: RequestInput): JsonObject {
    const secretId = requiredString(input, 'SecretId', SECRET_ID_RULE);
    const recoveryWindowInDays = optionalInteger(input, 'RecoveryWindowInDays', { min: 7, max: 30 });
    const force = optionalBoolean(input, 'ForceDeleteWithoutRecovery') ?? false;
    if (force && recoveryWindowInDays !== undefined) {
      throw invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
    }
    const now = this.now();
    const secret = this.findSecret(secretId);

    if (!secret) {
      // AWS: a forced delete of a nonexistent secret succeeds, so that retries are safe.
      if (force) {
        return {
          ...(secretId.startsWith('arn:') ? { ARN: secretId } : {}),
          Name: nameFromSecretId(secretId),
          DeletionDate: epochSeconds(now),
        };
      }
      throw resourceNotFound("Secrets Manager can't find the specified secret.");
    }
    if (force) {
      this.secretsByName.delete(secret.name);
      return { ARN: secret.arn, Name: secret.name, DeletionDate: epochSeconds(now) };
    }
    if (secret.deletedDate) {
      throw invalidRequest(
        `You can't perform this operation on the secret ${secret.name} because it was already marked for deletion.`,
      );
    }
    secret.deletedDate = new Date(now.getTime() + (recoveryWindowInDays ?? 30) * 86_400_000);
    secret.lastChangedDate = now;
    return { ARN: secret.arn, Name: secret.name, DeletionDate: epochSeconds(secret.deletedDate) };
  }

  // --- helpers ----------------------------------------------------------------------------

  private listEntry(secret: SecretRecord): JsonObject {
    const { stages, ...summary } = this.summarize(secret);
    return { ...summary, SecretVersionsToStages: stages };
  }

  private summarize(secret: SecretRecord): JsonObject & { stages: Record<string, string[]> } {
    const stages: Record<string, string[]> = {};
    for (const version of versionsNewestFirst(secret)) {
      if (version.stages.length > 0) stages[version.versionId] = [...version.stages];
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      ...(secret.description !== undefined ? { Description: secret.description } : {}),
      ...(secret.kmsKeyId !== undefined ? { KmsKeyId: secret.kmsKeyId } : {}),
      LastChangedDate: epochSeconds(secret.lastChangedDate),
      ...(secret.lastAccessedDate ? { LastAccessedDate: epochSeconds(secret.lastAccessedDate) } : {}),
      ...(secret.deletedDate ? { DeletedDate: epochSeconds(secret.deletedDate) } : {}),
      ...(secret.tags.size > 0 ? { Tags: tagList(secret) } : {}),
      CreatedDate: epochSeconds(secret.createdDate),
      PrimaryRegion: this.region,
      stages,
    };
  }

  private nextSequence(): number {
    this.sequence += 1;
    return this.sequence;
  }

  private findSecret(secretId: string): SecretRecord | undefined {
    if (!secretId.startsWith('arn:')) return this.secretsByName.get(secretId);
    for (const secret of this.secretsByName.values()) {
      // A partial ARN is the full ARN without the "-XXXXXX" suffix.
      if (secret.arn === secretId || secret.arn.slice(0, -7) === secretId) return secret;
    }
    return undefined;
  }

  private requireSecret(secretId: string): SecretRecord {
    const secret = this.findSecret(secretId);
    if (!secret) throw resourceNotFound("Secrets Manager can't find the specified secret.");
    return secret;
  }

  private requireLiveSecret(secretId: string): SecretRecord {
    const secret = this.requireSecret(secretId);
    if (secret.deletedDate) {
      throw invalidRequest(
        `You can't perform this operation on the secret ${secret.name} because it was marked for deletion.`,
      );
    }
    return secret;
  }

  private requireVersion(secret: SecretRecord, versionId: string): VersionRecord {
    const version = secret.versions.get(versionId);
    if (!version) {
      throw resourceNotFound(`Secrets Manager can't find the specified secret version: ${versionId}`);
    }
    return version;
  }

  private addVersion(secret: SecretRecord, versionId: string, value: SecretValue, now: Date): VersionRecord {
    const version: VersionRecord = {
      versionId,
      stages: [],
      ...value,
      ...(secret.kmsKeyId !== undefined ? { kmsKeyId: secret.kmsKeyId } : {}),
      createdDate: now,
      sequence: this.nextSequence(),
    };
    secret.versions.set(versionId, version);
    return version;
  }

  /**
   * A staging label lives on one version at a time: attaching it moves it. Moving AWSCURRENT
   * gives AWSPREVIOUS to the version it left, as AWS does.
   */
  private attachStage(secret: SecretRecord, target: VersionRecord, stage: string): void {
    const holder = stageHolder(secret, stage);
    if (holder === target) return;
    if (holder) holder.stages = holder.stages.filter((label) => label !== stage);
    target.stages.push(stage);
    if (stage === AWSCURRENT && holder) this.attachStage(secret, holder, AWSPREVIOUS);
  }

  private pruneDeprecatedVersions(secret: SecretRecord): void {
    const deprecated = [...secret.versions.values()]
      .filter((version) => version.stages.length === 0)
      .sort((a, b) => a.sequence - b.sequence);
    const excess = deprecated.length - this.maxDeprecatedVersions;
    for (const version of deprecated.slice(0, Math.max(0, excess))) secret.versions.delete(version.versionId);
  }
}

// --- module-private helpers ---------------------------------------------------------------

type SecretValue = { secretString: string } | { secretBinary: string };

function readSecretValue(input: RequestInput): SecretValue | undefined {
  const secretString = input['SecretString'];
  const secretBinary = input['SecretBinary'];
  const hasString = secretString !== undefined && secretString !== null;
  const hasBinary = secretBinary !== undefined && secretBinary !== null;
  if (hasString && hasBinary) {
    throw invalidParameter("You can't specify both SecretString and SecretBinary in the same request; send one of them.");
  }
  if (hasString) {
    if (typeof secretString !== 'string') throw invalidParameter('Invalid parameter SecretString: expected a string.');
    const bytes = Buffer.byteLength(secretString, 'utf8');
    if (bytes > MAX_SECRET_VALUE_BYTES) {
      throw invalidParameter(`Invalid parameter SecretString: at most ${MAX_SECRET_VALUE_BYTES} bytes, got ${bytes}.`);
    }
    return { secretString };
  }
  if (hasBinary) {
    if (typeof secretBinary !== 'string') {
      throw invalidParameter('Invalid parameter SecretBinary: expected base64-encoded data.');
    }
    const bytes = Buffer.from(secretBinary, 'base64').length;
    if (bytes > MAX_SECRET_VALUE_BYTES) {
      throw invalidParameter(`Invalid parameter SecretBinary: at most ${MAX_SECRET_VALUE_BYTES} bytes, got ${bytes}.`);
    }
    return { secretBinary };
  }
  return undefined;
}

function sameValue(version: VersionRecord, value: SecretValue): boolean {
  if ('secretString' in value) return version.secretString === value.secretString && version.secretBinary === undefined;
  return version.secretBinary === value.secretBinary && version.secretString === undefined;
}

function stageHolder(secret: SecretRecord, stage: string): VersionRecord | undefined {
  for (const version of secret.versions.values()) if (version.stages.includes(stage)) return version;
  return undefined;
}

function versionsNewestFirst(secret: SecretRecord): VersionRecord[] {
  return [...secret.versions.values()].sort((a, b) => b.sequence - a.sequence);
}

function tagList(secret: SecretRecord): TagInput[] {
  return [...secret.tags.entries()].map(([Key, Value]) => ({ Key, Value }));
}

function dedupe(values: string[]): string[] {
  return [...new Set(values)];
}

function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

function startOfUtcDay(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

function randomArnSuffix(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(6)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

function nameFromSecretId(secretId: string): string {
  const marker = ':secret:';
  const at = secretId.indexOf(marker);
  return at >= 0 ? secretId.slice(at + marker.length) : secretId;
}

const FILTER_KEYS = ['all', 'description', 'name', 'owning-service', 'primary-region', 'tag-key', 'tag-value'] as const;
type FilterKey = (typeof FILTER_KEYS)[number];
interface ListFilter {
  key: FilterKey;
  values: string[];
}

function readFilters(input: RequestInput): ListFilter[] {
  const raw = input['Filters'];
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw invalidParameter('Invalid parameter Filters: expected a list of {"Key","Values"} objects.');
  if (raw.length > 10) throw invalidParameter(`Invalid parameter Filters: at most 10 filters, got ${raw.length}.`);
  return raw.map((filter, index) => {
    if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
      throw invalidParameter(`Invalid parameter Filters[${index}]: expected an object with "Key" and "Values".`);
    }
    const record = filter as RequestInput;
    const key = requiredString(record, 'Key', {
      min: 1,
      max: 32,
      pattern: new RegExp(`^(${FILTER_KEYS.join('|')})$`),
      patternHint: `Filters[${index}].Key must be one of ${FILTER_KEYS.join(', ')}`,
    }) as FilterKey;
    const values = optionalStringList(record, 'Values', {
      minItems: 1,
      maxItems: 10,
      item: { min: 1, max: 512 },
    });
    if (!values) throw invalidParameter(`Missing required parameter Filters[${index}].Values: add 1 to 10 values.`);
    return { key, values };
  });
}

/** Values within a filter are ORed; a leading "!" negates a value. Every filter must match. */
function matchesFilter(secret: SecretRecord, filter: ListFilter, region: string): boolean {
  return filter.values.some((raw) => {
    const negate = raw.startsWith('!');
    const value = negate ? raw.slice(1) : raw;
    const matched = matchesFilterValue(secret, filter.key, value, region);
    return negate ? !matched : matched;
  });
}

function matchesFilterValue(secret: SecretRecord, key: FilterKey, value: string, region: string): boolean {
  const tagKeys = [...secret.tags.keys()];
  const tagValues = [...secret.tags.values()];
  const lower = value.toLowerCase();
  switch (key) {
    case 'name':
      return secret.name.startsWith(value);
    case 'description':
      return (secret.description ?? '').toLowerCase().startsWith(lower);
    case 'tag-key':
      return tagKeys.some((tagKey) => tagKey.startsWith(value));
    case 'tag-value':
      return tagValues.some((tagValue) => tagValue.startsWith(value));
    case 'primary-region':
      return region.startsWith(value);
    case 'owning-service':
      return false;
    case 'all':
      return [secret.name, secret.description ?? '', ...tagKeys, ...tagValues].some((candidate) =>
        candidate.toLowerCase().startsWith(lower),
      );
  }
}

function secretComparator(sortBy: string): (a: SecretRecord, b: SecretRecord) => number {
  switch (sortBy) {
    case 'name':
      return (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    case 'last-changed-date':
      return (a, b) => a.lastChangedDate.getTime() - b.lastChangedDate.getTime() || a.sequence - b.sequence;
    case 'last-accessed-date':
      return (a, b) =>
        (a.lastAccessedDate?.getTime() ?? 0) - (b.lastAccessedDate?.getTime() ?? 0) || a.sequence - b.sequence;
    default:
      return (a, b) => a.sequence - b.sequence;
  }
}

/**
 * Offset pagination. The token carries a fingerprint of the query so that a token from one
 * listing cannot silently be used on another (AWS answers InvalidNextTokenException).
 */
function paginate<T>(
  items: T[],
  maxResults: number,
  nextToken: string | undefined,
  queryKey: string,
): { items: T[]; nextToken?: string } {
  const fingerprint = createHash('sha256').update(queryKey).digest('hex').slice(0, 16);
  let offset = 0;
  if (nextToken !== undefined) {
    const decoded = decodeToken(nextToken);
    if (!decoded || decoded.q !== fingerprint) {
      throw new AwsServiceError(
        'InvalidNextTokenException',
        'The NextToken value is not valid for this request: pass the NextToken from the previous page of the same listing.',
      );
    }
    offset = decoded.o;
  }
  const pageItems = items.slice(offset, offset + maxResults);
  const nextOffset = offset + pageItems.length;
  return nextOffset < items.length
    ? { items: pageItems, nextToken: Buffer.from(JSON.stringify({ o: nextOffset, q: fingerprint })).toString('base64url') }
    : { items: pageItems };
}

function decodeToken(token: string): { o: number; q: string } | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { o, q } = parsed as { o?: unknown; q?: unknown };
    return typeof o === 'number' && Number.isInteger(o) && o >= 0 && typeof q === 'string' ? { o, q } : undefined;
  } catch {
    return undefined;
  }
}

function toSnapshot(secret: SecretRecord): StandInSecret {
  return {
    arn: secret.arn,
    name: secret.name,
    ...(secret.description !== undefined ? { description: secret.description } : {}),
    ...(secret.kmsKeyId !== undefined ? { kmsKeyId: secret.kmsKeyId } : {}),
    tags: Object.fromEntries(secret.tags),
    createdDate: new Date(secret.createdDate),
    lastChangedDate: new Date(secret.lastChangedDate),
    ...(secret.lastAccessedDate ? { lastAccessedDate: new Date(secret.lastAccessedDate) } : {}),
    ...(secret.deletedDate ? { deletedDate: new Date(secret.deletedDate) } : {}),
    versions: versionsNewestFirst(secret).map((version) => ({
      versionId: version.versionId,
      stages: [...version.stages],
      ...(version.secretString !== undefined ? { secretString: version.secretString } : {}),
      ...(version.secretBinary !== undefined ? { secretBinary: version.secretBinary } : {}),
      createdDate: new Date(version.createdDate),
      ...(version.lastAccessedDate ? { lastAccessedDate: new Date(version.lastAccessedDate) } : {}),
    })),
  };
}
