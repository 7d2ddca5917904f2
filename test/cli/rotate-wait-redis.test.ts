import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import { redisTargetFromUrl, type RedisTarget } from '../../src/config';
import { RedisServerProcess } from '../http/support/redis-server-process';
import { SENTINEL_MASTER, SentinelDeployment } from '../support/redis-topologies';
import { RotatorProcess, writeConfigFile } from '../support/rotator-process';
import { TestBed, waitFor } from '../support/test-bed';

/**
 * `rotator rotate --wait` (the built binary) while the Redis it polls goes away mid-rotation: it
 * waits through the reconnect, bounded by --timeout, and reports the rotation's real outcome.
 * The rotation is held in PutSecretValue (a stand-in delay) until Redis has gone and come back.
 */
interface WaitRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Worker runtimes of this file: abandoned at the end (a job may still wait on a Redis that was stopped for good). */
const workers: RotatorRuntime[] = [];

async function rotateWaitAcross(bed: TestBed, target: RedisTarget, redisEnv: NodeJS.ProcessEnv, disrupt: (cli: RotatorProcess) => Promise<void>): Promise<WaitRun> {
  workers.push(await bed.runtimeWithEnv({ redis: target }));
  bed.standIn.faults.inject({ operation: 'PutSecretValue', kind: 'delay', delayMs: 4_000, times: 1 });
  const configPath = writeConfigFile(bed.configObject);
  const cli = new RotatorProcess(['rotate', 'mbx_test_0001', '--wait', '--json', '--force', '--timeout', '90s', '--config', configPath], { ...bed.env(), ...redisEnv });
  // The job is running (its stage is held in the stand-in): now Redis goes away under both.
  const held = bed.standIn.faults.injected.delay;
  await waitFor(() => bed.standIn.faults.injected.delay > held, 30_000, 'the rotation to reach PutSecretValue');
  await disrupt(cli);
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout.join('\n'), stderr: cli.stderr.join('\n') };
}

describe('rotate --wait across a Redis restart', () => {
  let redis: RedisServerProcess;
  let dir: string;
  let bed: TestBed;
  beforeAll(async () => {
    // An append-only file, fsync on every write: the restart keeps the queue, like a production Redis.
    dir = mkdtempSync(path.join(tmpdir(), 'rotator-wait-restart-'));
    redis = await RedisServerProcess.start({ persistDir: dir });
    bed = await TestBed.start({ label: 'wait-restart' });
  });
  afterAll(async () => {
    for (const worker of workers.splice(0)) await worker.abandon();
    await bed?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('prints the completed rotation as JSON and exits 0', async () => {
    const run = await rotateWaitAcross(bed, redisTargetFromUrl(redis.url), { REDIS_URL: redis.url }, async (cli) => {
      await redis.stop();
      // Down until the waiting command has seen a poll fail (the old one gave up there, exit 1, no JSON).
      await waitFor(() => cli.stderr.join('\n').includes('lost Redis') || cli.exitCode() !== null, 60_000, 'the CLI to see Redis gone');
      await redis.start();
    });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: expect.stringContaining('lost Redis') });
    expect(run.stderr).toContain('Redis answers again');
    const parsed = JSON.parse(run.stdout) as { rotations: Array<Record<string, unknown>> };
    expect(parsed.rotations).toEqual([
      expect.objectContaining({ mailboxId: 'mbx_test_0001', status: 'completed', outcome: 'rotated', newKeyId: expect.stringMatching(/^smx_/) }),
    ]);
    expect(bed.sandbox.state.keys.get(parsed.rotations[0]!['newKeyId'] as string)?.status).toBe('live');
  }, 120_000);

  it('reports a timeout as JSON with exit 1 when Redis does not come back within --timeout', async () => {
    workers.push(await bed.runtimeWithEnv({ redis: redisTargetFromUrl(redis.url) }));
    bed.standIn.faults.inject({ operation: 'PutSecretValue', kind: 'delay', delayMs: 2_000, times: 1 });
    const configPath = writeConfigFile(bed.configObject);
    const cli = new RotatorProcess(['rotate', 'mbx_test_0001', '--wait', '--json', '--force', '--timeout', '6s', '--config', configPath], { ...bed.env(), REDIS_URL: redis.url });
    const held = bed.standIn.faults.injected.delay;
    await waitFor(() => bed.standIn.faults.injected.delay > held, 30_000, 'the rotation to reach PutSecretValue');
    await redis.stop();
    try {
      const { code } = await cli.exited;
      expect(code).toBe(1);
      const parsed = JSON.parse(cli.stdout.join('\n')) as { rotations: Array<Record<string, unknown>> };
      expect(parsed.rotations).toEqual([
        expect.objectContaining({ mailboxId: 'mbx_test_0001', status: 'timeout', message: expect.stringContaining('Redis did not answer again before the --timeout') }),
      ]);
    } finally {
      await redis.start();
    }
  }, 120_000);
});

describe('rotate --wait across a Sentinel failover', () => {
  let deployment: SentinelDeployment;
  let bed: TestBed;
  beforeAll(async () => {
    deployment = await SentinelDeployment.start();
    bed = await TestBed.start({ label: 'wait-failover' });
  }, 60_000);
  afterAll(async () => {
    for (const worker of workers.splice(0)) await worker.abandon();
    await bed?.close();
    await deployment?.stop();
  }, 60_000);

  it('prints the completed rotation as JSON and exits 0 once the replica is promoted', async () => {
    const target: RedisTarget = { mode: 'sentinel', variable: 'REDIS_SENTINELS', sentinels: deployment.sentinels, masterName: SENTINEL_MASTER, tls: false };
    const sentinels = deployment.sentinels.map(({ host, port }) => `${host}:${port}`).join(',');
    const run = await rotateWaitAcross(bed, target, { REDIS_URL: '', REDIS_SENTINELS: sentinels, REDIS_SENTINEL_MASTER: SENTINEL_MASTER }, async (cli) => {
      await deployment.primary.kill();
      await waitFor(() => cli.stderr.join('\n').includes('lost Redis') || cli.exitCode() !== null, 60_000, 'the CLI to see the primary gone');
    });
    expect(await deployment.currentPrimaryPort()).toBe(deployment.replica.port);
    expect(run.code).toBe(0);
    const parsed = JSON.parse(run.stdout) as { rotations: Array<Record<string, unknown>> };
    expect(parsed.rotations).toEqual([expect.objectContaining({ mailboxId: 'mbx_test_0001', status: 'completed', outcome: 'rotated' })]);
  }, 120_000);
});
