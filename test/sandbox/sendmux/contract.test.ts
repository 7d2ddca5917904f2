import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv';
import { startSendmuxSandbox } from '../../../standins/sendmux';
import type { SendmuxSandbox } from '../../../standins/sendmux';
import { ACTIVE, DELETED, OTHER_ACTIVE as OTHER, ROOT_KEY, SUSPENDED, call, mint, mintSecret, revoke, waitFor } from './helpers';
import type { ApiResponse } from './helpers';

const OPENAPI_PATH = path.resolve(__dirname, '../../../vendor/sendmux/openapi-management-subset.json');
const DOC_ID = 'https://sandbox.test/sendmux-openapi.json';
const READ_ONLY_KEY = 'smx_root_contract_read_only';
const FULL = { id: 'mbx_full', email: 'full@example.test' };

type OpenApiDoc = {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components: { schemas: Record<string, Record<string, unknown>> };
};

function loadOpenApi(): OpenApiDoc {
  return JSON.parse(fs.readFileSync(OPENAPI_PATH, 'utf8')) as OpenApiDoc;
}

/**
 * The published MailboxMe is `allOf: [Mailbox, {quota_used_bytes}]` where BOTH branches say
 * `additionalProperties: false`, so no object can satisfy it (each branch forbids the other's
 * fields). The contract test validates /mailbox/me against the evidently intended composition —
 * the same fields, closed with `unevaluatedProperties: false` — and a separate test pins the defect.
 */
function withIntendedMailboxMe(doc: OpenApiDoc): OpenApiDoc {
  const patched = structuredClone(doc);
  const { additionalProperties: _ignored, ...openMailbox } = patched.components.schemas.Mailbox!;
  patched.components.schemas.MailboxOpen = openMailbox;
  patched.components.schemas.MailboxMe = {
    allOf: [{ $ref: '#/components/schemas/MailboxOpen' }, { properties: { quota_used_bytes: { type: 'integer' } }, type: 'object' }],
    unevaluatedProperties: false,
  };
  return patched;
}

/**
 * The older mint rendering (`data.api_key` + `data.imap_smtp_credentials`) is not in the OpenAPI
 * subset; this schema is written from vendor/sendmux/CONTRACT.md's description of it.
 */
const LEGACY_MINT_RESPONSE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['ok', 'data', 'meta'],
  properties: {
    ok: { const: true },
    meta: { type: 'object', additionalProperties: false, required: ['request_id'], properties: { request_id: { type: 'string' } } },
    data: {
      type: 'object',
      additionalProperties: false,
      required: ['api_key', 'imap_smtp_credentials'],
      properties: {
        api_key: {
          type: ['object', 'null'],
          additionalProperties: false,
          required: ['public_id', 'key', 'key_prefix', 'key_suffix'],
          properties: { public_id: { type: 'string' }, key: { type: 'string' }, key_prefix: { type: 'string' }, key_suffix: { type: 'string' } },
        },
        imap_smtp_credentials: {
          type: ['object', 'null'],
          additionalProperties: false,
          required: ['server', 'imap_port', 'smtp_port', 'username', 'password'],
          properties: {
            server: { type: 'string' },
            imap_port: { type: 'integer' },
            smtp_port: { type: 'integer' },
            username: { type: 'string' },
            password: { type: 'string' },
          },
        },
      },
    },
  },
};

function buildAjv(doc: OpenApiDoc): Ajv2020 {
  // strictTypes is a lint on schema authoring (e.g. the vendor's `unevaluatedProperties` beside an
  // allOf without `type`); it says nothing about responses, so it is off for the vendor's document.
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false });
  // The whole OpenAPI document is registered so that response schemas can be addressed by JSON
  // pointer and their #/components/schemas/... references resolve inside it; its top-level
  // OpenAPI fields and the `example` annotation are declared so strict mode accepts them.
  ajv.addVocabulary(['example', 'openapi', 'info', 'paths', 'components', 'servers', 'security']);
  ajv.addSchema({ ...doc, $id: DOC_ID } as object);
  return ajv;
}

function pointer(...segments: string[]): string {
  return segments.map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

interface ContractCase {
  name: string;
  /** OpenAPI path and method; undefined for a route outside the contract (error envelope only). */
  operation?: { path: string; method: 'get' | 'post' | 'delete' };
  status: number;
  legacyShape?: boolean;
  /** error.retryable when it differs from the rule "5xx and 429 are retryable". */
  retryable?: boolean;
  produce: (sandbox: SendmuxSandbox) => Promise<ApiResponse>;
}

const MINT_PATH = { path: '/mailboxes/{public_id}/keys', method: 'post' } as const;
const REVOKE_PATH = { path: '/mailboxes/{public_id}/keys/{key_id}', method: 'delete' } as const;
const LIST_PATH = { path: '/mailboxes', method: 'get' } as const;
const GET_PATH = { path: '/mailboxes/{public_id}', method: 'get' } as const;
const ME_PATH = { path: '/mailbox/me', method: 'get' } as const;

const cases: ContractCase[] = [
  { name: 'list: 200 first page', operation: LIST_PATH, status: 200, produce: (s) => call(s, 'GET', '/mailboxes?limit=2') },
  {
    name: 'list: 200 last page via cursor, deleted included',
    operation: LIST_PATH,
    status: 200,
    produce: async (s) => {
      const first = await call(s, 'GET', '/mailboxes?limit=3&include_deleted=true');
      return call(s, 'GET', `/mailboxes?limit=100&include_deleted=true&cursor=${first.json.pagination.next_cursor}`);
    },
  },
  { name: 'list: 400 invalid limit', operation: LIST_PATH, status: 400, produce: (s) => call(s, 'GET', '/mailboxes?limit=0') },
  { name: 'list: 401 without a key', operation: LIST_PATH, status: 401, produce: (s) => call(s, 'GET', '/mailboxes', { key: null }) },
  {
    name: 'list: 403 with a mailbox key',
    operation: LIST_PATH,
    status: 403,
    produce: async (s) => call(s, 'GET', '/mailboxes', { key: (await mintSecret(s, ACTIVE.id)).secret }),
  },
  {
    name: 'list: 429 past the rate limit',
    operation: LIST_PATH,
    status: 429,
    produce: async (s) => {
      s.setRateLimit({ max: 1, windowMs: 60_000 });
      try {
        await call(s, 'GET', '/mailboxes');
        return await call(s, 'GET', '/mailboxes');
      } finally {
        s.setRateLimit(null);
      }
    },
  },
  { name: 'get: 200', operation: GET_PATH, status: 200, produce: (s) => call(s, 'GET', `/mailboxes/${ACTIVE.id}`) },
  {
    name: 'get: 304 with If-None-Match',
    operation: GET_PATH,
    status: 304,
    produce: async (s) => {
      const first = await call(s, 'GET', `/mailboxes/${ACTIVE.id}`);
      return call(s, 'GET', `/mailboxes/${ACTIVE.id}`, { headers: { 'if-none-match': first.headers.get('etag') ?? '' } });
    },
  },
  { name: 'get: 404 unknown mailbox', operation: GET_PATH, status: 404, produce: (s) => call(s, 'GET', '/mailboxes/mbx_nope') },
  { name: 'get: 401 unknown key', operation: GET_PATH, status: 401, produce: (s) => call(s, 'GET', `/mailboxes/${ACTIVE.id}`, { key: 'smx_root_nope' }) },
  { name: 'mint: 201 credential shape', operation: MINT_PATH, status: 201, produce: (s) => mint(s, ACTIVE.id, { idempotencyKey: 'contract-201' }) },
  {
    name: 'mint: 201 replay of the same Idempotency-Key',
    operation: MINT_PATH,
    status: 201,
    produce: async (s) => {
      await mint(s, ACTIVE.id, { idempotencyKey: 'contract-replay' });
      return mint(s, ACTIVE.id, { idempotencyKey: 'contract-replay' });
    },
  },
  {
    name: 'mint: 201 legacy shape',
    operation: MINT_PATH,
    status: 201,
    legacyShape: true,
    produce: async (s) => {
      s.setMintShape('legacy');
      try {
        return await mint(s, ACTIVE.id);
      } finally {
        s.setMintShape('credential');
      }
    },
  },
  { name: 'mint: 400 missing app_name', operation: MINT_PATH, status: 400, produce: (s) => call(s, 'POST', `/mailboxes/${ACTIVE.id}/keys`, { body: {} }) },
  {
    name: 'mint: 400 unknown field',
    operation: MINT_PATH,
    status: 400,
    produce: (s) => call(s, 'POST', `/mailboxes/${ACTIVE.id}/keys`, { body: { app_name: 'x', scope: 'all' } }),
  },
  {
    name: 'mint: 400 Idempotency-Key too long',
    operation: MINT_PATH,
    status: 400,
    produce: (s) => mint(s, ACTIVE.id, { idempotencyKey: 'k'.repeat(256) }),
  },
  { name: 'mint: 401 without a key', operation: MINT_PATH, status: 401, produce: (s) => mint(s, ACTIVE.id, { key: null }) },
  { name: 'mint: 403 read-only root key', operation: MINT_PATH, status: 403, produce: (s) => mint(s, ACTIVE.id, { key: READ_ONLY_KEY }) },
  { name: 'mint: 404 unknown mailbox', operation: MINT_PATH, status: 404, produce: (s) => mint(s, 'mbx_nope') },
  {
    name: 'mint: 409 idempotency_conflict for a different body',
    operation: MINT_PATH,
    status: 409,
    produce: async (s) => {
      await mint(s, ACTIVE.id, { idempotencyKey: 'contract-conflict', appName: 'one' });
      return mint(s, ACTIVE.id, { idempotencyKey: 'contract-conflict', appName: 'two' });
    },
  },
  {
    name: 'mint: 409 idempotency_conflict while in flight',
    operation: MINT_PATH,
    status: 409,
    retryable: true,
    produce: async (s) => {
      s.faults.inject({ operation: 'mintMailboxKey', kind: 'delay', delayMs: 300 });
      const before = s.state.mintLog.length;
      const first = mint(s, ACTIVE.id, { idempotencyKey: 'contract-in-flight' });
      await waitFor(() => s.state.mintLog.length > before);
      const second = await mint(s, ACTIVE.id, { idempotencyKey: 'contract-in-flight' });
      await first;
      return second;
    },
  },
  {
    name: 'mint: 409 limit_exceeded',
    operation: MINT_PATH,
    status: 409,
    produce: async (s) => {
      s.setCredentialLimits({ perMailbox: 1 });
      try {
        return await mint(s, FULL.id);
      } finally {
        s.setCredentialLimits({ perMailbox: null });
      }
    },
  },
  {
    name: 'mint: 413 body over 64 KiB',
    operation: MINT_PATH,
    status: 413,
    produce: (s) => call(s, 'POST', `/mailboxes/${ACTIVE.id}/keys`, { body: { app_name: 'x'.repeat(70 * 1024) } }),
  },
  { name: 'mint: 422 suspended mailbox', operation: MINT_PATH, status: 422, produce: (s) => mint(s, SUSPENDED.id) },
  {
    name: 'mint: 429 injected',
    operation: MINT_PATH,
    status: 429,
    produce: (s) => {
      s.faults.inject({ operation: 'mintMailboxKey', kind: 'status429', retryAfterSeconds: 2 });
      return mint(s, ACTIVE.id);
    },
  },
  {
    name: 'mint: 500 injected',
    operation: MINT_PATH,
    status: 500,
    produce: (s) => {
      s.faults.inject({ operation: 'mintMailboxKey', kind: 'status500' });
      return mint(s, ACTIVE.id);
    },
  },
  {
    name: 'mint: 503 injected',
    operation: MINT_PATH,
    status: 503,
    produce: (s) => {
      s.faults.inject({ operation: 'mintMailboxKey', kind: 'status503', retryAfterSeconds: 3 });
      return mint(s, ACTIVE.id);
    },
  },
  {
    name: 'revoke: 200',
    operation: REVOKE_PATH,
    status: 200,
    produce: async (s) => revoke(s, ACTIVE.id, (await mintSecret(s, ACTIVE.id)).keyId),
  },
  {
    name: 'revoke: 200 on an already revoked key, replayed by Idempotency-Key',
    operation: REVOKE_PATH,
    status: 200,
    produce: async (s) => {
      const { keyId } = await mintSecret(s, ACTIVE.id);
      await revoke(s, ACTIVE.id, keyId, { idempotencyKey: 'contract-revoke' });
      return revoke(s, ACTIVE.id, keyId, { idempotencyKey: 'contract-revoke' });
    },
  },
  { name: 'revoke: 404 unknown key', operation: REVOKE_PATH, status: 404, produce: (s) => revoke(s, ACTIVE.id, 'smx_000000000000000000000000') },
  {
    name: "revoke: 404 another mailbox's key",
    operation: REVOKE_PATH,
    status: 404,
    produce: async (s) => revoke(s, ACTIVE.id, (await mintSecret(s, OTHER.id)).keyId),
  },
  { name: 'me: 200', operation: ME_PATH, status: 200, produce: async (s) => call(s, 'GET', '/mailbox/me', { key: (await mintSecret(s, ACTIVE.id)).secret }) },
  { name: 'me: 401 unknown key', operation: ME_PATH, status: 401, produce: (s) => call(s, 'GET', '/mailbox/me', { key: 'smx_mbx_unknown' }) },
  { name: 'me: 403 root key', operation: ME_PATH, status: 403, produce: (s) => call(s, 'GET', '/mailbox/me', { key: ROOT_KEY }) },
  {
    name: 'me: 404 for another mailbox_id',
    operation: ME_PATH,
    status: 404,
    produce: async (s) => call(s, 'GET', `/mailbox/me?mailbox_id=${OTHER.id}`, { key: (await mintSecret(s, ACTIVE.id)).secret }),
  },
  { name: 'unknown route: 404', status: 404, produce: (s) => call(s, 'GET', '/no/such/route') },
];

describe('Sendmux sandbox: every response matches the vendor contract', () => {
  let sandbox: SendmuxSandbox;
  let ajv: Ajv2020;
  let validateLegacyMint: ValidateFunction;
  let validateApiError: ValidateFunction;

  beforeAll(async () => {
    ajv = buildAjv(withIntendedMailboxMe(loadOpenApi()));
    validateLegacyMint = ajv.compile(LEGACY_MINT_RESPONSE_SCHEMA);
    validateApiError = ajv.getSchema(`${DOC_ID}#/components/schemas/ApiError`)!;
    sandbox = await startSendmuxSandbox({
      readOnlyManagementKeys: [READ_ONLY_KEY],
      rateLimit: null,
      mailboxes: [ACTIVE, SUSPENDED, DELETED, OTHER, FULL],
    });
    sandbox.addKey(FULL.id);
  });
  afterAll(() => sandbox?.close());
  afterEach(() => sandbox?.faults.clear());

  /**
   * The response schema documented for this operation and status; statuses the subset does not
   * list for an operation (401 on GET /mailboxes/{id}, 429, 500, ...) use the shared ApiError
   * envelope that every documented error status uses.
   */
  function validatorFor(testCase: ContractCase): ValidateFunction {
    if (testCase.legacyShape) return validateLegacyMint;
    const { operation, status } = testCase;
    const documented = operation && loadOpenApi().paths[operation.path]?.[operation.method]?.responses[String(status)];
    if (!documented) return validateApiError;
    const ref = `${DOC_ID}#/${pointer('paths', operation.path, operation.method, 'responses', String(status), 'content', 'application/json', 'schema')}`;
    const validate = ajv.getSchema(ref);
    if (!validate) throw new Error(`no schema at ${ref}`);
    return validate;
  }

  it.each(cases)('$name', async (testCase) => {
    const response = await testCase.produce(sandbox);

    expect(response.status).toBe(testCase.status);
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toMatch(/^req_[a-z0-9]+$/);
    if (testCase.status === 304) {
      expect(response.text).toBe('');
      expect(response.headers.get('etag')).toMatch(/^W\/".+"$/);
      return;
    }
    const validate = validatorFor(testCase);
    const valid = validate(response.json);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    expect(response.json.meta.request_id).toBe(requestId);
    if (testCase.status === 201) {
      const keyId = response.json.data.credential?.public_id ?? response.json.data.api_key?.public_id;
      expect(response.headers.get('location')).toBe(`/api/v1/mailboxes/${ACTIVE.id}/keys/${keyId}`);
    }
    if (testCase.status === 429) expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    if (testCase.status >= 400) {
      expect(response.json.error.retryable).toBe(testCase.retryable ?? (testCase.status >= 500 || testCase.status === 429));
    }
  });

  it("pins a defect of the vendor's MailboxMe schema: as published it rejects every /mailbox/me body", async () => {
    const published = buildAjv(loadOpenApi());
    const validate = published.getSchema(`${DOC_ID}#/${pointer('paths', '/mailbox/me', 'get', 'responses', '200', 'content', 'application/json', 'schema')}`)!;
    const { secret } = await mintSecret(sandbox, ACTIVE.id);
    const response = await call(sandbox, 'GET', '/mailbox/me', { key: secret });

    expect(validate(response.json)).toBe(false);
    const { quota_used_bytes: _usage, ...withoutUsage } = response.json.data;
    expect(validate({ ...response.json, data: withoutUsage })).toBe(false);
  });
});
