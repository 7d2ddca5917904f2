import { nextOccurrenceAfter, type CronSpec } from './cron-occurrences';

/** Sample size for shortestGapMs: enough to see every pattern of a minute-level cron within a day. */
const MAX_SAMPLED_OCCURRENCES = 2_000;
const SAMPLE_HORIZON_MS = 400 * 86_400_000;

/**
 * The shortest time between two consecutive occurrences of `spec` among the next 2,000 or the
 * next 400 days after `from`, whichever ends first; null when fewer than two occur. Milliseconds.
 */
export function shortestGapMs(spec: CronSpec, from: Date): number | null {
  const horizon = from.getTime() + SAMPLE_HORIZON_MS;
  let previous = nextOccurrenceAfter(spec, from);
  let shortest: number | null = null;
  for (let i = 0; previous && i < MAX_SAMPLED_OCCURRENCES; i++) {
    const next = nextOccurrenceAfter(spec, previous);
    if (!next || next.getTime() > horizon) break;
    const gap = next.getTime() - previous.getTime();
    if (shortest === null || gap < shortest) shortest = gap;
    previous = next;
  }
  return shortest;
}
