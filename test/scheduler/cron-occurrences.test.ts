import { matchesCron, nextOccurrenceAfter, occurrenceAtOrBefore } from '../../src/scheduler/cron-occurrences';
import { getTasks } from 'node-cron';

const utc = (cron: string) => ({ cron, timezone: 'UTC' });

describe('cron occurrences (as node-cron fires them)', () => {
  it('finds the next occurrence strictly after the given instant', () => {
    expect(nextOccurrenceAfter(utc('0 3 * * 1'), new Date('2026-03-02T03:00:00Z'))?.toISOString()).toBe('2026-03-09T03:00:00.000Z');
    expect(nextOccurrenceAfter(utc('0 3 * * 1'), new Date('2026-03-02T02:59:59Z'))?.toISOString()).toBe('2026-03-02T03:00:00.000Z');
  });

  it('reads a restricted day-of-month and day-of-week together as node-cron does (both must match)', () => {
    // The 1st of a month that is also a Monday: June 2026. cron-parser alone would answer 1 March (a Sunday).
    const next = nextOccurrenceAfter(utc('0 3 1 * 1'), new Date('2026-02-15T00:00:00Z'));
    expect(next?.toISOString()).toBe('2026-06-01T03:00:00.000Z');
    expect(next && matchesCron(utc('0 3 1 * 1'), next)).toBe(true);
  });

  it('reads the cron in its time zone', () => {
    const london = { cron: '0 3 * * *', timezone: 'Europe/London' };
    expect(nextOccurrenceAfter(london, new Date('2026-07-01T00:00:00Z'))?.toISOString()).toBe('2026-07-01T02:00:00.000Z');
    expect(nextOccurrenceAfter(london, new Date('2026-01-10T00:00:00Z'))?.toISOString()).toBe('2026-01-10T03:00:00.000Z');
  });

  it('rounds an instant inside a tick down to the occurrence it belongs to', () => {
    expect(occurrenceAtOrBefore(utc('0 3 * * *'), new Date('2026-03-02T03:00:29.734Z'))?.toISOString()).toBe('2026-03-02T03:00:00.000Z');
    expect(occurrenceAtOrBefore(utc('0 3 * * *'), new Date('2026-03-02T03:00:00.000Z'))?.toISOString()).toBe('2026-03-02T03:00:00.000Z');
    expect(occurrenceAtOrBefore(utc('* * * * * *'), new Date('2026-03-02T03:00:07.999Z'))?.toISOString()).toBe('2026-03-02T03:00:07.000Z');
  });

  it('leaves no task behind in node-cron\'s registry', () => {
    const before = getTasks().size;
    nextOccurrenceAfter(utc('*/5 * * * *'), new Date());
    occurrenceAtOrBefore(utc('*/5 * * * *'), new Date());
    matchesCron(utc('*/5 * * * *'), new Date());
    expect(getTasks().size).toBe(before);
  });
});
