import { isOccurrence, nextOccurrenceAfter, occurrenceAtOrBefore, occurrencesBetween, parseCron } from '../../src/scheduler/cron-occurrences';

const utc = (cron: string) => ({ cron, timezone: 'UTC' });
const vienna = (cron: string) => ({ cron, timezone: 'Europe/Vienna' });

/** Every occurrence in (from, to], as ISO strings. */
function between(spec: { cron: string; timezone: string }, from: string, to: string): string[] {
  const { occurrences, truncated } = occurrencesBetween(spec, new Date(from), new Date(to), 10_000);
  expect(truncated).toBe(false);
  return occurrences.map((d) => d.toISOString());
}

/** Every `stepMs` in (from, to], as ISO strings. */
function everyStep(from: string, to: string, stepMs: number): string[] {
  const out: string[] = [];
  for (let t = new Date(from).getTime() + stepMs; t <= new Date(to).getTime(); t += stepMs) out.push(new Date(t).toISOString());
  return out;
}

describe('cron occurrences', () => {
  it('finds the next occurrence strictly after the given instant', () => {
    expect(nextOccurrenceAfter(utc('0 3 * * 1'), new Date('2026-03-02T03:00:00Z'))?.toISOString()).toBe('2026-03-09T03:00:00.000Z');
    expect(nextOccurrenceAfter(utc('0 3 * * 1'), new Date('2026-03-02T02:59:59Z'))?.toISOString()).toBe('2026-03-02T03:00:00.000Z');
  });

  it('reads a restricted day-of-month and day-of-week as either one (Vixie cron), so "0 3 1 * 1" next runs on Monday 30 November', () => {
    expect(nextOccurrenceAfter(utc('0 3 1 * 1'), new Date('2026-11-29T12:00:00Z'))?.toISOString()).toBe('2026-11-30T03:00:00.000Z');
    expect(between(utc('0 3 1 * 1'), '2026-11-29T00:00:00Z', '2026-12-08T00:00:00Z')).toEqual([
      '2026-11-30T03:00:00.000Z', // Monday
      '2026-12-01T03:00:00.000Z', // the 1st (a Tuesday)
      '2026-12-07T03:00:00.000Z', // Monday
    ]);
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

  it('rejects an expression it cannot read, naming the problem', () => {
    expect(() => parseCron('0 3 * * * * *')).toThrow(/parts/);
    expect(() => parseCron('0 3 * * 1')).not.toThrow();
  });
});

describe('cron occurrences across the autumn DST change (Europe/Vienna, 25 Oct 2026: 03:00 CEST becomes 02:00 CET at 01:00Z)', () => {
  it('an every-30-seconds schedule fires every 30 s of real time through both passes of the repeated hour', () => {
    expect(between(vienna('*/30 * * * * *'), '2026-10-24T23:30:00Z', '2026-10-25T01:30:00Z')).toEqual(
      everyStep('2026-10-24T23:30:00Z', '2026-10-25T01:30:00Z', 30_000),
    );
    // The first pass (02:00:30 CEST) is followed by 02:01:00 CEST, not by the second pass an hour later.
    expect(nextOccurrenceAfter(vienna('*/30 * * * * *'), new Date('2026-10-25T00:00:30Z'))?.toISOString()).toBe('2026-10-25T00:01:00.000Z');
  });

  it('an hourly schedule fires every hour, including 01:00Z (02:00 CET, the second 02:00)', () => {
    expect(between(vienna('0 * * * *'), '2026-10-24T22:30:00Z', '2026-10-25T03:30:00Z')).toEqual([
      '2026-10-24T23:00:00.000Z',
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T02:00:00.000Z',
      '2026-10-25T03:00:00.000Z',
    ]);
  });

  it('a daily 02:30 fires once, on the first pass', () => {
    expect(between(vienna('30 2 * * *'), '2026-10-24T12:00:00Z', '2026-10-25T12:00:00Z')).toEqual(['2026-10-25T00:30:00.000Z']);
  });
});

describe('cron occurrences across the spring DST change (Europe/Vienna, 28 Mar 2027: 02:00 CET becomes 03:00 CEST at 01:00Z)', () => {
  it('a daily 02:30 (a local time that does not exist that day) fires once, at 03:00 local', () => {
    expect(between(vienna('30 2 * * *'), '2027-03-27T12:00:00Z', '2027-03-28T12:00:00Z')).toEqual(['2027-03-28T01:00:00.000Z']);
    expect(occurrenceAtOrBefore(vienna('30 2 * * *'), new Date('2027-03-28T01:00:30Z'))?.toISOString()).toBe('2027-03-28T01:00:00.000Z');
    expect(isOccurrence(vienna('30 2 * * *'), new Date('2027-03-28T01:00:00Z'))).toBe(true);
  });

  it('a schedule whose every time that day falls in the gap fires once, at its end', () => {
    expect(between(vienna('*/20 2 * * *'), '2027-03-27T12:00:00Z', '2027-03-28T12:00:00Z')).toEqual(['2027-03-28T01:00:00.000Z']);
    expect(between(vienna('0 */2 * * *'), '2027-03-27T22:30:00Z', '2027-03-28T02:30:00Z')).toEqual([
      '2027-03-27T23:00:00.000Z', // 00:00 CET
      '2027-03-28T01:00:00.000Z', // for 02:00, which does not exist: 03:00 CEST
      '2027-03-28T02:00:00.000Z', // 04:00 CEST
    ]);
  });

  it('an every-30-seconds schedule keeps ticking every 30 s of real time', () => {
    expect(between(vienna('*/30 * * * * *'), '2027-03-28T00:30:00Z', '2027-03-28T01:30:00Z')).toEqual(
      everyStep('2027-03-28T00:30:00Z', '2027-03-28T01:30:00Z', 30_000),
    );
  });
});

describe('occurrencesBetween', () => {
  it('after a long pause keeps only the newest occurrence and says it left the rest out', () => {
    const { occurrences, truncated } = occurrencesBetween(utc('*/30 * * * * *'), new Date('2026-03-01T00:00:00Z'), new Date('2026-03-02T00:00:10Z'), 100);
    expect(truncated).toBe(true);
    expect(occurrences.map((d) => d.toISOString())).toEqual(['2026-03-02T00:00:00.000Z']);
  });
});
