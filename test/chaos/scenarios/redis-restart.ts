import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { RotatorRuntime } from '../../../src/app/rotator-runtime';
import { redisTargetFromUrl } from '../../../src/config';
import { REVOKE_JOB_NAME, ROTATE_JOB_NAME } from '../../../src/rotation/job-data';
import { RedisServerProcess } from '../../http/support/redis-server-process';
import { writeConfigFile } from '../../support/rotator-process';
import { TestBed } from '../../support/test-bed';
import { scenarioFigures } from '../figures';
import { pollUntil, sleep, type ScenarioResult } from '../harness';
import { checkInvariants, observeFromOutside } from '../invariants';
import type { ChaosProfile } from '../profile';
import { WorkerFleet } from '../worker-fleet';

export type RedisFault = 'restart' | 'unreachable';

export interface RedisOutage {
  fault: RedisFault;
  round: number;
  /** Rotations of the round already minted when Redis went away. */
  mintedBeforeOutage: number;
  outageMs: number;
  /** Each worker's /readyz answers while Redis was away (the first non-200 seen, or the last answer). */
  readyzDuringOutage: number[];
  /** Each worker's /readyz once Redis was back (200 when it recovered within the wait). */
  readyzAfterOutage: number[];
  /** How long after Redis came back every worker's /readyz answered 200. */
  msUntilReadyAgain: number;
}

export interface RedisRestartFacts {
  outages: RedisOutage[];
  workerProcesses: number;
  /** Workers that exited without being stopped (must be none). */
  crashedWorkers: Array<{ pid: number | undefined; output: string }>;
  /** Worker log lines about Redis errors or reconnects: proof the outage was felt. */
  redisErrorLogLines: number;
  /** Rotation jobs that ended failed, with BullMQ's reason. */
  failedRotations: Array<{ jobId: string; attemptsMade: number; reason: string }>;
}

/** Long enough that the outage is felt by every connection, short enough for the ci budget. */
const RESTART_DOWNTIME_MS = 2_000;
const UNREACHABLE_MS = 3_000;
const READYZ_TIMEOUT_MS = 2_500;

/**
 * Chaos config for this scenario: retries and 1 s grace like the other chaos scenarios, and a
 * 4 s lock with a 2 s stalled check. The lock is shorter than an outage plus its recovery can
 * take, so a job whose lock lapsed while Redis was away may be handed to another worker while
 * its first worker is still on it — what production sees when Redis is away longer than
 * lockDuration (30 s by default).
 */
const CONFIG: Record<string, unknown> = {
  revokePreviousAfter: '1s',
  rotation: { attempts: 25, backoffInitialDelay: '50ms', backoffMaxDelay: '400ms', concurrency: 16, lockDuration: '4s', stalledInterval: '2s' },
  sendmux: { timeout: '1s' },
};

/**
 * A redis-server of the scenario's own, on its own port, WITH persistence (append-only file,
 * fsync on every write) in a temporary directory: like a production Redis for BullMQ, a restart
 * keeps the queue (RedisServerProcess with a persistence directory). Also gives the AOF's text,
 * so the scan for plaintext covers the disk.
 */
export class PersistentRedisServer {
  private constructor(
    private readonly server: RedisServerProcess,
    readonly dir: string,
  ) {}

  static async start(): Promise<PersistentRedisServer> {
    const dir = mkdtempSync(path.join(tmpdir(), 'rotator-chaos-redis-'));
    return new PersistentRedisServer(await RedisServerProcess.start({ persistDir: dir }), dir);
  }

  get port(): number {
    return this.server.port;
  }

  get url(): string {
    return this.server.url;
  }

  start(): Promise<void> {
    return this.server.start();
  }

  /** SIGSTOP: connections stay open but nothing answers. */
  freeze(): void {
    this.server.freeze();
  }

  thaw(): void {
    this.server.thaw();
  }

  /** SIGTERM (Redis flushes the AOF and exits), then waits for the exit. */
  stop(): Promise<void> {
    return this.server.stop();
  }

  /** Every append-only file Redis wrote, as text. */
  aofText(): string {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const full = path.join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else files.push(full);
      }
    };
    walk(this.dir);
    return files.map((file) => `${file}\n${readFileSync(file, 'latin1')}`).join('\n');
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Scenario 2: Redis restarted mid-batch, and Redis briefly unreachable (SIGSTOP), while real
 * worker processes (`rotator start --role worker`) rotate ≥ 200 mailboxes. Workers must reconnect
 * by themselves and finish every rotation; their /readyz must say 503 while Redis is away and
 * 200 once it is back. Rounds alternate the two faults (restart first).
 */
export async function runRedisRestart(profile: ChaosProfile, random: () => number): Promise<ScenarioResult<RedisRestartFacts>> {
  const startedAt = Date.now();
  const redisServer = await PersistentRedisServer.start();
  const bed = await TestBed.start({ mailboxes: profile.mailboxes, label: 'chaos-redis-restart', config: CONFIG, sandbox: { rateLimit: null, random } });
  const observer = new Redis(redisServer.url, { maxRetriesPerRequest: 2 });
  const fleet = new WorkerFleet(writeConfigFile(bed.configObject), { ...bed.env(), REDIS_URL: redisServer.url });
  try {
    const producer = await bed.runtimeWithEnv({ redis: redisTargetFromUrl(redisServer.url) }, { runWorker: false });
    fleet.start(profile.workerProcesses);
    await fleet.ready();
    const probes = await probeUrls(fleet, profile.workerProcesses);
    // A worker logs "rotator started" before its Redis connection is ready; its /readyz says so meanwhile.
    const initial = await pollReadyz(probes, (status) => status === 200, 10_000);
    if (initial.some((status) => status !== 200)) throw new Error(`workers were not ready before any fault: /readyz answered ${initial.join(', ')}`);

    const outages: RedisOutage[] = [];
    const faultsInjected: Record<string, number> = {};
    const faults: RedisFault[] = profile.name === 'full' ? ['restart', 'unreachable'] : [];
    for (let round = 1; round <= profile.rounds; round += 1) {
      const mintsBefore = bed.sandbox.state.mintLog.length;
      await enqueueRound(producer, bed.mailboxIds, round);
      // ci: one fault per round, alternating; full: both faults in every round.
      const roundFaults: RedisFault[] = faults.length > 0 ? faults : [round % 2 === 1 ? 'restart' : 'unreachable'];
      for (const [i, fault] of roundFaults.entries()) {
        // Strike mid-batch: after 15-40 % of the round (later faults of a round, later in it).
        const share = 0.15 + (0.25 * (i + random())) / roundFaults.length;
        await pollUntil(async () => bed.sandbox.state.mintLog.length - mintsBefore >= share * bed.mailboxIds.length, profile.scenarioTimeoutMs, `${Math.round(share * 100)}% of round ${round}`, 10);
        const mintedBeforeOutage = bed.sandbox.state.mintLog.length - mintsBefore;
        outages.push({ round, mintedBeforeOutage, ...(await injectOutage(redisServer, fault, probes)) });
        faultsInjected[`redis:${fault}`] = (faultsInjected[`redis:${fault}`] ?? 0) + 1;
      }
      await pollUntil(async () => (await pendingJobs(producer)) === 0, profile.scenarioTimeoutMs, `round ${round} to drain`, 100);
    }

    const crashedWorkers = fleet.crashed();
    await fleet.stopAll();
    const outputs = fleet.outputs();
    const redisErrorLogLines = outputs.reduce((n, { text }) => n + text.split('\n').filter((line) => /ECONNREFUSED|Connection is closed|reconnect|worker error/i.test(line)).length, 0);

    // observeFromOutside reads `bed.redis` for its dump of Redis: point it at this scenario's Redis.
    const view = await observeFromOutside(Object.assign(Object.create(bed) as TestBed, { redis: observer }), producer.queue, [
      ...outputs,
      { source: `Redis append-only files in ${redisServer.dir}`, text: redisServer.aofText() },
    ]);
    const report = checkInvariants(view);
    const rotations = view.jobs.filter((job) => job.name === ROTATE_JOB_NAME);
    const figures = scenarioFigures(
      {
        scenario: 'redis-restart',
        mailboxes: bed.mailboxIds.length,
        rounds: profile.rounds,
        kills: 0,
        faultsInjected,
        durationMs: Date.now() - startedAt,
        rotationsAttempted: rotations.length,
        rotationsCompleted: rotations.filter((job) => job.state === 'completed').length,
        rotationsFailed: rotations.filter((job) => job.state === 'failed').length,
        revocationsCompleted: view.jobs.filter((job) => job.name === REVOKE_JOB_NAME && job.state === 'completed').length,
      },
      report.figures,
      report.violations.length,
    );
    const failedRotations = rotations
      .filter((job) => job.state === 'failed')
      .map((job) => ({ jobId: job.id, attemptsMade: job.attemptsMade, reason: job.failedReason ?? '' }));
    return { report, figures, facts: { outages, workerProcesses: profile.workerProcesses, crashedWorkers, redisErrorLogLines, failedRotations } };
  } finally {
    await fleet.stopAll();
    await observer.quit().catch(() => undefined);
    // The runtimes close against this Redis, so it must still be up; then it goes, with its files.
    await bed.close();
    await redisServer.destroy();
  }
}

async function enqueueRound(producer: RotatorRuntime, mailboxIds: readonly string[], round: number): Promise<void> {
  const slot = `redis-r${round}-${Date.now().toString(36)}`;
  const outcomes = await producer.queue.requestRotations(mailboxIds.map((mailboxId) => ({ mailboxId, reason: 'scheduled' as const, slot, requestedBy: 'chaos' })));
  const notEnqueued = outcomes.filter((o) => o.status !== 'enqueued');
  if (notEnqueued.length > 0) throw new Error(`round ${round}: ${notEnqueued.length} mailboxes were not enqueued, e.g. ${JSON.stringify(notEnqueued[0])}`);
}

/** Jobs not yet finished; while Redis is away the producer cannot tell, which counts as "not done". */
async function pendingJobs(producer: RotatorRuntime): Promise<number> {
  try {
    const counts = await producer.queue.queue.getJobCounts('active', 'wait', 'delayed', 'prioritized', 'paused', 'waiting-children');
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** The probe URL of each worker, from its "HTTP server listening" log line. */
async function probeUrls(fleet: WorkerFleet, count: number): Promise<string[]> {
  let urls: string[] = [];
  await pollUntil(
    async () => {
      urls = fleet.outputs().flatMap(({ text }) =>
        text.split('\n').flatMap((line) => {
          if (!line.includes('"HTTP server listening"')) return [];
          const url = (JSON.parse(line) as { url?: unknown }).url;
          return typeof url === 'string' ? [url] : [];
        }),
      );
      return urls.length >= count;
    },
    20_000,
    'every worker to log its HTTP server URL',
    25,
  );
  return urls;
}

/** GET /readyz; 0 when the worker did not answer in time. */
async function readyz(baseUrl: string): Promise<number> {
  try {
    const response = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(READYZ_TIMEOUT_MS) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/** Polls every probe until each answered `wanted` once (or the time is up); returns each one's answer. */
async function pollReadyz(probes: string[], wanted: (status: number) => boolean, timeoutMs: number): Promise<number[]> {
  const answers = probes.map(() => -1);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await Promise.all(
      probes.map(async (probe, i) => {
        if (answers[i] !== -1 && wanted(answers[i]!)) return;
        answers[i] = await readyz(probe);
      }),
    );
    if (answers.every(wanted)) break;
    await sleep(50);
  }
  return answers;
}

async function injectOutage(server: PersistentRedisServer, fault: RedisFault, probes: string[]): Promise<Omit<RedisOutage, 'round' | 'mintedBeforeOutage'>> {
  const down = Date.now();
  const holdMs = fault === 'restart' ? RESTART_DOWNTIME_MS : UNREACHABLE_MS;
  if (fault === 'restart') await server.stop();
  else server.freeze();
  // A frozen Redis fails the readiness PING after its 1 s timeout; a stopped one at once.
  const readyzDuringOutage = await pollReadyz(probes, (status) => status === 503, holdMs - 200);
  await sleep(Math.max(0, holdMs - (Date.now() - down)));
  if (fault === 'restart') await server.start();
  else server.thaw();
  const back = Date.now();
  const readyzAfterOutage = await pollReadyz(probes, (status) => status === 200, 20_000);
  return { fault, outageMs: back - down, readyzDuringOutage, readyzAfterOutage, msUntilReadyAgain: Date.now() - back };
}
