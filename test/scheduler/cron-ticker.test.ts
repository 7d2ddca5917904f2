import { CronTicker, type MissedTicks } from '../../src/scheduler/cron-ticker';

/**
 * The ticker as it runs in the scheduler (node-cron beats, real setTimeout), with the clock
 * injected through jest's fake timers: node-cron reads Date and setTimeout, so moving the fake
 * clock moves the whole ticker through a DST change in milliseconds.
 */

interface Run {
  ticks: string[];
  missed: MissedTicks[];
}

async function runTicker(cron: string, timezone: string, from: string, forMs: number, toleranceMs = 5 * 60_000): Promise<Run> {
  jest.useFakeTimers({ now: new Date(from) });
  const run: Run = { ticks: [], missed: [] };
  const ticker = new CronTicker({
    spec: { cron, timezone },
    name: `test ${cron}`,
    onTick: async (tickTime) => {
      run.ticks.push(tickTime.toISOString());
    },
    onMissed: (missed) => run.missed.push(missed),
    missedToleranceMs: toleranceMs,
  });
  try {
    await ticker.start();
    await jest.advanceTimersByTimeAsync(forMs);
  } finally {
    await ticker.stop();
    jest.useRealTimers();
  }
  return run;
}

function everyStep(fromIso: string, toIso: string, stepMs: number): string[] {
  const out: string[] = [];
  for (let t = new Date(fromIso).getTime(); t <= new Date(toIso).getTime(); t += stepMs) out.push(new Date(t).toISOString());
  return out;
}

const HOUR = 3_600_000;

describe('CronTicker in Europe/Vienna on the autumn change (25 Oct 2026, 02:00-02:59 local happens twice)', () => {
  it('keeps an every-30-seconds schedule ticking through the repeated hour', async () => {
    // Starts in the first pass of the repeated hour (02:29:50 CEST), where node-cron alone jumped an hour ahead.
    const run = await runTicker('*/30 * * * * *', 'Europe/Vienna', '2026-10-25T00:29:50Z', 2 * HOUR);
    expect(run.ticks).toEqual(everyStep('2026-10-25T00:30:00Z', '2026-10-25T02:29:30Z', 30_000));
    expect(run.missed).toEqual([]);
  });

  it('fires an hourly schedule every hour, 01:00Z included', async () => {
    const run = await runTicker('0 * * * *', 'Europe/Vienna', '2026-10-24T22:30:00Z', 5 * HOUR);
    expect(run.ticks).toEqual(everyStep('2026-10-24T23:00:00Z', '2026-10-25T03:00:00Z', HOUR));
  });
});

describe('CronTicker in Europe/Vienna on the spring change (28 Mar 2027, 02:00-02:59 local does not exist)', () => {
  it('fires a daily 02:30 once, at 03:00 local (01:00Z)', async () => {
    const run = await runTicker('30 2 * * *', 'Europe/Vienna', '2027-03-27T22:00:00Z', 6 * HOUR);
    expect(run.ticks).toEqual(['2027-03-28T01:00:00.000Z']);
  });
});

describe('CronTicker after the process was asleep', () => {
  it('reports the ticks it missed and catches up with the newest', async () => {
    jest.useFakeTimers({ now: new Date('2026-06-01T00:00:30Z') });
    const ticks: string[] = [];
    const missed: MissedTicks[] = [];
    const ticker = new CronTicker({
      spec: { cron: '0 * * * *', timezone: 'Europe/Vienna' },
      name: 'test sleep',
      onTick: async (tickTime) => {
        ticks.push(tickTime.toISOString());
      },
      onMissed: (m) => missed.push(m),
      missedToleranceMs: 5 * 60_000,
    });
    try {
      await ticker.start();
      // The machine sleeps 3 h 10 min: the clock moves, no timer runs.
      jest.setSystemTime(new Date('2026-06-01T03:10:30Z'));
      await jest.advanceTimersByTimeAsync(60_000);
    } finally {
      await ticker.stop();
      jest.useRealTimers();
    }
    expect(ticks).toEqual(['2026-06-01T03:00:00.000Z']);
    expect(missed).toEqual([
      { count: 3, truncated: false, oldest: new Date('2026-06-01T01:00:00Z'), newest: new Date('2026-06-01T03:00:00Z') },
    ]);
  });
});
