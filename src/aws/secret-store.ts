import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  ListSecretVersionIdsCommandOutput,
  PutSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import pino, { Logger } from 'pino';
import { SecretStoreError, toSecretStoreError } from './errors';
import { AWSCURRENT } from './staging-labels';
import { AwsClock, awsClockOf } from './aws-clock';
import { errorSummary } from '../logging/error-summary';

/**
 * A thin, honest adapter over AWS Secrets Manager for the rotator: one SDK call per method (plus
 * the documented exceptions), one log line per call with the AWS request id, and SecretStoreError
 * on failure. It holds no rotation logic; the rotation job owns the protocol.
 * Secret values are never logged and never put in errors.
 */

export interface SecretDescription {
  arn: string;
  name: string;
  kmsKeyId?: string;
  tags: Record<string, string>;
  /** Only versions that carry at least one staging label (AWS leaves deprecated ones out). */
  versionIdsToStages: Record<string, string[]>;
  createdDate?: Date;
  /**
   * When the secret was last modified in any way (a new version, a staging label moved, tags):
   * never earlier than the last promotion. The reconciler measures a grace period from it.
   */
  lastChangedDate?: Date;
  /** Set when the secret is scheduled for deletion; most operations then fail with InvalidRequestException. */
  deletedDate?: Date;
}

export interface StoredSecretVersion {
  arn: string;
  versionId: string;
  secretString: string;
  versionStages: string[];
  createdDate?: Date;
}

export interface SecretVersionSummary {
  versionId: string;
  versionStages: string[];
  createdDate?: Date;
}

/**
 * The tag the rotator puts on every secret it creates or tags. config/iam-policy.json requires it
 * on CreateSecret and TagResource (`aws:RequestTag/managed-by`), so the rotator's role cannot
 * create or tag a secret that does not say who manages it; test/deploy/iam-policy.test.ts keeps
 * the two in step. It overrides a `managed-by` in the configured tags.
 */
export const MANAGED_BY_TAG = { key: 'managed-by', value: 'sendmux-key-rotator' } as const;

/**
 * Which secrets a store may touch: names starting with one of `prefixes` (the literal start of
 * the `secretName` template, e.g. `sendmux/mailboxes/`), or exactly one of `names` (the
 * management-key secret). An ARN is judged by its name part (after `:secret:`).
 */
export interface AllowedSecretNames {
  prefixes: readonly string[];
  names?: readonly string[];
}

/** Thrown, before any AWS call, for a secret id outside the store's AllowedSecretNames. Not retryable. */
export class SecretNameNotAllowedError extends SecretStoreError {
  readonly code = 'secret_name_not_allowed';
  constructor(operation: string, secretId: string, allowed: AllowedSecretNames) {
    const described = [...allowed.prefixes.map((prefix) => `names starting "${prefix}"`), ...(allowed.names ?? []).map((name) => `"${name}"`)].join(', ');
    super({
      operation,
      secretId,
      awsErrorName: 'SecretNameNotAllowed',
      status: null,
      retryable: false,
      detail: `the rotator only touches ${described || 'no secret'} (the secretName template and SENDMUX_API_KEY_SECRET_ID); nothing was sent to AWS`,
    });
    this.name = 'SecretNameNotAllowedError';
  }
}

/**
 * The names a service store may touch: the literal start of the `secretName` template (before
 * `{mailboxId}`) and, when set, the management-key secret id.
 */
export function allowedSecretNames(secretNameTemplate: string, managementKeySecretId?: string): AllowedSecretNames {
  const at = secretNameTemplate.indexOf('{mailboxId}');
  return { prefixes: [at < 0 ? secretNameTemplate : secretNameTemplate.slice(0, at)], ...(managementKeySecretId === undefined ? {} : { names: [managementKeySecretId] }) };
}

/** Whether `secretId` (a name or an ARN) is one `allowed` covers. */
export function isAllowedSecretId(secretId: string, allowed: AllowedSecretNames): boolean {
  if (allowed.names?.includes(secretId)) return true;
  const arnName = /^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:(.+)$/.exec(secretId)?.[1];
  const name = arnName ?? secretId;
  if (arnName !== undefined && allowed.names?.some((allowedName) => arnName === allowedName || new RegExp(`^${escapeRegExp(allowedName)}-[A-Za-z0-9]{6}$`).test(arnName))) return true;
  return allowed.prefixes.some((prefix) => name.startsWith(prefix));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface SecretStoreOptions {
  client: SecretsManagerClient;
  /** Absent: any secret id (tests, tools). The service always passes the configured ones. */
  allowed?: AllowedSecretNames;
  logger?: Logger;
  /** Bound in ms for a server-given delay on an AWS error (`rotation.backoffMaxDelay`); default 5 minutes. */
  maxServerDelayMs?: number;
  /**
   * Told of every call Secrets Manager answered (a failure is logged at warn as always). With it,
   * the store logs those calls at debug only: the observer (a job) names their request ids in its
   * own lines, next to the job and mailbox they were made for.
   */
  onCall?: (call: SecretsManagerCall) => void;
  /** AWS's clock as the client's answers tell it; default the one attached to `client` (awsClockOf). */
  clock?: AwsClock;
}

/** A Secrets Manager call that got an answer: its operation name, AWS request id (x-amzn-RequestId) and, if it failed, the AWS error name. */
export interface SecretsManagerCall {
  operation: string;
  requestId: string | undefined;
  awsErrorName?: string;
}

interface CallMetadata {
  $metadata: { httpStatusCode?: number; requestId?: string };
}

export class SecretStore {
  private readonly client: SecretsManagerClient;
  private readonly logger: Logger;

  private readonly maxServerDelayMs: number | undefined;
  private readonly onCall: ((call: SecretsManagerCall) => void) | undefined;
  private readonly allowed: AllowedSecretNames | undefined;
  /** AWS's clock (from the answers' Date header): measure ages of AWS's dates with it. */
  readonly clock: AwsClock;

  constructor(options: SecretStoreOptions) {
    this.client = options.client;
    this.allowed = options.allowed;
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.clock = options.clock ?? awsClockOf(options.client, { logger: this.logger });
    this.maxServerDelayMs = options.maxServerDelayMs;
    this.onCall = options.onCall;
  }

  /** The same store (client, logger, bounds) with `onCall` told of each answered call; see SecretStoreOptions.onCall. */
  observedBy(onCall: (call: SecretsManagerCall) => void): SecretStore {
    return new SecretStore({
      client: this.client,
      logger: this.logger,
      clock: this.clock,
      ...(this.maxServerDelayMs === undefined ? {} : { maxServerDelayMs: this.maxServerDelayMs }),
      ...(this.allowed === undefined ? {} : { allowed: this.allowed }),
      onCall,
    });
  }

  /** DescribeSecret; null when the secret does not exist. */
  async describeSecret(secretId: string): Promise<SecretDescription | null> {
    const output = await this.call('DescribeSecret', secretId, () => this.client.send(new DescribeSecretCommand({ SecretId: secretId })), {
      notFoundIsNull: true,
    });
    if (output === null) return null;
    return {
      arn: required(output.ARN, 'ARN', 'DescribeSecret', secretId),
      name: required(output.Name, 'Name', 'DescribeSecret', secretId),
      ...(output.KmsKeyId !== undefined ? { kmsKeyId: output.KmsKeyId } : {}),
      tags: Object.fromEntries((output.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
      versionIdsToStages: Object.fromEntries(
        Object.entries(output.VersionIdsToStages ?? {}).map(([versionId, stages]) => [versionId, [...stages]]),
      ),
      ...(output.CreatedDate !== undefined ? { createdDate: output.CreatedDate } : {}),
      ...(output.LastChangedDate !== undefined ? { lastChangedDate: output.LastChangedDate } : {}),
      ...(output.DeletedDate !== undefined ? { deletedDate: output.DeletedDate } : {}),
    };
  }

  /**
   * CreateSecret without a value (no version is created). If the secret already exists — e.g.
   * another replica created it a moment ago — describes it and returns created: false.
   */
  async createSecretIfMissing(
    name: string,
    options: { kmsKeyId?: string; tags?: Record<string, string>; description?: string } = {},
  ): Promise<{ arn: string; created: boolean }> {
    const command = new CreateSecretCommand({
      Name: name,
      ...(options.kmsKeyId !== undefined ? { KmsKeyId: options.kmsKeyId } : {}),
      ...(options.description !== undefined ? { Description: options.description } : {}),
      Tags: Object.entries(withManagedBy(options.tags)).map(([Key, Value]) => ({ Key, Value })),
    });
    const output = await this.call('CreateSecret', name, () => this.client.send(command), { existsIsNull: true });
    if (output !== null) return { arn: required(output.ARN, 'ARN', 'CreateSecret', name), created: true };

    const existing = await this.describeSecret(name);
    if (!existing) {
      // Created and deleted again between our two calls: let the caller retry from the top.
      throw new SecretStoreError({
        operation: 'CreateSecret',
        secretId: name,
        awsErrorName: 'ResourceExistsException',
        status: 400,
        retryable: true,
        detail: 'the secret existed on CreateSecret but was gone on the DescribeSecret that followed',
      });
    }
    return { arn: existing.arn, created: false };
  }

  /**
   * PutSecretValue. The token is the version id: repeating the call with the same token and value
   * is a no-op; the same token with a different value fails with ResourceExistsException.
   */
  async putSecretVersion(
    secretId: string,
    input: { clientRequestToken: string; secretString: string; versionStages: string[] },
  ): Promise<{ arn: string; versionId: string; versionStages: string[] }> {
    const command = new PutSecretValueCommand({
      SecretId: secretId,
      ClientRequestToken: input.clientRequestToken,
      SecretString: input.secretString,
      VersionStages: input.versionStages,
    });
    const output = await this.call('PutSecretValue', secretId, () => this.client.send(command), {
      logFields: { versionId: input.clientRequestToken, versionStages: input.versionStages },
      // An AWS error message may quote the request (a ValidationException echoing the body).
      // Parsed only if the call fails: the success path (every rotation) needs none of it.
      knownSecrets: () => secretValuesOf(input.secretString),
    });
    return {
      arn: required(output.ARN, 'ARN', 'PutSecretValue', secretId),
      versionId: required(output.VersionId, 'VersionId', 'PutSecretValue', secretId),
      versionStages: [...(output.VersionStages ?? [])],
    };
  }

  /** GetSecretValue by version id and/or stage (AWSCURRENT when neither); null when absent. */
  async getSecretVersion(
    secretId: string,
    selector: { versionId?: string; versionStage?: string } = {},
  ): Promise<StoredSecretVersion | null> {
    const command = new GetSecretValueCommand({
      SecretId: secretId,
      ...(selector.versionId !== undefined ? { VersionId: selector.versionId } : {}),
      ...(selector.versionStage !== undefined ? { VersionStage: selector.versionStage } : {}),
    });
    const output = await this.call('GetSecretValue', secretId, () => this.client.send(command), {
      notFoundIsNull: true,
      logFields: { ...(selector.versionId ? { versionId: selector.versionId } : {}), ...(selector.versionStage ? { versionStage: selector.versionStage } : {}) },
    });
    if (output === null) return null;
    if (output.SecretString === undefined) {
      throw new SecretStoreError({
        operation: 'GetSecretValue',
        secretId,
        awsErrorName: 'SecretStringMissing',
        status: output.$metadata.httpStatusCode ?? null,
        retryable: false,
        ...(output.$metadata.requestId ? { requestId: output.$metadata.requestId } : {}),
        detail: 'the version holds SecretBinary, not SecretString; the rotator only stores strings',
      });
    }
    return {
      arn: required(output.ARN, 'ARN', 'GetSecretValue', secretId),
      versionId: required(output.VersionId, 'VersionId', 'GetSecretValue', secretId),
      secretString: output.SecretString,
      versionStages: [...(output.VersionStages ?? [])],
      ...(output.CreatedDate !== undefined ? { createdDate: output.CreatedDate } : {}),
    };
  }

  /**
   * GetSecretValue of the AWSCURRENT version (what applications read); null when the secret or
   * its AWSCURRENT version is absent. For secrets that are not a mailbox's (the management key):
   * a mailbox's secret is read through its owner, src/rotation/mailbox-secret.ts.
   */
  async getCurrentVersion(secretId: string): Promise<StoredSecretVersion | null> {
    return this.getSecretVersion(secretId, { versionStage: AWSCURRENT });
  }

  /**
   * UpdateSecretVersionStage. Moving AWSCURRENT needs removeFromVersionId = its current holder
   * (AWS then gives that version AWSPREVIOUS); removing a label needs only removeFromVersionId.
   */
  async moveStage(
    secretId: string,
    input: { stage: string; moveToVersionId?: string; removeFromVersionId?: string },
  ): Promise<{ arn: string }> {
    const command = new UpdateSecretVersionStageCommand({
      SecretId: secretId,
      VersionStage: input.stage,
      ...(input.moveToVersionId !== undefined ? { MoveToVersionId: input.moveToVersionId } : {}),
      ...(input.removeFromVersionId !== undefined ? { RemoveFromVersionId: input.removeFromVersionId } : {}),
    });
    const output = await this.call('UpdateSecretVersionStage', secretId, () => this.client.send(command), {
      logFields: {
        stage: input.stage,
        ...(input.moveToVersionId ? { moveToVersionId: input.moveToVersionId } : {}),
        ...(input.removeFromVersionId ? { removeFromVersionId: input.removeFromVersionId } : {}),
      },
    });
    return { arn: required(output.ARN, 'ARN', 'UpdateSecretVersionStage', secretId) };
  }

  /**
   * TagResource: adds or overwrites these tags on the secret (others are kept). Needs
   * `secretsmanager:TagResource` (already in config/iam-policy.json for CreateSecret's tags).
   */
  async tagSecret(secretId: string, tags: Record<string, string>): Promise<void> {
    const command = new TagResourceCommand({ SecretId: secretId, Tags: Object.entries(withManagedBy(tags)).map(([Key, Value]) => ({ Key, Value })) });
    await this.call('TagResource', secretId, () => this.client.send(command), { logFields: { tagKeys: Object.keys(tags) } });
  }

  /**
   * ListSecretVersionIds, every page (one logged call per page). Deprecated versions (no label)
   * are included only when asked, as in AWS.
   */
  async listVersions(secretId: string, options: { includeDeprecated?: boolean } = {}): Promise<SecretVersionSummary[]> {
    const versions: SecretVersionSummary[] = [];
    let nextToken: string | undefined;
    do {
      const command = new ListSecretVersionIdsCommand({
        SecretId: secretId,
        MaxResults: 100,
        ...(options.includeDeprecated ? { IncludeDeprecated: true } : {}),
        ...(nextToken !== undefined ? { NextToken: nextToken } : {}),
      });
      const page: ListSecretVersionIdsCommandOutput = await this.call('ListSecretVersionIds', secretId, () =>
        this.client.send(command),
      );
      for (const entry of page.Versions ?? []) {
        versions.push({
          versionId: required(entry.VersionId, 'Versions[].VersionId', 'ListSecretVersionIds', secretId),
          versionStages: [...(entry.VersionStages ?? [])],
          ...(entry.CreatedDate !== undefined ? { createdDate: entry.CreatedDate } : {}),
        });
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return versions;
  }

  /** Runs one SDK call, logs it (never its payload) and converts failures. */
  private async call<T extends CallMetadata>(
    operation: string,
    secretId: string,
    send: () => Promise<T>,
    options?: { logFields?: Record<string, unknown>; knownSecrets?: () => readonly string[] },
  ): Promise<T>;
  private async call<T extends CallMetadata>(
    operation: string,
    secretId: string,
    send: () => Promise<T>,
    options: { logFields?: Record<string, unknown>; notFoundIsNull?: boolean; existsIsNull?: boolean; knownSecrets?: () => readonly string[] },
  ): Promise<T | null>;
  private async call<T extends CallMetadata>(
    operation: string,
    secretId: string,
    send: () => Promise<T>,
    options: { logFields?: Record<string, unknown>; notFoundIsNull?: boolean; existsIsNull?: boolean; knownSecrets?: () => readonly string[] } = {},
  ): Promise<T | null> {
    if (this.allowed !== undefined && !isAllowedSecretId(secretId, this.allowed)) throw new SecretNameNotAllowedError(operation, secretId, this.allowed);
    const started = Date.now();
    try {
      const output = await send();
      this.onCall?.({ operation, requestId: output.$metadata.requestId });
      this.logger[this.onCall ? 'debug' : 'info'](
        {
          operation,
          secretId,
          ...options.logFields,
          awsRequestId: output.$metadata.requestId,
          status: output.$metadata.httpStatusCode,
          durationMs: Date.now() - started,
        },
        `secrets manager ${operation} ok`,
      );
      return output;
    } catch (error) {
      const storeError = toSecretStoreError(error, {
        operation,
        secretId,
        ...(this.maxServerDelayMs === undefined ? {} : { maxServerDelayMs: this.maxServerDelayMs }),
        ...(options.knownSecrets ? { knownSecrets: options.knownSecrets() } : {}),
      });
      const expectedAbsence =
        (options.notFoundIsNull && storeError.awsErrorName === 'ResourceNotFoundException') ||
        (options.existsIsNull && storeError.awsErrorName === 'ResourceExistsException');
      const fields = {
        operation,
        secretId,
        ...options.logFields,
        awsRequestId: storeError.requestId,
        status: storeError.status,
        durationMs: Date.now() - started,
        awsErrorName: storeError.awsErrorName,
        retryable: storeError.retryable,
      };
      if (expectedAbsence) {
        this.onCall?.({ operation, requestId: storeError.requestId });
        this.logger[this.onCall ? 'debug' : 'info'](fields, `secrets manager ${operation}: ${storeError.awsErrorName}`);
        return null;
      }
      this.logger.warn({ ...fields, err: errorSummary(storeError) }, `secrets manager ${operation} failed`);
      // The observer's own failure line then names it next to its job (this line knows only the secret).
      this.onCall?.({ operation, requestId: storeError.requestId, awsErrorName: storeError.awsErrorName });
      throw storeError;
    }
  }
}

function required<T>(value: T | undefined, field: string, operation: string, secretId: string): T {
  if (value === undefined) {
    throw new SecretStoreError({
      operation,
      secretId,
      awsErrorName: 'MalformedResponse',
      status: null,
      retryable: false,
      detail: `the response has no ${field}`,
    });
  }
  return value;
}

/**
 * The plaintext a SecretString carries: the whole string and every string value in it (the
 * rotator's document is JSON; a foreign or plain value is taken whole). Scrubbed from AWS errors.
 */
function secretValuesOf(secretString: string): string[] {
  const values = [secretString];
  const collect = (value: unknown): void => {
    if (typeof value === 'string') values.push(value);
    else if (Array.isArray(value)) value.forEach(collect);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(collect);
  };
  try {
    collect(JSON.parse(secretString));
  } catch {
    // Not JSON: the whole string is the secret.
  }
  return values;
}

/** `tags` with MANAGED_BY_TAG set (the policy's condition needs it on every CreateSecret and TagResource). */
function withManagedBy(tags: Record<string, string> = {}): Record<string, string> {
  return { ...tags, [MANAGED_BY_TAG.key]: MANAGED_BY_TAG.value };
}
