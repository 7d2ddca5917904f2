import { forEachWithLimit } from '../../src/scheduler/with-limit';

describe('forEachWithLimit', () => {
  it('never has more than `limit` calls in flight, and makes one call per item', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    await forEachWithLimit(Array.from({ length: 50 }, (_, i) => i), 8, async (item) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      seen.push(item);
      inFlight--;
    });
    expect(peak).toBe(8);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('does nothing for an empty list', async () => {
    let calls = 0;
    await forEachWithLimit([], 8, async () => {
      calls++;
    });
    expect(calls).toBe(0);
  });
});
