import { TestBed, waitFor } from '../support/test-bed';
import { createQueueClient, type QueueClient } from '../../src/app/queue-client';
import { EXIT_QUEUE_HELD } from '../../src/cli/context';
import { RotatorProcess, runRotatorCli, writeConfigFile } from '../support/rotator-process';

/** `rotator rotate` against a running `rotator start`, both the built binary, as the README describes. */
describe('rotator rotate against a running rotator start', () => {
  let bed: TestBed;
  let configPath: string;
  let service: RotatorProcess;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 2, label: 'cli-rotate', config: { minRotationInterval: '15m' } });
    configPath = writeConfigFile(bed.configObject);
    service = new RotatorProcess(['start', '--role', 'worker', '--config', configPath], bed.env());
    // Started, not just spawned: `rotate --wait` says "no worker" when none is connected.
    await waitFor(() => service.stdout.some((l) => l.includes('"msg":"rotator started"')), 30_000, 'the worker to start');
  }, 40_000);
  afterAll(async () => {
    await service.stop();
    await bed.close();
  });

  it('rotates with --wait, prints outcome, key, version and request id, and exits 0', async () => {
    const run = await runRotatorCli(['rotate', 'mbx_test_0001', '--wait', '--config', configPath], bed.env());
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^mbx_test_0001 {2}rotated {2}job=rotate__mbx_test_0001__\S+ {2}key=smx_\S+ {2}version=\S+ {2}request=req_\S+$/m);
    const keyId = /key=(smx_\S+)/.exec(run.stdout)![1]!;
    expect(bed.sandbox.state.keys.get(keyId)?.status).toBe('live');
  });

  it('prints JSON with --json', async () => {
    const run = await runRotatorCli(['rotate', 'mbx_test_0002', '--wait', '--json', '--config', configPath], bed.env());
    expect(run.code).toBe(0);
    const parsed = JSON.parse(run.stdout) as { rotations: Array<Record<string, unknown>> };
    expect(parsed.rotations).toEqual([
      expect.objectContaining({ mailboxId: 'mbx_test_0002', status: 'completed', outcome: 'rotated', newKeyId: expect.stringMatching(/^smx_/) }),
    ]);
  });

  it('refuses a rotation within minRotationInterval with a clear message and exit 1, and --force overrides it', async () => {
    const refused = await runRotatorCli(['rotate', 'mbx_test_0001', '--wait', '--config', configPath], bed.env());
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/mbx_test_0001 {2}refused .*within minRotationInterval.*--force/);
    const forced = await runRotatorCli(['rotate', 'mbx_test_0001', '--wait', '--force', '--config', configPath], bed.env());
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('rotated');
  });

  it('exits 1 and names the failure when a rotation fails', async () => {
    bed.sandbox.faults.inject({ operation: 'mintMailboxKey', kind: 'status500', mailboxId: 'mbx_test_0002', times: 100 });
    try {
      const run = await runRotatorCli(['rotate', 'mbx_test_0002', '--wait', '--force', '--config', configPath], bed.env());
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/mbx_test_0002 {2}failed .*500/);
    } finally {
      bed.sandbox.faults.clear();
    }
  });

  it('refuses a mailbox the configuration does not cover with not_configured and exit 1, minting nothing', async () => {
    const minted = bed.sandbox.state.mintLog.length;
    const run = await runRotatorCli(['rotate', 'mbx_unknown', '--wait', '--config', configPath], bed.env());
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^mbx_unknown {2}refused {2}not_configured {2}— mailbox mbx_unknown does not exist in Sendmux/m);
    expect(bed.sandbox.state.mintLog.length).toBe(minted);
    expect(await bed.redis.keys(`${bed.prefix}:*mbx_unknown*`)).toEqual([]);
  });

  describe('when the queue does not start jobs', () => {
    let client: QueueClient;
    beforeAll(() => {
      client = createQueueClient(bed.settings);
    });
    afterEach(async () => {
      await client.queue.queue.resume();
      await client.queue.queue.removeRateLimitKey();
    });
    afterAll(async () => {
      await client.close();
    });

    it('reports a paused queue instead of a timeout and exits with its own code (3)', async () => {
      await client.queue.queue.pause();
      const run = await runRotatorCli(['rotate', 'mbx_test_0002', '--wait', '--force', '--timeout', '2s', '--config', configPath], bed.env());
      expect(run.code).toBe(EXIT_QUEUE_HELD);
      expect(run.code).toBe(3);
      expect(run.stdout).toMatch(/^mbx_test_0002 {2}paused {2}job=rotate__mbx_test_0002__\S+ {2}— the queue is paused \(rotator pause\): the job has not started; run rotator resume$/m);
      expect(run.stdout).not.toContain('still running after the --timeout');
      expect(run.stderr).toContain('the queue is paused');
    });

    it('reports a rate-limited queue with the time left, in JSON too', async () => {
      await client.queue.queue.rateLimit(60_000);
      const run = await runRotatorCli(['rotate', 'mbx_test_0001', '--wait', '--force', '--json', '--timeout', '2s', '--config', configPath], bed.env());
      expect(run.code).toBe(EXIT_QUEUE_HELD);
      const parsed = JSON.parse(run.stdout) as { rotations: Array<Record<string, unknown>> };
      expect(parsed.rotations).toEqual([
        expect.objectContaining({ mailboxId: 'mbx_test_0001', status: 'rate-limited', message: expect.stringMatching(/paused by the rate limiter for another (5[0-9]|60)s/) }),
      ]);
    });
  });

  it('rejects an invalid mailbox id with exit 2 before touching Redis', async () => {
    const run = await runRotatorCli(['rotate', 'mbx/../x', '--config', configPath], bed.env());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('invalid mailbox id "mbx/../x"');
  });
});
