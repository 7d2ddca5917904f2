/**
 * `npm run bench`: starts the Sendmux sandbox, the Secrets Manager stand-in and rotator worker
 * processes against the real Redis, runs the scenarios of issue 5, prints a table and writes
 * bench/results/latest.json (every figure) and bench/results/latest.md (the table of docs/performance.md).
 *
 *   node dist/bench/run.js [--only ceiling,overhead,tick,memory,cluster] [--runs N] [--quick]
 *
 * --quick shrinks every scenario (a smoke test of the bench itself, not a measurement).
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadavg } from 'node:os';
import { ensureDir, RESULTS_DIR } from './lib/paths';
import { deployedRuntimeEnv } from './lib/services';
import { checkTargets, describeMachine, markdownReport, type BenchResults } from './report';
import { runCeilingScenario, type CeilingParams } from './scenarios/ceiling';
import { runWorkerLoadScenarios, type WorkerLoadParams } from './scenarios/overhead-memory';
import { runTickScenario, type TickParams } from './scenarios/tick';
import { runClusterScenario, type ClusterParams } from './scenarios/cluster';

type ScenarioName = 'ceiling' | 'overhead' | 'tick' | 'memory' | 'cluster';
const ALL: ScenarioName[] = ['tick', 'overhead', 'memory', 'ceiling', 'cluster'];

interface Options {
  only: ScenarioName[];
  runs: number;
  quick: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { only: ALL, runs: 3, quick: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') options.quick = true;
    else if (arg === '--only') {
      const names = (argv[++i] ?? '').split(',').filter(Boolean);
      const unknown = names.filter((n) => !ALL.includes(n as ScenarioName));
      if (names.length === 0 || unknown.length > 0) throw new Error(`--only takes a comma list of ${ALL.join(', ')}; got "${argv[i] ?? ''}"`);
      options.only = ALL.filter((n) => names.includes(n));
    } else if (arg === '--runs') {
      const runs = Number(argv[++i]);
      if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs takes a whole number ≥ 1; got "${argv[i] ?? ''}"`);
      options.runs = runs;
    } else {
      throw new Error(`unknown argument "${arg}"; use --only <scenarios>, --runs <n> or --quick`);
    }
  }
  return options;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const started = performance.now();
  ensureDir(RESULTS_DIR);
  const logDir = path.join(RESULTS_DIR, 'logs');
  rmSync(logDir, { recursive: true, force: true });
  ensureDir(logDir);
  const reductions: string[] = [];
  const q = options.quick;
  if (q) reductions.push('--quick: every scenario shrunk to check the bench itself; these figures are not a measurement.');

  const results: Omit<BenchResults, 'targets'> = {
    startedAt: startedAt.toISOString(),
    durationSeconds: 0,
    machine: describeMachine(),
    reductions,
    loadAverages: {},
  };
  say(`rotator bench on ${results.machine.cpus} × ${results.machine.cpuModel}, Node ${results.machine.node}; logs in ${logDir}`);
  say(`worker processes: rotator start --role worker, LOG_LEVEL=info, ${Object.entries(deployedRuntimeEnv()).map(([name, value]) => `${name}=${value}`).join(', ') || 'no runtime tuning (the Dockerfile sets none)'}`);
  const load = () => loadavg().map((n) => n.toFixed(2)).join(' ');
  const noteLoad = (scenario: string, before: string) => {
    results.loadAverages[scenario] = { before, after: load() };
  };

  if (options.only.includes('tick')) {
    const params: TickParams = { mailboxes: q ? 10_000 : 100_000, runs: options.runs, chunkSize: 1000 };
    say(`\n[tick] one scheduler tick over ${params.mailboxes} configured mailbox ids (chunks of ${params.chunkSize}), ${params.runs} run(s)`);
    const loadBefore = load();
    results.tick = await runTickScenario(params, logDir, say);
    noteLoad('tick', loadBefore);
  }
  if (options.only.includes('overhead') || options.only.includes('memory')) {
    const params: WorkerLoadParams = {
      mailboxes: q ? 300 : 2000,
      latencyMs: '0-5',
      concurrency: 16,
      pairs: options.only.includes('overhead') ? options.runs : 0,
      warmUp: !q,
      memoryRotations: options.only.includes('memory') ? (q ? 1500 : 10_000) : 0,
      sampleEveryMs: 250,
    };
    say(
      `\n[overhead + memory] no rate limit, ${params.latencyMs} ms latency, ${params.mailboxes} mailboxes, concurrency ${params.concurrency}; ` +
        `${params.warmUp && params.pairs > 0 ? 'one unmeasured warm-up round on each side, then ' : ''}${params.pairs} alternating pair(s) of bare loop / rotator, then the same worker process on to ${params.memoryRotations} rotations ` +
        `(RSS sampled every ${params.sampleEveryMs} ms)`,
    );
    if (params.pairs > 0 && params.memoryRotations > 0) {
      reductions.push(
        `The memory scenario's worker is the overhead scenario's: its first ${(params.pairs + (params.warmUp ? 1 : 0)) * params.mailboxes} rotations are the overhead warm-up and pairs' ` +
          `rotator passes (idle while the bare loop runs). That saves a second seeding and ${params.pairs * params.mailboxes} rotations, to keep the bench under 10 minutes.`,
      );
    }
    const loadBefore = load();
    Object.assign(results, await runWorkerLoadScenarios(params, logDir, say));
    noteLoad('overhead+memory', loadBefore);
  }
  if (options.only.includes('ceiling')) {
    const params: CeilingParams = {
      mailboxes: q ? 500 : 3000,
      sandboxLimit: { max: 6000, windowSeconds: 60 },
      latencyMs: 50,
      workerCounts: [1, 3],
      runs: options.runs,
      // Jobs in flight must cover rate × job duration: 100 jobs/s × ~0.2 s (two 50 ms Sendmux calls,
      // five Secrets Manager calls, Redis) ≈ 20, more when the CPU is busy. At the real 10 jobs/s the
      // default 16 covers jobs of up to 1.6 s; this 10× faster scenario needs 10× the headroom.
      concurrency: 32,
      limiter: { max: 100, duration: '1s' },
    };
    say(
      `\n[ceiling] sandbox ${params.sandboxLimit.max}/${params.sandboxLimit.windowSeconds}s, ${params.latencyMs} ms latency, ${params.mailboxes} mailboxes, ` +
        `revokePreviousAfter 0s, ${params.workerCounts.join(' and ')} worker process(es) × concurrency ${params.concurrency}, ` +
        `rateLimit ${params.limiter.max}/${params.limiter.duration}, ${params.runs} run(s) each`,
    );
    const loadBefore = load();
    results.ceiling = await runCeilingScenario(params, logDir, say);
    noteLoad('ceiling', loadBefore);
  }

  if (options.only.includes('cluster')) {
    const params: ClusterParams = {
      masters: 3,
      mailboxes: q ? 200 : 1000,
      sandboxLimit: { max: 6000, windowSeconds: 60 },
      latencyMs: 50,
      // Two runs per mode at most: the point is the ratio, and the bench must stay under 10 minutes.
      runs: Math.min(options.runs, 2),
      concurrency: 32,
      limiter: { max: 100, duration: '1s' },
    };
    say(
      `\n[cluster] the ceiling scenario with 1 worker process, on the single node and then on a ${params.masters}-master Redis Cluster: ` +
        `${params.mailboxes} mailboxes, ${params.latencyMs} ms latency, rateLimit ${params.limiter.max}/${params.limiter.duration}, ${params.runs} run(s) each`,
    );
    const loadBefore = load();
    results.cluster = await runClusterScenario(params, logDir, say);
    noteLoad('cluster', loadBefore);
  }

  results.durationSeconds = (performance.now() - started) / 1000;
  const full: BenchResults = { ...results, targets: checkTargets(results) };
  const markdown = markdownReport(full);
  writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(full, null, 2)}\n`);
  writeFileSync(path.join(RESULTS_DIR, 'latest.md'), `${markdown}\n`);
  say(`\n${markdown}`);
  say(`\nwrote ${path.join(RESULTS_DIR, 'latest.json')} and latest.md`);
  if (full.targets.some((t) => !t.holds)) process.exitCode = 2;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
