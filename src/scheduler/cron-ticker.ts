import { createTask, type Logger as CronLogger, type ScheduledTask } from 'node-cron';
import { nextOccurrenceAfter, occurrencesBetween, truncateToSecond, type CronSpec } from './cron-occurrences';

/** What a ticker found overdue when a beat came: ticks that were not fired on time. */
export interface MissedTicks {
  /** How many occurrences were not fired on time (a lower bound when `truncated`). */
  count: number;
  truncated: boolean;
  /** Oldest and newest overdue occurrence; `newest` is the one fired to catch up. */
  oldest: Date;
  newest: Date;
}

export interface CronTickerOptions {
  spec: CronSpec;
  /** node-cron task name, for its own log lines. */
  name: string;
  /**
   * Called with the occurrence (not the moment of the call) once per tick; its rejection is
   * swallowed (the callee logs). Not awaited by the ticker: overlap is the callee's business.
   */
  onTick: (tickTime: Date) => Promise<unknown>;
  /** Called before onTick when the tick being fired is a catch-up of overdue occurrences. */
  onMissed: (missed: MissedTicks) => void;
  /** An occurrence found later than this after it was due counts as missed. */
  missedToleranceMs: number;
  logger?: CronLogger;
  /** Defaults to the real clock; node-cron itself reads Date, so tests inject a clock with jest's fake timers. */
  now?: () => Date;
}

/** More overdue occurrences than this are counted as "more than" (a paused every-30-seconds schedule has thousands). */
const MAX_MISSED_LISTED = 100;

/**
 * Fires a cron schedule's ticks, exactly once per occurrence, across DST changes.
 *
 * node-cron is the ticker: a UTC beat (every second for a schedule with a seconds field, every
 * minute otherwise; UTC has no DST, so the beat itself never jumps). On each beat the ticker
 * asks cron-occurrences which occurrences fell since the previous beat, so the instants come
 * from one calculator that handles day-of-month/day-of-week OR and DST (node-cron's own walker
 * skips the first pass of a repeated hour and times in a DST gap). Occurrences that fell during
 * a stall (GC pause, suspended VM, clock jump) are found on the next beat: the newest is fired as
 * a catch-up and the lot is reported through onMissed.
 */
export class CronTicker {
  private readonly now: () => Date;
  private task: ScheduledTask | null = null;
  /** Every occurrence at or before this instant has been fired or reported. */
  private coveredUpTo: Date;
  private nextDue: Date | null;

  constructor(private readonly opts: CronTickerOptions) {
    this.now = opts.now ?? (() => new Date());
    this.coveredUpTo = truncateToSecond(this.now());
    this.nextDue = nextOccurrenceAfter(opts.spec, this.coveredUpTo);
  }

  /** Starts the node-cron beat. Occurrences before this call are not fired (catch-up by key age covers them). */
  async start(): Promise<void> {
    if (this.task) return;
    this.coveredUpTo = truncateToSecond(this.now());
    this.nextDue = nextOccurrenceAfter(this.opts.spec, this.coveredUpTo);
    const hasSeconds = this.opts.spec.cron.trim().split(/\s+/).length === 6;
    this.task = createTask(hasSeconds ? '* * * * * *' : '0 * * * * *', (context) => this.beat(context.date), {
      name: this.opts.name,
      timezone: 'UTC',
      // The ticker detects missed occurrences itself, whatever happened to individual beats.
      suppressMissedWarning: true,
      ...(this.opts.logger ? { logger: this.opts.logger } : {}),
    });
    await this.task.start();
  }

  /** The next occurrence not yet fired, or null when the schedule has none. */
  nextRun(): Date | null {
    return this.nextDue;
  }

  async stop(): Promise<void> {
    const task = this.task;
    this.task = null;
    if (task) await task.destroy();
  }

  /** One beat: fires the occurrences in (coveredUpTo, max(beat, now)]. Public for tests that drive beats directly. */
  beat(beatTime: Date): void {
    const upTo = new Date(Math.max(truncateToSecond(beatTime).getTime(), truncateToSecond(this.now()).getTime()));
    if (upTo.getTime() <= this.coveredUpTo.getTime()) return; // the clock went back: wait for it
    if (this.nextDue === null || this.nextDue.getTime() > upTo.getTime()) {
      this.coveredUpTo = upTo;
      return;
    }
    const oldest = this.nextDue;
    const { occurrences, truncated } = occurrencesBetween(this.opts.spec, this.coveredUpTo, upTo, MAX_MISSED_LISTED);
    this.coveredUpTo = upTo;
    this.nextDue = nextOccurrenceAfter(this.opts.spec, upTo);
    const newest = occurrences[occurrences.length - 1];
    if (!newest) return;
    // Only the newest occurrence is fired: one rotation per mailbox covers every tick it stands for.
    const passedOver = truncated ? MAX_MISSED_LISTED : occurrences.length - 1;
    const late = this.now().getTime() - newest.getTime() > this.opts.missedToleranceMs;
    if (passedOver > 0 || late) {
      this.opts.onMissed({ count: passedOver + (late ? 1 : 0), truncated, oldest, newest });
    }
    this.opts.onTick(newest).catch(() => undefined);
  }
}
