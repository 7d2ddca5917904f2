import { redisTargetFromUrl } from '../../src/config';
import { Redis } from 'ioredis';
import { TestBed } from '../support/test-bed';
import { rotateEveryMailbox } from './support/rotate-every-mailbox';
import { RedisServerProcess } from '../http/support/redis-server-process';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';

/**
 * Redis round trips per rotation (the rotation job and the revocation job it schedules), counted
 * with MONITOR on a private redis-server so nothing else on the machine adds to them; commands a
 * Lua script runs inside Redis are not round trips and are left out. The
 * saga is the hot path: a step that lasts shows in the job's progress (src/rotation/step-progress.ts),
 * bookkeeping rides in one batch per event-loop turn, and the rest is BullMQ's own. A bound, not a
 * timing: it fails when a change adds round trips.
 */
const ROTATIONS = 40;
/**
 * Measured 7.3 per rotation with its revocation: 5.2 BullMQ scripts, the exclusion claim, the
 * minted key id and the ledger entry (12.3 before the saga with six progress writes, 10.3 with
 * three; steps this fast write none now). The bound leaves room for BullMQ's background checks,
 * not for another write per rotation.
 */
const MAX_COMMANDS_PER_ROTATION = 8;

/** Counts, by command name, what clients send while `work` runs (MONITOR marks script-internal commands "lua"). */
async function countRoundTrips(url: string, work: () => Promise<void>): Promise<Map<string, number>> {
  const monitorClient = new Redis(url);
  const monitor = await monitorClient.monitor();
  const counts = new Map<string, number>();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source.includes('lua')) return;
    const name = String(args[0]).toLowerCase();
    counts.set(name, (counts.get(name) ?? 0) + 1);
  });
  try {
    await work();
  } finally {
    monitor.disconnect();
    monitorClient.disconnect();
  }
  return counts;
}

describe('Redis round trips of one rotation', () => {
  let bed: TestBed;
  let redisServer: RedisServerProcess;
  let runtime: RotatorRuntime;

  beforeAll(async () => {
    redisServer = await RedisServerProcess.start();
    bed = await TestBed.start({ mailboxes: ROTATIONS, label: 'round-trips', config: { revokePreviousAfter: '0s', rotation: { concurrency: 8 } } });
    runtime = await bed.runtimeWithEnv({ redis: redisTargetFromUrl(redisServer.url) }, { workerTuning: { stalledIntervalMs: 600_000, lockDurationMs: 600_000 } });
  });
  afterAll(async () => {
    await bed.close();
    await redisServer.stop();
  });

  const rotateAll = () => rotateEveryMailbox(bed, runtime);


  it(`stays within ${MAX_COMMANDS_PER_ROTATION} commands per rotation including its revocation`, async () => {
    await rotateAll(); // first keys: every mailbox now has a current key to supersede
    const counts = await countRoundTrips(redisServer.url, rotateAll);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const perRotation = total / ROTATIONS;
    process.stdout.write(`redis round trips per rotation: ${perRotation.toFixed(1)} ${JSON.stringify(Object.fromEntries(counts))}\n`);
    expect(perRotation).toBeLessThanOrEqual(MAX_COMMANDS_PER_ROTATION);
  });
});
