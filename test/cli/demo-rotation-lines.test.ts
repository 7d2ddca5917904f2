import { describeEvent } from '../../src/cli/demo/rotation-lines';
import type { RevocationAttemptEvent, RotationAttemptEvent } from '../../src/rotation/events';

const rotation = (fields: Partial<RotationAttemptEvent>): RotationAttemptEvent => ({
  kind: 'rotation',
  at: '2026-11-29T12:00:30.000Z',
  jobId: 'rotate__mbx_demo_0001__t1',
  mailboxId: 'mbx_demo_0001',
  reason: 'scheduled',
  slot: 't1',
  requestedBy: 'scheduler',
  attempt: 1,
  step: 'done',
  outcome: 'rotated',
  durationMs: 120,
  newKeyId: 'smx_new',
  previousKeyId: 'smx_old',
  secretVersionId: '5f2c0000-0000-5000-8000-000000000000',
  ...fields,
});

const revocation = (fields: Partial<RevocationAttemptEvent>): RevocationAttemptEvent => ({
  kind: 'revocation',
  at: '2026-11-29T12:01:30.000Z',
  jobId: 'revoke__mbx_demo_0001__smx_old',
  mailboxId: 'mbx_demo_0001',
  keyId: 'smx_old',
  attempt: 1,
  outcome: 'revoked',
  durationMs: 40,
  ...fields,
});

describe('the demo’s plain lines', () => {
  it('a rotation: mailbox, old key -> new key, secret version, and when the old key is revoked', () => {
    expect(describeEvent(rotation({}), 60_000)).toBe(
      '12:00:30  rotated  mbx_demo_0001  key smx_old -> smx_new  secret version 5f2c0000-0000-5000-8000-000000000000  old key revoked at 12:01:30 (in 1m)',
    );
  });

  it('a first rotation has no old key to revoke; revokePreviousAfter "never" keeps it live', () => {
    expect(describeEvent(rotation({ previousKeyId: null }), 60_000)).toMatch(/key \(none\) -> smx_new .* first key of this mailbox: nothing to revoke$/);
    expect(describeEvent(rotation({}), null)).toMatch(/old key stays live \(revokePreviousAfter: never\)$/);
  });

  it('a revocation names the mailbox and the revoked key', () => {
    expect(describeEvent(revocation({}), 60_000)).toBe('12:01:30  revoked  mbx_demo_0001  old key smx_old');
  });

  it('failures for good are printed; retries, rate-limit pauses and skips are left to the logs', () => {
    expect(describeEvent(rotation({ outcome: 'failed', message: 'verify: 401' }), 0)).toBe('12:00:30  ROTATION FAILED  mbx_demo_0001: verify: 401');
    expect(describeEvent(rotation({ outcome: 'retrying' }), 0)).toBeUndefined();
    expect(describeEvent(rotation({ outcome: 'skipped' }), 0)).toBeUndefined();
    expect(describeEvent(revocation({ outcome: 'rate-limited' }), 0)).toBeUndefined();
  });
});
