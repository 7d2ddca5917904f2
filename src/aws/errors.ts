import { DEFAULT_MAX_SERVER_DELAY_MS, parseAwsThrottlingHint } from '../retry/server-delay';
import { scrubSecrets } from '../security/scrub-secrets';

/**
 * The one error type the secret store throws. It carries what the caller needs to decide on a
 * retry and what an operator needs to find the call in AWS (operation, secret id, request id),
 * and never the secret value.
 */
export class SecretStoreError extends Error {
  readonly operation: string;
  readonly secretId: string;
  /** The AWS error name (e.g. ThrottlingException), or the client-side one (TimeoutError, ECONNREFUSED). */
  readonly awsErrorName: string;
  /** HTTP status of the AWS answer; null when there was no answer (timeout, network). */
  readonly status: number | null;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  /** `x-amzn-RequestId` of the failed call, when AWS answered. */
  readonly requestId?: string;
  /** Set when KMS refused Secrets Manager (key disabled, pending deletion, not usable by the caller); see kmsProblemOf. */
  readonly kmsProblem?: KmsProblem;
  /**
   * What the failure means and how to fix it, quoting AWS's own message ("the KMS key … is
   * disabled (AWS: …); fix: …"). Set for KMS refusals; part of `message` too.
   */
  readonly advice?: string;

  constructor(fields: {
    operation: string;
    secretId: string;
    awsErrorName: string;
    status: number | null;
    retryable: boolean;
    retryAfterMs?: number;
    requestId?: string;
    detail?: string;
    kmsProblem?: KmsProblem;
    advice?: string;
  }) {
    const where = `Secrets Manager ${fields.operation} for secret "${fields.secretId}"`;
    const status = fields.status === null ? 'no response' : `HTTP ${fields.status}`;
    const request = fields.requestId ? `request id ${fields.requestId}` : 'no request id';
    // AWS messages can quote the request (a validation error echoing SecretString): nothing
    // shaped like a Sendmux key leaves through this message, whoever built the error.
    const detail = fields.advice ? `: ${scrubSecrets(fields.advice)}` : fields.detail ? `: ${scrubSecrets(fields.detail)}` : '';
    super(
      `${where} failed with ${fields.awsErrorName} (${status}, ${request}; ${fields.retryable ? 'retryable' : 'not retryable'})${detail}`,
    );
    this.name = 'SecretStoreError';
    this.operation = fields.operation;
    this.secretId = fields.secretId;
    this.awsErrorName = fields.awsErrorName;
    this.status = fields.status;
    this.retryable = fields.retryable;
    if (fields.retryAfterMs !== undefined) this.retryAfterMs = fields.retryAfterMs;
    if (fields.requestId !== undefined) this.requestId = fields.requestId;
    if (fields.kmsProblem !== undefined) this.kmsProblem = fields.kmsProblem;
    if (fields.advice !== undefined) this.advice = scrubSecrets(fields.advice);
  }
}

/**
 * Why KMS refused Secrets Manager:
 * - `disabled`:       the key is disabled (KMSDisabledException, or a Decryption/EncryptionFailure saying so);
 * - `invalid-state`:  the key is pending deletion or import (KMSInvalidStateException);
 * - `access-denied`:  the caller may not use the key (KMSAccessDeniedException, or AccessDeniedException
 *                     "Access to KMS is not allowed": the key policy or the role lacks kms:Decrypt /
 *                     kms:GenerateDataKey, not a Secrets Manager permission);
 * - `decrypt-failed` / `encrypt-failed`: DecryptionFailure / EncryptionFailure without more detail.
 */
export type KmsProblem = 'disabled' | 'invalid-state' | 'access-denied' | 'decrypt-failed' | 'encrypt-failed';

/** Classifies an AWS error name and message as a KMS refusal, or undefined when it is none. */
export function kmsProblemOf(awsErrorName: string, message: string): KmsProblem | undefined {
  switch (awsErrorName) {
    case 'KMSDisabledException':
    case 'DisabledException':
      return 'disabled';
    case 'KMSInvalidStateException':
      return /\bdisabled\b/i.test(message) ? 'disabled' : 'invalid-state';
    case 'KMSAccessDeniedException':
      return 'access-denied';
    case 'AccessDeniedException':
      return /\bKMS\b/.test(message) ? 'access-denied' : undefined;
    case 'DecryptionFailure':
    case 'EncryptionFailure':
      // The documented EncryptionFailure text says "enabled, and not in an invalid state": only
      // "is disabled" / "pending deletion" name the key's state.
      if (/\bis disabled\b/i.test(message)) return 'disabled';
      if (/\bpending (deletion|import)\b/i.test(message)) return 'invalid-state';
      return awsErrorName === 'DecryptionFailure' ? 'decrypt-failed' : 'encrypt-failed';
    default:
      return undefined;
  }
}

const KMS_KEY_ARN = /arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key|alias)\/[A-Za-z0-9/_-]+/;

/** The operator-facing sentence for a KMS refusal: the cause, AWS's words, the fix. */
export function kmsAdvice(problem: KmsProblem, awsMessage: string): string {
  const arn = KMS_KEY_ARN.exec(awsMessage)?.[0];
  const key = arn ? `the KMS key ${arn}` : 'the KMS key that encrypts the secret';
  const aws = awsMessage === '' ? '' : ` (AWS: ${awsMessage})`;
  switch (problem) {
    case 'disabled':
      return `${key} is disabled${aws}; fix: enable it (aws kms enable-key --key-id <key>) or set kmsKeyId to an enabled key`;
    case 'invalid-state':
      return `${key} is not usable (pending deletion or import)${aws}; fix: cancel the deletion (aws kms cancel-key-deletion, then enable-key) or set kmsKeyId to another key`;
    case 'access-denied':
      return `KMS refused the rotator's role the use of ${arn ? key : 'the secret\'s KMS key'}${aws}; fix: allow kms:Decrypt and kms:GenerateDataKey on the key in the key policy and the role (config/iam-policy.json), and check that the key is enabled`;
    case 'decrypt-failed':
      return `Secrets Manager could not decrypt the secret with its KMS key${aws}; fix: check that the key is enabled, not pending deletion, and that the key policy allows the rotator's role kms:Decrypt`;
    case 'encrypt-failed':
      return `Secrets Manager could not encrypt the new value with the KMS key${aws}; fix: check that kmsKeyId names an enabled key and that the key policy allows the rotator's role kms:GenerateDataKey`;
  }
}

export function isSecretStoreError(error: unknown): error is SecretStoreError {
  return error instanceof SecretStoreError;
}

/** Errors a retry cannot fix: the request, the permissions or the resource state must change first. */
const PERMANENT_ERROR_NAMES = new Set([
  'ResourceNotFoundException',
  'InvalidParameterException',
  'InvalidRequestException',
  'InvalidNextTokenException',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'ResourceExistsException',
  'DecryptionFailure',
  'EncryptionFailure',
  'LimitExceededException',
  'MalformedPolicyDocumentException',
  'PreconditionNotMetException',
  'PublicPolicyException',
  'ValidationException',
  'KMSDisabledException',
  'KMSInvalidStateException',
  'KMSAccessDeniedException',
  'SerializationException',
  'UnknownOperationException',
]);

const THROTTLING_ERROR_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
]);

const TRANSIENT_ERROR_NAMES = new Set([
  'InternalServiceError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

const NETWORK_ERROR_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Loose view of what the AWS SDK v3 puts on its errors. */
interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown; requestId?: unknown };
  $response?: { headers?: Record<string, unknown> };
}

export interface SecretStoreErrorContext {
  operation: string;
  secretId: string;
  /** Bound for a server-given delay (`rotation.backoffMaxDelay`); default 5 minutes. */
  maxServerDelayMs?: number;
  /** Plaintext values the failed request carried (e.g. the SecretString being written), scrubbed from the AWS message. */
  knownSecrets?: readonly string[];
  /** Unix ms an HTTP-date Retry-After is measured from. Default Date.now(). */
  nowMs?: number;
}

/** Converts whatever the SDK threw into a SecretStoreError (returned as-is if it already is one). */
export function toSecretStoreError(error: unknown, context: SecretStoreErrorContext): SecretStoreError {
  if (error instanceof SecretStoreError) return error;
  const shape: SdkErrorShape = typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
  const message = typeof shape.message === 'string' ? shape.message : '';
  // The SDK re-wraps errors it does not recognise as Errors (e.g. from another JS realm) into a
  // message-only "AWS SDK error wrapper for Error: connect ECONNREFUSED ...": recover the code.
  const code = typeof shape.code === 'string' ? shape.code : networkCodeIn(message);
  const rawName = typeof shape.name === 'string' ? shape.name : undefined;
  // Node network errors are plain Errors with a `code`: the code is the useful name.
  const awsErrorName = (rawName && rawName !== 'Error' ? rawName : code) ?? rawName ?? 'UnknownError';
  const statusValue = shape.$metadata?.httpStatusCode;
  const status = typeof statusValue === 'number' ? statusValue : null;
  const requestIdValue = shape.$metadata?.requestId;
  const requestId = typeof requestIdValue === 'string' && requestIdValue !== '' ? requestIdValue : undefined;
  const retryAfterMs = parseAwsThrottlingHint(shape.$response?.headers, {
    maxMs: context.maxServerDelayMs ?? DEFAULT_MAX_SERVER_DELAY_MS,
    ...(context.nowMs === undefined ? {} : { nowMs: context.nowMs }),
  });

  const safe = messageIsSafe(awsErrorName, code, status) && message !== '';
  const quoted = safe ? truncate(scrubSecrets(flatten(message), context.knownSecrets ?? []), 300) : '';
  const kmsProblem = status !== null ? kmsProblemOf(awsErrorName, quoted) : undefined;

  return new SecretStoreError({
    operation: context.operation,
    secretId: context.secretId,
    awsErrorName,
    status,
    retryable: isRetryable({ awsErrorName, code, status, sdkRetryable: shape.$retryable }),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(requestId !== undefined ? { requestId } : {}),
    ...(quoted !== '' ? { detail: quoted } : {}),
    ...(kmsProblem !== undefined ? { kmsProblem, advice: kmsAdvice(kmsProblem, quoted) } : {}),
  });
}

/**
 * Only AWS error answers and Node network/timeout errors are quoted at all; anything else (a
 * response that failed to parse, for instance) might quote a whole response body, so its message
 * is left out. Even an AWS answer may echo the request (a 400 quoting SecretString), so what is
 * quoted is scrubbed of the request's known secrets and of key-shaped text first.
 */
function messageIsSafe(awsErrorName: string, code: string | undefined, status: number | null): boolean {
  if (status !== null && status >= 400) return true;
  if (awsErrorName === 'TimeoutError') return true;
  return code !== undefined && NETWORK_ERROR_CODES.has(code);
}

function isRetryable(facts: { awsErrorName: string; code?: string; status: number | null; sdkRetryable: unknown }): boolean {
  if (facts.sdkRetryable) return true;
  if (PERMANENT_ERROR_NAMES.has(facts.awsErrorName)) return false;
  if (THROTTLING_ERROR_NAMES.has(facts.awsErrorName) || TRANSIENT_ERROR_NAMES.has(facts.awsErrorName)) return true;
  if (facts.code !== undefined && NETWORK_ERROR_CODES.has(facts.code)) return true;
  if (NETWORK_ERROR_CODES.has(facts.awsErrorName)) return true;
  if (facts.status !== null) return facts.status === 429 || facts.status >= 500;
  return false;
}

function networkCodeIn(message: string): string | undefined {
  const match = /\b(E[A-Z_]+)\b/.exec(message);
  return match?.[1] !== undefined && NETWORK_ERROR_CODES.has(match[1]) ? match[1] : undefined;
}

function flatten(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
