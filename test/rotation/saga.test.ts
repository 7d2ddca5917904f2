import pino from 'pino';
import { Compensations, rotateMailboxKey } from '../../src/rotation/protocol';
import { StepLine } from '../../src/rotation/step-line';
import type { FreshLook, NewKey, RotationRun, RotationStepOperations, SecretLook, StagedKey } from '../../src/rotation/steps';

/**
 * The protocol alone, against an in-memory fake of our own step-operations interface: which
 * steps run in which order from each starting point, and which compensations a failure leaves.
 */

const KEY: NewKey = { keyId: 'smx_key_new', secret: 'not-a-real-secret' };
const CURRENT = { versionId: 'v-current', keyId: 'smx_key_old', createdDate: new Date('2020-01-01T00:00:00Z') };

function stagedKey(labels: { current: boolean; pending: boolean }, supersedes: { key_id: string; version_id: string } | null = { key_id: 'smx_key_old', version_id: 'v-current' }): StagedKey {
  return {
    key: KEY,
    versionId: 'v-ours',
    labels,
    document: {
      mailbox_id: 'mbx_1', key_id: KEY.keyId, api_key: KEY.secret, password: 'p', username: 'u', server: 's', imap_port: 993, smtp_port: 465,
      rotated_at: '2030-01-01T00:00:00.000Z', idempotency_key: 'rot-mbx_1-s1', sendmux_request_id: null, slot: 's1', supersedes,
      revoke_not_before: supersedes ? '2030-01-01T00:00:00.000Z' : null,
    },
  };
}

function newRun(overrides: Partial<RotationRun> = {}): RotationRun {
  return {
    jobId: 'rotate__mbx_1__s1', attempt: 1, mailboxId: 'mbx_1', slot: 's1', force: false, revokeNow: false,
    settings: { mailboxId: 'mbx_1', group: null, secretName: 'sendmux/mailboxes/mbx_1', appNamePrefix: 'rotator', revokePreviousAfterMs: 0,
      minRotationIntervalMs: 0, onLimitExceeded: 'fail', tags: {}, schedule: '0 3 * * 1', timezone: 'UTC' },
    idempotencyKey: 'rot-mbx_1-s1', clientRequestToken: '00000000-0000-5000-8000-000000000000', appName: 'rotator s1',
    recorded: {}, step: 'look', mintOutcomeUnknown: false, requestIds: {}, line: new StepLine(pino({ level: 'silent' }), 'look'), log: pino({ level: 'silent' }),
    ...overrides,
  };
}

/** Records every call; `look` answers what the test says; `failAt` makes one step throw. */
function fakeOperations(lookAnswer: SecretLook, failAt?: keyof RotationStepOperations) {
  const calls: string[] = [];
  const step = <T>(name: keyof RotationStepOperations, value: T) => async (): Promise<T> => {
    calls.push(name);
    if (name === failAt) throw new Error(`${name} failed`);
    return value;
  };
  const ops: RotationStepOperations = {
    look: step('look', lookAnswer),
    mint: step('mint', KEY),
    stage: step('stage', stagedKey({ current: false, pending: true })),
    verify: step('verify', undefined),
    promote: step('promote', undefined),
    scheduleRetire: step('scheduleRetire', { jobId: 'revoke__mbx_1__smx_key_old', notBefore: '2030-01-01T00:00:00.000Z' }),
    discardMintedKey: step('discardMintedKey', undefined),
    unstage: step('unstage', undefined),
  };
  return { ops, calls };
}

const fresh = (current: FreshLook['current']): FreshLook => ({ kind: 'fresh', secretExists: current !== null, arn: 'arn:x', current });

describe('the rotation protocol', () => {
  it('replaces a current key in docs/design.md order: look, mint, stage, verify, promote, retire', async () => {
    const { ops, calls } = fakeOperations(fresh(CURRENT));
    const result = await rotateMailboxKey(newRun(), ops, new Compensations());
    expect(calls).toEqual(['look', 'mint', 'stage', 'verify', 'promote', 'scheduleRetire']);
    expect(result).toMatchObject({ outcome: 'rotated', newKeyId: KEY.keyId, previousKeyId: 'smx_key_old' });
  });

  it("verifies a mailbox's first key before staging it (the first version becomes AWSCURRENT when stored)", async () => {
    const { ops, calls } = fakeOperations(fresh(null));
    await rotateMailboxKey(newRun(), ops, new Compensations());
    expect(calls).toEqual(['look', 'mint', 'verify', 'stage', 'promote', 'scheduleRetire']);
  });

  it('resumes a staged version at verify without minting', async () => {
    const { ops, calls } = fakeOperations({ kind: 'staged', staged: stagedKey({ current: false, pending: true }) });
    await rotateMailboxKey(newRun(), ops, new Compensations());
    expect(calls).toEqual(['look', 'verify', 'promote', 'scheduleRetire']);
  });

  it('resumes a promoted version at promote (to finish clearing AWSPENDING) and retire', async () => {
    const { ops, calls } = fakeOperations({ kind: 'promoted', staged: stagedKey({ current: true, pending: true }) });
    await rotateMailboxKey(newRun(), ops, new Compensations());
    expect(calls).toEqual(['look', 'promote', 'scheduleRetire']);
  });

  it('does nothing but look when a later rotation already superseded this slot', async () => {
    const { ops, calls } = fakeOperations({ kind: 'superseded', arn: 'arn:x', labels: '[]' });
    const result = await rotateMailboxKey(newRun(), ops, new Compensations());
    expect(calls).toEqual(['look']);
    expect(result.outcome).toBe('already-done');
  });

  it('skips within minRotationInterval unless forced, and mints when forced', async () => {
    const recent = { ...CURRENT, createdDate: new Date() };
    const settings = { ...newRun().settings, minRotationIntervalMs: 60_000 };
    const skipped = fakeOperations(fresh(recent));
    expect((await rotateMailboxKey(newRun({ settings }), skipped.ops, new Compensations())).outcome).toBe('skipped');
    expect(skipped.calls).toEqual(['look']);
    const forced = fakeOperations(fresh(recent));
    expect((await rotateMailboxKey(newRun({ settings, force: true }), forced.ops, new Compensations())).outcome).toBe('rotated');
  });

  it('leaves only the mint compensation when the mint fails, so a final failure revokes a key whose mint answer was lost', async () => {
    const { ops, calls } = fakeOperations(fresh(CURRENT), 'mint');
    const compensations = new Compensations();
    await expect(rotateMailboxKey(newRun(), ops, compensations)).rejects.toThrow('mint failed');
    calls.length = 0;
    await compensations.run(() => undefined);
    expect(calls).toEqual(['discardMintedKey']);
  });

  it('undoes staging, then the mint, newest first, when verification fails after staging', async () => {
    const { ops, calls } = fakeOperations(fresh(CURRENT), 'verify');
    const compensations = new Compensations();
    await expect(rotateMailboxKey(newRun(), ops, compensations)).rejects.toThrow('verify failed');
    expect(calls).toEqual(['look', 'mint', 'stage', 'verify']);
    calls.length = 0;
    await compensations.run(() => undefined);
    expect(calls).toEqual(['unstage', 'discardMintedKey']);
  });

  it('registers no compensation when look fails (nothing was done)', async () => {
    const { ops, calls } = fakeOperations(fresh(CURRENT), 'look');
    const compensations = new Compensations();
    await expect(rotateMailboxKey(newRun(), ops, compensations)).rejects.toThrow('look failed');
    calls.length = 0;
    await compensations.run(() => undefined);
    expect(calls).toEqual([]);
  });

  it('runs every compensation even when one throws, reporting the error', async () => {
    const compensations = new Compensations();
    const ran: string[] = [];
    const errors: unknown[] = [];
    compensations.push(async () => void ran.push('first'), async () => { throw new Error('second broke'); });
    await compensations.run((err: unknown) => errors.push(err));
    expect(ran).toEqual(['first']);
    expect(errors).toHaveLength(1);
  });
});
