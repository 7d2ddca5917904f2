import { adoptionVerdict, bearerTokenFor, carriedValues, readSecretValue } from '../../src/rotation/adoption';

/** How a secret value reads to the rotator before it adopts it (src/rotation/adoption.ts); pure, no I/O. */
const token = `smx_mbx_${'a1B2'.repeat(10)}`;
const rotatorDocument = {
  mailbox_id: 'mbx_1', key_id: 'smx_abcdefghijklmnopqrstuvwx', api_key: token, password: 'imap-password', username: 'u', server: 's',
  imap_port: 993, smtp_port: 465, rotated_at: '2030-01-01T00:00:00Z', idempotency_key: 'rot-mbx_1-x', sendmux_request_id: null,
};

describe('reading a secret value for adoption', () => {
  it.each([
    ['a bare token', token],
    ['a JSON string', JSON.stringify(token)],
    ['a JSON array', JSON.stringify([token])],
    ['a number', '42'],
  ])('reads %s as plain, its key id unknown, carrying nothing', (_what, value) => {
    const reading = readSecretValue(value);
    expect(reading).toEqual({ kind: 'foreign', format: 'plain', keyId: null, carried: { fields: {}, tokenFields: [], keyIdFields: [] } });
    expect(adoptionVerdict(reading)).toBe('adopt (plain)');
  });

  it('reads the team’s JSON: key id from key_id or public_id, its own fields carried, the old token and id never', () => {
    const reading = readSecretValue(JSON.stringify({ api_key: token, public_id: 'smx_abcdefghijklmnopqrstuvwx', note: 'ops', nested: { a: 1 } }));
    expect(reading).toEqual({
      kind: 'foreign', format: 'json', keyId: 'smx_abcdefghijklmnopqrstuvwx',
      carried: { fields: { note: 'ops', nested: { a: 1 } }, tokenFields: [], keyIdFields: [{ path: ['public_id'], parts: ['', ''] }] },
    });
    expect(adoptionVerdict(reading)).toBe('adopt (json, key id known)');
    expect(JSON.stringify(reading)).not.toContain(token);
  });

  it('finds the token under another name when exactly one field holds a mailbox token, and gives that field the new token', () => {
    const reading = readSecretValue(JSON.stringify({ token, owner: 'billing' }));
    expect(reading).toMatchObject({ format: 'json', keyId: null, carried: { fields: { owner: 'billing' }, tokenFields: [{ path: ['token'], parts: ['', ''] }] } });
    expect(adoptionVerdict(reading)).toBe('adopt (json, key id unknown)');
    expect(carriedValues(reading.carried, { apiKey: 'NEW', keyId: 'smx_new' })).toEqual({ owner: 'billing', token: 'NEW' });
  });

  it('gives every string that held the old token or key id, at any depth, the new token or key id, and keeps nothing of the old ones', () => {
    const keyId = 'smx_abcdefghijklmnopqrstuvwx';
    const reading = readSecretValue(JSON.stringify({
      api_key: token, key_id: keyId, creds: { api_key: token, id: keyId, header: `Bearer ${token}` }, list: [token, 'other', [keyId]], note: 'ops',
    }));
    expect(JSON.stringify(reading)).not.toContain(token);
    expect(JSON.stringify(reading.carried)).not.toContain(keyId);
    expect(carriedValues(reading.carried, { apiKey: 'NEW', keyId: 'smx_new' })).toEqual({
      creds: { api_key: 'NEW', id: 'smx_new', header: 'Bearer NEW' }, list: ['NEW', 'other', ['smx_new']], note: 'ops',
    });
  });

  it('ignores a key_id that is not a Sendmux id', () => {
    expect(readSecretValue(JSON.stringify({ api_key: token, key_id: 'not an id!' }))).toMatchObject({ keyId: null });
  });

  it('reads its own document, carrying the operator’s extra fields and not its own', () => {
    const reading = readSecretValue(JSON.stringify({ ...rotatorDocument, note: 'kept', alias: token }));
    expect(reading.kind).toBe('rotator');
    expect(reading.carried).toEqual({ fields: { note: 'kept' }, tokenFields: [{ path: ['alias'], parts: ['', ''] }], keyIdFields: [] });
    expect(adoptionVerdict(reading)).toBe('rotator document');
    expect(adoptionVerdict(null)).toBe('new secret');
  });

  it('gives the token of a key only from a value that names that key', () => {
    expect(bearerTokenFor(JSON.stringify(rotatorDocument), rotatorDocument.key_id)).toBe(token);
    expect(bearerTokenFor(JSON.stringify({ token, public_id: 'smx_other' }), 'smx_other')).toBe(token);
    expect(bearerTokenFor(JSON.stringify(rotatorDocument), 'smx_other')).toBeNull();
    expect(bearerTokenFor(token, 'smx_other')).toBeNull();
  });
});
