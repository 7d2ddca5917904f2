import { REDACTED, SECRET_FIELD_NAMES, createLogger, redactSecrets } from '../../src/logging/logger';
import { SendmuxApiError } from '../../src/sendmux/errors';

const MINTED_SECRET = 'smx_mbx_PLAINTEXTsecretQWERTY123456';
const LEGACY_PASSWORD = 'legacyImapPASSWORD-7788';
const MANAGEMENT_KEY = 'smx_root_MANAGEMENTkeyZXCV0987';

const currentShapeMintResponse = {
  ok: true,
  data: {
    credential: {
      public_id: 'smx_key_new1',
      secret: MINTED_SECRET,
      key_prefix: 'smx_mbx_PLAI',
      key_suffix: '3456',
      server: 'mail.sendmux.ai',
      imap_port: 993,
      smtp_port: 587,
      username: 'agent@acme.com',
    },
  },
  meta: { request_id: 'req_current' },
};

const legacyShapeMintResponse = {
  ok: true,
  data: {
    api_key: { public_id: 'smx_key_new2', key: MINTED_SECRET, key_prefix: 'smx_mbx_PLAI', key_suffix: '3456' },
    imap_smtp_credentials: {
      server: 'mail.sendmux.ai',
      imap_port: 993,
      smtp_port: 587,
      username: 'agent@acme.com',
      password: LEGACY_PASSWORD,
    },
  },
  meta: { request_id: 'req_legacy' },
};

function capture(level = 'debug') {
  const chunks: string[] = [];
  const logger = createLogger({ level, destination: { write: (line: string) => void chunks.push(line) } });
  return {
    logger,
    text: () => chunks.join(''),
    lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

function expectNoSecretIn(text: string): void {
  expect(text).not.toContain(MINTED_SECRET);
  expect(text).not.toContain(LEGACY_PASSWORD);
  expect(text).not.toContain(MANAGEMENT_KEY);
}

describe('createLogger', () => {
  it('writes one JSON line per entry with an ISO timestamp, a level name and the base fields', () => {
    const chunks: string[] = [];
    const logger = createLogger({ base: { service: 'rotator' }, destination: { write: (l: string) => void chunks.push(l) } });
    logger.info({ mailboxId: 'mbx_1' }, 'rotation started');
    const line = JSON.parse(chunks.join('')) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'info', service: 'rotator', mailboxId: 'mbx_1', msg: 'rotation started' });
    expect(line['time']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(line).toHaveProperty('pid');
  });

  it('defaults to level info and honours a configured level', () => {
    const chunks: string[] = [];
    const atDefault = createLogger({ destination: { write: (l: string) => void chunks.push(l) } });
    atDefault.debug('hidden');
    atDefault.info('shown');
    expect(chunks).toHaveLength(1);
    expect(atDefault.level).toBe('info');
    const atWarn = capture('warn');
    atWarn.logger.info('hidden');
    atWarn.logger.warn('shown');
    expect(atWarn.lines().map((l) => l['msg'])).toEqual(['shown']);
  });

  it.each([
    ['the current shape at top level', currentShapeMintResponse],
    ['the legacy shape at top level', legacyShapeMintResponse],
  ])('redacts the secrets of a mint response logged as %s but keeps its other fields', (_name, body) => {
    const log = capture();
    log.logger.info(body, 'mint response');
    expectNoSecretIn(log.text());
    expect(log.text()).toContain(REDACTED);
    const line = log.lines()[0];
    expect(line).toMatchObject({ ok: true, meta: { request_id: body.meta.request_id } });
    expect(log.text()).toContain('agent@acme.com');
    expect(log.text()).toContain('mail.sendmux.ai');
  });

  it.each([
    ['the current shape', currentShapeMintResponse],
    ['the legacy shape', legacyShapeMintResponse],
  ])('redacts the secrets of %s nested as { response: body }', (_name, body) => {
    const log = capture();
    log.logger.info({ response: body, mailboxId: 'mbx_1' }, 'mint response');
    expectNoSecretIn(log.text());
    expect(log.lines()[0]).toMatchObject({ mailboxId: 'mbx_1', response: { meta: { request_id: body.meta.request_id } } });
    expect(log.text()).toContain('agent@acme.com');
  });

  it('keeps the non-secret credential fields of the current shape visible', () => {
    const log = capture();
    log.logger.info({ response: currentShapeMintResponse });
    const credential = (log.lines()[0] as { response: { data: { credential: Record<string, unknown> } } }).response.data
      .credential;
    expect(credential).toMatchObject({ public_id: 'smx_key_new1', secret: REDACTED, key_suffix: '3456', imap_port: 993 });
  });

  it.each([
    ['req.headers.authorization', { req: { headers: { authorization: `Bearer ${MANAGEMENT_KEY}`, host: 'x' } } }],
    ['headers.authorization', { headers: { authorization: `Bearer ${MANAGEMENT_KEY}` } }],
    ['headers.Authorization', { headers: { Authorization: `Bearer ${MANAGEMENT_KEY}` } }],
    ['authorization', { authorization: `Bearer ${MANAGEMENT_KEY}` }],
    ['request.options.headers.authorization', { request: { options: { headers: { authorization: MANAGEMENT_KEY } } } }],
  ])('redacts an Authorization header at %s', (_path, entry) => {
    const log = capture();
    log.logger.info(entry, 'outgoing request');
    expectNoSecretIn(log.text());
    expect(log.text()).toContain(REDACTED);
  });

  it.each(SECRET_FIELD_NAMES.map((name) => [name]))('redacts a field named %s at depths 0 to 3', (name) => {
    const log = capture();
    const value = `${MANAGEMENT_KEY}-${name}`;
    log.logger.info({ [name]: value });
    log.logger.info({ a: { [name]: value } });
    log.logger.info({ a: { b: { [name]: value } } });
    log.logger.info({ a: { b: { c: { [name]: value } } } });
    log.logger.info({ items: [{ [name]: value }] });
    expectNoSecretIn(log.text());
    expect(log.lines()).toHaveLength(5);
  });

  it('leaves similarly named but harmless fields alone', () => {
    const log = capture();
    log.logger.info({ keyId: 'smx_key_1', idempotencyKey: 'rot-mbx_1-slot', keyPrefix: 'smx_mbx_AB', tokenCount: 3 });
    expect(log.lines()[0]).toMatchObject({
      keyId: 'smx_key_1',
      idempotencyKey: 'rot-mbx_1-slot',
      keyPrefix: 'smx_mbx_AB',
      tokenCount: 3,
    });
  });

  it('serialises a Sendmux error under err with its facts and no secret', () => {
    const log = capture();
    const error = new SendmuxApiError({
      operation: 'mintMailboxKey',
      method: 'POST',
      path: '/mailboxes/mbx_1/keys',
      status: 409,
      code: 'idempotency_conflict',
      retryable: true,
      reason: 'Request in flight',
      requestId: 'req_9',
      mailboxId: 'mbx_1',
    });
    log.logger.warn({ err: error }, 'mint failed');
    const line = log.lines()[0] as { err: Record<string, unknown> };
    expect(line.err).toMatchObject({
      type: 'SendmuxApiError',
      message: 'mintMailboxKey mbx_1: 409 idempotency_conflict — Request in flight (request req_9)',
      code: 'idempotency_conflict',
      retryable: true,
      requestId: 'req_9',
    });
  });

  it('redacts secret-named properties of a foreign error logged under err', () => {
    const log = capture();
    const foreign = Object.assign(new Error('upstream failed'), { secret: MINTED_SECRET, config: { token: MANAGEMENT_KEY } });
    log.logger.error({ err: foreign }, 'something failed');
    expectNoSecretIn(log.text());
    expect(log.text()).toContain('upstream failed');
  });

  it('returns a log object without secrets unchanged (no copy)', () => {
    const fields = { jobId: 'rotate__mbx_1__t1', mailboxId: 'mbx_1', nested: { status: 201, list: [{ code: 'ok' }] } };
    expect(redactSecrets(fields)).toBe(fields);
  });

  it('does not change the object the caller logged', () => {
    const log = capture();
    const fields = { response: { data: { credential: { secret: MINTED_SECRET } } } };
    log.logger.info(fields, 'minted');
    expectNoSecretIn(log.text());
    expect(fields.response.data.credential.secret).toBe(MINTED_SECRET);
  });

  it('redacts a secret-named field at any depth, not only down to 3 levels', () => {
    const log = capture();
    let deep: Record<string, unknown> = { api_key: MINTED_SECRET };
    for (let level = 0; level < 12; level++) deep = { level, inner: deep };
    log.logger.info(deep, 'deep');
    expectNoSecretIn(log.text());
    expect(log.text()).toContain('"level":11');
  });

  it('scrubs key-shaped text from strings, error messages and the message itself', () => {
    const log = capture();
    log.logger.warn(
      { detail: `AWS said Value '${MINTED_SECRET}' is invalid`, err: new Error(`upstream echoed ${MANAGEMENT_KEY}`) },
      `failed with ${MINTED_SECRET}`,
    );
    expectNoSecretIn(log.text());
    expect(log.text()).toContain('AWS said Value');
  });

  it('logs a cyclic object without looping', () => {
    const log = capture();
    const cyclic: Record<string, unknown> = { name: 'a' };
    cyclic['self'] = cyclic;
    log.logger.info({ cyclic }, 'cycle');
    expect(log.lines()).toHaveLength(1);
  });
});
