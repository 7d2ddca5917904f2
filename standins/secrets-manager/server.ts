import { createHash, randomUUID } from 'node:crypto';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AwsServiceError } from './aws-error';
import { FaultPlan, FaultSpec, FiredFault, KmsErrorName, StandInFaults } from './faults';
import { RequestInput } from './input';
import { STANDIN_ACCOUNT_ID, SecretsStore, StandInSecret, isSupportedOperation } from './secrets-store';

/**
 * A LOCAL STAND-IN for AWS Secrets Manager speaking the AWS JSON 1.1 protocol the real
 * @aws-sdk/client-secrets-manager uses. Signatures are not verified. For tests and demos only.
 */

export interface SecretsManagerStandInOptions {
  host?: string;
  port?: number;
  region?: string;
  /** Added before every AWS API answer. */
  latencyMs?: number;
  /**
   * How far the stand-in's clock is ahead of this machine's (ms; negative: behind). Applies to
   * every date it stores (CreatedDate, LastChangedDate, …) and to its `Date` response header, as
   * for a worker whose own clock drifted from AWS's.
   */
  clockOffsetMs?: number;
  logger?: Logger;
}

export interface SecretsManagerStandIn {
  url: string;
  port: number;
  region: string;
  faults: StandInFaults;
  /** Inspect: every secret with its versions (id, stages, SecretString, createdDate), kms key, tags. */
  snapshot(): StandInSecret[];
  secret(name: string): StandInSecret | undefined;
  /** Counts of calls: `<Operation>` (all calls) and `<Operation>:<outcome>` (ok, an error name, or fault:<kind>). */
  counters: Record<string, number>;
  close(): Promise<void>;
}

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
const TARGET_PREFIX = 'secretsmanager.';
const MAX_BODY_BYTES = 1024 * 1024;

export async function startSecretsManagerStandIn(
  options: SecretsManagerStandInOptions = {},
): Promise<SecretsManagerStandIn> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const latencyMs = options.latencyMs ?? 0;
  const logger = options.logger;
  const clockOffsetMs = options.clockOffsetMs ?? 0;
  const store = new SecretsStore({ region, now: () => new Date(Date.now() + clockOffsetMs) });
  const faults = new FaultPlan();
  const counters: Record<string, number> = {};
  const pendingTimers = new Set<NodeJS.Timeout>();

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (ms <= 0) return resolve();
      const timer = setTimeout(() => {
        pendingTimers.delete(timer);
        resolve();
      }, ms);
      pendingTimers.add(timer);
    });

  const count = (operation: string, outcome: string): void => {
    counters[operation] = (counters[operation] ?? 0) + 1;
    const key = `${operation}:${outcome}`;
    counters[key] = (counters[key] ?? 0) + 1;
  };

  async function handleAwsRequest(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const started = Date.now();
    const target = headerValue(req, 'x-amz-target');
    if (req.method !== 'POST' || !target?.startsWith(TARGET_PREFIX)) {
      sendAwsError(res, new AwsServiceError('UnknownOperationException', 'Expected POST / with X-Amz-Target: secretsmanager.<Operation>.'));
      return;
    }
    const operation = target.slice(TARGET_PREFIX.length);
    let input: RequestInput;
    try {
      input = parseJsonObject(await readBody(req));
    } catch (error) {
      count(operation, 'SerializationException');
      sendAwsError(res, new AwsServiceError('SerializationException', (error as Error).message));
      return;
    }
    if (!isSupportedOperation(operation)) {
      count(operation, 'UnknownOperationException');
      sendAwsError(
        res,
        new AwsServiceError('UnknownOperationException', `The local stand-in does not implement secretsmanager.${operation}.`),
      );
      return;
    }

    const fault: FiredFault | undefined = faults.take(operation);
    await sleep(latencyMs);
    if (fault?.kind === 'throttle') {
      count(operation, 'fault:throttle');
      sendAwsError(res, new AwsServiceError('ThrottlingException', 'Rate exceeded'));
      return logRequest(operation, 400, 'fault:throttle');
    }
    if (fault?.kind === 'internalError') {
      count(operation, 'fault:internalError');
      sendAwsError(res, new AwsServiceError('InternalServiceError', 'An error occurred on the server side.', 500));
      return logRequest(operation, 500, 'fault:internalError');
    }
    if (fault?.kind === 'echoRequest') {
      count(operation, 'fault:echoRequest');
      // Deliberately breaks the stand-in's "no secret in a message" rule, as a careless upstream would.
      const secretString = (input as { SecretString?: unknown }).SecretString;
      const quoted = typeof secretString === 'string' ? secretString : JSON.stringify(input);
      sendAwsError(res, new AwsServiceError('ValidationException', `1 validation error detected: Value '${quoted}' at 'secretString' failed to satisfy constraint`));
      return logRequest(operation, 400, 'fault:echoRequest');
    }
    if (fault?.kind === 'kms') {
      const name = fault.kmsError ?? 'KMSDisabledException';
      count(operation, `fault:kms:${name}`);
      sendAwsError(res, kmsRefusal(name, kmsKeyArnOf(input)));
      return logRequest(operation, 400, `fault:kms:${name}`);
    }
    if (fault?.kind === 'delay') await sleep(fault.delayMs ?? 1000);

    let outcome: { status: number; body: unknown; error?: AwsServiceError };
    try {
      outcome = { status: 200, body: store.execute(operation, input) };
    } catch (error) {
      const awsError =
        error instanceof AwsServiceError
          ? error
          : new AwsServiceError('InternalServiceError', 'An error occurred on the server side.', 500);
      if (!(error instanceof AwsServiceError)) logger?.error({ err: error, operation }, 'stand-in internal failure');
      outcome = { status: awsError.httpStatus, body: undefined, error: awsError };
    }
    const outcomeName = outcome.error ? outcome.error.awsName : 'ok';

    if (fault?.kind === 'applyThenTimeout') {
      count(operation, 'fault:applyThenTimeout');
      logRequest(operation, outcome.status, 'fault:applyThenTimeout');
      // The change is applied; the answer is withheld (or arrives after the client gave up).
      if (fault.delayMs === undefined) return;
      await sleep(fault.delayMs);
    } else {
      count(operation, outcomeName);
      logRequest(operation, outcome.status, outcomeName);
    }
    if (outcome.error) sendAwsError(res, outcome.error);
    else sendJson(res, 200, outcome.body, JSON_CONTENT_TYPE);

    function logRequest(op: string, status: number, result: string): void {
      logger?.debug(
        { operation: op, status, outcome: result, awsRequestId: requestId, durationMs: Date.now() - started },
        'secrets manager stand-in request',
      );
    }
  }

  /** The ARN of the KMS key the request's secret is encrypted with (the AWS managed key when none is named). */
  function kmsKeyArnOf(input: RequestInput): string {
    const secretId = (input as { SecretId?: unknown; Name?: unknown }).SecretId ?? (input as { Name?: unknown }).Name;
    const named = typeof secretId === 'string' ? store.secret(secretId)?.kmsKeyId : undefined;
    const keyId = named ?? (input as { KmsKeyId?: unknown }).KmsKeyId;
    if (typeof keyId === 'string' && keyId.startsWith('arn:')) return keyId;
    if (typeof keyId === 'string' && keyId !== '') {
      return `arn:aws:kms:${region}:${STANDIN_ACCOUNT_ID}:${keyId.startsWith('alias/') ? keyId : `key/${keyId}`}`;
    }
    return `arn:aws:kms:${region}:${STANDIN_ACCOUNT_ID}:alias/aws/secretsmanager`;
  }

  async function handleAdminRequest(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    if (path === '/_standin/state' && req.method === 'GET') {
      const includeSecretValues = query.get('includeSecretValues') === 'true';
      sendJson(res, 200, {
        service: 'secretsmanager',
        standIn: true,
        region,
        secrets: store.snapshot().map((secret) => (includeSecretValues ? secret : redact(secret))),
        counters,
        faults: { active: faults.active, injected: faults.injected },
      });
      return;
    }
    if (path === '/_standin/faults' && req.method === 'POST') {
      try {
        const spec = parseJsonObject(await readBody(req)) as unknown as FaultSpec;
        faults.inject(spec);
      } catch (error) {
        sendJson(res, 400, { error: (error as Error).message });
        return;
      }
      sendJson(res, 201, { active: faults.active });
      return;
    }
    if (path === '/_standin/faults' && req.method === 'DELETE') {
      faults.clear();
      res.statusCode = 204;
      res.end();
      return;
    }
    sendJson(res, 404, {
      error: `No stand-in admin route ${req.method} ${path}. Routes: GET /_standin/state, POST /_standin/faults, DELETE /_standin/faults.`,
    });
  }

  const server: Server = createServer((req, res) => {
    const requestId = randomUUID();
    res.setHeader('x-amzn-RequestId', requestId);
    if (clockOffsetMs !== 0) res.setHeader('Date', new Date(Date.now() + clockOffsetMs).toUTCString());
    const url = new URL(req.url ?? '/', 'http://stand-in.local');
    const work = url.pathname.startsWith('/_standin/')
      ? handleAdminRequest(req, res, url.pathname, url.searchParams)
      : handleAwsRequest(req, res, requestId);
    work.catch((error: unknown) => {
      logger?.error({ err: error }, 'stand-in failed to answer a request');
      if (!res.headersSent && !res.destroyed) {
        sendAwsError(res, new AwsServiceError('InternalServiceError', 'An error occurred on the server side.', 500));
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    region,
    faults,
    counters,
    snapshot: () => store.snapshot(),
    secret: (name: string) => store.secret(name),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of pendingTimers) clearTimeout(timer);
        pendingTimers.clear();
        server.close(() => resolve());
        // Withheld answers (applyThenTimeout) and keep-alive sockets would hold close() open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** What AWS answers when KMS refuses Secrets Manager; wording from the API references named in KMS_ERRORS. */
function kmsRefusal(name: KmsErrorName, keyArn: string): AwsServiceError {
  switch (name) {
    case 'DecryptionFailure':
      return new AwsServiceError(name, "Secrets Manager can't decrypt the protected secret text using the provided KMS key.");
    case 'EncryptionFailure':
      return new AwsServiceError(
        name,
        "Secrets Manager can't encrypt the protected secret text using the provided KMS key. Check that the KMS key is available, enabled, and not in an invalid state.",
      );
    case 'AccessDeniedException':
      return new AwsServiceError(name, 'Access to KMS is not allowed');
    case 'KMSDisabledException':
      return new AwsServiceError(name, `${keyArn} is disabled.`);
    case 'KMSInvalidStateException':
      return new AwsServiceError(name, `${keyArn} is pending deletion.`);
    case 'KMSAccessDeniedException':
      return new AwsServiceError(
        name,
        'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.',
      );
  }
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`Request body exceeds ${MAX_BODY_BYTES} bytes.`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJsonObject(body: string): RequestInput {
  if (body.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error('The request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error('The request body must be a JSON object.');
  }
  return parsed as RequestInput;
}

function sendJson(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  if (res.destroyed || res.writableEnded) return;
  const payload = JSON.stringify(body ?? {});
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

function sendAwsError(res: ServerResponse, error: AwsServiceError): void {
  if (res.destroyed || res.writableEnded) return;
  res.setHeader('x-amzn-ErrorType', error.awsName);
  sendJson(res, error.httpStatus, { __type: error.awsName, message: error.message }, JSON_CONTENT_TYPE);
}

/** The admin state omits secret values unless asked: a fingerprint is enough to compare. */
function redact(secret: StandInSecret): unknown {
  return {
    ...secret,
    versions: secret.versions.map(({ secretString, secretBinary, ...version }) => ({
      ...version,
      ...(secretString !== undefined ? { secretStringSha256: sha256(secretString) } : {}),
      ...(secretBinary !== undefined ? { secretBinarySha256: sha256(secretBinary) } : {}),
    })),
  };
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
