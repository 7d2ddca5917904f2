import { catchUpBucketMs, catchUpSlot } from '../../src/scheduler/catch-up-slot';
import { assertSlot, slotForTick } from '../../src/rotation/identity';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('catch-up slots', () => {
  it('are the same for replicas whose clocks differ by ±30 s inside one bucket', () => {
    const t = new Date('2026-11-27T06:40:00Z');
    const slots = [-30_000, 0, 30_000].map((skew) => catchUpSlot(new Date(t.getTime() + skew), 30 * DAY));
    expect(new Set(slots).size).toBe(1);
    expect(slots[0]).toBe('c20261127T0000Z');
  });

  it('change from one bucket to the next, so a failed catch-up is tried again later', () => {
    expect(catchUpSlot(new Date('2026-11-27T23:59:00Z'), null)).toBe('c20261127T0000Z');
    expect(catchUpSlot(new Date('2026-11-28T00:00:00Z'), null)).toBe('c20261128T0000Z');
  });

  it('last a quarter of maxKeyAge, between one minute and one day', () => {
    expect(catchUpBucketMs(30 * DAY)).toBe(DAY);
    expect(catchUpBucketMs(8 * HOUR)).toBe(2 * HOUR);
    expect(catchUpBucketMs(10_000)).toBe(60_000);
    expect(catchUpBucketMs(null)).toBe(DAY);
    expect(catchUpSlot(new Date('2026-11-27T07:59:59Z'), 8 * HOUR)).toBe('c20261127T0600Z');
  });

  it('are valid job slots that can never equal a cron tick slot', () => {
    const now = new Date('2026-11-27T03:00:00Z');
    const slot = catchUpSlot(now, HOUR);
    expect(() => assertSlot(slot)).not.toThrow();
    expect(slot).not.toBe(slotForTick(now));
    expect(slot.startsWith('c')).toBe(true);
  });
});
