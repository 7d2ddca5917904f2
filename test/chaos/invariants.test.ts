import type { KeyRecord, MintLogEntry } from '../../standins/sendmux';
import type { StandInSecret } from '../../standins/secrets-manager';
import { checkInvariants, type JobView, type OutsideView } from './invariants';
import { LeakScanner } from './leak-scan';

/** The checker must catch what it claims to: each test breaks one invariant in a healthy end state. */

const MAILBOX = 'mbx_test_0001';
const SECRET_1 = 'smx_mbx_Abcdefghijklmnopqrstuvwxyz0123456789ABCD';
const SECRET_2 = 'smx_mbx_Zyxwvutsrqponmlkjihgfedcba9876543210ZYXW';
const T0 = Date.parse('2030-01-01T00:00:00Z');

function key(id: string, secret: string, overrides: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id,
    mailboxId: MAILBOX,
    secret,
    keyPrefix: secret.slice(0, 12),
    keySuffix: secret.slice(-4),
    status: 'live',
    createdAt: new Date(T0).toISOString(),
    revokedAt: null,
    appName: 'rotator r1',
    idempotencyKey: `rot-${id}`,
    requestId: `req_${id}`,
    ...overrides,
  };
}

function mint(keyId: string, idempotencyKey: string, atMs = T0): MintLogEntry {
  return { at: new Date(atMs).toISOString(), mailboxId: MAILBOX, keyId, appName: 'rotator r1', idempotencyKey, requestId: `req_${keyId}`, shape: 'credential' };
}

function version(versionId: string, stages: string[], keyId: string, secret: string): StandInSecret['versions'][number] {
  return {
    versionId,
    stages,
    secretString: JSON.stringify({ mailbox_id: MAILBOX, key_id: keyId, api_key: secret, password: secret }),
    createdDate: new Date(T0),
  };
}

/** One mailbox, one rotation done, its key current and live; nothing leaked. */
function healthy(): OutsideView {
  return {
    mailboxIds: [MAILBOX],
    secretNameOf: (id) => `sendmux/mailboxes/${id}`,
    keys: [key('smx_k1', SECRET_1)],
    mintLog: [mint('smx_k1', 'rot-1')],
    revokeLog: [],
    secrets: [
      {
        arn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:sendmux/mailboxes/mbx_test_0001-abc',
        name: `sendmux/mailboxes/${MAILBOX}`,
        tags: {},
        createdDate: new Date(T0),
        lastChangedDate: new Date(T0),
        versions: [version('v1', ['AWSCURRENT'], 'smx_k1', SECRET_1)],
      },
    ],
    jobs: [{ id: 'rotate__mbx_test_0001__r1', name: 'rotate-mailbox-key', state: 'completed', mailboxId: MAILBOX, attemptsMade: 1 }],
    texts: [{ source: 'logs', text: `{"msg":"new key minted","keyId":"smx_k1","keyPrefix":"${SECRET_1.slice(0, 12)}"}` }],
    managementKeys: ['smx_root_sandbox_local_only'],
    reportedUnprovenKeys: [],
  };
}

describe('checkInvariants', () => {
  it('finds nothing wrong with a healthy end state', () => {
    const report = checkInvariants(healthy());
    expect(report.violations).toEqual([]);
    expect(report.figures).toEqual(expect.objectContaining({ mailboxesWithWorkingCurrentKey: 1, secretsLost: 0, plaintextLeaks: 0 }));
  });

  it('counts a secret lost when the AWSCURRENT key was revoked at Sendmux', () => {
    const view = healthy();
    view.keys = [key('smx_k1', SECRET_1, { status: 'revoked', revokedAt: new Date(T0).toISOString() })];
    const report = checkInvariants(view);
    expect(report.figures.secretsLost).toBe(1);
    expect(report.violations).toEqual([expect.stringMatching(/AWSCURRENT version v1 of mailbox mbx_test_0001 holds key smx_k1, which Sendmux revoked/)]);
  });

  it('counts a secret lost when a mailbox has no secret at all, or two AWSCURRENT versions', () => {
    const none = healthy();
    none.secrets = [];
    expect(checkInvariants(none).violations).toEqual([expect.stringMatching(/has 0 AWSCURRENT versions/), expect.stringMatching(/no Secrets Manager version holds it/)]);
    const two = healthy();
    two.secrets[0]!.versions.push(version('v2', ['AWSCURRENT'], 'smx_k1', SECRET_1));
    expect(checkInvariants(two).figures.secretsLost).toBe(1);
  });

  it('counts a secret lost when AWSCURRENT holds a secret that is not its key’s', () => {
    const view = healthy();
    view.secrets[0]!.versions = [version('v1', ['AWSCURRENT'], 'smx_k1', SECRET_2)];
    expect(checkInvariants(view).violations).toContainEqual(expect.stringMatching(/holds a secret that is not the secret of key smx_k1/));
  });

  it('reports a live key that no Secrets Manager version holds as an orphaned live key', () => {
    const view = healthy();
    view.keys.push(key('smx_k2', SECRET_2));
    view.mintLog.push(mint('smx_k2', 'rot-2'));
    const report = checkInvariants(view);
    expect(report.figures.orphanedLiveKeys).toBe(1);
    expect(report.violations).toEqual([expect.stringMatching(/key smx_k2 of mailbox mbx_test_0001 is live at Sendmux but no Secrets Manager version holds it/)]);
  });

  it('reports a mailbox with more live keys than allowed', () => {
    const view = healthy();
    const secrets = [SECRET_2, SECRET_2.replace('Z', 'Y')];
    secrets.forEach((secret, i) => {
      view.keys.push(key(`smx_x${i}`, secret));
      view.secrets[0]!.versions.push(version(`vx${i}`, [], `smx_x${i}`, secret));
    });
    const report = checkInvariants(view);
    expect(report.figures.mailboxesOverLiveKeyLimit).toBe(1);
    expect(report.violations).toEqual([expect.stringMatching(/has 3 live keys/)]);
  });

  it('reports two mints for one Idempotency-Key as a duplicate mint', () => {
    const view = healthy();
    view.keys.push(key('smx_k0', SECRET_2, { status: 'revoked' }));
    view.mintLog.unshift(mint('smx_k0', 'rot-1'));
    const report = checkInvariants(view);
    expect(report.figures.duplicateMints).toBe(1);
    expect(report.violations).toEqual([expect.stringMatching(/Idempotency-Key rot-1 minted 2 keys/)]);
  });

  it('excuses a re-mint after the idempotency window expired only when the orphan was revoked', () => {
    const revoked = healthy();
    revoked.keys.push(key('smx_k0', SECRET_2, { status: 'revoked' }));
    revoked.mintLog.unshift(mint('smx_k0', 'rot-1'));
    expect(checkInvariants(revoked, { idempotencyWindowExpired: true }).figures).toEqual(
      expect.objectContaining({ duplicateMints: 0, orphansRevokedAfterWindowExpiry: 1 }),
    );
    const stillLive = healthy();
    stillLive.keys.push(key('smx_k0', SECRET_2));
    stillLive.mintLog.unshift(mint('smx_k0', 'rot-1'));
    expect(checkInvariants(stillLive, { idempotencyWindowExpired: true }).figures.duplicateMints).toBe(1);
  });

  it('excuses a re-mint after the idempotency window expired when the orphan left live was reported as unproven', () => {
    const reported = healthy();
    reported.keys.push(key('smx_k0', SECRET_2));
    reported.mintLog.unshift(mint('smx_k0', 'rot-1'));
    reported.reportedUnprovenKeys = ['smx_k0'];
    const report = checkInvariants(reported, { idempotencyWindowExpired: true });
    expect(report.violations).toEqual([]);
    expect(report.figures).toEqual(expect.objectContaining({ duplicateMints: 0, orphanedLiveKeys: 0, orphansReportedAfterWindowExpiry: 1 }));
  });

  it('reports a mint without an Idempotency-Key', () => {
    const view = healthy();
    view.mintLog = [{ ...mint('smx_k1', 'x'), idempotencyKey: null }];
    expect(checkInvariants(view).violations).toEqual([expect.stringMatching(/minted without an Idempotency-Key/)]);
  });

  it('finds a plaintext secret in Redis or a log and names the key, never the secret', () => {
    const view = healthy();
    view.texts.push({ source: 'redis', text: `{"data":"{\\"secret\\":\\"${SECRET_1}\\"}"}` });
    const report = checkInvariants(view);
    expect(report.figures.plaintextLeaks).toBe(1);
    expect(report.violations).toEqual(['plaintext secret of key smx_k1 found in redis']);
    expect(report.violations.join('\n')).not.toContain(SECRET_1.slice(8));
  });

  it('finds a leaked management key', () => {
    const view = healthy();
    view.texts.push({ source: 'worker output', text: 'authorization: Bearer smx_root_sandbox_local_only' });
    expect(checkInvariants(view).violations).toEqual(['plaintext management key #1 found in worker output']);
  });

  it('reports a failed job whose reason does not name the mailbox, the step and a code', () => {
    const view = healthy();
    const failed = (failedReason: string): JobView => ({ id: 'rotate__x', name: 'rotate-mailbox-key', state: 'failed', mailboxId: MAILBOX, attemptsMade: 1, failedReason });
    view.jobs.push(failed('job stalled more than allowable limit'));
    view.jobs.push(failed(`mailbox ${MAILBOX}: step mint: Sendmux mintMailboxKey failed transiently (503 service_unavailable, request req_1)`));
    const report = checkInvariants(view);
    expect(report.figures.failedJobsWithoutActionableReason).toBe(1);
    expect(report.violations).toEqual([expect.stringMatching(/does not name the mailbox id, the step, an error code/)]);
  });

  it('reports a job that never finished', () => {
    const view = healthy();
    view.jobs.push({ id: 'rotate__y', name: 'rotate-mailbox-key', state: 'delayed', mailboxId: MAILBOX, attemptsMade: 3 });
    expect(checkInvariants(view).violations).toEqual(['job rotate__y is still delayed; the batch did not drain']);
  });

  it('reports a superseded key revoked before the grace period of its rotation', () => {
    const view = healthy();
    view.keys = [key('smx_k0', SECRET_2, { status: 'revoked' }), key('smx_k1', SECRET_1)];
    view.secrets[0]!.versions.push(version('v0', ['AWSPREVIOUS'], 'smx_k0', SECRET_2));
    view.mintLog = [mint('smx_k0', 'rot-0', T0 - 60_000), mint('smx_k1', 'rot-1', T0)];
    view.revokeLog = [{ at: new Date(T0 + 200).toISOString(), mailboxId: MAILBOX, keyId: 'smx_k0', wasLive: true, idempotencyKey: null, requestId: 'req_r' }];
    view.jobs = [
      {
        id: 'rotate__mbx_test_0001__r2',
        name: 'rotate-mailbox-key',
        state: 'completed',
        mailboxId: MAILBOX,
        attemptsMade: 1,
        revokePreviousAfterMs: 1_000,
        result: { outcome: 'rotated', mailboxId: MAILBOX, newKeyId: 'smx_k1', previousKeyId: 'smx_k0' },
      },
    ];
    const report = checkInvariants(view);
    expect(report.figures.earlyRevocations).toBe(1);
    expect(checkInvariants({ ...view, revokeLog: [{ ...view.revokeLog[0]!, at: new Date(T0 + 1_000).toISOString() }] }).violations).toEqual([]);
  });
});

describe('LeakScanner', () => {
  const scanner = new LeakScanner([{ label: 'k1', secret: SECRET_1 }]);

  it('finds the secret without its prefix, and a 16-character fragment of it', () => {
    expect(scanner.scan([{ source: 'a', text: `x=${SECRET_1.slice(8)}` }])).toEqual([{ label: 'k1', source: 'a' }]);
    expect(scanner.scan([{ source: 'b', text: `…${SECRET_1.slice(20, 36)}…` }])).toEqual([{ label: 'k1', source: 'b' }]);
  });

  it('does not flag the hints the vendor shows (first 12 and last 4 characters)', () => {
    expect(scanner.scan([{ source: 'c', text: `${SECRET_1.slice(0, 12)}…${SECRET_1.slice(-4)}` }])).toEqual([]);
  });
});
