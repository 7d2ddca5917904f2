import type { RevocationAttemptEvent, RotationAttemptEvent } from '../../src/rotation/events';

/** A rotation attempt shaped like the ones the rotation job emits, with every optional field filled. */
export function rotationEvent(overrides: Partial<RotationAttemptEvent> = {}): RotationAttemptEvent {
  return {
    kind: 'rotation',
    at: '2026-11-30T03:00:01.234Z',
    jobId: 'rotate__mbx_a__t20261130T030000Z',
    mailboxId: 'mbx_a',
    reason: 'scheduled',
    slot: 't20261130T030000Z',
    requestedBy: 'cron',
    attempt: 1,
    step: 'done',
    outcome: 'rotated',
    durationMs: 412,
    newKeyId: 'smx_new_0001',
    previousKeyId: 'smx_old_0001',
    secretVersionId: '0b7c1c9e-4e1f-5f7a-9d62-0c0f6a1d2e3f',
    requestIds: { mint: 'req_mint_1', verify: 'req_verify_1' },
    ...overrides,
  };
}

export function failedRotationEvent(overrides: Partial<RotationAttemptEvent> = {}): RotationAttemptEvent {
  return rotationEvent({
    outcome: 'failed',
    step: 'mint',
    newKeyId: undefined,
    secretVersionId: undefined,
    requestIds: { mint: 'req_mint_9' },
    message: 'step mint: Sendmux answered 422 validation_error (request req_mint_9): mailbox is suspended; resume it or remove it from the config',
    ...overrides,
  });
}

export function revocationEvent(overrides: Partial<RevocationAttemptEvent> = {}): RevocationAttemptEvent {
  return {
    kind: 'revocation',
    at: '2026-11-30T04:00:00.000Z',
    jobId: 'revoke__mbx_a__smx_old_0001',
    mailboxId: 'mbx_a',
    keyId: 'smx_old_0001',
    attempt: 1,
    outcome: 'revoked',
    durationMs: 88,
    requestId: 'req_revoke_1',
    ...overrides,
  };
}
