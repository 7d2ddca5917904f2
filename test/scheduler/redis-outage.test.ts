import { randomUUID } from 'node:crypto';
import { renderSecretName, redisTargetFromUrl } from '../../src/config';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import { slotForTick } from '../../src/rotation/identity';
import { ROTATE_JOB_NAME, type RotationJobData } from '../../src/rotation/job-data';
import { nextOccurrenceAfter } from '../../src/scheduler/cron-occurrences';
import { RotationScheduler, type RotationSchedulerOptions } from '../../src/scheduler/rotation-scheduler';
import { DEFAULT_SCHEDULE_NAME, schedulesOf } from '../../src/scheduler/schedules';
import { RedisServerProcess } from '../http/support/redis-server-process';
import { LogCapture, TestBed, waitFor } from '../support/test-bed';

/**
 * A tick whose enqueue meets a Redis that is away (a real redis-server on its own port, stopped
 * and started again by PID): the tick waits Redis out, and a tick that gave up is enqueued by the
 * next catch-up pass with the tick's own slot, because the keys are older than the tick.
 */
describe('a tick while Redis restarts', () => {
  let redis: RedisServerProcess;
  let bed: TestBed;
  let runtime: RotatorRuntime;
  let tick: Date;
  const names = (id: string) => renderSecretName(bed.settings.file.secretName, id);

  beforeAll(async () => {
    redis = await RedisServerProcess.start();
    bed = await TestBed.start({ mailboxes: 3, label: 'sched-redis-outage' });
    runtime = await bed.runtimeWithEnv({ redis: redisTargetFromUrl(redis.url) }, { runWorker: false });
    for (const id of bed.mailboxIds) {
      await runtime.secrets.createSecretIfMissing(names(id));
      await runtime.secrets.putSecretVersion(names(id), { clientRequestToken: randomUUID(), secretString: '{"seed":true}', versionStages: ['AWSCURRENT'] });
    }
    // The next Monday 03:00 UTC: every key above was created before it.
    tick = nextOccurrenceAfter(schedulesOf(bed.settings.file)[0]!, new Date())!;
  });
  afterAll(async () => {
    await bed.close();
    await redis.stop();
  });

  function schedulerFor(logs: LogCapture, extra: Partial<RotationSchedulerOptions> = {}): RotationScheduler {
    return new RotationScheduler({
      file: bed.settings.file,
      queue: runtime.queue,
      sendmux: runtime.sendmux,
      secrets: runtime.secrets,
      renderSecretName: names,
      logger: logs.logger,
      now: () => new Date(tick.getTime() + 5_000),
      catchUpIntervalMs: null,
      enqueueRetry: { initialMs: 100, maxMs: 400 },
      ...extra,
    });
  }

  async function jobsOfSlot(slot: string): Promise<RotationJobData[]> {
    const jobs = await runtime.queue.queue.getJobs(['waiting', 'delayed', 'prioritized', 'paused', 'active', 'completed', 'failed'], 0, -1);
    return jobs.filter((job) => job.name === ROTATE_JOB_NAME && (job.data as RotationJobData).slot === slot).map((job) => job.data as RotationJobData);
  }

  it('retries the enqueue while Redis is down and enqueues the slot once it is back', async () => {
    const logs = new LogCapture();
    const scheduler = schedulerFor(logs);
    await redis.stop();
    const report = scheduler.tick(DEFAULT_SCHEDULE_NAME, tick);
    await waitFor(() => logs.text().includes('enqueue attempt 2 failed'), 30_000, 'two failed enqueue attempts');
    await redis.start();

    const done = await report;
    expect(done).toMatchObject({ status: 'done', enqueued: 3, existing: 0, refused: 0 });
    expect((await jobsOfSlot(slotForTick(tick))).map((job) => job.mailboxId).sort()).toEqual([...bed.mailboxIds].sort());
    expect(logs.text()).toContain(`tick ${slotForTick(tick)} of schedule ${DEFAULT_SCHEDULE_NAME}: enqueued at attempt`);
    await scheduler.stop();
    await runtime.queue.queue.obliterate({ force: true });
  });

  it('leaves a tick that gave up to the next catch-up pass, which enqueues the same slot', async () => {
    const logs = new LogCapture();
    const replica = schedulerFor(logs);
    await redis.stop();
    const lost = replica.tick(DEFAULT_SCHEDULE_NAME, tick);
    await waitFor(() => logs.text().includes('enqueue attempt 1 failed'), 30_000, 'a failed enqueue attempt');
    await replica.stop(); // the replica shuts down before Redis is back: this tick is lost to it
    await expect(lost).rejects.toThrow();
    await redis.start();
    expect(await jobsOfSlot(slotForTick(tick))).toEqual([]);

    const next = schedulerFor(new LogCapture());
    const pass = await next.catchUp();
    expect(pass).toMatchObject({ missedSlot: 3, enqueued: 3, stale: 0, missing: 0 });
    const jobs = await jobsOfSlot(slotForTick(tick));
    expect(jobs.map((job) => job.mailboxId).sort()).toEqual([...bed.mailboxIds].sort());
    for (const job of jobs) expect(job).toMatchObject({ reason: 'scheduled', requestedBy: 'catch-up' });

    // Again (another replica's pass, or the next one): the same slot's job ids, so no new job.
    expect(await next.catchUp()).toMatchObject({ missedSlot: 3 });
    expect(await jobsOfSlot(slotForTick(tick))).toHaveLength(3);
    await next.stop();
  });
});
