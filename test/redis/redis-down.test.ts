import type { RotatorService } from '../../src/app/service';
import { startRotatorService } from '../../src/app/service';
import { redisTargetFromUrl } from '../../src/config';
import { runCaptured } from '../cli/capture';
import { freePort, RedisServerProcess } from '../http/support/redis-server-process';
import { RotatorProcess, runRotatorCli, writeConfigFile } from '../support/rotator-process';
import { TestBed, waitFor } from '../support/test-bed';

/**
 * Redis unreachable (nothing listening, or a frozen server): the CLI fails fast naming the
 * variable, the API answers 503, the outage is logged once per state change. The target is
 * about 5 s; the bounds below leave room for a loaded machine, while the failure they guard
 * against (a hang of minutes) stays far outside them.
 */
const FAST_FAILURE_BOUND_MS = 8_000;
const CWD = process.cwd();
const PASSWORD = 'down-test-secret';

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = Date.now();
  const result = await work();
  return { result, ms: Date.now() - started };
}

describe('when Redis cannot be reached', () => {
  describe('every CLI command', () => {
    let deadPort: number;
    let bed: TestBed;
    let configPath: string;
    beforeAll(async () => {
      deadPort = await freePort(); // nothing listens here
      bed = await TestBed.start({ label: 'redis-down-cli' });
      configPath = writeConfigFile(bed.configObject);
    });
    afterAll(async () => {
      await bed.close();
    });

    it.each([
      ['status', '--no-key-ages'],
      ['pause'],
      ['resume'],
      ['rotate', 'mbx_test_0001'],
      ['history', 'mbx_test_0001'],
      ['retry', 'rotate__mbx_test_0001__s1'],
      ['revoke', 'mbx_test_0001', 'smx_abcdefghij'],
    ])('%s fails within seconds with "cannot reach Redis at <url> (REDIS_URL)", exit 1, password masked', async (...argv) => {
      const url = `redis://:${PASSWORD}@127.0.0.1:${deadPort}`;
      const { result, ms } = await timed(() => runCaptured([...argv, '--config', configPath], { cwd: CWD, env: { ...bed.env(), REDIS_URL: url } }));
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`cannot reach Redis at redis://:****@127.0.0.1:${deadPort} (REDIS_URL): `);
      expect(result.stderr).toContain('ECONNREFUSED');
      expect(result.stderr).not.toContain(PASSWORD);
      expect(ms).toBeLessThan(FAST_FAILURE_BOUND_MS);
    });

    it('plan, which reads only Sendmux and Secrets Manager, still works', async () => {
      const { result, ms } = await timed(() => runCaptured(['plan', '--json', '--config', configPath], { cwd: CWD, env: { ...bed.env(), REDIS_URL: `redis://127.0.0.1:${deadPort}` } }));
      expect(result.stderr).not.toContain('cannot reach Redis');
      expect(JSON.parse(result.stdout)).toHaveProperty('problems');
      expect(ms).toBeLessThan(FAST_FAILURE_BOUND_MS);
    });

    it('names REDIS_CLUSTER_NODES when the cluster seeds do not answer', async () => {
      const { result, ms } = await timed(() =>
        runCaptured(['pause', '--config', configPath], { cwd: CWD, env: { ...bed.env(), REDIS_URL: '', REDIS_CLUSTER_NODES: `127.0.0.1:${deadPort}`, ROTATOR_QUEUE_PREFIX: '{down}' } }),
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`cannot reach Redis at cluster 127.0.0.1:${deadPort} (REDIS_CLUSTER_NODES): `);
      expect(ms).toBeLessThan(FAST_FAILURE_BOUND_MS);
    });

    it('pause against a frozen Redis (accepts connections, never answers) fails instead of hanging', async () => {
      const frozen = await RedisServerProcess.start();
      try {
        frozen.freeze();
        const { result, ms } = await timed(() => runCaptured(['pause', '--config', configPath], { cwd: CWD, env: { ...bed.env(), REDIS_URL: frozen.url } }));
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`cannot reach Redis at ${frozen.url} (REDIS_URL): `);
        expect(ms).toBeLessThan(FAST_FAILURE_BOUND_MS);
      } finally {
        await frozen.stop();
      }
    });

    it('the built binary exits on its own (no connection left open) with exit code 1', async () => {
      const { result, ms } = await timed(() => runRotatorCli(['resume', '--config', configPath], { ...bed.env(), REDIS_URL: `redis://127.0.0.1:${deadPort}` }, 30_000));
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`cannot reach Redis at redis://127.0.0.1:${deadPort} (REDIS_URL)`);
      expect(ms).toBeLessThan(FAST_FAILURE_BOUND_MS + 2_000);
    });
  });

  describe('the service (api and worker roles)', () => {
    let redisServer: RedisServerProcess;
    let bed: TestBed;
    let service: RotatorService;
    let base: string;

    beforeAll(async () => {
      redisServer = await RedisServerProcess.start();
      bed = await TestBed.start({ label: 'redis-down-api' });
      const settings = { ...bed.settings, env: { ...bed.settings.env, redis: redisTargetFromUrl(redisServer.url), port: 0, host: '127.0.0.1' } };
      service = await startRotatorService({ settings, logger: bed.logs.logger, roles: new Set(['api', 'worker'] as const), secretsManagerClient: bed.smClient, shutdownTimeoutMs: 2_000 });
      base = service.http!.url;
      await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 10_000, 'the service to be ready');
      await redisServer.stop();
      // Long enough for several reconnect attempts (0.2 s, 0.4 s, 0.6 s, …).
      await new Promise((resolve) => setTimeout(resolve, 3_000));
    }, 30_000);
    afterAll(async () => {
      await service?.close();
      await bed?.close();
      await redisServer?.stop();
    });

    it('answers API calls with 503 at once, naming REDIS_URL', async () => {
      for (const [method, path] of [
        ['GET', '/queue'],
        ['POST', '/queue/pause'],
        ['POST', '/rotations'],
        ['GET', '/rotations/rotate__mbx_test_0001__s1'],
        ['GET', '/mailboxes/mbx_test_0001/history'],
      ] as const) {
        const { result: response, ms } = await timed(() => fetch(`${base}${path}`, { method }));
        const body = (await response.json()) as { error: string; message: string };
        expect({ path, status: response.status, error: body.error }).toEqual({ path, status: 503, error: 'redis_unavailable' });
        expect(body.message).toContain(`cannot reach Redis at ${redisServer.url} (REDIS_URL)`);
        expect(ms).toBeLessThan(FAST_FAILURE_BOUND_MS);
      }
    });

    it('answers /readyz with 503', async () => {
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
    });

    it('logs the outage once (with the reconnect backoff), not once per reconnect attempt', () => {
      const lines = bed.logs.parsed();
      const outages = lines.filter((l) => String(l.msg).startsWith('Redis unreachable at'));
      expect(outages).toHaveLength(1);
      expect(outages[0]).toMatchObject({ variable: 'REDIS_URL', redis: redisServer.url });
      expect(String(outages[0]!.msg)).toContain('reconnecting with backoff up to 5 s');
      expect(lines.filter((l) => l.msg === 'worker error')).toEqual([]);
    });

    it('logs the recovery once when Redis is back, and answers again', async () => {
      await redisServer.start();
      await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 15_000, 'readiness after Redis came back');
      const recovered = bed.logs.parsed().filter((l) => String(l.msg).startsWith('Redis reachable again'));
      expect(recovered).toHaveLength(1);
      expect((await fetch(`${base}/queue`)).status).toBe(200);
    });
  });
});

describe('when Redis accepts connections but never answers (frozen)', () => {
  it('an API call is answered 503 within seconds, naming REDIS_URL', async () => {
    const redisServer = await RedisServerProcess.start();
    const bed = await TestBed.start({ label: 'redis-frozen-api' });
    const settings = { ...bed.settings, env: { ...bed.settings.env, redis: redisTargetFromUrl(redisServer.url), port: 0, host: '127.0.0.1' } };
    const service = await startRotatorService({ settings, logger: bed.logs.logger, roles: new Set(['api'] as const), secretsManagerClient: bed.smClient });
    try {
      const base = service.http!.url;
      await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 10_000, 'the service to be ready');
      redisServer.freeze();
      const { result: response, ms } = await timed(() => fetch(`${base}/queue`));
      const body = (await response.json()) as { error: string; message: string };
      expect({ status: response.status, error: body.error }).toEqual({ status: 503, error: 'redis_unavailable' });
      expect(body.message).toContain(`cannot reach Redis at ${redisServer.url} (REDIS_URL): PING got no answer`);
      expect(ms).toBeLessThan(FAST_FAILURE_BOUND_MS);
    } finally {
      redisServer.thaw();
      await service.close();
      await bed.close();
      await redisServer.stop();
    }
  }, 40_000);
});

describe('SIGTERM to a worker process', () => {
  /** shutdownTimeout of these workers; the process must be gone within it plus a few seconds. */
  const SHUTDOWN_TIMEOUT_MS = 2_000;
  const EXIT_BOUND_MS = SHUTDOWN_TIMEOUT_MS + 5_000 + 3_000;
  const config = { rotation: { shutdownTimeout: `${SHUTDOWN_TIMEOUT_MS}ms`, lockDuration: '3s', stalledInterval: '1s', attempts: 25, backoffInitialDelay: '100ms', backoffMaxDelay: '1s' } };

  async function started(worker: RotatorProcess): Promise<void> {
    await waitFor(async () => worker.logLines().some((l) => l.msg === 'rotator started'), 20_000, 'the worker to start');
  }

  it('exits within shutdownTimeout + a few seconds when Redis is gone', async () => {
    const redisServer = await RedisServerProcess.start();
    const bed = await TestBed.start({ label: 'sigterm-redis-gone', config });
    const worker = new RotatorProcess(['start', '--role', 'worker', '--config', writeConfigFile(bed.configObject)], { ...bed.env(), REDIS_URL: redisServer.url });
    try {
      await started(worker);
      await redisServer.stop();
      await waitFor(async () => worker.logLines().some((l) => String(l.msg).startsWith('Redis unreachable at')), 10_000, 'the outage to be logged');
      const { result, ms } = await timed(async () => {
        worker.kill('SIGTERM');
        return worker.exited;
      });
      expect(result.signal).toBeNull();
      expect(ms).toBeLessThan(EXIT_BOUND_MS);
      expect(worker.logLines().filter((l) => String(l.msg).startsWith('Redis unreachable at'))).toHaveLength(1);
      // An orderly shutdown whatever Redis does: usually the worker's close cannot finish without
      // Redis and it gives up at shutdownTimeout (logging so); on a loaded machine the connection
      // may already count as closed and the close completes at once. Either way the shutdown
      // completes and the process exits 0, never through the hard deadline (exit 1).
      const messages = worker.logLines().map((l) => String(l.msg));
      expect(result.code).toBe(0);
      expect(messages).toContain('shutting down: no new jobs; waiting for jobs in progress');
      expect(messages).toContain('shutdown complete');
      expect(messages.some((m) => m.startsWith('shutdown did not finish within shutdownTimeout'))).toBe(false);
    } finally {
      await worker.stop();
      await bed.close();
      await redisServer.stop();
    }
  }, 60_000);

  it('exits within shutdownTimeout + a few seconds during a slower rotation, which another worker then finishes', async () => {
    // Sendmux may take 20 s: the slow answer below is not cut short by the client's own timeout.
    const bed = await TestBed.start({ label: 'sigterm-slow', config: { ...config, sendmux: { timeout: '20s' } } });
    const configPath = writeConfigFile(bed.configObject);
    const first = new RotatorProcess(['start', '--role', 'worker', '--config', configPath], bed.env());
    let second: RotatorProcess | undefined;
    try {
      const producer = await bed.runtime({ runWorker: false });
      await started(first);
      // The mint happens at once; its answer comes 8 s later, well past the shutdown timeout.
      bed.sandbox.faults.inject({ operation: 'mintMailboxKey', kind: 'delay', delayMs: 8_000, times: 1 });
      const [outcome] = await producer.queue.requestRotations([{ mailboxId: 'mbx_test_0001', reason: 'manual', requestedBy: 'test' }]);
      const jobId = (outcome as { jobId: string }).jobId;
      await waitFor(async () => bed.sandbox.state.mintLog.length === 1, 15_000, 'the slow mint to start');

      const { result, ms } = await timed(async () => {
        first.kill('SIGTERM');
        return first.exited;
      });
      expect(result.signal).toBeNull();
      expect(ms).toBeLessThan(EXIT_BOUND_MS);
      const abandoned = first.logLines().find((l) => String(l.msg).includes('abandoning them'));
      expect(abandoned).toMatchObject({ jobIds: [jobId] });

      second = new RotatorProcess(['start', '--role', 'worker', '--config', configPath], bed.env());
      // It retries (409 "still in progress") until the abandoned mint's 8 s answer is over, then replays it.
      await waitFor(async () => (await (await producer.queue.getJob(jobId))?.getState()) === 'completed', 30_000, 'the abandoned job to be finished by the second worker');
      // The retry replayed the same Idempotency-Key: one key minted for the one rotation.
      expect(new Set(bed.sandbox.state.mintLog.map((m) => m.keyId)).size).toBe(1);
    } finally {
      await first.stop();
      await second?.stop();
      await bed.close();
    }
  }, 90_000);
});
