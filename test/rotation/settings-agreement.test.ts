import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { renderSecretName } from '../../src/config';
import { resolveMailboxSettings } from '../../src/config/mailbox-settings';
import { AuditLog } from '../../src/audit/audit-log';
import { collectStatus } from '../../src/cli/status';
import { buildRotationPlan } from '../../src/planning/plan';
import { RotationScheduler } from '../../src/scheduler/rotation-scheduler';
import { nextOccurrenceAfter } from '../../src/scheduler/cron-occurrences';
import type { RotationJobData, RotationResult } from '../../src/rotation/job-data';
import { writeConfigFile } from '../support/rotator-process';
import { waitForJob } from '../support/test-bed';
import { runCaptured } from '../cli/capture';
import { postJson, startHarness, type HttpHarness } from '../http/support/http-harness';

/**
 * One resolver of effective settings per mailbox (issue 13, item 2): a mailbox of an id-list group
 * and one of an emailGlob group, both with `revokePreviousAfter: 0s` under a top-level 1h, get
 * the same grace period, schedule and next run from the scheduler, on-demand HTTP and CLI,
 * `plan`, `status` and the processor.
 */
describe('the same effective settings for a mailbox from every entry point', () => {
  let harness: HttpHarness;
  let configPath: string;
  // `both` is listed by id in group "late" and matched by the emailGlob of "support", which comes first in the file and so wins.
  const [listed, globbed, topLevel, both] = ['mbx_test_0001', 'mbx_test_0002', 'mbx_test_0003', 'mbx_test_0004'];
  const all = [listed, globbed, topLevel, both];
  const HOUR = 3_600_000;
  const config = {
    mailboxes: [listed, globbed, topLevel],
    schedule: '0 3 * * 1',
    revokePreviousAfter: '1h',
    groups: [
      { name: 'vip', mailboxes: [listed], schedule: '15 2 * * *', revokePreviousAfter: '0s' },
      { name: 'sales', emailGlob: 'test-0002@*', schedule: '45 5 * * *', revokePreviousAfter: '0s' },
      { name: 'support', emailGlob: 'test-0004@*', schedule: '5 1 * * *', revokePreviousAfter: '0s' },
      { name: 'late', mailboxes: [both], schedule: '0 0 * * *', revokePreviousAfter: '2h' },
    ],
  };
  const expected: Record<string, { schedule: string; grace: number }> = {
    [listed]: { schedule: 'vip', grace: 0 }, [globbed]: { schedule: 'sales', grace: 0 }, [topLevel]: { schedule: '(default)', grace: HOUR },
    [both]: { schedule: 'support', grace: 0 },
  };

  beforeAll(async () => {
    harness = await startHarness({ label: 'settings-agreement', mailboxes: 4, config });
    configPath = writeConfigFile(harness.bed.configObject);
  });
  afterAll(async () => harness?.close());

  const file = () => harness.bed.settings.file;
  const emailOf = (mailboxId: string) => harness.bed.sandbox.state.mailboxes.get(mailboxId)!.email;

  /** The processor's grace: the revocation it scheduled, measured from the job's end. */
  async function graceOf(jobId: string): Promise<{ graceMs: number; data: RotationJobData }> {
    const finished = await waitForJob(harness.runtime, jobId);
    expect(finished.state).toBe('completed');
    const result = finished.returnvalue as RotationResult;
    const job = (await harness.runtime.queue.getJob(jobId))!;
    if (!('notBefore' in result.revocation)) throw new Error(`no revocation scheduled: ${JSON.stringify(result.revocation)}`);
    return { graceMs: Date.parse(result.revocation.notBefore) - job.finishedOn!, data: job.data as RotationJobData };
  }
  const roundedToHours = (ms: number) => Math.abs(Math.round(ms / HOUR) * HOUR);

  it('the resolver gives each mailbox its group’s schedule and grace period', () => {
    for (const mailboxId of all) {
      const resolution = resolveMailboxSettings(file(), mailboxId, emailOf(mailboxId));
      expect(resolution.covered && { schedule: resolution.settings.group ?? '(default)', grace: resolution.settings.revokePreviousAfterMs })
        .toEqual(expected[mailboxId]);
    }
  });

  it('on demand over HTTP: the processor applies the group’s grace period, not the top level’s, and the job carries none', async () => {
    for (let round = 0; round < 2; round++) { // the second round has a previous key to revoke
      const response = await postJson(`${harness.url}/rotations`, { mailboxIds: all, force: true });
      const { rotations } = (await response.json()) as { rotations: Array<{ mailboxId: string; jobId: string }> };
      for (const { mailboxId, jobId } of rotations) {
        if (round === 0) {
          await waitForJob(harness.runtime, jobId);
          continue;
        }
        const { graceMs, data } = await graceOf(jobId);
        expect(data.revokePreviousAfterMs).toBeUndefined();
        expect({ mailboxId, grace: roundedToHours(graceMs) }).toEqual({ mailboxId, grace: expected[mailboxId]!.grace });
      }
    }
  });

  it('on demand from the CLI: the same grace periods', async () => {
    const run = await runCaptured(['rotate', ...all, '--force', '--wait', '--json', '--config', configPath], {
      env: harness.bed.env(),
      cwd: mkdtempSync(path.join(tmpdir(), 'agreement-')),
    });
    expect(run.code).toBe(0);
    const { rotations } = JSON.parse(run.stdout) as { rotations: Array<{ mailboxId: string; jobId: string }> };
    for (const { mailboxId, jobId } of rotations) {
      const { graceMs } = await graceOf(jobId);
      expect({ mailboxId, grace: roundedToHours(graceMs) }).toEqual({ mailboxId, grace: expected[mailboxId]!.grace });
    }
  });

  it('the scheduler: each group’s tick enqueues its mailboxes, whose rotation gets the group’s grace period', async () => {
    const scheduler = new RotationScheduler({
      file: file(),
      queue: harness.runtime.queue,
      sendmux: harness.runtime.sendmux,
      secrets: harness.runtime.secrets,
      renderSecretName: (id) => renderSecretName(file().secretName, id),
      logger: harness.bed.logs.logger,
    });
    const tick = new Date('2030-01-07T04:00:00Z');
    expect(await scheduler.tick('late', tick)).toMatchObject({ resolved: 0, enqueued: 0 });
    for (const [schedule, mailboxId] of [['vip', listed], ['sales', globbed], ['(default)', topLevel], ['support', both]] as const) {
      const report = await scheduler.tick(schedule, tick);
      expect(report).toMatchObject({ resolved: 1, enqueued: 1 });
      const jobs = await harness.runtime.queue.queue.getJobs(['waiting', 'active', 'completed', 'delayed', 'prioritized']);
      const job = jobs.find((j) => (j.data as RotationJobData).slot === report.slot && (j.data as RotationJobData).mailboxId === mailboxId)!;
      const { graceMs } = await graceOf(String(job.id));
      expect({ mailboxId, grace: roundedToHours(graceMs) }).toEqual({ mailboxId, grace: expected[mailboxId]!.grace });
    }
  });

  it('plan and status show each mailbox the resolver’s schedule, next run and grace period', async () => {
    const now = new Date('2030-01-01T12:00:00Z'); // a Tuesday
    const plan = await buildRotationPlan({
      file: file(),
      sendmux: harness.runtime.sendmux,
      secrets: harness.runtime.secrets,
      renderSecretName: (id) => renderSecretName(file().secretName, id),
      now: () => now,
    });
    const audit = new AuditLog({ redis: harness.runtime.redis, prefix: harness.bed.prefix, logger: harness.bed.logs.logger });
    const status = await collectStatus({ settings: harness.bed.settings, queue: harness.runtime.queue, ledger: harness.runtime.ledger, audit,
      alerts: { consecutiveFailures: async () => new Map() }, sendmux: harness.runtime.sendmux, now: () => now });

    for (const mailboxId of all) {
      const resolution = resolveMailboxSettings(file(), mailboxId, emailOf(mailboxId));
      if (!resolution.covered) throw new Error(resolution.reason);
      const nextRun = nextOccurrenceAfter({ cron: resolution.settings.schedule, timezone: resolution.settings.timezone }, now)!.toISOString();
      const planned = plan.mailboxes.find((m) => m.mailboxId === mailboxId)!;
      const row = status.mailboxes.find((m) => m.mailboxId === mailboxId)!;
      expect({ mailboxId, schedule: planned.schedule, nextDue: planned.nextDue, grace: planned.revokePreviousAfterMs })
        .toEqual({ mailboxId, schedule: expected[mailboxId]!.schedule, nextDue: nextRun, grace: expected[mailboxId]!.grace });
      expect({ mailboxId, schedule: row.schedule, nextRun: row.nextRun }).toEqual({ mailboxId, schedule: expected[mailboxId]!.schedule, nextRun });
    }
  });
});
