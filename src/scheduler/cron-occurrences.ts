import { parseExpression } from 'cron-parser';
import { createTask, type ScheduledTask } from 'node-cron';

/**
 * Cron arithmetic that agrees with node-cron, which is what actually fires the ticks.
 *
 * node-cron 4 can only say whether a given instant matches (`task.match`) and what comes after
 * the real clock's now; it cannot walk from an arbitrary instant. cron-parser can, but reads a
 * restricted day-of-month together with a restricted day-of-week as OR ("0 3 1 * 1": the 1st OR
 * Mondays) where node-cron reads AND. So cron-parser proposes candidates — for the expressions
 * node-cron accepts, a superset of node-cron's occurrences — and node-cron's matcher keeps the
 * first one it would really fire on.
 */

export interface CronSpec {
  cron: string;
  timezone: string;
}

/** Enough for "1st of the month AND a Monday" style expressions (a handful of hits a year). */
const MAX_CANDIDATES = 5_000;

/** The first occurrence strictly after `after`, or null when none can be found. */
export function nextOccurrenceAfter(spec: CronSpec, after: Date): Date | null {
  return walk(spec, after, 'next');
}

/**
 * The occurrence `instant` belongs to: `instant` itself (to the second) when it matches, else the
 * latest occurrence before it. Null when none can be found.
 */
export function occurrenceAtOrBefore(spec: CronSpec, instant: Date): Date | null {
  const second = truncateToSecond(instant);
  // cron-parser's prev() is strictly before its start, so start one second later.
  return walk(spec, new Date(second.getTime() + 1000), 'prev');
}

export function truncateToSecond(instant: Date): Date {
  return new Date(Math.floor(instant.getTime() / 1000) * 1000);
}

/** Whether node-cron would fire `spec` at `instant` (to the second). */
export function matchesCron(spec: CronSpec, instant: Date): boolean {
  return withMatcher(spec, (matcher) => matcher.match(truncateToSecond(instant)));
}

function walk(spec: CronSpec, from: Date, direction: 'next' | 'prev'): Date | null {
  return withMatcher(spec, (matcher) => {
    let candidates;
    try {
      candidates = parseExpression(spec.cron, { currentDate: from, tz: spec.timezone });
    } catch {
      return null;
    }
    for (let i = 0; i < MAX_CANDIDATES; i++) {
      let candidate: Date;
      try {
        candidate = (direction === 'next' ? candidates.next() : candidates.prev()).toDate();
      } catch {
        return null; // out of range
      }
      if (matcher.match(candidate)) return candidate;
    }
    return null;
  });
}

/** A never-started node-cron task, used only for its matcher; destroyed so node-cron's registry does not grow. */
function withMatcher<T>(spec: CronSpec, use: (matcher: ScheduledTask) => T): T {
  const matcher = createTask(spec.cron, () => undefined, { timezone: spec.timezone });
  try {
    return use(matcher);
  } finally {
    void matcher.destroy();
  }
}
