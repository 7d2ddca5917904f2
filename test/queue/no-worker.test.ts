import { Worker } from 'bullmq';
import { startRotatorService, type RotatorService } from '../../src/app/service';
import { createQueueClient, type QueueClient } from '../../src/app/queue-client';
import { EXIT_NO_WORKER } from '../../src/cli/context';
import { ROTATION_QUEUE_NAME } from '../../src/queue/rotation-queue';
import { runCaptured } from '../cli/capture';
import { writeConfigFile, REPO_ROOT } from '../support/rotator-process';
import { TestBed } from '../support/test-bed';
import { TEST_REDIS_URL } from '../support/redis';

/**
 * Nobody is working: with Redis up and no worker on the queue, `rotate --wait` and `status` say so
 * within seconds, naming the queue prefix, with exit code 5; the mailbox page and the detailed
 * /readyz of an API-only process show it too. Real Redis, the sandbox and the stand-in.
 */
describe('a queue no worker consumes', () => {
  let bed: TestBed;
  let configPath: string;
  let producer: QueueClient;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 2, label: 'no-worker' });
    configPath = writeConfigFile(bed.configObject);
    producer = createQueueClient(bed.settings);
  });
  afterAll(async () => {
    await producer.close();
    await bed.close();
  });

  const cli = (...args: string[]) => runCaptured([...args, '--config', configPath], { cwd: REPO_ROOT, env: bed.env() });

  it('rotate --wait stops waiting and says no worker consumes the queue, naming the prefix, with exit 5 (not a timeout)', async () => {
    const run = await cli('rotate', 'mbx_test_0001', '--wait', '--timeout', '10m');
    expect(run.code).toBe(EXIT_NO_WORKER);
    expect(run.code).toBe(5);
    expect(run.stdout).toMatch(
      new RegExp(`^mbx_test_0001 {2}no-worker {2}job=rotate__mbx_test_0001__\\S+ {2}— no worker is consuming the queue \\(queue prefix "${bed.prefix}"\\)`, 'm'),
    );
    expect(run.stdout).not.toContain('still running after the --timeout');
    // Nothing was lost: the job waits for the worker that is missing.
    const jobId = /job=(\S+)/.exec(run.stdout)![1]!;
    expect(await producer.queue.queue.getJobState(jobId)).toBe('waiting');
  }, 30_000);

  it('status names the missing worker and the prefix, and exits 5 while jobs wait', async () => {
    const run = await cli('status', '--no-key-ages');
    expect(run.code).toBe(5);
    expect(run.stdout).toContain(`Workers: NONE — no worker is consuming the queue (queue prefix "${bed.prefix}")`);
    const json = await cli('status', '--no-key-ages', '--json');
    expect((JSON.parse(json.stdout) as { workers: unknown }).workers).toEqual({ count: 0, queuePrefix: bed.prefix });
  });

  it('status counts a connected worker and exits 0 (a worker that has not taken the job yet still counts)', async () => {
    // Not running: connected under the queue's name, so it counts, but it takes nothing.
    const worker = new Worker(ROTATION_QUEUE_NAME, async () => undefined, { connection: { url: TEST_REDIS_URL }, prefix: bed.prefix, autorun: false });
    try {
      await worker.waitUntilReady();
      const run = await cli('status', '--no-key-ages');
      expect(run.stdout).toContain(`Workers: 1 connected (queue prefix "${bed.prefix}")`);
      expect(run.code).toBe(0);
    } finally {
      await worker.close();
    }
  });

  describe('an API-only process (rotator start --role api)', () => {
    const token = 'no-worker-test-token-0123456789';
    let service: RotatorService;

    beforeAll(async () => {
      const settings = { ...bed.settings, env: { ...bed.settings.env, apiToken: token, port: 0, host: '127.0.0.1' } };
      service = await startRotatorService({ settings, logger: bed.logs.logger, roles: new Set(['api']), secretsManagerClient: bed.smClient });
    });
    afterAll(async () => {
      await service?.close();
    });

    it('shows "No worker is running" with the prefix on /admin/mailboxes', async () => {
      const page = await fetch(`${service.http!.url}/admin/mailboxes`, { headers: { authorization: `Basic ${Buffer.from(`op:${token}`).toString('base64')}` } });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('<p class="alert" role="alert"><strong>No worker is running:</strong> no worker is consuming the queue (queue prefix &quot;');
      expect(html).toContain(bed.prefix);
    });

    it('says so in /readyz to a caller holding the token, stays ready (200), and tells an anonymous probe nothing more', async () => {
      const detailed = await fetch(`${service.http!.url}/readyz`, { headers: { authorization: `Bearer ${token}` } });
      expect(detailed.status).toBe(200);
      const body = (await detailed.json()) as { workers: unknown; warnings: string[] };
      expect(body.workers).toEqual({ count: 0, queuePrefix: bed.prefix });
      expect(body.warnings).toEqual([expect.stringContaining(`no worker is consuming the queue (queue prefix "${bed.prefix}")`)]);

      const anonymous = await fetch(`${service.http!.url}/readyz`);
      expect(anonymous.status).toBe(200);
      const text = await anonymous.text();
      expect(text).not.toContain('worker');
      expect(text).not.toContain(bed.prefix);
    });
  });
});
