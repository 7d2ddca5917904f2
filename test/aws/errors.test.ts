import {
  DecryptionFailure,
  EncryptionFailure,
  InternalServiceError,
  InvalidParameterException,
  InvalidRequestException,
  LimitExceededException,
  MalformedPolicyDocumentException,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { SecretStoreError, toSecretStoreError } from '../../src/aws/errors';

const context = { operation: 'GetSecretValue', secretId: 'mailbox/mb_1' };
const metadata = (httpStatusCode: number) => ({ httpStatusCode, requestId: 'req-123' });

describe('toSecretStoreError', () => {
  it.each([
    ['ResourceNotFoundException', new ResourceNotFoundException({ message: 'gone', $metadata: metadata(400) })],
    ['InvalidParameterException', new InvalidParameterException({ message: 'bad', $metadata: metadata(400) })],
    ['InvalidRequestException', new InvalidRequestException({ message: 'deleted', $metadata: metadata(400) })],
    ['ResourceExistsException', new ResourceExistsException({ message: 'exists', $metadata: metadata(400) })],
    ['DecryptionFailure', new DecryptionFailure({ message: 'kms', $metadata: metadata(400) })],
    ['EncryptionFailure', new EncryptionFailure({ message: 'kms', $metadata: metadata(400) })],
    ['LimitExceededException', new LimitExceededException({ message: 'quota', $metadata: metadata(400) })],
    ['MalformedPolicyDocumentException', new MalformedPolicyDocumentException({ message: 'policy', $metadata: metadata(400) })],
  ])('treats %s as permanent', (name, sdkError) => {
    const error = toSecretStoreError(sdkError, context);
    expect(error).toMatchObject({ awsErrorName: name, status: 400, retryable: false, requestId: 'req-123' });
  });

  it('treats AccessDeniedException as permanent', () => {
    const sdkError = new SecretsManagerServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: metadata(400) });
    expect(toSecretStoreError(sdkError, context)).toMatchObject({ awsErrorName: 'AccessDeniedException', retryable: false });
  });

  it.each([
    ['ThrottlingException', 400, 'client'],
    ['InternalServiceError', 500, 'server'],
    ['ServiceUnavailable', 503, 'server'],
  ] as const)('treats %s as retryable', (name, status, fault) => {
    const sdkError = new SecretsManagerServiceException({ name, $fault: fault, $metadata: metadata(status) });
    expect(toSecretStoreError(sdkError, context)).toMatchObject({ awsErrorName: name, status, retryable: true });
  });

  it('treats the modelled InternalServiceError as retryable', () => {
    const sdkError = new InternalServiceError({ message: 'oops', $metadata: metadata(500) });
    expect(toSecretStoreError(sdkError, context).retryable).toBe(true);
  });

  it('treats an unknown error with a 5xx status as retryable and one with a 4xx status as permanent', () => {
    const serverSide = new SecretsManagerServiceException({ name: 'SomethingNew', $fault: 'server', $metadata: metadata(502) });
    const clientSide = new SecretsManagerServiceException({ name: 'SomethingElse', $fault: 'client', $metadata: metadata(400) });
    expect(toSecretStoreError(serverSide, context).retryable).toBe(true);
    expect(toSecretStoreError(clientSide, context).retryable).toBe(false);
  });

  it('trusts the SDK $retryable marker', () => {
    const sdkError = new SecretsManagerServiceException({ name: 'SomethingElse', $fault: 'client', $metadata: metadata(400) });
    sdkError.$retryable = { throttling: false };
    expect(toSecretStoreError(sdkError, context).retryable).toBe(true);
  });

  it('treats a client-side TimeoutError as retryable with no status', () => {
    const timeout = Object.assign(new Error('request exceeded 300 ms'), { name: 'TimeoutError', $metadata: {} });
    expect(toSecretStoreError(timeout, context)).toMatchObject({ awsErrorName: 'TimeoutError', status: null, retryable: true });
  });

  it('reads retryAfterMs from a Retry-After header on the response', () => {
    const sdkError = new SecretsManagerServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: metadata(400) });
    Object.defineProperty(sdkError, '$response', { value: { statusCode: 400, headers: { 'retry-after': '2' } } });
    expect(toSecretStoreError(sdkError, context).retryAfterMs).toBe(2000);
  });

  function throttledWith(headers: Record<string, string>) {
    const sdkError = new SecretsManagerServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: metadata(400) });
    Object.defineProperty(sdkError, '$response', { value: { statusCode: 400, headers } });
    return sdkError;
  }

  it.each([
    ['1e9 seconds', '1000000000', 300_000],
    ['an HTTP-date in 2100', 'Fri, 01 Jan 2100 00:00:00 GMT', 300_000],
  ])('clamps a Retry-After of %s to the bound (rotation.backoffMaxDelay, default 5 min)', (_name, header, expected) => {
    expect(toSecretStoreError(throttledWith({ 'retry-after': header }), context).retryAfterMs).toBe(expected);
    expect(toSecretStoreError(throttledWith({ 'retry-after': header }), { ...context, maxServerDelayMs: 2_000 }).retryAfterMs).toBe(2_000);
  });

  it.each([['400 nines', '9'.repeat(400)], ['a negative number', '-5'], ['garbage', 'soon']])('ignores a Retry-After of %s', (_name, header) => {
    expect(toSecretStoreError(throttledWith({ 'retry-after': header }), context).retryAfterMs).toBeUndefined();
  });

  it('reads the x-amz-retry-after hint (ms) when there is no Retry-After', () => {
    expect(toSecretStoreError(throttledWith({ 'x-amz-retry-after': '1500' }), context).retryAfterMs).toBe(1500);
  });

  it('scrubs an AWS message that quotes the request: key-shaped text and the known secrets of the call', () => {
    const echoed = new InvalidRequestException({
      message: `Value '{"api_key":"smx_mbx_ECHOEDkey0123456789abcdef","password":"imap-pass-0123"}' at 'secretString' failed`,
      $metadata: metadata(400),
    });
    const error = toSecretStoreError(echoed, { ...context, knownSecrets: ['imap-pass-0123'] });
    expect(error.message).not.toContain('smx_mbx_ECHOEDkey0123456789abcdef');
    expect(error.message).not.toContain('imap-pass-0123');
    expect(error.message).toContain("at 'secretString' failed");
  });

  it('names the operation, secret id, error name and request id in its message', () => {
    const error = toSecretStoreError(new ResourceNotFoundException({ message: 'not here', $metadata: metadata(400) }), context);
    expect(error.message).toBe(
      'Secrets Manager GetSecretValue for secret "mailbox/mb_1" failed with ResourceNotFoundException ' +
        '(HTTP 400, request id req-123; not retryable): not here',
    );
  });

  it('leaves out the message of an error that is neither an AWS answer nor a network failure, as it may quote a response body', () => {
    const parseFailure = Object.assign(new SyntaxError('Unexpected token in {"SecretString":"sk_live_secret"}'), { $metadata: {} });
    const error = toSecretStoreError(parseFailure, context);
    expect(error.message).not.toContain('sk_live_secret');
    expect(error.awsErrorName).toBe('SyntaxError');
  });

  it('returns a SecretStoreError unchanged', () => {
    const original = toSecretStoreError(new ResourceNotFoundException({ message: 'x', $metadata: metadata(400) }), context);
    expect(toSecretStoreError(original, { operation: 'Other', secretId: 'other' })).toBe(original);
    expect(original).toBeInstanceOf(SecretStoreError);
    expect(original.name).toBe('SecretStoreError');
  });
});
