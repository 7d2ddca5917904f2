import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { RotatorProcess, writeConfigFile } from '../support/rotator-process';
import { TestBed, waitFor } from '../support/test-bed';

/**
 * End to end across a DST change: the real `rotator start --role scheduler` (node-cron, the
 * ticker, the scheduler, BullMQ on real Redis) with its wall clock set by libfaketime (Debian's
 * `faketime` package, installed by .ci/run) to seconds before the moment that matters. Only the
 * rotator's own clock is faked; the monotonic clock is left alone so its timers run in real time.
 */

function libfaketime(): string {
  const roots = ['/usr/lib', '/usr/lib64'];
  for (const root of roots) {
    if (!existsSync(root)) continue;
    for (const entry of readdirSync(root)) {
      const candidate = path.join(root, entry, 'faketime', 'libfaketimeMT.so.1');
      if (existsSync(candidate)) return candidate;
    }
    const direct = path.join(root, 'faketime', 'libfaketimeMT.so.1');
    if (existsSync(direct)) return direct;
  }
  throw new Error('libfaketimeMT.so.1 not found: install the Debian package "faketime" (apt-get install faketime; .ci/run does)');
}

/** Slots of the scheduler's tick lines, in order. */
function tickSlots(rotator: RotatorProcess): string[] {
  return rotator
    .logLines()
    .filter((line) => line['component'] === 'scheduler' && typeof line['slot'] === 'string' && 'resolved' in line)
    .map((line) => String(line['slot']));
}

/** `t20261025T000100Z` → that instant. */
function slotTime(slot: string): Date {
  const m = /^t(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(slot);
  if (!m) throw new Error(`not a tick slot: ${slot}`);
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
}

/** Waits (real time) for `count` tick lines; on timeout fails with the rotator's output. */
async function ticks(rotator: RotatorProcess, count: number): Promise<void> {
  try {
    await waitFor(() => tickSlots(rotator).length >= count, 30_000, `${count} tick(s)`);
  } catch (err) {
    throw new Error(`${(err as Error).message}; rotator output:\n${rotator.output().slice(-4000)}`);
  }
}

describe('the scheduler under faketime in Europe/Vienna', () => {
  let bed: TestBed;
  const processes: RotatorProcess[] = [];

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 1, label: 'dst-faketime' });
  });
  afterEach(async () => {
    for (const p of processes.splice(0)) await p.stop();
  });
  afterAll(async () => {
    await bed.close();
  });

  function startAt(fakeUtc: string, schedule: string): RotatorProcess {
    const configPath = writeConfigFile({ ...bed.configObject, schedule, timezone: 'Europe/Vienna' });
    const rotator = new RotatorProcess(['start', '--role', 'scheduler', '--config', configPath], {
      ...bed.env(),
      PORT: '0',
      HOST: '127.0.0.1',
      LD_PRELOAD: libfaketime(),
      // "@" + a time: the clock starts there and runs at real speed. TZ makes faketime read it as UTC.
      FAKETIME: `@${fakeUtc}`,
      TZ: 'UTC',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    });
    processes.push(rotator);
    return rotator;
  }

  // node-cron alone would next fire at 01:01:00Z (the second pass), an hour later.
  it('keeps a */5-second schedule ticking in the first pass of the repeated hour (25 Oct 2026, 02:00:53 CEST)', async () => {
    const rotator = startAt('2026-10-25 00:00:53', '*/5 * * * * *');
    await ticks(rotator, 2);
    // Consecutive 5-second ticks within minutes of the start (whether 00:00:55Z is caught depends on start-up time).
    const [first, second] = tickSlots(rotator).map(slotTime);
    expect(first!.getTime()).toBeGreaterThanOrEqual(Date.parse('2026-10-25T00:00:55Z'));
    expect(first!.getTime()).toBeLessThanOrEqual(Date.parse('2026-10-25T00:01:30Z'));
    expect(second!.getTime() - first!.getTime()).toBe(5_000);
  }, 45_000);

  // node-cron alone would skip the day (02:30 does not exist).
  it('fires a daily 02:30 at 03:00 local on the spring-forward day (28 Mar 2027, 01:59:50 CET)', async () => {
    const rotator = startAt('2027-03-28 00:59:50', '30 2 * * *');
    await ticks(rotator, 1);
    expect(tickSlots(rotator)).toEqual(['t20270328T010000Z']);
  }, 45_000);
});
