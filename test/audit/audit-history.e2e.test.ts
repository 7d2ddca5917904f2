import { AuditLog } from '../../src/audit/audit-log';
import { formatHistory } from '../../src/audit/format-history';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import type { RotationResult } from '../../src/rotation/job-data';
import { TestBed, waitForJob } from '../support/test-bed';

/** Audit history of real jobs: BullMQ workers on real Redis, the Sendmux sandbox, the Secrets Manager stand-in. */
describe('audit history of real rotations', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;
  let audit: AuditLog;
  const mailboxId = 'mbx_test_0001';

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 1, label: 'audit' });
    audit = new AuditLog({ redis: bed.redis, prefix: bed.settings.env.queuePrefix, logger: bed.logs.logger });
    runtime = await bed.runtime({ events: audit });
  });
  afterAll(async () => {
    await audit.flush();
    await bed.close();
  });

  async function rotate(requestedBy: string): Promise<{ jobId: string; result: RotationResult }> {
    const [outcome] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy, force: true }]);
    if (!outcome || outcome.status === 'refused') throw new Error(`rotation refused: ${JSON.stringify(outcome)}`);
    const finished = await waitForJob(runtime, outcome.jobId);
    expect(finished.state).toBe('completed');
    await audit.flush();
    // Read the job again: waitForJob may have loaded it just before it finished.
    const job = (await runtime.queue.getJob(outcome.jobId))!;
    return { jobId: outcome.jobId, result: job.returnvalue as RotationResult };
  }

  it('shows a job that retried as a retrying attempt followed by a rotated one, with steps, key ids and who asked', async () => {
    // The secret's first version becomes AWSCURRENT as soon as it is stored (AWS behaviour), so retry a later rotation.
    await rotate('api');
    bed.sandbox.faults.inject({ operation: 'getMailboxMe', kind: 'status503' });
    const { jobId, result } = await rotate('cli:alice');

    const history = (await audit.forMailbox(mailboxId)).map((e) => e.event).filter((e) => e.kind === 'rotation' && e.jobId === jobId);
    expect(history.map((e) => [e.attempt, e.kind === 'rotation' ? e.step : undefined, e.outcome])).toEqual([
      [1, 'verify', 'retrying'],
      // The rotation job reports the last step it entered.
      [2, expect.stringMatching(/^(retire|done)$/), 'rotated'],
    ]);
    const [retrying, rotated] = history;
    expect(retrying).toEqual(expect.objectContaining({ kind: 'rotation', requestedBy: 'cli:alice', message: expect.stringContaining('503') }));
    expect(rotated).toEqual(
      expect.objectContaining({
        requestedBy: 'cli:alice',
        newKeyId: result.newKeyId,
        secretVersionId: result.secretVersionId,
        requestIds: expect.objectContaining({ verify: expect.stringMatching(/^req_/) }),
      }),
    );
  });

  it('keeps later rotations after earlier ones, newest last, and prints them as a table', async () => {
    const first = await rotate('api');
    const second = await rotate('cron');

    // Revocations of superseded keys land in the same history; this is about the rotations.
    const jobIds = (await audit.forMailbox(mailboxId)).filter((e) => e.event.kind === 'rotation').map((e) => e.event.jobId);
    expect(jobIds.indexOf(first.jobId)).toBeLessThan(jobIds.indexOf(second.jobId));
    expect(jobIds[jobIds.length - 1]).toBe(second.jobId);

    const table = formatHistory(await audit.forMailbox(mailboxId));
    expect(table).toContain(first.jobId);
    const secondRow = table.split('\n').find((line) => line.includes(second.jobId) && line.includes('rotated'));
    expect(secondRow).toContain(`${first.result.newKeyId} → ${second.result.newKeyId}`);
    expect(secondRow).toMatch(/cron$/);
  });

  it('never stores a minted secret in the audit streams', async () => {
    expect(bed.mintedSecrets().length).toBeGreaterThanOrEqual(3);
    expect(await bed.findLeakedSecrets()).toEqual([]);
    expect(await bed.redis.exists(`${bed.settings.env.queuePrefix}:audit:mailbox:${mailboxId}`)).toBe(1);
  });
});
