import { redisTargetFromUrl } from '../../src/config';
import { Redis } from 'ioredis';
import { TestBed, waitFor } from '../support/test-bed';
import { rotateEveryMailbox } from './support/rotate-every-mailbox';
import { RedisServerProcess } from '../http/support/redis-server-process';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import { createHash } from 'node:crypto';

/** BullMQ's scripts by the SHA1 EVALSHA names them with (ioredis defineCommand: sha1 of the source). */
const SCRIPT_BY_SHA = new Map(
  // BullMQ ships no types for its scripts module; each export is {name, content, keys}.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  Object.values(require('bullmq/dist/cjs/scripts') as Record<string, { name: string; content: string }>).map((s) => [createHash('sha1').update(s.content).digest('hex'), s.name]),
);

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

/**
 * Counts, by command name (EVALSHA by BullMQ script name), what clients send while `work` runs
 * (MONITOR marks script-internal commands "lua").
 */
async function countRoundTrips(url: string, work: () => Promise<void>): Promise<Map<string, number>> {
  const monitorClient = new Redis(url);
  const monitor = await monitorClient.monitor();
  const counts = new Map<string, number>();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source.includes('lua')) return;
    const command = String(args[0]).toLowerCase();
    const name = command === 'evalsha' ? `evalsha:${SCRIPT_BY_SHA.get(String(args[1])) ?? 'unknown'}` : command;
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


  let counts: Map<string, number>;
  beforeAll(async () => {
    await rotateAll(); // first keys: every mailbox now has a current key to supersede
    // Before counting: every job of that round finished, so the counted requests meet no deduplication
    // id still held by a job of the first round (they would take it over with one more EVAL).
    await waitFor(async () => {
      const counts = await runtime.queue.queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized');
      return Object.values(counts).every((n) => n === 0);
    }, 30_000, 'the first round finished in Redis');
    counts = await countRoundTrips(redisServer.url, rotateAll);
    process.stdout.write(`redis round trips: ${JSON.stringify(Object.fromEntries(counts))}\n`);
  }, 60_000);

  it('sends the rotator\'s own commands exactly once per rotation: the exclusion claim (EVAL) and the minted key id (HSET)', () => {
    expect(counts.get('eval')).toBe(ROTATIONS);
    expect(counts.get('hset')).toBe(ROTATIONS);
    expect(counts.get('evalsha:unknown')).toBeUndefined();
  });

  it('adds and finishes exactly two jobs per rotation: the rotation and its revocation', () => {
    expect((counts.get('evalsha:addStandardJob') ?? 0) + (counts.get('evalsha:addDelayedJob') ?? 0)).toBe(2 * ROTATIONS);
    expect(counts.get('evalsha:moveToFinished')).toBe(2 * ROTATIONS);
  });

  it(`stays within ${MAX_COMMANDS_PER_ROTATION} commands per rotation including its revocation, step progress aside`, () => {
    // Step progress is written only for a step that lasted 100 ms (src/rotation/step-progress.ts),
    // so how many a run writes depends on the machine's load; it is what operators see, not waste.
    const total = [...counts.entries()].filter(([name]) => name !== 'evalsha:updateProgress').reduce((a, [, n]) => a + n, 0);
    expect(total / ROTATIONS).toBeLessThanOrEqual(MAX_COMMANDS_PER_ROTATION);
  });
});
