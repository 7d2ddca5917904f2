import { Cron, type CronOptions } from 'croner';

/**
 * The one place that says when a cron schedule fires. The scheduler's ticker, catch-up, `plan`
 * and `status` all ask here, so they cannot disagree.
 *
 * The rules (docs/configuration.md, "Cron and DST rules"):
 * - Day-of-month and day-of-week, when both are restricted, combine with OR as in Vixie cron
 *   ("0 3 1 * 1": the 1st of the month and every Monday).
 * - The expression is read in its IANA time zone. An instant fires when its local time matches.
 * - DST fall-back: a fixed-time schedule (no wildcard or step in seconds, minutes and hours, e.g.
 *   "30 2 * * *") fires once, on the first pass through the repeated hour; a schedule with a
 *   wildcard or step there (hourly, every 30 s) fires on both passes, since each pass is a
 *   different instant.
 * - DST spring-forward: a matching local time that does not exist that day fires once, at the
 *   first valid instant after the gap (03:00 local for a "30 2 * * *" in Europe/Vienna).
 *
 * croner (Vixie-style DST handling, `fixedTimeRule: 'no-wildcard'`) computes the ordinary
 * occurrences. It skips gap times of interval schedules ("*\/20 2 * * *", "0 *\/2 * * *"), so
 * the gap rule is applied here on top: a DST gap whose wall-clock range contains a match adds
 * the gap's end as an occurrence. node-cron's own walker is not used: it jumps from the first
 * pass of a repeated hour to the second and skips gap times (issue #13).
 */

export interface CronSpec {
  cron: string;
  timezone: string;
}

/** croner options shared by every parse; also used by config validation so both accept the same expressions. */
export const CRON_OPTIONS: Readonly<Pick<CronOptions, 'mode' | 'domAndDow' | 'fixedTimeRule'>> = {
  // node-cron's syntax: five fields, or six with leading seconds.
  mode: '5-or-6-parts',
  domAndDow: false,
  fixedTimeRule: 'no-wildcard',
};

const SECOND_MS = 1000;
const DAY_MS = 86_400_000;
/** How far to look for a gap occurrence when croner finds none (a pattern such as "0 0 30 2 *"). */
const NO_CANDIDATE_HORIZON_MS = 366 * DAY_MS;

/**
 * Throws croner's error (naming the bad part) when `cron` cannot be read. Accepts what the
 * scheduler can run: 5 fields, or 6 with seconds; names, `L`, `W`, `#` and nicknames.
 */
export function parseCron(cron: string): void {
  void new Cron(cron, { ...CRON_OPTIONS, paused: true });
}

/** The first occurrence strictly after `after` (whole seconds), or null when there is none. */
export function nextOccurrenceAfter(spec: CronSpec, after: Date): Date | null {
  const schedule = compile(spec);
  if (!schedule) return null;
  const from = truncateToSecond(after);
  const candidate = schedule.zoned.nextRun(from);
  const horizon = candidate ?? new Date(from.getTime() + NO_CANDIDATE_HORIZON_MS);
  const gapEnd = dstGapsBetween(spec.timezone, from, horizon).find((gap) => gapMatches(schedule, gap));
  if (gapEnd && (!candidate || gapEnd.at.getTime() < candidate.getTime())) return gapEnd.at;
  return candidate;
}

/**
 * The occurrence `instant` belongs to: `instant` itself (to the second) when it is one, else the
 * latest occurrence before it. Null when there is none within a year.
 */
export function occurrenceAtOrBefore(spec: CronSpec, instant: Date): Date | null {
  const schedule = compile(spec);
  if (!schedule) return null;
  const upTo = truncateToSecond(instant);
  // croner's previousRuns is strictly before its reference, so start one second later.
  const candidate = schedule.zoned.previousRuns(1, new Date(upTo.getTime() + SECOND_MS))[0] ?? null;
  const floor = candidate ?? new Date(upTo.getTime() - NO_CANDIDATE_HORIZON_MS);
  const gaps = dstGapsBetween(spec.timezone, floor, upTo).filter((gap) => gapMatches(schedule, gap));
  const latestGap = gaps[gaps.length - 1];
  if (latestGap && (!candidate || latestGap.at.getTime() > candidate.getTime())) return latestGap.at;
  return candidate;
}

/**
 * Every occurrence in (`after`, `until`], oldest first, at most `limit` of them (the newest are
 * kept when there are more, with `truncated` set). Used by the ticker to find the ticks a beat
 * covers, and missed ones after a pause.
 */
export function occurrencesBetween(spec: CronSpec, after: Date, until: Date, limit = 100): { occurrences: Date[]; truncated: boolean } {
  const occurrences: Date[] = [];
  let truncated = false;
  let cursor: Date | null = after;
  while (cursor) {
    cursor = nextOccurrenceAfter(spec, cursor);
    if (!cursor || cursor.getTime() > until.getTime()) break;
    occurrences.push(cursor);
    if (occurrences.length > limit) {
      // Keep walking cheaply from the newest: jump to the last occurrence at or before `until`.
      truncated = true;
      const last = occurrenceAtOrBefore(spec, until);
      occurrences.splice(0, occurrences.length, ...(last && last.getTime() > after.getTime() ? [last] : []));
      break;
    }
  }
  return { occurrences, truncated };
}

/** Whether `instant` (to the second) is an occurrence of `spec`. */
export function isOccurrence(spec: CronSpec, instant: Date): boolean {
  const second = truncateToSecond(instant);
  return nextOccurrenceAfter(spec, new Date(second.getTime() - SECOND_MS))?.getTime() === second.getTime();
}

export function truncateToSecond(instant: Date): Date {
  return new Date(Math.floor(instant.getTime() / SECOND_MS) * SECOND_MS);
}

// ---------------------------------------------------------------- internals

interface CompiledSchedule {
  /** The expression in its zone: croner's occurrences. */
  zoned: Cron;
  /** The same expression in UTC, used to ask "does any wall-clock time in this range match?". */
  wallClock: Cron;
}

/** Parsed schedules by zone and expression; a process has a handful (one per group), so the bound is generous. */
const compiled = new Map<string, CompiledSchedule | null>();
const MAX_COMPILED = 256;

function compile(spec: CronSpec): CompiledSchedule | null {
  const key = `${spec.timezone}\u0000${spec.cron}`;
  const cached = compiled.get(key);
  if (cached !== undefined) return cached;
  let schedule: CompiledSchedule | null;
  try {
    schedule = {
      zoned: new Cron(spec.cron, { ...CRON_OPTIONS, timezone: spec.timezone, paused: true }),
      wallClock: new Cron(spec.cron, { ...CRON_OPTIONS, timezone: 'UTC', paused: true }),
    };
  } catch {
    schedule = null;
  }
  if (compiled.size >= MAX_COMPILED) compiled.clear();
  compiled.set(key, schedule);
  return schedule;
}

/** A DST gap: local times in [wallStartMs, wallEndMs) (as UTC-read wall clocks) do not exist; `at` is the first instant after. */
interface DstGap {
  at: Date;
  wallStartMs: number;
  wallEndMs: number;
}

function gapMatches(schedule: CompiledSchedule, gap: DstGap): boolean {
  const firstMatch = schedule.wallClock.nextRun(new Date(gap.wallStartMs - SECOND_MS));
  return firstMatch !== null && firstMatch.getTime() < gap.wallEndMs;
}

/**
 * The DST gaps (forward offset changes) whose end lies in (`from`, `to`], oldest first. Offsets
 * are sampled a day apart (no zone changes its offset twice in a day) and each change is found to
 * the second by bisection. Offsets come from the runtime's ICU time zone data (Intl).
 */
function dstGapsBetween(timezone: string, from: Date, to: Date): DstGap[] {
  const gaps: DstGap[] = [];
  const offsetAt = offsetReader(timezone);
  if (!offsetAt) return gaps;
  let lo = from.getTime();
  let loOffset = offsetAt(lo);
  const end = to.getTime();
  while (lo < end) {
    const hi = Math.min(lo + DAY_MS, end);
    const hiOffset = offsetAt(hi);
    if (hiOffset !== loOffset) {
      // Bisect to the first second with the new offset.
      let a = lo;
      let b = hi;
      while (b - a > SECOND_MS) {
        const mid = a + Math.floor((b - a) / 2 / SECOND_MS) * SECOND_MS;
        if (offsetAt(mid) === loOffset) a = mid;
        else b = mid;
      }
      if (hiOffset > loOffset) gaps.push({ at: new Date(b), wallStartMs: b + loOffset, wallEndMs: b + hiOffset });
    }
    lo = hi;
    loOffset = hiOffset;
  }
  return gaps;
}

const readers = new Map<string, ((ms: number) => number) | null>();

/** The zone's UTC offset in ms at an instant, or null for a zone without DST changes worth reading (UTC). */
function offsetReader(timezone: string): ((ms: number) => number) | null {
  const cached = readers.get(timezone);
  if (cached !== undefined) return cached;
  let reader: ((ms: number) => number) | null = null;
  if (!/^(utc|etc\/utc|gmt|etc\/gmt|z)$/i.test(timezone)) {
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    reader = (ms: number) => {
      const parts: Record<string, number> = {};
      for (const part of format.formatToParts(new Date(ms))) if (part.type !== 'literal') parts[part.type] = Number(part.value);
      const wall = Date.UTC(parts.year ?? 0, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0);
      return wall - Math.floor(ms / SECOND_MS) * SECOND_MS;
    };
  }
  readers.set(timezone, reader);
  return reader;
}
