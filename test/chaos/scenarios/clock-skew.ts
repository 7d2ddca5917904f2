import { renderSecretName } from '../../../src/config';
import type { RotatorRuntime } from '../../../src/app/rotator-runtime';
import { idempotencyKeyFor, slotForTick } from '../../../src/rotation/identity';
import { ROTATE_JOB_NAME, type RotationJobData } from '../../../src/rotation/job-data';
import { nextOccurrenceAfter, occurrenceAtOrBefore } from '../../../src/scheduler/cron-occurrences';
import { RotationScheduler, type CatchUpReport, type TickReport } from '../../../src/scheduler/rotation-scheduler';
import { DEFAULT_SCHEDULE_NAME, schedulesOf } from '../../../src/scheduler/schedules';
import { ChaosBed, pollUntil, type ScenarioResult } from '../harness';
import type { ChaosProfile } from '../profile';

/** When the replica whose clock is behind ticks, relative to the batch the first replica enqueued. */
export type TickTiming = 'at the same moment' | 'mid-batch' | 'after the batch';
const TIMINGS: TickTiming[] = ['at the same moment', 'mid-batch', 'after the batch'];

export interface SlotOutcome {
  slot: string;
  /** Rotation jobs that carry this slot (all mailboxes together). */
  jobs: number;
  /** Mailboxes with exactly one job for the slot. */
  mailboxesWithOneJob: number;
  completed: number;
  /** Completed jobs that needed more than one attempt. */
  retried: number;
  /** Keys Sendmux minted for this slot's idempotency keys. */
  mints: number;
  /** Mailboxes with exactly one mint for the slot. */
  mailboxesWithOneMint: number;
}

export interface TickRound extends SlotOutcome {
  timing: TickTiming;
  ahead: Pick<TickReport, 'slot' | 'enqueued' | 'existing' | 'refused'>;
  behind: Pick<TickReport, 'slot' | 'enqueued' | 'existing' | 'refused'>;
  /** Jobs not yet finished when the replica behind ticked. */
  pendingWhenBehindTicked: number;
}

export interface ClockSkewFacts {
  skewMs: number;
  mailboxes: number;
  /** First keys: both replicas' start-up catch-up at midnight UTC, when their day buckets differ. */
  catchUp: {
    ahead: Pick<CatchUpReport, 'slot' | 'enqueued' | 'existing' | 'missing'>;
    behind: Pick<CatchUpReport, 'slot' | 'enqueued' | 'existing' | 'missing'>;
    /** Catch-up jobs created by both passes together. */
    jobs: number;
    mailboxesWithOneJob: number;
    completed: number;
    mailboxesWithOneMint: number;
    /** What a later pass of the replica behind enqueued once the first keys existed. */
    laterPassEnqueued: number;
  };
  ticks: TickRound[];
}

const SKEW_MS = 30_000;
/** How late node-cron may call a tick (it runs the callback after the second it was due). */
const MAX_FIRE_LATENCY_MS = 900;

/**
 * Scenario 7: two scheduler replicas whose clocks are 30 s ahead and 30 s behind run the same
 * cron over every mailbox; one in-process worker does the rotations.
 *
 * node-cron reads the real clock, so the replicas are in-process `RotationScheduler`s with a
 * skewed `now` whose ticks the scenario fires itself, the way node-cron would: each replica fires
 * when ITS clock reaches the occurrence (so the replica ahead fires 60 s of true time before the
 * one behind; here compressed to "at once", "mid-batch" or "after the batch"), a little late,
 * and names the tick by rounding its fire time down to the cron occurrence. First keys come from
 * the start-up catch-up pass run by both replicas at midnight UTC, where the replica behind still
 * sees yesterday's catch-up bucket: two different slots for the same mailboxes.
 */
export async function runClockSkew(profile: ChaosProfile, random: () => number): Promise<ScenarioResult<ClockSkewFacts>> {
  // The true time of the simulation starts at a Monday midnight; Secrets Manager's clock starts
  // there too, so the keys it stamps are not years older than the ticks the replicas see (catch-up
  // enqueues a key older than its schedule's latest tick).
  const midnight = Date.UTC(2031, 4, 5); // a Monday, 00:00:00 UTC
  const chaos = await ChaosBed.start({
    label: 'clock-skew',
    profile,
    random,
    config: { schedule: '0 3 * * 1', timezone: 'UTC', maxKeyAge: 'never' },
    standIn: { clockOffsetMs: midnight - Date.now() },
  });
  try {
    const worker = await chaos.worker();
    const file = chaos.bed.settings.file;
    const schedule = schedulesOf(file)[0]!;
    const secretNameOf = (mailboxId: string) => renderSecretName(file.secretName, mailboxId);

    // The true time of the simulation; each replica's clock is off by ±SKEW_MS from it.
    let trueNow = midnight;
    const replica = async (offsetMs: number): Promise<RotationScheduler> => {
      const runtime: RotatorRuntime = await chaos.bed.runtime({ runWorker: false });
      return new RotationScheduler({
        file,
        queue: runtime.queue,
        sendmux: runtime.sendmux,
        secrets: runtime.secrets,
        renderSecretName: secretNameOf,
        logger: chaos.bed.logs.logger,
        now: () => new Date(trueNow + offsetMs),
      });
    };
    const ahead = await replica(SKEW_MS);
    const behind = await replica(-SKEW_MS);

    // First keys: both catch-up passes decide at the same moment, before any job has run, so only
    // BullMQ's per-mailbox deduplication stands between two slots and two rotations.
    await chaos.producer.queue.queue.pause();
    const [aheadPass, behindPass] = await Promise.all([ahead.catchUp(), behind.catchUp()]);
    chaos.countFault('clock:catch-up across midnight', 2);
    await chaos.producer.queue.queue.resume();
    await chaos.waitUntilDrained(profile.scenarioTimeoutMs, 'the catch-up rotations');
    const catchUpSlots = [aheadPass.slot, behindPass.slot];
    const catchUpJobs = (await rotationJobs(worker)).filter((job) => catchUpSlots.includes(job.data.slot));
    const catchUpMints = mintsPerMailbox(chaos, catchUpSlots);
    const laterPass = await behind.catchUp();

    const ticks: TickRound[] = [];
    let occurrence = new Date(midnight);
    const rounds = profile.rounds + 1;
    for (let round = 0; round < rounds; round += 1) {
      const timing = TIMINGS[round % TIMINGS.length]!;
      occurrence = nextOccurrenceAfter(schedule, occurrence)!;
      const fire = async (scheduler: RotationScheduler, offsetMs: number): Promise<TickReport> => {
        // The replica fires when its own clock reaches the occurrence, up to MAX_FIRE_LATENCY_MS late.
        const latency = Math.floor(random() * MAX_FIRE_LATENCY_MS);
        trueNow = occurrence.getTime() - offsetMs + latency;
        const firedAt = new Date(trueNow + offsetMs);
        const tickTime = occurrenceAtOrBefore(schedule, firedAt);
        if (!tickTime) throw new Error(`no occurrence of "${schedule.cron}" at or before ${firedAt.toISOString()}`);
        return scheduler.tick(DEFAULT_SCHEDULE_NAME, tickTime);
      };

      let aheadTick: TickReport;
      let behindTick: TickReport;
      let pendingWhenBehindTicked: number;
      if (timing === 'at the same moment') {
        pendingWhenBehindTicked = await chaos.pendingJobs();
        [aheadTick, behindTick] = await Promise.all([fire(ahead, SKEW_MS), fire(behind, -SKEW_MS)]);
      } else {
        aheadTick = await fire(ahead, SKEW_MS);
        if (timing === 'mid-batch') {
          await pollUntil(async () => (await chaos.pendingJobs()) <= (aheadTick.enqueued * 2) / 3, profile.scenarioTimeoutMs, 'a third of the tick', 10);
        } else {
          await chaos.waitUntilDrained(profile.scenarioTimeoutMs, 'the first replica’s batch');
        }
        pendingWhenBehindTicked = await chaos.pendingJobs();
        behindTick = await fire(behind, -SKEW_MS);
      }
      chaos.countFault('clock:tick+30s');
      chaos.countFault('clock:tick-30s');
      await chaos.waitUntilDrained(profile.scenarioTimeoutMs, `tick ${round + 1} to drain`);

      const slot = slotForTick(occurrence);
      const jobs = (await rotationJobs(worker)).filter((job) => job.data.slot === slot);
      ticks.push({
        timing,
        ahead: pick(aheadTick),
        behind: pick(behindTick),
        pendingWhenBehindTicked,
        ...slotOutcome(chaos, slot, [slot], jobs),
      });
    }

    const { report, figures } = await chaos.check();
    return {
      report,
      figures: { ...figures, rounds: rounds + 1 },
      facts: {
        skewMs: SKEW_MS,
        mailboxes: chaos.mailboxIds.length,
        catchUp: {
          ahead: pickCatchUp(aheadPass),
          behind: pickCatchUp(behindPass),
          jobs: catchUpJobs.length,
          mailboxesWithOneJob: countOnce(catchUpJobs.map((job) => job.data.mailboxId), chaos.mailboxIds),
          completed: catchUpJobs.filter((job) => job.state === 'completed').length,
          mailboxesWithOneMint: chaos.mailboxIds.filter((id) => catchUpMints.get(id) === 1).length,
          laterPassEnqueued: laterPass.enqueued,
        },
        ticks,
      },
    };
  } finally {
    await chaos.close();
  }
}

interface SlotJob {
  data: RotationJobData;
  state: string;
  attemptsMade: number;
}

async function rotationJobs(runtime: RotatorRuntime): Promise<SlotJob[]> {
  const states = ['completed', 'failed', 'active', 'waiting', 'delayed', 'prioritized', 'paused', 'waiting-children'] as const;
  const jobs: SlotJob[] = [];
  const seen = new Set<string>();
  for (const state of states) {
    for (const job of await runtime.queue.queue.getJobs([state], 0, -1)) {
      if (!job?.id || job.name !== ROTATE_JOB_NAME || seen.has(job.id)) continue;
      seen.add(job.id);
      jobs.push({ data: job.data as RotationJobData, state, attemptsMade: job.attemptsMade });
    }
  }
  return jobs;
}

/** Mints per mailbox whose Idempotency-Key belongs to one of `slots`. */
function mintsPerMailbox(chaos: ChaosBed, slots: readonly string[]): Map<string, number> {
  const keys = new Map<string, string>();
  for (const mailboxId of chaos.mailboxIds) for (const slot of slots) keys.set(idempotencyKeyFor(mailboxId, slot), mailboxId);
  const counts = new Map<string, number>();
  for (const mint of chaos.bed.sandbox.state.mintLog) {
    const mailboxId = mint.idempotencyKey === null ? undefined : keys.get(mint.idempotencyKey);
    if (mailboxId !== undefined) counts.set(mailboxId, (counts.get(mailboxId) ?? 0) + 1);
  }
  return counts;
}

function slotOutcome(chaos: ChaosBed, slot: string, slots: readonly string[], jobs: SlotJob[]): SlotOutcome {
  const mints = mintsPerMailbox(chaos, slots);
  const completed = jobs.filter((job) => job.state === 'completed');
  return {
    slot,
    jobs: jobs.length,
    mailboxesWithOneJob: countOnce(jobs.map((job) => job.data.mailboxId), chaos.mailboxIds),
    completed: completed.length,
    retried: completed.filter((job) => job.attemptsMade > 1).length,
    mints: [...mints.values()].reduce((sum, n) => sum + n, 0),
    mailboxesWithOneMint: chaos.mailboxIds.filter((id) => mints.get(id) === 1).length,
  };
}

/** How many of `mailboxIds` occur exactly once in `seen`. */
function countOnce(seen: readonly string[], mailboxIds: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1);
  return mailboxIds.filter((id) => counts.get(id) === 1).length;
}

function pick(report: TickReport): TickRound['ahead'] {
  return { slot: report.slot, enqueued: report.enqueued, existing: report.existing, refused: report.refused };
}

function pickCatchUp(report: CatchUpReport): ClockSkewFacts['catchUp']['ahead'] {
  return { slot: report.slot, enqueued: report.enqueued, existing: report.existing, missing: report.missing };
}
