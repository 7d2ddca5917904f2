import { AuditLog } from '../../src/audit/audit-log';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import { EXIT_REFUSED, EXIT_USAGE } from '../../src/cli/context';
import type { RotationJobData, RotationResult } from '../../src/rotation/job-data';
import { runRotatorCli, writeConfigFile } from '../support/rotator-process';
import { TestBed, waitForJob } from '../support/test-bed';

/**
 * `rotator revoke` and `rotator retry` (issue 13, item 5): the built binary, as an operator runs it, against a
 * worker on the same Redis, the Sendmux sandbox and the Secrets Manager stand-in.
 */
describe('the incident commands', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;
  let configPath: string;
  const [mailbox, other] = ['mbx_test_0001', 'mbx_test_0002'];

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 2, label: 'cli-incidents', config: { mailboxes: [mailbox, other], revokePreviousAfter: '1h', rotation: { attempts: 1 } } });
    runtime = await bed.runtime();
    configPath = writeConfigFile(bed.configObject);
  });
  afterAll(async () => bed.close());

  const cli = (...args: string[]) => runRotatorCli([...args, '--config', configPath], bed.env());
  async function rotate(mailboxId: string): Promise<{ jobId: string; state: string; result: RotationResult }> {
    const [outcome] = await runtime.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
    const jobId = (outcome as { jobId: string }).jobId;
    const finished = await waitForJob(runtime, jobId);
    return { jobId, state: finished.state, result: finished.returnvalue as RotationResult };
  }

  describe('rotator revoke', () => {
    let previousKey: string;
    let currentKey: string;
    beforeAll(async () => {
      previousKey = (await rotate(mailbox)).result.newKeyId!;
      currentKey = (await rotate(mailbox)).result.newKeyId!;
    });

    it(`refuses the AWSCURRENT key with exit ${EXIT_REFUSED}, pointing to rotate --revoke-now`, async () => {
      const run = await cli('revoke', mailbox, currentKey);
      expect(run.code).toBe(EXIT_REFUSED);
      expect(run.stdout).toContain('refused (current_key)');
      expect(run.stdout).toContain(`rotator rotate ${mailbox} --revoke-now`);
      expect(bed.sandbox.state.keys.get(currentKey)?.status).toBe('live');
    });

    it('revokes the previous key, confirms it no longer authenticates, exits 0 and writes an audit entry', async () => {
      const run = await cli('revoke', mailbox, previousKey, '--json');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ outcome: 'revoked', confirmation: 'no-longer-authenticates', keyId: previousKey });
      expect(bed.sandbox.state.keys.get(previousKey)?.status).toBe('revoked');
      const audit = new AuditLog({ redis: bed.redis, prefix: bed.prefix, logger: bed.logs.logger });
      expect((await audit.forMailbox(mailbox, 50)).map((e) => e.event)).toContainEqual(
        expect.objectContaining({ kind: 'revocation', keyId: previousKey, outcome: 'revoked', message: expect.stringContaining('by hand (cli:') }),
      );
    });

    it('exits 1 when Sendmux knows no such key in the mailbox, and 2 for an invalid id', async () => {
      expect((await cli('revoke', mailbox, 'smx_unknown00000000000000000')).code).toBe(1);
      const usage = await cli('revoke', mailbox, 'not a key');
      expect(usage.code).toBe(EXIT_USAGE);
      expect(usage.stderr).toContain('invalid key id');
    });
  });

  describe('rotator retry', () => {
    it('runs a failed rotation again with the same job id and Idempotency-Key and exits 0', async () => {
      bed.sandbox.state.setMailboxStatus(other, 'suspended');
      const failed = await rotate(other);
      bed.sandbox.state.setMailboxStatus(other, 'active');
      expect(failed.state).toBe('failed');
      const before = (await runtime.queue.getJob(failed.jobId))!.data as RotationJobData;

      const run = await cli('retry', failed.jobId);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`${failed.jobId}  retried`);
      expect((await waitForJob(runtime, failed.jobId)).state).toBe('completed');
      expect(((await runtime.queue.getJob(failed.jobId))!.data as RotationJobData).idempotencyKey).toBe(before.idempotencyKey);
    });

    it(`refuses with exit ${EXIT_REFUSED} a job that is not failed, an unknown job, and a failed job whose mailbox was rotated since`, async () => {
      const completed = await rotate(mailbox);
      expect((await cli('retry', completed.jobId)).stdout).toContain('refused (not_failed)');
      expect((await cli('retry', 'rotate__mbx_test_0001__nope')).code).toBe(EXIT_REFUSED);

      bed.sandbox.state.setMailboxStatus(other, 'suspended');
      const failed = await rotate(other);
      bed.sandbox.state.setMailboxStatus(other, 'active');
      await rotate(other);
      const run = await cli('retry', failed.jobId);
      expect(run.code).toBe(EXIT_REFUSED);
      expect(run.stdout).toContain('refused (rotated_since)');
    });
  });
});
