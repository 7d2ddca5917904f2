import { randomUUID } from 'node:crypto';
import { DeleteSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { renderSecretName, type RotatorFileConfig } from '../../src/config';
import { SecretStore } from '../../src/aws/secret-store';
import { SendmuxClient } from '../../src/sendmux/client';
import { DEFAULT_SANDBOX_MANAGEMENT_KEY } from '../../standins/sendmux';
import { buildRotationPlan, formatRotationPlan, type RotationPlan, type RotationPlanDeps } from '../../src/planning/plan';
import { DEFAULT_SCHEDULE_NAME } from '../../src/scheduler/schedules';
import { CannedHttpServer } from '../support/canned-http-server';
import { TestBed } from '../support/test-bed';

/** The dry-run plan against the Sendmux sandbox and the Secrets Manager stand-in (and a canned AWS endpoint). */

const DAY = 24 * 3_600_000;

/** A current secret version written straight to the stand-in, so nothing is minted. */
async function seedSecret(secrets: SecretStore, name: string): Promise<Date> {
  await secrets.createSecretIfMissing(name);
  await secrets.putSecretVersion(name, { clientRequestToken: randomUUID(), secretString: '{"seed":true}', versionStages: ['AWSCURRENT'] });
  const created = (await secrets.listVersions(name)).find((v) => v.versionStages.includes('AWSCURRENT'))?.createdDate;
  if (!created) throw new Error(`no CreatedDate for ${name}`);
  return created;
}

function entryFor(plan: RotationPlan, mailboxId: string) {
  const entry = plan.mailboxes.find((m) => m.mailboxId === mailboxId);
  if (!entry) throw new Error(`${mailboxId} is not in the plan`);
  return entry;
}

describe('the rotation plan', () => {
  let bed: TestBed;
  let sendmux: SendmuxClient;
  let secrets: SecretStore;
  let created: Date;
  const rotated = 'mbx_test_0001';
  const neverRotated = 'mbx_test_0002';
  const unknown = 'mbx_not_in_sendmux';

  beforeAll(async () => {
    bed = await TestBed.start({
      mailboxes: 2,
      label: 'plan',
      config: { mailboxes: [rotated, neverRotated, unknown], schedule: '0 3 * * 1', maxKeyAge: '30d' },
    });
    sendmux = new SendmuxClient({ baseUrl: bed.sandbox.url, managementKey: DEFAULT_SANDBOX_MANAGEMENT_KEY });
    secrets = new SecretStore({ client: bed.smClient });
    created = await seedSecret(secrets, renderSecretName(bed.settings.file.secretName, rotated));
  });
  afterAll(async () => {
    await bed.close();
  });

  function deps(overrides: Partial<RotationPlanDeps> = {}): RotationPlanDeps {
    return {
      file: bed.settings.file,
      sendmux,
      secrets,
      renderSecretName: (id) => renderSecretName(bed.settings.file.secretName, id),
      ...overrides,
    };
  }

  it('reports a mailbox the management key cannot read as a problem naming the mailbox and the status, not as one to rotate, and mints nothing', async () => {
    const plan = await buildRotationPlan(deps());

    const problem = plan.problems.find((p) => p.includes(unknown));
    expect(problem).toContain(`mailbox ${unknown}: the management key cannot read it`);
    expect(problem).toContain('404 not_found');
    expect(plan.cannotRotate).toEqual([{ mailboxId: unknown, schedule: DEFAULT_SCHEDULE_NAME, problem }]);
    // Soonest due first: the never-rotated mailbox is due now.
    expect(plan.mailboxes.map((m) => m.mailboxId)).toEqual([neverRotated, rotated]);
    expect(plan.problems).toHaveLength(1);
    expect(bed.sandbox.state.mintLog).toHaveLength(0);
    expect(bed.standIn.secret(renderSecretName(bed.settings.file.secretName, neverRotated))).toBeUndefined();
  });

  it('says a mailbox without a secret would get one and is due now, as never rotated', async () => {
    const now = new Date(created.getTime() + DAY);
    const plan = await buildRotationPlan(deps({ now: () => now }));

    expect(entryFor(plan, neverRotated)).toMatchObject({
      schedule: DEFAULT_SCHEDULE_NAME,
      secretName: renderSecretName(bed.settings.file.secretName, neverRotated),
      secretState: 'would-create',
      dueReason: 'never-rotated',
      nextDue: now.toISOString(),
      problems: [],
    });
    expect(entryFor(plan, neverRotated).keyAgeSeconds).toBeUndefined();
  });

  it('with maxKeyAge off, gives a mailbox with a key its next cron tick and the key\'s age', async () => {
    const now = new Date('2030-01-01T12:00:00Z'); // a Tuesday; the next Monday 03:00 UTC is 7 January
    const plan = await buildRotationPlan(deps({ now: () => now, file: { ...bed.settings.file, maxKeyAgeMs: null } }));

    expect(entryFor(plan, rotated)).toMatchObject({
      secretState: 'exists',
      dueReason: 'cron',
      nextDue: '2030-01-07T03:00:00.000Z',
      keyAgeSeconds: Math.floor((now.getTime() - created.getTime()) / 1000),
    });
  });

  it('marks a key older than maxKeyAge as due now because of its age', async () => {
    const now = new Date(created.getTime() + 31 * DAY);
    const plan = await buildRotationPlan(deps({ now: () => now }));

    expect(entryFor(plan, rotated)).toMatchObject({ dueReason: 'key-age', nextDue: now.toISOString() });
  });

  it('dates a key that passes maxKeyAge before its own next tick at the first tick of any schedule after that', async () => {
    // The default schedule runs once a year; a daily group's ticks run catch-up for everyone else.
    const file: RotatorFileConfig = {
      ...bed.settings.file,
      schedule: '0 3 1 1 *',
      groups: [{ name: 'daily', mailboxes: [neverRotated], schedule: '0 6 * * *' }],
    };
    const now = new Date(created.getTime() + 29.5 * DAY);
    const staleAt = new Date(created.getTime() + 30 * DAY);
    const firstDailyTick = new Date(Date.UTC(staleAt.getUTCFullYear(), staleAt.getUTCMonth(), staleAt.getUTCDate(), 6));
    if (firstDailyTick < staleAt) firstDailyTick.setUTCDate(firstDailyTick.getUTCDate() + 1);

    const plan = await buildRotationPlan(deps({ file, now: () => now }));

    expect(entryFor(plan, rotated)).toMatchObject({ schedule: DEFAULT_SCHEDULE_NAME, dueReason: 'key-age', nextDue: firstDailyTick.toISOString() });
    expect(entryFor(plan, neverRotated).schedule).toBe('daily');
  });

  it('reports a secret Secrets Manager refuses to describe as a problem naming the mailbox and the AWS error', async () => {
    const aws = await CannedHttpServer.start();
    const client = new SecretsManagerClient({
      region: 'us-east-1',
      endpoint: aws.baseUrl,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    try {
      const accessDenied = {
        __type: 'AccessDeniedException',
        message: 'User is not authorized to perform: secretsmanager:DescribeSecret',
      };
      for (let i = 0; i < 3; i++) {
        aws.reply(400, accessDenied, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `req-denied-${i}` });
      }
      const plan = await buildRotationPlan(deps({ secrets: new SecretStore({ client }), file: { ...bed.settings.file, mailboxes: [rotated] } }));

      expect(plan.problems).toHaveLength(1);
      expect(plan.problems[0]).toMatch(new RegExp(`^mailbox ${rotated}: Secrets Manager cannot read secret .+AccessDeniedException`));
      expect(entryFor(plan, rotated).dueReason).toBe('cron');
    } finally {
      client.destroy();
      await aws.close();
    }
  });

  it('lists mailboxes `mailboxes: all` leaves out as skipped, not as problems', async () => {
    bed.sandbox.addMailbox({ id: 'mbx_paused', email: 'paused@example.test', status: 'suspended' });
    const plan = await buildRotationPlan(deps({ file: { ...bed.settings.file, mailboxes: 'all' } }));

    expect(plan.skipped).toEqual([{ mailboxId: 'mbx_paused', email: 'paused@example.test', reason: expect.stringContaining('suspended') }]);
    expect(plan.mailboxes.map((m) => m.mailboxId).sort()).toEqual([rotated, neverRotated]);
    expect(plan.problems).toEqual([]);
  });

  it('reports a configured mailbox that is not active as a problem, not as one to rotate, since Sendmux would refuse to mint for it', async () => {
    bed.sandbox.addMailbox({ id: 'mbx_listed_but_paused', email: 'paused-2@example.test', status: 'suspended' });
    const plan = await buildRotationPlan(deps({ file: { ...bed.settings.file, mailboxes: ['mbx_listed_but_paused', rotated] } }));

    expect(plan.problems).toEqual([expect.stringMatching(/^mailbox mbx_listed_but_paused: its status is suspended; Sendmux mints no keys for it/)]);
    expect(plan.cannotRotate).toEqual([expect.objectContaining({ mailboxId: 'mbx_listed_but_paused', email: 'paused-2@example.test' })]);
    expect(plan.mailboxes.map((m) => m.mailboxId)).toEqual([rotated]);
    expect(formatRotationPlan(plan).split('\n')[1]).toBe('1 mailbox(es) to rotate, 0 skipped, 1 cannot be rotated, 1 problem(s)');
  });

  it('formats as a table with one row per mailbox to rotate, then the skipped mailboxes, then each problem once', async () => {
    const now = new Date('2030-01-01T12:00:00Z');
    const text = formatRotationPlan(await buildRotationPlan(deps({ now: () => now })));
    const lines = text.split('\n');

    expect(lines[0]).toBe('Rotation plan at 2030-01-01T12:00:00.000Z (dry run: nothing minted, stored or enqueued)');
    expect(lines[1]).toBe('2 mailbox(es) to rotate, 0 skipped, 1 cannot be rotated, 1 problem(s)');
    expect(lines[3]).toMatch(/^MAILBOX\s+EMAIL\s+SCHEDULE\s+NEXT DUE\s+WHY\s+KEY AGE\s+SECRET$/);
    expect(text).toMatch(new RegExp(`${neverRotated}\\s+test-0002@example\\.test\\s+\\(default\\)\\s+now\\s+never-rotated\\s+-\\s+\\S+ \\(would be created\\)`));
    expect(text).toMatch(new RegExp(`${rotated}\\s+test-0001@example\\.test\\s+\\(default\\)\\s+now\\s+key-age\\s+\\d+d( \\d+h)?\\s+\\S+ \\(exists: adopt \\(json, key id unknown\\)\\)`));
    expect(text).toContain('Problems (1):');
    expect(text).toContain(`  - mailbox ${unknown}: the management key cannot read it`);
    expect(text.split('\n').filter((line) => line.includes(unknown))).toHaveLength(1); // in its problem, not also as a row
  });
});

describe('the rotation plan of secrets that existed before the rotator', () => {
  let bed: TestBed;
  let secrets: SecretStore;
  const [plain, jsonKnown, jsonUnknown, own, none] = ['mbx_test_0001', 'mbx_test_0002', 'mbx_test_0003', 'mbx_test_0004', 'mbx_test_0005'];
  const token = `smx_mbx_${'A'.repeat(40)}`;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 5, label: 'plan-adopt', config: { mailboxes: [plain, jsonKnown, jsonUnknown, own, none] } });
    secrets = new SecretStore({ client: bed.smClient });
    const store = async (mailboxId: string, secretString: string) => {
      const name = renderSecretName(bed.settings.file.secretName, mailboxId);
      await secrets.createSecretIfMissing(name);
      await secrets.putSecretVersion(name, { clientRequestToken: randomUUID(), secretString, versionStages: ['AWSCURRENT'] });
    };
    await store(plain, token);
    await store(jsonKnown, JSON.stringify({ api_key: token, public_id: 'smx_abcdefghijklmnopqrstuvwx', note: 'ops' }));
    await store(jsonUnknown, JSON.stringify({ api_key: token }));
    await store(own, JSON.stringify({
      mailbox_id: own, key_id: 'smx_abcdefghijklmnopqrstuvwy', api_key: token, password: 'p4ssword-long', username: 'u', server: 's',
      imap_port: 993, smtp_port: 465, rotated_at: '2030-01-01T00:00:00Z', idempotency_key: `rot-${own}-x`, sendmux_request_id: null,
    }));
  });
  afterAll(async () => bed.close());

  it('says per mailbox whether the next rotation adopts the value, and which original keys must be revoked by hand, before minting anything', async () => {
    const plan = await buildRotationPlan({
      file: bed.settings.file,
      sendmux: new SendmuxClient({ baseUrl: bed.sandbox.url, managementKey: DEFAULT_SANDBOX_MANAGEMENT_KEY }),
      secrets,
      renderSecretName: (id) => renderSecretName(bed.settings.file.secretName, id),
    });

    expect(Object.fromEntries(plan.mailboxes.map((m) => [m.mailboxId, m.secretValue]))).toEqual({
      [plain]: 'adopt (plain)',
      [jsonKnown]: 'adopt (json, key id known)',
      [jsonUnknown]: 'adopt (json, key id unknown)',
      [own]: 'rotator document',
      [none]: 'new secret',
    });
    expect(plan.notes).toEqual([
      expect.stringMatching(new RegExp(`^original key of ${plain} must be revoked by hand`)),
      expect.stringMatching(new RegExp(`^original key of ${jsonUnknown} must be revoked by hand`)),
    ]);
    expect(plan.problems).toEqual([]);
    const text = formatRotationPlan(plan);
    expect(text).toContain('(exists: adopt (plain))');
    expect(text).toContain('Notes (2):');
    expect(`${text}${JSON.stringify(plan)}`).not.toContain(token);
    expect(bed.sandbox.state.mintLog).toHaveLength(0);
  });
});

describe('the rotation plan of mailboxes whose rotation would fail before minting', () => {
  let bed: TestBed;
  let secrets: SecretStore;
  const [tooLarge, foreignPending, deleted, fine] = ['mbx_test_0001', 'mbx_test_0002', 'mbx_test_0003', 'mbx_test_0004'];
  const token = `smx_mbx_${'B'.repeat(40)}`;
  const nameOf = (mailboxId: string) => renderSecretName(bed.settings.file.secretName, mailboxId);

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 4, label: 'plan-blocked', config: { mailboxes: [tooLarge, foreignPending, deleted, fine] } });
    secrets = new SecretStore({ client: bed.smClient });
    const store = async (mailboxId: string, secretString: string, stage: string) => {
      await secrets.createSecretIfMissing(nameOf(mailboxId));
      await secrets.putSecretVersion(nameOf(mailboxId), { clientRequestToken: randomUUID(), secretString, versionStages: [stage] });
    };
    await store(tooLarge, JSON.stringify({ api_key: token, blob: 'x'.repeat(62_000) }), 'AWSCURRENT');
    await store(foreignPending, token, 'AWSCURRENT');
    await store(foreignPending, JSON.stringify({ api_key: token, note: 'staged by another tool' }), 'AWSPENDING');
    await store(deleted, token, 'AWSCURRENT');
    await bed.smClient.send(new DeleteSecretCommand({ SecretId: nameOf(deleted), RecoveryWindowInDays: 7 }));
  });
  afterAll(async () => bed.close());

  it('lists a value too large to carry, a foreign AWSPENDING version and a secret scheduled for deletion as problems, not as mailboxes to rotate', async () => {
    const plan = await buildRotationPlan({
      file: bed.settings.file,
      sendmux: new SendmuxClient({ baseUrl: bed.sandbox.url, managementKey: DEFAULT_SANDBOX_MANAGEMENT_KEY }),
      secrets,
      renderSecretName: nameOf,
    });

    expect(plan.mailboxes.map((m) => m.mailboxId)).toEqual([fine]);
    expect(plan.cannotRotate.map((m) => m.mailboxId).sort()).toEqual([tooLarge, foreignPending, deleted].sort());
    expect(plan.problems).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`^mailbox ${tooLarge}: .*SecretString limit of 65536 bytes`)),
      expect.stringMatching(new RegExp(`^mailbox ${foreignPending}: .*AWSPENDING version .* names no rotation`)),
      expect.stringMatching(new RegExp(`^mailbox ${deleted}: .*scheduled for deletion`)),
    ]));
    expect(plan.problems).toHaveLength(3);
    expect(formatRotationPlan(plan).split('\n')[1]).toBe('1 mailbox(es) to rotate, 0 skipped, 3 cannot be rotated, 3 problem(s)');
    expect(JSON.stringify(plan)).not.toContain(token);
  });
});
