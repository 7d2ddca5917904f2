import type { Logger as CronLogger } from 'node-cron';
import type pino from 'pino';
import type { RotatorFileConfig } from '../config';
import type { SecretStore } from '../aws/secret-store';
import type { EnqueueOutcome, RotationQueue, RotationRequest } from '../queue/rotation-queue';
import { slotForTick } from '../rotation/identity';
import type { SendmuxClient } from '../sendmux/client';
import { catchUpSlot } from './catch-up-slot';
import { nextOccurrenceAfter, occurrenceAtOrBefore } from './cron-occurrences';
import { CronTicker, type MissedTicks } from './cron-ticker';
import { CurrentKeyInspector } from './current-key';
import { forEachWithLimit } from './with-limit';
import { formatDuration } from './format-duration';
import { positiveInteger } from '../shared/positive-integer';
import { errorSummary, errorText } from '../logging/error-summary';
import { redisRefusalOf } from '../queue/redis-refusals';
import { resolveMailboxes, type MailboxResolution, type ResolvedMailbox, type SkippedMailbox } from './resolve-mailboxes';
import { DEFAULT_SCHEDULE_NAME, schedulesOf, type RotationSchedule } from './schedules';

export interface RotationSchedulerOptions {
  file: RotatorFileConfig;
  queue: Pick<RotationQueue, 'requestRotations'>;
  sendmux: Pick<SendmuxClient, 'listAllMailboxes'>;
  secrets: Pick<SecretStore, 'describeSecret' | 'listVersions' | 'getSecretVersion'> & Partial<Pick<SecretStore, 'clock'>>;
  renderSecretName: (mailboxId: string) => string;
  logger: pino.Logger;
  /** Used for key ages and catch-up slots, never for tick slots (those come from the cron). */
  now?: () => Date;
  /** Rotation requests per requestRotations call, i.e. per BullMQ addBulk. Default 1000. */
  enqueueChunkSize?: number;
  /** Secrets Manager look-ups in flight during a catch-up pass. Default 8. */
  lookupConcurrency?: number;
  /**
   * How late a tick may be found before it is logged as missed (default 5 minutes). A missed
   * tick is still fired (caught up); the warning says the process was busy, asleep or its clock
   * jumped.
   */
  missedTickToleranceMs?: number;
  /**
   * How often a catch-up pass runs on its own, besides start-up and ticks (ms; default 1 hour;
   * null: never). It is what finds a slot whose enqueue failed for good (Redis away for longer
   * than the tick's retries) once Redis is back.
   */
  catchUpIntervalMs?: number | null;
  /** Delays between attempts to enqueue a tick's rotations while Redis refuses (ms). Default 1 s doubling to 30 s. */
  enqueueRetry?: { initialMs: number; maxMs: number };
  /** Waits between enqueue attempts; tests may hand in one that observes the waits. Default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

export interface EnqueueCounts {
  enqueued: number;
  existing: number;
  refused: number;
}

export interface TickReport extends EnqueueCounts {
  schedule: string;
  slot: string;
  /** The cron occurrence this tick stands for (ISO). */
  tickTime: string;
  /** `overlap`: a resolution of this schedule was still running, so this tick did nothing. */
  status: 'done' | 'overlap';
  /** Mailboxes this schedule owns this tick. */
  resolved: number;
  skipped: SkippedMailbox[];
  refusals: Array<{ mailboxId: string; message: string }>;
  durationMs: number;
  /** The catch-up pass over the other schedules' mailboxes; null when none ran (or it failed). */
  catchUp: CatchUpReport | null;
}

export interface CatchUpReport extends EnqueueCounts {
  slot: string;
  /** Mailboxes whose secret was looked at. */
  checked: number;
  /** AWSCURRENT older than maxKeyAge. */
  stale: number;
  /**
   * AWSCURRENT created before the latest occurrence of the mailbox's schedule (less
   * minRotationInterval): that tick's rotation never happened (its enqueue failed, Redis was
   * away); enqueued with that tick's own slot, so it is one job with the tick's.
   */
  missedSlot: number;
  /** No secret, or no AWSCURRENT version. */
  missing: number;
  lookupErrors: Array<{ mailboxId: string; message: string }>;
  durationMs: number;
}

const DEFAULT_ENQUEUE_CHUNK = 1000;
const DEFAULT_LOOKUP_CONCURRENCY = 8;
const DEFAULT_MISSED_TICK_TOLERANCE_MS = 5 * 60_000;
const DEFAULT_CATCH_UP_INTERVAL_MS = 60 * 60_000;
const DEFAULT_ENQUEUE_RETRY = { initialMs: 1_000, maxMs: 30_000 };
/** Bounds the per-mailbox detail in one log line; the counts are always complete. */
const MAX_LOGGED_MAILBOXES = 50;

interface RunningTask {
  schedule: RotationSchedule;
  ticker: CronTicker;
}

/**
 * Decides WHEN mailboxes are due and enqueues their rotations; BullMQ does the rest.
 *
 * Every replica runs the same cron tickers. A tick's slot is the cron occurrence (computed by
 * cron-occurrences, not the moment the callback ran), so replicas whose clocks disagree still
 * name a tick alike and BullMQ's job ids (`rotate__<mailbox>__<slot>`) turn N enqueues into one
 * job. No lock or leader election is needed.
 */
export class RotationScheduler {
  private readonly file: RotatorFileConfig;
  private readonly schedules: RotationSchedule[];
  private readonly log: pino.Logger;
  private readonly now: () => Date;
  private readonly chunkSize: number;
  private readonly lookupConcurrency: number;
  private readonly missedTickToleranceMs: number;
  private readonly inspector: CurrentKeyInspector;
  private readonly reportedConflicts = new Set<string>();
  private readonly tasks = new Map<string, RunningTask>();
  private readonly runningTicks = new Map<string, Promise<TickReport>>();
  private runningCatchUp: Promise<CatchUpReport> | null = null;
  private startup: Promise<void> | null = null;
  private periodic: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Resolves the waits of enqueue retries at stop(), so a retry loop does not hold shutdown. */
  private wakeRetries: Array<() => void> = [];
  /** Owner schedule of each mailbox as of the latest resolution, for nextRunFor. */
  private owners = new Map<string, string>();

  constructor(private readonly opts: RotationSchedulerOptions) {
    this.file = opts.file;
    this.schedules = schedulesOf(opts.file);
    this.log = opts.logger.child({ component: 'scheduler' });
    this.now = opts.now ?? (() => new Date());
    this.chunkSize = positiveInteger('enqueueChunkSize', opts.enqueueChunkSize ?? DEFAULT_ENQUEUE_CHUNK);
    this.lookupConcurrency = positiveInteger('lookupConcurrency', opts.lookupConcurrency ?? DEFAULT_LOOKUP_CONCURRENCY);
    this.missedTickToleranceMs = opts.missedTickToleranceMs ?? DEFAULT_MISSED_TICK_TOLERANCE_MS;
    this.inspector = new CurrentKeyInspector(opts.secrets);
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * Starts one CronTicker (a node-cron beat) per schedule (default + each group), each reading its
   * cron in its time zone, then runs one catch-up pass. Overlapping ticks of one schedule are
   * refused by tick(). Resolves when that pass is done; a failed pass
   * is logged, not thrown, so a Sendmux or AWS outage at start-up does not stop the cron.
   */
  async start(): Promise<void> {
    if (this.startup) throw new Error('RotationScheduler.start() was already called; create a new scheduler to start again');
    this.startup = this.registerAndCatchUp();
    return this.startup;
  }

  private async registerAndCatchUp(): Promise<void> {
    for (const schedule of this.schedules) {
      const log = this.log.child({ schedule: schedule.name });
      const ticker = new CronTicker({
        spec: schedule,
        name: `rotator ${schedule.name}`,
        onTick: (tickTime) => this.tick(schedule.name, tickTime),
        onMissed: (missed) => this.reportMissed(log, schedule, missed),
        missedToleranceMs: this.missedTickToleranceMs,
        logger: cronLogger(log),
      });
      this.tasks.set(schedule.name, { schedule, ticker });
      await ticker.start();
    }
    this.log.info(
      {
        schedules: this.schedules.map((s) => ({
          name: s.name,
          cron: s.cron,
          timezone: s.timezone,
          nextRun: this.tasks.get(s.name)?.ticker.nextRun()?.toISOString() ?? null,
        })),
        maxKeyAgeMs: this.file.maxKeyAgeMs,
      },
      `scheduler started with ${this.schedules.length} schedule(s)`,
    );
    try {
      await this.catchUp();
    } catch (err) {
      this.log.error({ err: errorSummary(err) }, `start-up catch-up failed: ${errorText(err)}; cron ticks continue`);
    }
    const every = this.opts.catchUpIntervalMs === undefined ? DEFAULT_CATCH_UP_INTERVAL_MS : this.opts.catchUpIntervalMs;
    if (every !== null && !this.stopped) {
      positiveInteger('catchUpIntervalMs', every);
      this.periodic = setInterval(() => {
        if (this.runningCatchUp) return;
        this.singleCatchUp(async () => this.runCatchUp((await this.resolve()).mailboxes, 'periodic pass')).catch((err: unknown) => {
          this.log.error({ err: errorSummary(err) }, `periodic catch-up failed: ${errorText(err)}; the next pass tries again`);
        });
      }, every);
      this.periodic.unref();
    }
  }

  private reportMissed(log: pino.Logger, schedule: RotationSchedule, missed: MissedTicks): void {
    const count = `${missed.truncated ? 'more than ' : ''}${missed.count}`;
    log.warn(
      {
        missedTicks: missed.count,
        truncated: missed.truncated,
        oldestMissed: missed.oldest.toISOString(),
        catchUpTick: missed.newest.toISOString(),
        slot: slotForTick(missed.newest),
      },
      `${count} tick(s) of schedule ${schedule.name} since ${missed.oldest.toISOString()} were missed (the process was busy or asleep, ` +
        `or its clock jumped); catching up now with the tick of ${missed.newest.toISOString()}`,
    );
  }

  /**
   * What a cron fire does: resolve the mailboxes, enqueue one rotation per mailbox this schedule
   * owns with the tick's slot (in chunks of enqueueChunkSize, each one addBulk), then run a
   * catch-up pass over the other schedules' mailboxes. A second call for the same schedule while
   * one runs does nothing and reports `overlap`.
   */
  async tick(scheduleName: string, tickTime: Date): Promise<TickReport> {
    const schedule = this.scheduleNamed(scheduleName);
    const slot = slotForTick(tickTime);
    if (this.runningTicks.has(schedule.name)) {
      this.log.warn({ schedule: schedule.name, slot }, `tick ${slot} of schedule ${schedule.name} skipped: the previous tick is still running`);
      return { ...emptyTick(schedule.name, slot, tickTime), status: 'overlap' };
    }
    const run = this.runTick(schedule, tickTime, slot);
    this.runningTicks.set(schedule.name, run);
    try {
      return await run;
    } finally {
      this.runningTicks.delete(schedule.name);
    }
  }

  private async runTick(schedule: RotationSchedule, tickTime: Date, slot: string): Promise<TickReport> {
    const started = performance.now();
    let resolution: MailboxResolution;
    try {
      resolution = await this.resolve();
    } catch (err) {
      this.log.error(
        { schedule: schedule.name, slot, durationMs: elapsed(started), err: errorSummary(err) },
        `tick ${slot} of schedule ${schedule.name} failed: could not resolve mailboxes: ${errorText(err)}`,
      );
      throw err;
    }
    const owned = resolution.bySchedule.get(schedule.name) ?? [];
    const requests = owned.map((mailbox) => this.requestFor(mailbox.mailboxId, slot, 'cron'));
    let tally: Tally;
    try {
      tally = await this.enqueueRetrying(schedule, tickTime, slot, requests);
    } catch (err) {
      this.log.error(
        { schedule: schedule.name, slot, resolved: owned.length, durationMs: elapsed(started), err: errorSummary(err) },
        `tick ${slot} of schedule ${schedule.name} failed while enqueueing: ${errorText(err)}; ` +
          'the next catch-up pass enqueues the same slot (it finds the keys older than this tick)',
      );
      throw err;
    }
    const report: TickReport = {
      schedule: schedule.name,
      slot,
      tickTime: tickTime.toISOString(),
      status: 'done',
      resolved: owned.length,
      ...tally.counts,
      skipped: resolution.skipped,
      refusals: tally.refusals,
      durationMs: elapsed(started),
      catchUp: null,
    };
    this.log.info(
      {
        schedule: report.schedule,
        slot,
        tickTime: report.tickTime,
        resolved: report.resolved,
        enqueued: report.enqueued,
        existing: report.existing,
        refused: report.refused,
        skippedCount: report.skipped.length,
        skipped: report.skipped.slice(0, MAX_LOGGED_MAILBOXES).map(({ mailboxId, reason }) => ({ mailboxId, reason })),
        refusals: report.refusals.slice(0, MAX_LOGGED_MAILBOXES),
        durationMs: report.durationMs,
      },
      `tick ${slot} of schedule ${schedule.name}: ${report.resolved} mailbox(es), ${report.enqueued} enqueued, ` +
        `${report.existing} already queued, ${report.refused} refused, ${report.skipped.length} skipped`,
    );

    const others = resolution.mailboxes.filter((mailbox) => mailbox.schedule !== schedule.name);
    if (others.length > 0) {
      if (this.runningCatchUp) {
        this.log.debug({ schedule: schedule.name, slot }, 'catch-up already running; this tick does not start another');
      } else {
        try {
          report.catchUp = await this.singleCatchUp(() => this.runCatchUp(others, `tick ${slot} of ${schedule.name}`));
        } catch (err) {
          this.log.error({ schedule: schedule.name, slot, err: errorSummary(err) }, `catch-up after tick ${slot} failed: ${errorText(err)}`);
        }
      }
    }
    return report;
  }

  /**
   * Enqueues every mailbox whose AWSCURRENT version is older than maxKeyAge, or that has no
   * secret (always, even with maxKeyAge off), with `requestedBy: 'catch-up'` and a slot shared by
   * all replicas (see catchUpSlot). If a pass is already running, waits for it and runs a new one.
   */
  async catchUp(): Promise<CatchUpReport> {
    while (this.runningCatchUp) await this.runningCatchUp.catch(() => undefined);
    return this.singleCatchUp(async () => this.runCatchUp((await this.resolve()).mailboxes, 'full pass'));
  }

  private async singleCatchUp(run: () => Promise<CatchUpReport>): Promise<CatchUpReport> {
    const pass = run();
    this.runningCatchUp = pass;
    try {
      return await pass;
    } finally {
      if (this.runningCatchUp === pass) this.runningCatchUp = null;
    }
  }

  private async runCatchUp(mailboxes: readonly ResolvedMailbox[], trigger: string): Promise<CatchUpReport> {
    const started = performance.now();
    const now = this.now();
    const maxKeyAgeMs = this.file.maxKeyAgeMs;
    const slot = catchUpSlot(now, maxKeyAgeMs);
    // The latest tick of each schedule, as of now: a key created before it (less the interval the
    // tick's own job would have skipped it for) missed that tick.
    const latestTick = new Map(this.schedules.map((schedule) => [schedule.name, occurrenceAtOrBefore(schedule, now)]));
    const due: Array<{ mailbox: ResolvedMailbox; why: string; slot: string }> = [];
    const lookupErrors: Array<{ mailboxId: string; message: string }> = [];
    let stale = 0;
    let missing = 0;
    let missedSlot = 0;

    await forEachWithLimit(mailboxes, this.lookupConcurrency, async (mailbox) => {
      const secretName = this.opts.renderSecretName(mailbox.mailboxId);
      try {
        const state = await this.inspector.inspect(secretName, { withCreatedDate: true });
        if (state.kind === 'missing' || state.kind === 'no-current') {
          missing++;
          due.push({
            mailbox,
            slot,
            why: state.kind === 'missing' ? `secret ${secretName} does not exist yet` : `secret ${secretName} has no AWSCURRENT version`,
          });
        } else if (state.kind === 'deleted') {
          lookupErrors.push({
            mailboxId: mailbox.mailboxId,
            message: `secret ${secretName} is scheduled for deletion on ${state.deletedDate.toISOString()}; restore it (RestoreSecret) so rotations can write to it`,
          });
        } else if (!state.createdDate) {
          lookupErrors.push({ mailboxId: mailbox.mailboxId, message: `Secrets Manager reports no CreatedDate for the AWSCURRENT version of ${secretName}` });
        } else {
          // CreatedDate is on AWS's clock: the offset its Date header showed keeps a drifted local clock out of the comparison.
          const awsNowMs = now.getTime() + (this.opts.secrets.clock?.offsetMs ?? 0);
          const createdMs = state.createdDate.getTime();
          const tick = latestTick.get(mailbox.schedule) ?? null;
          const ageMs = Math.max(0, awsNowMs - createdMs);
          if (tick && createdMs < tick.getTime() - this.file.minRotationIntervalMs) {
            missedSlot++;
            due.push({
              mailbox,
              slot: slotForTick(tick),
              why: `AWSCURRENT of ${secretName} (created ${state.createdDate.toISOString()}) predates the tick of ${tick.toISOString()} of schedule ${mailbox.schedule}`,
            });
          } else if (maxKeyAgeMs !== null && ageMs >= maxKeyAgeMs) {
            stale++;
            due.push({ mailbox, slot, why: `AWSCURRENT of ${secretName} is ${formatDuration(ageMs)} old, maxKeyAge is ${formatDuration(maxKeyAgeMs)}` });
          }
        }
      } catch (err) {
        lookupErrors.push({ mailboxId: mailbox.mailboxId, message: errorText(err) });
      }
    });

    for (const { mailbox, why, slot: dueSlot } of due) {
      this.log.info({ mailboxId: mailbox.mailboxId, schedule: mailbox.schedule, slot: dueSlot }, `catch-up: mailbox ${mailbox.mailboxId} is due now: ${why}`);
    }
    for (const failure of lookupErrors) {
      this.log.warn({ mailboxId: failure.mailboxId }, `catch-up could not check mailbox ${failure.mailboxId}: ${failure.message}`);
    }
    const tally = await this.enqueue(
      due.map(({ mailbox, slot: dueSlot }) => this.requestFor(mailbox.mailboxId, dueSlot, 'catch-up')),
    );
    const report: CatchUpReport = {
      slot,
      checked: mailboxes.length,
      stale,
      missing,
      missedSlot,
      ...tally.counts,
      lookupErrors,
      durationMs: elapsed(started),
    };
    this.log.info(
      {
        trigger,
        slot,
        checked: report.checked,
        stale,
        missing,
        missedSlot,
        enqueued: report.enqueued,
        existing: report.existing,
        refused: report.refused,
        lookupErrors: lookupErrors.length,
        durationMs: report.durationMs,
      },
      `catch-up (${trigger}): checked ${report.checked} mailbox(es), ${missedSlot} missed a tick, ${stale} stale, ${missing} without a secret, ` +
        `${report.enqueued} enqueued, ${report.existing} already queued, ${lookupErrors.length} could not be checked`,
    );
    return report;
  }

  /** The next cron tick that will rotate this mailbox, or null if no schedule is known to own it. */
  nextRunFor(mailboxId: string): Date | null {
    const scheduleName = this.owners.get(mailboxId) ?? this.ownerWithoutListing(mailboxId);
    if (scheduleName === undefined) return null;
    const running = this.tasks.get(scheduleName)?.ticker;
    if (running) return running.nextRun();
    const schedule = this.schedules.find((s) => s.name === scheduleName);
    return schedule ? nextOccurrenceAfter(schedule, this.now()) : null;
  }

  /** Stops every cron task, then waits for running ticks and catch-up passes to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.periodic) clearInterval(this.periodic);
    this.periodic = null;
    for (const wake of this.wakeRetries.splice(0)) wake();
    for (const { ticker } of this.tasks.values()) await ticker.stop();
    this.tasks.clear();
    await this.startup?.catch(() => undefined);
    await Promise.allSettled([...this.runningTicks.values(), ...(this.runningCatchUp ? [this.runningCatchUp] : [])]);
    this.log.info('scheduler stopped');
  }

  private async resolve(): Promise<MailboxResolution> {
    const resolution = await resolveMailboxes({
      file: this.file,
      sendmux: this.opts.sendmux,
      // resolveMailboxes binds its own component; this.log's would repeat the key.
      logger: this.opts.logger,
      reportedConflicts: this.reportedConflicts,
    });
    this.owners = new Map(resolution.mailboxes.map((mailbox) => [mailbox.mailboxId, mailbox.schedule]));
    return resolution;
  }

  /**
   * Before the first resolution, ownership is certain only without email globs: the first group
   * listing the id, else the default schedule if the id is in scope.
   */
  private ownerWithoutListing(mailboxId: string): string | undefined {
    if (this.file.groups.some((group) => group.emailGlob !== undefined)) return undefined;
    const group = this.file.groups.find((g) => g.mailboxes?.includes(mailboxId));
    if (group) return group.name;
    if (this.file.mailboxes === 'all' || this.file.mailboxes.includes(mailboxId)) return DEFAULT_SCHEDULE_NAME;
    return undefined;
  }

  /** No grace period: the processor resolves the mailbox's own (src/config/mailbox-settings.ts), as for every entry point. */
  private requestFor(mailboxId: string, slot: string, requestedBy: 'cron' | 'catch-up'): RotationRequest {
    return { mailboxId, reason: 'scheduled', slot, requestedBy };
  }

  /**
   * enqueue(), tried again while it fails (Redis restarting, full, failing over) with a delay
   * doubling from enqueueRetry.initialMs to maxMs, until it succeeds, the scheduler stops, or the
   * schedule's next occurrence is near (that tick and the catch-up passes take over). Safe to
   * repeat: the job ids are the tick's (`rotate__<mailbox>__<slot>`), so a chunk that was added
   * before the failure comes back as `existing`.
   */
  private async enqueueRetrying(schedule: RotationSchedule, tickTime: Date, slot: string, requests: readonly RotationRequest[]): Promise<Tally> {
    const retry = this.opts.enqueueRetry ?? DEFAULT_ENQUEUE_RETRY;
    const next = nextOccurrenceAfter(schedule, tickTime);
    let delayMs = retry.initialMs;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const tally = await this.enqueue(requests);
        if (attempt > 1) {
          this.log.info({ schedule: schedule.name, slot, attempt }, `tick ${slot} of schedule ${schedule.name}: enqueued at attempt ${attempt}, Redis is back`);
        }
        return tally;
      } catch (err) {
        // Only Redis being away or full is waited out; anything else is no better on a retry.
        const giveUpAt = next ? next.getTime() - delayMs : Number.POSITIVE_INFINITY;
        if (this.stopped || !redisRefusalOf(err) || Date.now() + delayMs >= giveUpAt) throw err;
        this.log.warn(
          { schedule: schedule.name, slot, attempt, retryInMs: delayMs, err: errorSummary(err) },
          `tick ${slot} of schedule ${schedule.name}: enqueue attempt ${attempt} failed (${errorText(err)}); trying again in ${formatDuration(delayMs)}`,
        );
        await this.interruptibleSleep(delayMs);
        if (this.stopped) throw err;
        delayMs = Math.min(retry.maxMs, delayMs * 2);
      }
    }
  }

  private interruptibleSleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => resolve();
      this.wakeRetries.push(wake);
      void this.sleep(ms).then(() => {
        this.wakeRetries = this.wakeRetries.filter((w) => w !== wake);
        resolve();
      });
    });
  }

  /** One requestRotations (one addBulk) per chunk keeps memory and Redis latency flat for 100,000 mailboxes. */
  private async enqueue(requests: readonly RotationRequest[]): Promise<Tally> {
    const tally: Tally = { counts: { enqueued: 0, existing: 0, refused: 0 }, refusals: [] };
    for (let start = 0; start < requests.length; start += this.chunkSize) {
      const outcomes: EnqueueOutcome[] = await this.opts.queue.requestRotations(requests.slice(start, start + this.chunkSize));
      for (const outcome of outcomes) {
        tally.counts[outcome.status]++;
        if (outcome.status === 'refused') tally.refusals.push({ mailboxId: outcome.mailboxId, message: outcome.message });
      }
    }
    return tally;
  }

  private scheduleNamed(name: string): RotationSchedule {
    const schedule = this.schedules.find((s) => s.name === name);
    if (!schedule) {
      throw new Error(`unknown schedule "${name}": expected one of ${this.schedules.map((s) => `"${s.name}"`).join(', ')}`);
    }
    return schedule;
  }
}

interface Tally {
  counts: EnqueueCounts;
  refusals: Array<{ mailboxId: string; message: string }>;
}

function emptyTick(schedule: string, slot: string, tickTime: Date): TickReport {
  return {
    schedule,
    slot,
    tickTime: tickTime.toISOString(),
    status: 'done',
    resolved: 0,
    enqueued: 0,
    existing: 0,
    refused: 0,
    skipped: [],
    refusals: [],
    durationMs: 0,
    catchUp: null,
  };
}

/** node-cron's own messages (e.g. "new execution blocked by overlap prevention") go to pino. */
function cronLogger(log: pino.Logger): CronLogger {
  const text = (message: string | Error) => (message instanceof Error ? message.message : message);
  return {
    info: (message) => log.debug(`node-cron: ${message}`),
    warn: (message) => log.warn(`node-cron: ${message}`),
    error: (message, err) => log.error({ err: err ? errorSummary(err) : undefined }, `node-cron: ${text(message)}`),
    debug: (message) => log.debug(`node-cron: ${text(message)}`),
  };
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

/** SendmuxError and SecretStoreError messages are built to be safe to log (no keys, no secret values). */

