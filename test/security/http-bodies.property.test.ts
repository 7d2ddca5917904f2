import fc from 'fast-check';
import { Agent, request as httpRequest } from 'node:http';
import type { JobType } from 'bullmq';
import { Redis } from 'ioredis';
import { stringify as toYaml } from 'yaml';
import { parseSettings } from '../../src/config';
import { createQueueClient, type QueueClient } from '../../src/app/queue-client';
import { DEFAULT_BODY_LIMIT_BYTES, startHttpServer, type RunningHttpServer } from '../../src/http/server';
import { RotatorMetrics } from '../../src/metrics/rotator-metrics';
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from '../support/redis';
import { LogCapture } from '../support/test-bed';

/**
 * Random JSON values, raw strings, content types and oversized bodies as POST /rotations, through
 * the real Fastify server on loopback and a real queue on Redis. (Not `app.inject`: light-my-request
 * loads the ESM-only `cookie` 2, which Jest on Node 20 cannot require.) Raw node:http requests, so
 * no client adds or fixes a content type. Whatever arrives, the answer is
 * a JSON `{error, message}` with 400, 413 or 415 — or 202 when, and only when, the body is a valid
 * request — never a 500 or a stack trace, and an invalid body never adds a job.
 */

const TOKEN = 'http-fuzz-token-0123456789abcdef';
const ALL_MAILBOXES = ['mbx_fuzz_all_1', 'mbx_fuzz_all_2', 'mbx_fuzz_all_3'];
const ACCEPTED_FIELDS = new Set(['mailboxIds', 'all', 'force', 'revokeNow']);
const ID = /^[A-Za-z0-9_-]{1,255}$/;
const STACK_FRAME = /\n\s*at .+:\d+:\d+/;

/**
 * The API's contract for a POST /rotations body, written independently of the server's zod schema:
 * a JSON object with only the accepted fields, exactly one of `mailboxIds` (1-1000 distinct ids)
 * or `"all": true`, and JSON booleans for `force` and `revokeNow`.
 */
function isValidRequest(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const fields = Object.keys(body);
  if (fields.some((field) => !ACCEPTED_FIELDS.has(field))) return false;
  const record = body as Record<string, unknown>;
  const hasIds = 'mailboxIds' in record;
  if (hasIds === 'all' in record) return false;
  if (!hasIds && record.all !== true) return false;
  for (const flag of ['force', 'revokeNow']) if (flag in record && typeof record[flag] !== 'boolean') return false;
  if (hasIds) {
    const ids = record.mailboxIds;
    if (!Array.isArray(ids) || ids.length < 1 || ids.length > 1000) return false;
    if (!ids.every((id) => typeof id === 'string' && ID.test(id))) return false;
    if (new Set(ids).size !== ids.length) return false;
  }
  return true;
}

let prefix: string;
let client: QueueClient;
let server: RunningHttpServer;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
let redis: Redis;
const logs = new LogCapture();

async function jobCount(): Promise<number> {
  const counts = await client.queue.queue.getJobCounts();
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  raw: string;
}

function send(payload: string | undefined, contentType: string | undefined): Promise<{ status: number; text: string }> {
  const bytes = payload === undefined ? undefined : Buffer.from(payload, 'utf8');
  const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
  if (contentType !== undefined) headers['content-type'] = contentType;
  if (bytes !== undefined) headers['content-length'] = String(bytes.length);
  const url = new URL('/rotations', server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(bytes);
  });
}

async function post(payload: string | undefined, contentType: string | undefined): Promise<Answer> {
  const { status, text } = await send(payload, contentType);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`status ${status} with a body that is not JSON: ${text.slice(0, 300)}`);
  }
  return { status, body, raw: text };
}

/** The rules every answer keeps; throws naming the request. */
function expectSafeAnswer(answer: Answer, what: string): void {
  if (answer.status >= 500) throw new Error(`${what}: answered ${answer.status}: ${answer.raw.slice(0, 500)}`);
  if (STACK_FRAME.test(answer.raw)) throw new Error(`${what}: the answer carries a stack trace: ${answer.raw.slice(0, 500)}`);
  if (answer.raw.includes(TOKEN)) throw new Error(`${what}: the answer echoes the API token`);
}

/** A 4xx answer is `{error, message}` that names a field or the problem. */
function expectClearError(answer: Answer, what: string): void {
  const { error, message, problems } = answer.body as { error?: unknown; message?: unknown; problems?: unknown };
  const ok =
    typeof error === 'string' &&
    /^[a-z_]+$/.test(error) &&
    typeof message === 'string' &&
    message.trim().length >= 10 &&
    (error !== 'invalid_body' ||
      (Array.isArray(problems) &&
        problems.length > 0 &&
        // A field may be named "" when the unknown key itself is the empty string (`{"": 0}`).
        problems.every((p: { field?: unknown; message?: unknown }) => typeof p.field === 'string' && typeof p.message === 'string' && p.message.trim() !== '')));
  if (!ok) throw new Error(`${what}: ${answer.status} without a clear {error, message}: ${answer.raw.slice(0, 500)}`);
}

/** Sends one body and checks the answer against the contract. */
async function checkBody(payload: string | undefined, contentType: string | undefined, parsed: { valid: boolean } | undefined): Promise<void> {
  const what = `POST /rotations content-type ${JSON.stringify(contentType)} body ${JSON.stringify(payload)?.slice(0, 200)}`;
  const before = await jobCount();
  const answer = await post(payload, contentType);
  expectSafeAnswer(answer, what);
  const bytes = payload === undefined ? 0 : Buffer.byteLength(payload);
  // Fastify reads any `application/json` (any case, any parameters, even another charset) as UTF-8 JSON.
  const isJsonType = contentType !== undefined && /^application\/json\s*(;.*)?$/i.test(contentType.trim());

  if (parsed?.valid && isJsonType && bytes <= DEFAULT_BODY_LIMIT_BYTES) {
    if (answer.status !== 202) throw new Error(`${what}: a valid request was answered ${answer.status}: ${answer.raw.slice(0, 300)}`);
    const rotations = answer.body.rotations as Array<{ status: string; jobId?: string }>;
    if (!Array.isArray(rotations) || !rotations.every((r) => (r.status === 'enqueued' || r.status === 'existing') && typeof r.jobId === 'string')) {
      throw new Error(`${what}: 202 without a job for every mailbox: ${answer.raw.slice(0, 300)}`);
    }
    return;
  }
  if (![400, 413, 415].includes(answer.status)) throw new Error(`${what}: an invalid request was answered ${answer.status}: ${answer.raw.slice(0, 300)}`);
  if (bytes > DEFAULT_BODY_LIMIT_BYTES && isJsonType && answer.status !== 413) throw new Error(`${what}: ${bytes} bytes answered ${answer.status}, not 413`);
  expectClearError(answer, what);
  const after = await jobCount();
  if (after !== before) throw new Error(`${what}: an invalid request changed the job count from ${before} to ${after}`);
}

// ---- arbitraries --------------------------------------------------------------------------------

const validId = fc.stringMatching(/^mbx_[A-Za-z0-9_-]{1,12}$/);
const oddId = fc.oneof(
  fc.constantFrom('', '..', '../x', 'mbx/1', 'mbx_1?x', 'mbx 1', 'mbx_é', 'mbx_1\n', 'mbx_1\u0000', '💥', 'a'.repeat(256), 'mbx_%2F', 'mbx.1'),
  fc.string({ unit: 'binary', maxLength: 12 }),
);
const anyValue = fc.jsonValue({ maxDepth: 3 });

/** A valid request: mailbox ids or "all", with optional flags. */
const validRequest = fc
  .tuple(
    fc.oneof(fc.uniqueArray(validId, { minLength: 1, maxLength: 5 }).map((mailboxIds) => ({ mailboxIds })), fc.constant({ all: true as const })),
    fc.record({ force: fc.boolean(), revokeNow: fc.boolean() }, { requiredKeys: [] }),
  )
  .map(([target, flags]): Record<string, unknown> => ({ ...target, ...flags }));

type Mutation = (body: Record<string, unknown>) => Record<string, unknown>;

/** One way of breaking a request; `__proto__` is set as an own field, as JSON.parse would make it. */
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.constantFrom('mailboxId', 'ids', 'Force', '__proto__', 'constructor', 'prototype', '', 'x'), anyValue).map(
    ([field, value]): Mutation =>
      (body) => {
        const copy = { ...body };
        Object.defineProperty(copy, field, { value, enumerable: true, configurable: true, writable: true });
        return copy;
      },
  ),
  fc.tuple(fc.constantFrom('mailboxIds', 'all', 'force', 'revokeNow'), anyValue).map(([field, value]): Mutation => (body) => ({ ...body, [field]: value })),
  fc.tuple(oddId, fc.nat()).map(([bad, at]): Mutation => (body) => {
    const ids = Array.isArray(body.mailboxIds) ? [...(body.mailboxIds as unknown[])] : ['mbx_1'];
    ids.splice(at % (ids.length + 1), 0, bad);
    return { ...body, mailboxIds: ids, all: undefined };
  }),
  fc.constant<Mutation>((body) => (Array.isArray(body.mailboxIds) ? { ...body, mailboxIds: [...body.mailboxIds, body.mailboxIds[0]] } : body)),
  fc.constant<Mutation>((body) => ({ ...body, mailboxIds: [], all: undefined })),
  fc.constant<Mutation>((body) => ({ ...body, mailboxIds: ['mbx_1'], all: true })),
  fc.constant<Mutation>(({ mailboxIds: _ids, all: _all, ...rest }) => rest),
  fc.constantFrom<Mutation>((body) => ({ ...body, all: false }), (body) => ({ ...body, force: 'true' }), (body) => ({ ...body, revokeNow: 1 })),
);

/** Requests that are valid about a third of the time and otherwise broken in one or two ways. */
const requestLike = fc
  .tuple(validRequest, fc.array(mutation, { maxLength: 2 }))
  // JSON round trip: drops the fields a mutation set to undefined, as a client's JSON would.
  .map(([body, mutations]) => JSON.parse(JSON.stringify(mutations.reduce((acc, mutate) => mutate(acc), body))) as unknown);

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;charset=UTF-16', 'text/plain', 'text/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/octet-stream', 'application/vnd.api+json', '', '*/*', 'application/json, text/plain') },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const rawText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.constantFrom('', ' ', 'null', 'true', '[]', '{}', '"all"', '{', '{"all":true', '{"all":true}}', "{'all': true}", '{"all":true,"all":false}', '{"__proto__":{"all":true}}', '{"constructor":{"prototype":{"x":1}}}', '{"mailboxIds":["mbx_1"],"mailboxIds":["../x"]}', '\uFEFF{"all":true}', '{"all":true}\u0000', 'all=true', '<rotations/>'),
);

// ---- tests --------------------------------------------------------------------------------------

beforeAll(async () => {
  prefix = uniquePrefix('http-fuzz');
  const settings = parseSettings(
    toYaml({ mailboxes: 'all', schedule: '0 3 * * 1', timezone: 'UTC', minRotationInterval: '0s', revokePreviousAfter: '0s' }),
    { SENDMUX_API_KEY: 'smx_root_HTTPFUZZ0123456789', REDIS_URL: TEST_REDIS_URL, ROTATOR_QUEUE_PREFIX: prefix, AWS_REGION: 'us-east-1' },
    'http-fuzz.yaml',
  );
  client = createQueueClient(settings);
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  const metrics = new RotatorMetrics({
    queue: { getJobCounts: (...states: string[]) => client.queue.queue.getJobCounts(...(states as JobType[])) },
    lastRotations: () => client.ledger.allLastRotations(),
  });
  server = await startHttpServer({
    logger: logs.logger,
    queue: client.queue,
    redis: client.redis,
    metrics,
    apiToken: TOKEN,
    host: '127.0.0.1',
    port: 0,
    history: { forMailbox: async () => [] },
    resolveAllMailboxIds: async () => [...ALL_MAILBOXES],
    // This fuzz is about body parsing: every well-formed id counts as configured here
    // (coverage itself is tested in test/http/trust-boundary.test.ts).
    covers: async () => ({ covered: true }),
  });
});

afterAll(async () => {
  agent.destroy();
  await server?.close();
  await client?.close();
  await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
});

describe('POST /rotations on random bodies', () => {
  it('answers request-shaped JSON objects with 202 exactly when they are valid, else 400 naming the field', async () => {
    await fc.assert(
      fc.asyncProperty(requestLike, async (body) => {
        await checkBody(JSON.stringify(body), 'application/json', { valid: isValidRequest(body) });
      }),
      { numRuns: 700 },
    );
  });

  it('answers arbitrary JSON values with a clear 400 (or 202 for the rare valid one)', async () => {
    await fc.assert(
      fc.asyncProperty(anyValue, async (value) => {
        const payload = JSON.stringify(value);
        await checkBody(payload, 'application/json', { valid: isValidRequest(JSON.parse(payload)) });
      }),
      { numRuns: 500 },
    );
  });

  it('answers raw text under random content types with 400 or 415, or 202 for JSON text of a valid request', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(rawText, requestLike.map((body) => JSON.stringify(body))), contentType, async (text, type) => {
        let parsed: { valid: boolean } = { valid: false };
        try {
          // Fastify's JSON parser skips a leading byte order mark, as RFC 8259 allows.
          parsed = { valid: isValidRequest(JSON.parse(text.replace(/^\uFEFF/, ''))) };
        } catch {
          // not JSON: must be refused
        }
        await checkBody(text, type, parsed);
      }),
      { numRuns: 600 },
    );
  });

  it('answers bodies over the size limit with 413 (or 415 for a type it does not read) and enqueues nothing', async () => {
    const oversized = fc.tuple(
      fc.integer({ min: DEFAULT_BODY_LIMIT_BYTES + 1, max: 4 * DEFAULT_BODY_LIMIT_BYTES }),
      fc.constantFrom('ids', 'padding', 'raw'),
      fc.oneof({ weight: 4, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/octet-stream') }),
    );
    await fc.assert(
      fc.asyncProperty(oversized, async ([bytes, shape, type]) => {
        let payload: string;
        if (shape === 'ids') {
          // A well-formed request that is simply too big: valid ids until over the limit.
          const ids: string[] = [];
          let size = 20;
          for (let i = 0; size <= bytes; i++) {
            ids.push(`mbx_big_${i}`);
            size += `"mbx_big_${i}",`.length;
          }
          payload = JSON.stringify({ mailboxIds: ids });
        } else if (shape === 'padding') {
          payload = JSON.stringify({ all: true, note: 'x'.repeat(bytes) });
        } else {
          payload = 'y'.repeat(bytes);
        }
        await checkBody(payload, type, { valid: false });
      }),
      { numRuns: 60 },
    );
  });

  it('logs no request failure (500) while being fuzzed', () => {
    const failures = logs.parsed().filter((line) => line['msg'] === 'request failed' || Number(line['level']) >= 50);
    expect(failures).toEqual([]);
  });
});
