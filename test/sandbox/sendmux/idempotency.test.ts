import { createManualClock, startSendmuxSandbox } from '../../../standins/sendmux';
import type { SendmuxSandbox } from '../../../standins/sendmux';
import { ACTIVE, OTHER_ACTIVE, call, mint, revoke, waitFor } from './helpers';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('Sendmux sandbox idempotency', () => {
  let sandbox: SendmuxSandbox;

  beforeEach(async () => {
    // A manual clock: the TTL tests move it to the exact millisecond.
    sandbox = await startSendmuxSandbox({ mailboxes: [ACTIVE, OTHER_ACTIVE], rateLimit: null, clock: createManualClock() });
  });
  afterEach(() => sandbox.close());

  it('replays the original response verbatim for the same Idempotency-Key and body', async () => {
    const first = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-a-1', appName: 'rotator-slot-1' });
    const replay = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-a-1', appName: 'rotator-slot-1' });

    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.text).toBe(first.text);
    expect(replay.headers.get('location')).toBe(first.headers.get('location'));
    expect(replay.headers.get('x-request-id')).toBe(first.headers.get('x-request-id'));
    expect(replay.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(sandbox.state.mintsWithIdempotencyKey('rot-a-1')).toHaveLength(1);
    expect(sandbox.liveKeys(ACTIVE.id)).toHaveLength(1);
    expect(sandbox.state.counters.idempotentReplays).toBe(1);
  });

  it('treats the same JSON with other key order and whitespace as the same body', async () => {
    const path = `/mailboxes/${ACTIVE.id}/keys`;
    const first = await call(sandbox, 'POST', path, { rawBody: '{"app_name":"same"}', idempotencyKey: 'rot-a-2' });
    const replay = await call(sandbox, 'POST', path, { rawBody: '{ "app_name" : "same" }\n', idempotencyKey: 'rot-a-2' });

    expect(replay.status).toBe(201);
    expect(replay.text).toBe(first.text);
    expect(sandbox.liveKeys(ACTIVE.id)).toHaveLength(1);
  });

  it('answers 409 idempotency_conflict, not retryable, to the same key with a different body', async () => {
    await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-a-3', appName: 'one' });
    const conflict = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-a-3', appName: 'two' });

    expect(conflict.status).toBe(409);
    expect(conflict.json.error).toMatchObject({ code: 'idempotency_conflict', retryable: false, param: 'Idempotency-Key' });
    expect(sandbox.state.mintLog).toHaveLength(1);
  });

  it('answers 409 idempotency_conflict, retryable, while the first request with the key is still running', async () => {
    sandbox.faults.inject({ operation: 'mintMailboxKey', kind: 'delay', delayMs: 400 });
    const first = mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-a-4' });
    await waitFor(() => sandbox.state.mintLog.length === 1);

    const concurrent = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-a-4' });
    const original = await first;
    const afterwards = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-a-4' });

    expect(concurrent.status).toBe(409);
    expect(concurrent.json.error).toMatchObject({ code: 'idempotency_conflict', retryable: true });
    expect(original.status).toBe(201);
    expect(afterwards.text).toBe(original.text);
    expect(sandbox.state.mintLog).toHaveLength(1);
  });

  it('still replays just before the TTL ends and mints a new key once the clock passes 24 h', async () => {
    const first = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-a-5' });
    sandbox.clock.advance(DAY_MS - 1);
    const beforeExpiry = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-a-5' });
    sandbox.clock.advance(1);
    const afterExpiry = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-a-5' });

    expect(beforeExpiry.text).toBe(first.text);
    expect(afterExpiry.status).toBe(201);
    expect(afterExpiry.json.data.credential.public_id).not.toBe(first.json.data.credential.public_id);
    expect(afterExpiry.json.data.credential.secret).not.toBe(first.json.data.credential.secret);
    expect(sandbox.state.mintsWithIdempotencyKey('rot-a-5')).toHaveLength(2);
  });

  it('honours a shorter idempotencyTtlMs', async () => {
    await sandbox.close();
    sandbox = await startSendmuxSandbox({ mailboxes: [ACTIVE], rateLimit: null, idempotencyTtlMs: 1000, clock: createManualClock() });
    const first = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-a-6' });
    sandbox.clock.advance(999);
    const replay = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-a-6' });
    sandbox.clock.advance(1);
    const second = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-a-6' });

    expect(replay.text).toBe(first.text);
    expect(second.json.data.credential.public_id).not.toBe(first.json.data.credential.public_id);
  });

  it('scopes an Idempotency-Key to its endpoint: the same key on another mailbox mints there', async () => {
    const a = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'shared-key' });
    const b = await mint(sandbox, OTHER_ACTIVE.id, { idempotencyKey: 'shared-key' });

    expect(b.status).toBe(201);
    expect(b.json.data.credential.public_id).not.toBe(a.json.data.credential.public_id);
    expect(sandbox.state.mintsWithIdempotencyKey('shared-key')).toHaveLength(2);
  });

  it('does not cache failures: the same key mints once the mailbox is active again', async () => {
    sandbox.setMailboxStatus(ACTIVE.id, 'suspended');
    const refused = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-a-7' });
    sandbox.setMailboxStatus(ACTIVE.id, 'active');
    const retried = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'rot-a-7' });

    expect(refused.status).toBe(422);
    expect(retried.status).toBe(201);
    expect(sandbox.liveKeys(ACTIVE.id)).toHaveLength(1);
  });

  it('mints every time when no Idempotency-Key is sent', async () => {
    await mint(sandbox, ACTIVE.id);
    await mint(sandbox, ACTIVE.id);

    expect(sandbox.liveKeys(ACTIVE.id)).toHaveLength(2);
  });

  it.each([
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
  ])('rejects an Idempotency-Key that is %s with 400 invalid_parameter naming the header', async (_label, idempotencyKey) => {
    const response = await mint(sandbox, ACTIVE.id, { idempotencyKey });

    expect(response.status).toBe(400);
    expect(response.json.error).toMatchObject({ code: 'invalid_parameter', param: 'Idempotency-Key', retryable: false });
    expect(sandbox.state.mintLog).toHaveLength(0);
  });

  it('accepts a 255-character Idempotency-Key', async () => {
    const response = await mint(sandbox, ACTIVE.id, { idempotencyKey: 'k'.repeat(255) });

    expect(response.status).toBe(201);
  });

  it('replays a revoke verbatim for the same Idempotency-Key', async () => {
    const minted = await mint(sandbox, ACTIVE.id);
    const keyId = minted.json.data.credential.public_id as string;
    const first = await revoke(sandbox, ACTIVE.id, keyId, { idempotencyKey: 'ret-a-1' });
    const replay = await revoke(sandbox, ACTIVE.id, keyId, { idempotencyKey: 'ret-a-1' });

    expect(first.status).toBe(200);
    expect(replay.text).toBe(first.text);
    expect(replay.headers.get('x-request-id')).toBe(first.headers.get('x-request-id'));
    expect(sandbox.state.revokeLog).toHaveLength(1);
  });
});
