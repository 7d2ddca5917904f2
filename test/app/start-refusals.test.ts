import { createServer, type Server } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ROTATION_QUEUE_NAME } from '../../src/queue/rotation-queue';
import { ROTATE_JOB_NAME } from '../../src/rotation/job-data';
import { RotatorProcess, writeConfigFile } from '../support/rotator-process';
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from '../support/redis';

/**
 * Every start-up refusal of `rotator start` comes before any role starts: a job already waiting in
 * the queue is still waiting after the refusal (no worker took it), and no worker ever registered
 * on the queue. The built binary against the real Redis, each case under a prefix of its own.
 */
describe('rotator start refuses before any role starts', () => {
  const redis = new Redis(TEST_REDIS_URL);
  const prefixes: string[] = [];
  const configPath = writeConfigFile({ mailboxes: ['mbx_refusal_1'], schedule: '0 3 * * *' });

  afterAll(async () => {
    for (const prefix of prefixes) await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
  });

  /** Enqueues one rotation job under a fresh prefix, runs `rotator start` with `env`, and reports. */
  async function refusedStart(env: NodeJS.ProcessEnv): Promise<{ exit: { code: number | null; signal: NodeJS.Signals | null }; stderr: string; jobState: string; workers: number }> {
    const prefix = uniquePrefix('start-refusal');
    prefixes.push(prefix);
    const queue = new Queue(ROTATION_QUEUE_NAME, { connection: { url: TEST_REDIS_URL }, prefix });
    try {
      const job = await queue.add(ROTATE_JOB_NAME, { mailboxId: 'mbx_refusal_1', reason: 'manual', slot: 'refusal' }, { jobId: 'rotate__mbx_refusal_1__refusal' });
      const proc = new RotatorProcess(['start', '--role', 'all', '--config', configPath], {
        REDIS_URL: TEST_REDIS_URL,
        ROTATOR_QUEUE_PREFIX: prefix,
        SENDMUX_API_URL: 'http://127.0.0.1:9/api/v1',
        SENDMUX_API_KEY: 'smx_root_start_refusal_test_key',
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        HOME: mkdtempSync(path.join(tmpdir(), 'rotator-refusal-home-')),
        PORT: '0',
        HOST: '127.0.0.1',
        ...env,
      });
      const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      const exit = await proc.exited;
      clearTimeout(timer);
      return { exit, stderr: proc.stderr.join('\n'), jobState: await job.getState(), workers: (await queue.getWorkers()).length };
    } finally {
      await queue.close();
    }
  }

  it('HOST=0.0.0.0 without ROTATOR_API_TOKEN: exit 1 with the InsecureBindError, and the waiting job was not taken', async () => {
    const run = await refusedStart({ HOST: '0.0.0.0' });
    expect(run.exit).toEqual({ code: 1, signal: null });
    expect(run.stderr).toContain('refusing to serve the HTTP API on HOST=0.0.0.0 without authentication');
    expect({ jobState: run.jobState, workers: run.workers }).toEqual({ jobState: 'waiting', workers: 0 });
  }, 40_000);

  it('no AWS region anywhere: exit 1 naming AWS_REGION, AWS_DEFAULT_REGION and the profile, and the waiting job was not taken', async () => {
    const run = await refusedStart({ AWS_REGION: '' });
    expect(run.exit).toEqual({ code: 1, signal: null });
    expect(run.stderr).toContain('no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or a region for profile "default"');
    expect({ jobState: run.jobState, workers: run.workers }).toEqual({ jobState: 'waiting', workers: 0 });
  }, 40_000);

  it('a PORT in use: exit 1 naming HOST and PORT, and the waiting job was not taken', async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (busy.address() as { port: number }).port;
      const run = await refusedStart({ PORT: String(port) });
      expect(run.exit).toEqual({ code: 1, signal: null });
      expect(run.stderr).toContain(`cannot listen on HOST=127.0.0.1 PORT=${port}: the port is in use`);
      expect({ jobState: run.jobState, workers: run.workers }).toEqual({ jobState: 'waiting', workers: 0 });
    } finally {
      busy.close();
    }
  }, 40_000);
});
