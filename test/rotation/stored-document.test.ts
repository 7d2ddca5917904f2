import { parseStoredMailboxSecret, storedMailboxDocument, type StoredMailboxSecretInput } from '../../src/rotation/secret-value';
import type { MintedMailboxKey } from '../../src/sendmux/types';

const minted: MintedMailboxKey = {
  keyId: 'smx_newkey00000000000000001',
  secret: 'smx_mbx_newsecret_0000000000000000',
  password: 'imap-password',
  keyPrefix: 'smx_mbx_',
  keySuffix: '0000',
  username: 'mbx_1@example.test',
  server: 'mail.example.test',
  imapPort: 993,
  smtpPort: 465,
  shape: 'credential',
};

const base: StoredMailboxSecretInput = {
  mailboxId: 'mbx_1',
  minted,
  rotatedAt: '2026-11-30T05:00:00.000Z',
  idempotencyKey: 'rot-mbx_1-r1',
  sendmuxRequestId: 'req_1',
  slot: 'r1',
  supersedes: { key_id: 'smx_oldkey00000000000000001', version_id: 'v-old' },
  revokeNotBefore: '2026-11-30T05:10:00.000Z',
};

/** The stage step keeps the document it built instead of parsing back what it wrote: the two must agree. */
describe('storedMailboxDocument', () => {
  it.each<[string, StoredMailboxSecretInput]>([
    ['a rotation of a rotator document', base],
    ['a first version (nothing superseded, no revocation time, no request id)', { ...base, supersedes: null, revokeNotBefore: null, sendmuxRequestId: undefined }],
    ['an adoption, with operator fields carried', {
      ...base,
      adopted: { version_id: 'v-foreign', format: 'json', key_id: null },
      operatorFields: { owner: 'billing', nested: { token: minted.secret }, key_id: 'overwritten by the rotator' },
    }],
  ])('returns, for %s, the document that parsing its SecretString gives', (_, input) => {
    const { document, secretString } = storedMailboxDocument(input);
    expect(document).toEqual(parseStoredMailboxSecret('secret', 'version', secretString));
  });

  it('writes the rotator fields over operator fields of the same name', () => {
    const { secretString } = storedMailboxDocument({ ...base, operatorFields: { key_id: 'stale', owner: 'billing' } });
    expect(JSON.parse(secretString)).toMatchObject({ key_id: minted.keyId, owner: 'billing' });
  });
});
