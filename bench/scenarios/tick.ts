import path from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { stringify as toYaml } from 'yaml';
import { parseSettings, renderSecretName } from '../../src/config';
import { createQueueClient } from '../../src/app/queue-client';
import { createRedisConnection } from '../../src/queue/redis-connection';
import { RotationScheduler } from '../../src/scheduler/rotation-scheduler';
import { DEFAULT_SCHEDULE_NAME } from '../../src/scheduler/schedules';
import type { SendmuxClient } from '../../src/sendmux/client';
import type { SecretStore } from '../../src/aws/secret-store';
import { benchPrefix, deleteKeysWithPrefix, memoryUsageOfPrefix, usedMemoryBytes } from '../lib/redis-tools';
import { REDIS_URL } from '../lib/services';
import { median, round } from '../lib/stats';
import { benchConfig } from '../lib/world';

export interface TickParams {
  mailboxes: number;
  runs: number;
  /** requestRotations (one addBulk) per chunk, the scheduler's default. */
  chunkSize: number;
}

export interface TickRun {
  run: number;
  /** RotationScheduler.tick() from call to resolve: every job is in Redis when it returns. */
  tickMs: number;
  enqueued: number;
  /** INFO memory used_memory after − before, per job (other clients of this Redis add noise). */
  usedMemoryBytesPerJob: number;
  /** Sum of MEMORY USAGE over the run's keys, per job (exact, this run's keys only). */
  keyBytesPerJob: number;
  keysPerJob: number;
}

export interface TickResult {
  params: TickParams;
  runs: TickRun[];
  tickMs: number;
  usedMemoryBytesPerJob: number;
  keyBytesPerJob: number;
}

/** Nothing a tick over configured ids may call: mailboxes are listed in the file, so no GET /mailboxes. */
const unreachable = (what: string) => () => {
  throw new Error(`the tick benchmark must not call ${what}`);
};

export async function runTickScenario(params: TickParams, logDir: string, say: (line: string) => void): Promise<TickResult> {
  const mailboxIds = Array.from({ length: params.mailboxes }, (_, i) => `mbx_tick_${String(i + 1).padStart(6, '0')}`);
  const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const logger = pino({ level: 'info' }, pino.destination({ dest: path.join(logDir, 'tick-scheduler.log'), sync: true }));
  const runs: TickRun[] = [];
  try {
    for (let run = 1; run <= params.runs; run++) {
      const prefix = benchPrefix(`tick-${run}`);
      const env = { REDIS_URL, SENDMUX_API_KEY: 'smx_root_bench_tick_not_used', AWS_REGION: 'us-east-1', ROTATOR_QUEUE_PREFIX: prefix };
      const settings = parseSettings(toYaml(benchConfig({ mailboxes: mailboxIds })), env, 'tick.yaml');
      // The producer connection the scheduler uses in the service.
      const redis = createRedisConnection(settings.env.redis, 'producer');
      const client = createQueueClient(settings, redis);
      const scheduler = new RotationScheduler({
        file: settings.file,
        queue: client.queue,
        sendmux: { listAllMailboxes: unreachable('GET /mailboxes') } as unknown as Pick<SendmuxClient, 'listAllMailboxes'>,
        secrets: { describeSecret: unreachable('DescribeSecret'), listVersions: unreachable('ListSecretVersionIds'), getSecretVersion: unreachable('GetSecretValue') } as unknown as Pick<
          SecretStore,
          'describeSecret' | 'listVersions' | 'getSecretVersion'
        >,
        renderSecretName: (mailboxId) => renderSecretName(settings.file.secretName, mailboxId),
        logger,
        enqueueChunkSize: params.chunkSize,
      });
      try {
        await client.queue.queue.waitUntilReady();
        const memoryBefore = await usedMemoryBytes(admin);
        const started = performance.now();
        const report = await scheduler.tick(DEFAULT_SCHEDULE_NAME, new Date(Date.UTC(2030, 0, 6, 3, 0, 0) + run * 1000));
        const tickMs = performance.now() - started;
        const memoryAfter = await usedMemoryBytes(admin);
        const waiting = await client.queue.queue.getJobCounts('waiting', 'prioritized', 'delayed');
        const queued = (waiting['waiting'] ?? 0) + (waiting['prioritized'] ?? 0) + (waiting['delayed'] ?? 0);
        if (report.enqueued !== params.mailboxes || queued !== params.mailboxes) {
          throw new Error(`tick run ${run}: ${report.enqueued} enqueued, ${queued} queued; expected ${params.mailboxes}`);
        }
        const usage = await memoryUsageOfPrefix(admin, prefix);
        const result: TickRun = {
          run,
          tickMs: Math.round(tickMs),
          enqueued: report.enqueued,
          usedMemoryBytesPerJob: Math.round((memoryAfter - memoryBefore) / report.enqueued),
          keyBytesPerJob: Math.round(usage.bytes / report.enqueued),
          keysPerJob: round(usage.keys / report.enqueued, 2),
        };
        runs.push(result);
        say(
          `  run ${run}: ${result.enqueued} jobs enqueued in ${result.tickMs} ms; Redis used_memory +${result.usedMemoryBytesPerJob} B/job, ` +
            `keys ${result.keyBytesPerJob} B/job (${result.keysPerJob} keys/job)`,
        );
      } finally {
        await client.close();
        await redis.quit().catch(() => undefined);
        await deleteKeysWithPrefix(admin, prefix);
      }
    }
  } finally {
    await admin.quit().catch(() => undefined);
  }
  return {
    params,
    runs,
    tickMs: median(runs.map((r) => r.tickMs)),
    usedMemoryBytesPerJob: median(runs.map((r) => r.usedMemoryBytesPerJob)),
    keyBytesPerJob: median(runs.map((r) => r.keyBytesPerJob)),
  };
}
