import { TestBed, waitFor, waitForJob } from '../support/test-bed';
import { RotatorProcess, runRotatorCli, writeConfigFile } from '../support/rotator-process';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';

/** The operator commands against real worker processes (built binaries), as the README describes them. */
describe('operator commands', () => {
  let bed: TestBed;
  let configPath: string;
  let producer: RotatorRuntime;
  const workers: RotatorProcess[] = [];

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 3, label: 'cli-operate' });
    configPath = writeConfigFile(bed.configObject);
    producer = await bed.runtime({ runWorker: false });
    for (let i = 0; i < 2; i++) workers.push(new RotatorProcess(['start', '--role', 'worker', '--config', configPath], bed.env()));
    // Started, not just spawned: `rotate --wait` says "no worker" when none is connected.
    await waitFor(() => workers.every((w) => w.stdout.some((l) => l.includes('"msg":"rotator started"'))), 30_000, 'both workers to start');
  }, 40_000);
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await bed.close();
  });

  const cli = (...args: string[]) => runRotatorCli([...args, '--config', configPath], bed.env());

  it('pause stops processing on every worker and resume restarts it', async () => {
    const paused = await cli('pause');
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain('queue paused');

    const [outcome] = await producer.queue.requestRotations([{ mailboxId: 'mbx_test_0001', reason: 'manual', requestedBy: 'test' }]);
    const jobId = (outcome as { jobId: string }).jobId;
    await new Promise((r) => setTimeout(r, 1500));
    expect(await (await producer.queue.getJob(jobId))!.getState()).toMatch(/waiting|paused/);
    expect(bed.sandbox.state.mintLog).toHaveLength(0);

    const resumed = await cli('resume');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('queue running');
    expect((await waitForJob(producer, jobId)).state).toBe('completed');
  });

  it('history shows a mailbox’s attempts in order, including a retried one', async () => {
    await cli('rotate', 'mbx_test_0002', '--wait');
    bed.sandbox.faults.inject({ operation: 'getMailboxMe', kind: 'status503', mailboxId: 'mbx_test_0002' });
    await cli('rotate', 'mbx_test_0002', '--wait', '--force');

    const json = await cli('history', 'mbx_test_0002', '--json');
    expect(json.code).toBe(0);
    const { entries } = JSON.parse(json.stdout) as { entries: Array<{ event: { kind: string; outcome: string; at: string } }> };
    const rotations = entries.filter((e) => e.event.kind === 'rotation');
    expect(rotations.map((e) => e.event.outcome)).toEqual(['rotated', 'retrying', 'rotated']);
    // The second rotation retired the first key: its revocation is in the history too.
    expect(entries.filter((e) => e.event.kind === 'revocation').map((e) => e.event.outcome)).toEqual(['revoked']);
    const times = entries.map((e) => Date.parse(e.event.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    const table = await cli('history', 'mbx_test_0002');
    expect(table.stdout).toContain('retrying');
    expect(table.stdout).toContain('cli:');
  });

  it('status reports queue counts, recent failures with reasons, and per-mailbox key ages', async () => {
    // Enqueued below the CLI, which refuses unconfigured ids (not_configured) before enqueueing.
    const [failing] = await producer.queue.requestRotations([{ mailboxId: 'mbx_unknown_x', reason: 'manual', requestedBy: 'test' }]);
    await waitForJob(producer, (failing as { jobId: string }).jobId);
    const run = await cli('status', '--json');
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout) as {
      paused: boolean;
      counts: Record<string, number>;
      failuresLast24h: Array<{ mailboxId: string; message: string }>;
      mailboxes: Array<{ mailboxId: string; keyAgeSeconds: number | null; lastRotatedAt: string | null; nextRun: string | null }>;
    };
    expect(status.paused).toBe(false);
    expect(status.counts.completed).toBeGreaterThanOrEqual(3);
    expect(status.failuresLast24h).toEqual(expect.arrayContaining([expect.objectContaining({ mailboxId: 'mbx_unknown_x', message: expect.stringContaining('not_found') })]));
    const rotated = status.mailboxes.find((m) => m.mailboxId === 'mbx_test_0002');
    expect(rotated).toEqual(expect.objectContaining({ keyAgeSeconds: expect.any(Number), lastRotatedAt: expect.any(String), nextRun: expect.any(String) }));

    const text = await cli('status');
    expect(text.stdout).toMatch(/Queue: running/);
    expect(text.stdout).toContain('mbx_test_0002');
  });

  it('plan lists a mailbox the management key cannot read once, does not count it as to rotate, mints nothing, and exits 1', async () => {
    const listConfig = writeConfigFile({ ...bed.configObject, mailboxes: ['mbx_test_0003', 'mbx_not_in_sendmux'] });
    const mintsBefore = bed.sandbox.state.mintLog.length;
    const run = await runRotatorCli(['plan', '--config', listConfig], bed.env());
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('mbx_test_0003');
    expect(run.stdout).toContain('1 mailbox(es) to rotate, 0 skipped, 1 cannot be rotated, 1 problem(s)');
    expect(run.stdout).toMatch(/mbx_not_in_sendmux.*(404|not_found)/);
    expect(`${run.stdout}${run.stderr}`.split('mailbox mbx_not_in_sendmux:')).toHaveLength(2); // printed once
    expect(run.stderr).toContain('1 problem(s)');
    expect(bed.sandbox.state.mintLog.length).toBe(mintsBefore);
  });

  it('SIGTERM during a running rotation lets it finish, leaves nothing stalled, and exits 0', async () => {
    const service = new RotatorProcess(['start', '--role', 'worker', '--config', configPath], bed.env());
    await Promise.all(workers.map((w) => w.stop()));
    bed.sandbox.faults.inject({ operation: 'getMailboxMe', kind: 'delay', delayMs: 1_200, mailboxId: 'mbx_test_0003' });
    const [outcome] = await producer.queue.requestRotations([{ mailboxId: 'mbx_test_0003', reason: 'manual', requestedBy: 'test', force: true }]);
    const jobId = (outcome as { jobId: string }).jobId;
    await waitFor(async () => (await producer.queue.getJob(jobId))?.isActive() ?? false, 10_000, 'job active');

    service.kill('SIGTERM');
    const exit = await service.exited;
    expect({ exit, output: exit.code === 0 ? '' : service.output() }).toEqual({ exit: { code: 0, signal: null }, output: '' });
    if ((await (await producer.queue.getJob(jobId))!.getState()) !== 'completed') throw new Error(service.output());
    expect(await (await producer.queue.getJob(jobId))!.getState()).toBe('completed');
    expect(await producer.queue.queue.getJobCounts('active', 'wait')).toEqual({ active: 0, wait: 0 });
    expect(service.output()).toContain('shutdown complete');
  });
});

describe('a worker-only replica', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 1, label: 'worker-probes' });
  });
  afterAll(async () => bed.close());

  it('serves /healthz, /readyz and /metrics (so it can be probed and scraped) but not the API', async () => {
    const worker = new RotatorProcess(['start', '--role', 'worker', '--config', writeConfigFile(bed.configObject)], bed.env());
    try {
      let url: string | undefined;
      await waitFor(() => {
        url = worker.logLines().find((l) => l.msg === 'HTTP server listening')?.url as string | undefined;
        return url !== undefined;
      }, 15_000, 'the worker to listen');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      // Ready once its Redis connection answers (503 until then, which is what a probe should see).
      await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, 10_000, 'the worker to be ready');
      const metrics = await fetch(`${url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('rotator_rotations_total');
      expect((await fetch(`${url}/rotations`, { method: 'POST' })).status).toBe(404);
    } finally {
      await worker.stop();
    }
  });
});
