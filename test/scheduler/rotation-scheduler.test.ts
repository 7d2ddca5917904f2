import { randomUUID } from 'node:crypto';
import { renderSecretName } from '../../src/config';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import type { SecretStore } from '../../src/aws/secret-store';
import type { RotationQueue } from '../../src/queue/rotation-queue';
import { slotForTick } from '../../src/rotation/identity';
import { ROTATE_JOB_NAME, type RotationJobData } from '../../src/rotation/job-data';
import { RotationScheduler, type RotationSchedulerOptions } from '../../src/scheduler/rotation-scheduler';
import { DEFAULT_SCHEDULE_NAME } from '../../src/scheduler/schedules';
import { LogCapture, TestBed, waitFor, waitForJob } from '../support/test-bed';

/**
 * The scheduler against real Redis (BullMQ), the Sendmux sandbox and the Secrets Manager stand-in.
 * Each scheduler stands for one replica; replicas share the bed's queue prefix.
 */

/** 30 February: a cron with no occurrence, so a catch-up pass finds no tick a key missed. */
const NEVER_FIRES = '0 0 30 2 *';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until the wall clock is `ms` into a second, away from the boundaries node-cron fires on. */
async function untilMsIntoSecond(ms: number): Promise<void> {
  await sleep((ms - (Date.now() % 1000) + 1000) % 1000);
}

function schedulerFor(bed: TestBed, runtime: RotatorRuntime, logger: LogCapture['logger'], extra: Partial<RotationSchedulerOptions> = {}) {
  return new RotationScheduler({
    file: bed.settings.file,
    queue: runtime.queue,
    sendmux: runtime.sendmux,
    secrets: runtime.secrets,
    renderSecretName: (id) => renderSecretName(bed.settings.file.secretName, id),
    logger,
    ...extra,
  });
}

async function rotationJobs(runtime: RotatorRuntime): Promise<RotationJobData[]> {
  const jobs = await runtime.queue.queue.getJobs(
    ['completed', 'failed', 'active', 'waiting', 'delayed', 'prioritized', 'paused', 'waiting-children'],
    0,
    -1,
  );
  return jobs.filter((job) => job.name === ROTATE_JOB_NAME).map((job) => job.data as RotationJobData);
}

/** Slots of the ticks one scheduler logged, in order. */
function tickSlots(logs: LogCapture): string[] {
  return logs
    .parsed()
    .filter((line) => line['component'] === 'scheduler' && typeof line['slot'] === 'string' && 'resolved' in line)
    .map((line) => String(line['slot']));
}

/** A first key for each mailbox, made by a real rotation, so catch-up finds nothing missing. */
async function rotateOnce(worker: RotatorRuntime, mailboxIds: readonly string[]): Promise<void> {
  const outcomes = await worker.queue.requestRotations(mailboxIds.map((mailboxId) => ({ mailboxId, reason: 'manual', requestedBy: 'test-seed', force: true })));
  for (const outcome of outcomes) {
    if (outcome.status === 'refused') throw new Error(outcome.message);
    expect((await waitForJob(worker, outcome.jobId)).state).toBe('completed');
  }
}

/** A secret with an AWSCURRENT version, written straight to the stand-in (nothing minted). */
async function seedSecret(secrets: SecretStore, name: string): Promise<Date> {
  await writeSecret(secrets, name);
  const created = (await secrets.listVersions(name)).find((v) => v.versionStages.includes('AWSCURRENT'))?.createdDate;
  if (!created) throw new Error(`no CreatedDate for ${name}`);
  return created;
}

async function writeSecret(secrets: SecretStore, name: string): Promise<void> {
  await secrets.createSecretIfMissing(name);
  await secrets.putSecretVersion(name, { clientRequestToken: randomUUID(), secretString: '{"seed":true}', versionStages: ['AWSCURRENT'] });
}

describe.each([
  { clocks: 'the same clock', skewMs: 0 },
  { clocks: 'clocks 30 s ahead and 30 s behind', skewMs: 30_000 },
])('two replicas on a fast cron with $clocks', ({ skewMs }) => {
  let bed: TestBed;

  afterEach(async () => {
    await bed?.close();
  });

  it('name every tick alike, so each mailbox gets exactly one job per tick', async () => {
    bed = await TestBed.start({ mailboxes: 2, label: 'sched-fast', config: { schedule: '* * * * * *' } });
    const worker = await bed.runtime();
    await rotateOnce(worker, bed.mailboxIds);
    const [replicaA, replicaB] = [await bed.runtime({ runWorker: false }), await bed.runtime({ runWorker: false })];
    const logsA = new LogCapture();
    const logsB = new LogCapture();
    const a = schedulerFor(bed, replicaA!, logsA.logger, { now: () => new Date(Date.now() + skewMs) });
    const b = schedulerFor(bed, replicaB!, logsB.logger, { now: () => new Date(Date.now() - skewMs) });

    await untilMsIntoSecond(300);
    const startedAt = Date.now();
    await Promise.all([a.start(), b.start()]);
    await sleep(2_500);
    await untilMsIntoSecond(600);
    await Promise.all([a.stop(), b.stop()]);
    const stoppedAt = Date.now();
    await waitFor(
      async () => {
        const counts = await worker.queue.queue.getJobCounts('active', 'waiting');
        return (counts['active'] ?? 0) + (counts['waiting'] ?? 0) === 0;
      },
      10_000,
      'jobs to finish',
    );

    const slots = tickSlots(logsA);
    expect(slots.length).toBeGreaterThanOrEqual(2);
    expect(tickSlots(logsB)).toEqual(slots);
    // Each slot is a whole second between start and stop: the cron occurrence, not either replica's skewed clock.
    const realSeconds = new Set<string>();
    for (let ms = Math.floor(startedAt / 1000) * 1000; ms <= stoppedAt; ms += 1000) realSeconds.add(slotForTick(new Date(ms)));
    for (const slot of slots) expect(realSeconds).toContain(slot);

    const tickJobs = (await rotationJobs(worker)).filter((job) => job.requestedBy === 'cron');
    expect(tickJobs.every((job) => slots.includes(job.slot))).toBe(true);
    for (const slot of slots) {
      expect(tickJobs.filter((job) => job.slot === slot).map((job) => job.mailboxId).sort()).toEqual([...bed.mailboxIds].sort());
    }
    // One mint per job: no tick was rotated twice.
    const tickMints = bed.sandbox.state.mintLog.filter((mint) => slots.some((slot) => mint.idempotencyKey?.endsWith(`-${slot}`)));
    expect(tickMints).toHaveLength(tickJobs.length);
  }, 30_000);
});

describe('catch-up', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;
  const names = (id: string) => renderSecretName(bed.settings.file.secretName, id);

  beforeAll(async () => {
    // The cron (Mondays 03:00) never fires during the test: everything enqueued comes from catch-up.
    bed = await TestBed.start({ mailboxes: 3, label: 'sched-catchup', config: { maxKeyAge: '1h' } });
    runtime = await bed.runtime({ runWorker: false });
  });
  afterAll(async () => {
    await bed.close();
  });

  it('enqueues, right after start-up, a mailbox whose key is older than maxKeyAge and one without a secret, and no other', async () => {
    const [stale, fresh, missing] = bed.mailboxIds as [string, string, string];
    const staleCreated = await seedSecret(runtime.secrets, names(stale));
    await sleep(50);
    const freshCreated = await seedSecret(runtime.secrets, names(fresh));
    // A clock one hour on, halfway between the two keys' 1 h birthdays: only the first key is too old.
    const now = new Date(staleCreated.getTime() + 3_600_000 + (freshCreated.getTime() - staleCreated.getTime()) / 2);
    const logs = new LogCapture();
    const scheduler = schedulerFor(bed, runtime, logs.logger, { now: () => now });

    await scheduler.start();
    await scheduler.stop();

    const jobs = await rotationJobs(runtime);
    expect(jobs.map((job) => job.mailboxId).sort()).toEqual([missing, stale].sort());
    for (const job of jobs) {
      expect(job).toMatchObject({ reason: 'scheduled', requestedBy: 'catch-up' });
      expect(job.slot).toMatch(/^c\d{8}T\d{4}Z$/);
    }
    expect(logs.text()).toContain(`catch-up: mailbox ${stale} is due now: AWSCURRENT of ${names(stale)} is 1h old`);
    expect(logs.text()).toContain(`catch-up: mailbox ${missing} is due now: secret ${names(missing)} does not exist yet`);
  });

  it('with maxKeyAge off, still enqueues a mailbox without a secret but leaves an old key alone', async () => {
    const logs = new LogCapture();
    const scheduler = schedulerFor(bed, runtime, logs.logger, {
      // A cron that never fires (30 February): no tick the key could have missed, only its age.
      file: { ...bed.settings.file, maxKeyAgeMs: null, schedule: NEVER_FIRES },
      now: () => new Date(Date.now() + 365 * 24 * 3_600_000),
    });

    const report = await scheduler.catchUp();

    expect(report).toMatchObject({ checked: 3, stale: 0, missing: 1 });
    expect(report.enqueued + report.existing).toBe(1);
  });

  it('gives replicas whose clocks differ by ±30 s the same catch-up job', async () => {
    const [, fresh] = bed.mailboxIds as [string, string, string];
    // Years on, every key is stale. 10:37:30 is mid-way through a 15-minute bucket (a quarter of maxKeyAge).
    const midBucket = new Date('2031-05-05T10:37:30Z');
    const reports = await Promise.all(
      [-30_000, 30_000].map((skew) =>
        schedulerFor(bed, runtime, new LogCapture().logger, {
          // Years on, the keys also predate many a Monday 03:00; a cron that never fires leaves only maxKeyAge.
          file: { ...bed.settings.file, schedule: NEVER_FIRES },
          now: () => new Date(midBucket.getTime() + skew),
        }).catchUp(),
      ),
    );

    expect(reports[0]?.slot).toBe('c20310505T1030Z');
    expect(reports[1]?.slot).toBe(reports[0]?.slot);
    const freshJobs = (await rotationJobs(runtime)).filter((job) => job.mailboxId === fresh);
    expect(freshJobs.map((job) => job.slot)).toEqual(['c20310505T1030Z']);
  });
});

describe('a tick', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    bed = await TestBed.start({
      mailboxes: 205,
      label: 'sched-tick',
      config: {
        revokePreviousAfter: '30m',
        groups: [
          { name: 'vip', mailboxes: ['mbx_test_0001'], schedule: '0 4 * * *', revokePreviousAfter: '2h' },
          { name: 'sales', emailGlob: '*@SALES.example.test', schedule: '0 5 * * *', timezone: 'Europe/London' },
        ],
      },
      sandbox: {
        rateLimit: null,
        mailboxes: [
          { id: 'mbx_sales_1', email: 'alice@sales.example.test' },
          { id: 'mbx_sales_2', email: 'bob@sales.example.test' },
          { id: 'mbx_suspended', email: 'paused@example.test', status: 'suspended' },
        ],
      },
    });
    runtime = await bed.runtime({ runWorker: false });
    // Every mailbox has a key already, so the catch-up a tick runs for other schedules finds nothing due.
    const ids = [...bed.mailboxIds, 'mbx_sales_1', 'mbx_sales_2'];
    for (let i = 0; i < ids.length; i += 25) {
      await Promise.all(ids.slice(i, i + 25).map((id) => writeSecret(runtime.secrets, renderSecretName(bed.settings.file.secretName, id))));
    }
  });
  afterAll(async () => {
    await bed.close();
  });

  it('of a group enqueues only the mailboxes it claims, with no grace period in the job (the processor resolves the group\'s)', async () => {
    const scheduler = schedulerFor(bed, runtime, new LogCapture().logger);
    const tickTime = new Date('2030-01-07T04:00:00Z');

    const vip = await scheduler.tick('vip', tickTime);
    const sales = await scheduler.tick('sales', tickTime);

    expect(vip).toMatchObject({ status: 'done', resolved: 1, enqueued: 1, slot: slotForTick(tickTime) });
    expect(sales).toMatchObject({ resolved: 2, enqueued: 2 });
    const jobs = (await rotationJobs(runtime)).filter((job) => job.slot === slotForTick(tickTime));
    const grace = Object.fromEntries(jobs.map((job) => [job.mailboxId, job.revokePreviousAfterMs]));
    expect(grace).toEqual({ mbx_test_0001: undefined, mbx_sales_1: undefined, mbx_sales_2: undefined });
    expect(jobs.every((job) => job.requestedBy === 'cron' && job.reason === 'scheduled')).toBe(true);
  });

  it('of the default schedule enqueues every other active mailbox across pages, in chunks of one addBulk each, and logs one line', async () => {
    const calls: number[] = [];
    const countingQueue: Pick<RotationQueue, 'requestRotations'> = {
      requestRotations: (requests) => {
        calls.push(requests.length);
        return runtime.queue.requestRotations(requests);
      },
    };
    const logs = new LogCapture();
    const scheduler = schedulerFor(bed, runtime, logs.logger, { queue: countingQueue, enqueueChunkSize: 100 });
    const tickTime = new Date('2030-01-07T03:00:00Z');

    const report = await scheduler.tick(DEFAULT_SCHEDULE_NAME, tickTime);

    expect(report).toMatchObject({ resolved: 204, enqueued: 204, existing: 0, refused: 0 });
    expect(calls).toEqual([100, 100, 4]);
    const jobs = (await rotationJobs(runtime)).filter((job) => job.slot === slotForTick(tickTime));
    expect(new Set(jobs.map((job) => job.mailboxId)).size).toBe(204);
    expect(jobs.some((job) => job.mailboxId === 'mbx_suspended' || job.mailboxId === 'mbx_test_0001')).toBe(false);

    const lines = logs.parsed().filter((line) => line['slot'] === slotForTick(tickTime) && 'resolved' in line);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      schedule: DEFAULT_SCHEDULE_NAME,
      resolved: 204,
      enqueued: 204,
      existing: 0,
      refused: 0,
      skippedCount: 1,
      skipped: [{ mailboxId: 'mbx_suspended', reason: expect.stringContaining('suspended') }],
    });
    expect(typeof lines[0]?.['durationMs']).toBe('number');
  });

  it('called again for the same schedule while one runs, does nothing and says so', async () => {
    const logs = new LogCapture();
    const scheduler = schedulerFor(bed, runtime, logs.logger);
    const listedBefore = bed.sandbox.state.counters.requests['listMailboxes']?.['200'] ?? 0;
    const tickTime = new Date('2030-01-14T03:00:00Z');

    const [first, second] = await Promise.all([scheduler.tick(DEFAULT_SCHEDULE_NAME, tickTime), scheduler.tick(DEFAULT_SCHEDULE_NAME, tickTime)]);

    expect(first.status).toBe('done');
    expect(second).toMatchObject({ status: 'overlap', resolved: 0, enqueued: 0 });
    // One resolution: three pages of GET /mailboxes, for the first tick only (its catch-up reuses them).
    expect((bed.sandbox.state.counters.requests['listMailboxes']?.['200'] ?? 0) - listedBefore).toBe(3);
    expect(logs.text()).toContain('skipped: the previous tick is still running');
  });

  it('rejects an unknown schedule name, listing the known ones', async () => {
    const scheduler = schedulerFor(bed, runtime, new LogCapture().logger);
    await expect(scheduler.tick('nightly', new Date())).rejects.toThrow('unknown schedule "nightly": expected one of "(default)", "vip", "sales"');
  });
});

describe('nextRunFor', () => {
  let bed: TestBed;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    bed = await TestBed.start({
      mailboxes: 2,
      label: 'sched-next',
      config: { schedule: '0 3 * * 1', groups: [{ name: 'vip', mailboxes: ['mbx_test_0002'], schedule: '30 4 * * *' }] },
    });
    runtime = await bed.runtime({ runWorker: false });
  });
  afterAll(async () => {
    await bed.close();
  });

  it('gives the next tick of the schedule that owns the mailbox, and null for a mailbox no schedule owns', async () => {
    const now = new Date('2030-01-01T12:00:00Z'); // a Tuesday
    const scheduler = schedulerFor(bed, runtime, new LogCapture().logger, {
      now: () => now,
      file: { ...bed.settings.file, mailboxes: ['mbx_test_0001'] },
    });

    expect(scheduler.nextRunFor('mbx_test_0001')?.toISOString()).toBe('2030-01-07T03:00:00.000Z');
    expect(scheduler.nextRunFor('mbx_test_0002')?.toISOString()).toBe('2030-01-02T04:30:00.000Z');
    expect(scheduler.nextRunFor('mbx_unknown')).toBeNull();
  });

  it('while started, follows the running cron task', async () => {
    const scheduler = schedulerFor(bed, runtime, new LogCapture().logger);
    await scheduler.start();
    try {
      const next = scheduler.nextRunFor('mbx_test_0002');
      expect(next).not.toBeNull();
      expect(next!.getTime()).toBeGreaterThan(Date.now());
      expect(next!.getUTCHours() * 60 + next!.getUTCMinutes()).toBe(4 * 60 + 30);
    } finally {
      await scheduler.stop();
    }
  });
});
