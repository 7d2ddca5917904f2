import { cpus, totalmem, type } from 'node:os';
import type { CeilingResult } from './scenarios/ceiling';
import type { MemoryResult, OverheadResult } from './scenarios/overhead-memory';
import type { TickResult } from './scenarios/tick';
import type { ClusterResult } from './scenarios/cluster';

export interface BenchResults {
  startedAt: string;
  durationSeconds: number;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; os: string; node: string };
  reductions: string[];
  /** 1/5/15-minute load averages before and after each scenario: other work on the machine skews every figure. */
  loadAverages: Record<string, { before: string; after: string }>;
  ceiling?: CeilingResult;
  overhead?: OverheadResult;
  tick?: TickResult;
  memory?: MemoryResult;
  cluster?: ClusterResult;
  targets: TargetCheck[];
}

export interface TargetCheck {
  target: string;
  measured: string;
  holds: boolean;
}

export function describeMachine(): BenchResults['machine'] {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: type(),
    node: process.version,
  };
}

const pct = (fraction: number) => `${(fraction * 100).toFixed(1)}%`;

export function checkTargets(results: Omit<BenchResults, 'targets'>): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const s of results.ceiling?.summaries ?? []) {
    checks.push({ target: `ceiling, ${s.workers} worker(s): ≥ 95% of the ceiling`, measured: pct(s.fractionOfCeiling), holds: s.fractionOfCeiling >= 0.95 });
    checks.push({ target: `ceiling, ${s.workers} worker(s): ≤ 0.5% of requests answered 429`, measured: `${s.percent429.toFixed(2)}% (${s.count429})`, holds: s.percent429 <= 0.5 });
  }
  if (results.overhead) {
    checks.push({ target: 'overhead: rotator ÷ bare loop ≥ 0.85', measured: results.overhead.ratio.toFixed(3), holds: results.overhead.ratio >= 0.85 });
  }
  if (results.tick) {
    checks.push({ target: `tick: ${results.tick.params.mailboxes.toLocaleString('en-US')} jobs enqueued in < 5 s`, measured: `${(results.tick.tickMs / 1000).toFixed(2)} s`, holds: results.tick.tickMs < 5000 });
  }
  if (results.memory) {
    checks.push({ target: 'memory: worker RSS < 200 MB at the end', measured: `${results.memory.endRssMiB.toFixed(1)} MiB`, holds: results.memory.endRssMiB * 1.048576 < 200 });
    checks.push({ target: 'memory: last 2,000 rotations add < 10 MB', measured: `${results.memory.lastRoundGrowthMiB.toFixed(1)} MiB`, holds: results.memory.lastRoundGrowthMiB * 1.048576 < 10 });
  }
  return checks;
}

/** The table printed at the end and written to latest.md (for docs/performance.md). */
export function markdownReport(results: BenchResults): string {
  const lines: string[] = [];
  const m = results.machine;
  lines.push(`Run ${results.startedAt} on ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}; whole bench ${Math.round(results.durationSeconds)} s.`);
  lines.push('');
  const c = results.ceiling;
  if (c) {
    const p = c.params;
    const ceilingPerSecond = p.sandboxLimit.max / p.sandboxLimit.windowSeconds;
    lines.push(
      `**Ceiling** — sandbox limit ${p.sandboxLimit.max}/${p.sandboxLimit.windowSeconds} s (${ceilingPerSecond} requests/s, fixed clock-aligned windows), ` +
        `${p.latencyMs} ms latency, ${p.mailboxes} mailboxes, revokePreviousAfter 0s, rotation.concurrency ${p.concurrency} per worker, ` +
        `rateLimit ${p.limiter.max}/${p.limiter.duration}; median of ${p.runs} run(s). "Of ceiling" = successful mint + revoke requests ÷ ` +
        `(${ceilingPerSecond}/s × enqueue → last job done); a run spanning two of the sandbox's clock-aligned windows may average a little over 100%. ` +
        `Rotation latency = job processedOn → finishedOn; enqueue → done includes the wait for the limiter.`,
    );
    lines.push('');
    lines.push('| workers | of ceiling | requests/s | 429s | rotation p50 / p99 | enqueue → done p50 / p99 | all current | all revoked | 10,000 mailboxes at 600/60 s |');
    lines.push('|---|---|---|---|---|---|---|---|---|');
    for (const s of c.summaries) {
      lines.push(
        `| ${s.workers} | ${pct(s.fractionOfCeiling)} | ${s.requestsPerSecond} | ${s.count429} (${s.percent429.toFixed(2)}%) | ${s.rotationP50Ms} / ${s.rotationP99Ms} ms | ` +
          `${(s.enqueueToDoneP50Ms / 1000).toFixed(1)} / ${(s.enqueueToDoneP99Ms / 1000).toFixed(1)} s | ${(s.allCurrentMs / 1000).toFixed(1)} s | ${(s.elapsedMs / 1000).toFixed(1)} s | ${s.projected10kMinutes} min |`,
      );
    }
    lines.push('');
  }
  const o = results.overhead;
  if (o) {
    lines.push(
      `**Overhead** — no rate limit, ${o.params.latencyMs} ms latency, ${o.params.mailboxes} mailboxes, concurrency ${o.params.concurrency}, ` +
        `a rotation = rotation job + revocation job vs. the same calls in a bare loop (no queue); ${o.params.warmUp ? 'one unmeasured warm-up round on each side, then ' : ''}${o.params.pairs} alternating pair(s), median.`,
    );
    lines.push('');
    lines.push('| bare loop | rotator | ratio | worker CPU / rotation | bare loop CPU / rotation |');
    lines.push('|---|---|---|---|---|');
    lines.push(`| ${o.bareRotationsPerSecond} rotations/s | ${o.rotatorRotationsPerSecond} rotations/s | ${o.ratio.toFixed(3)} | ${o.rotatorCpuMsPerRotation} ms | ${o.bareCpuMsPerRotation} ms |`);
    lines.push('');
  }
  const t = results.tick;
  if (t) {
    lines.push(`**Tick** — RotationScheduler.tick over ${t.params.mailboxes.toLocaleString('en-US')} configured ids, addBulk chunks of ${t.params.chunkSize}; median of ${t.params.runs} run(s).`);
    lines.push('');
    lines.push('| tick → all enqueued | Redis used_memory per queued job | MEMORY USAGE of the job keys per job |');
    lines.push('|---|---|---|');
    lines.push(`| ${(t.tickMs / 1000).toFixed(2)} s | ${t.usedMemoryBytesPerJob} B | ${t.keyBytesPerJob} B |`);
    lines.push('');
  }
  const mem = results.memory;
  if (mem) {
    lines.push(
      `**Memory** — 1 worker, ${mem.params.rotations.toLocaleString('en-US')} rotations (+ as many revocations) over ${mem.params.mailboxes} mailboxes, ` +
        `${mem.params.latencyMs} ms latency, default retention; VmRSS from /proc every ${mem.params.sampleEveryMs} ms; worker environment: ${Object.entries(mem.runtimeEnv).map(([name, value]) => `${name}=${value}`).join(', ') || '(no runtime tuning)'}.`,
    );
    lines.push('');
    lines.push(`| RSS at start | peak RSS in each round of ${mem.params.mailboxes.toLocaleString('en-US')} rotations | end | last 2,000 rotations (peak − previous peak) | rotations/s |`);
    lines.push('|---|---|---|---|---|');
    lines.push(
      `| ${mem.startRssMiB} MiB | ${mem.rounds.map((r) => r.peakRssMiB).join(' → ')} MiB | ${mem.endRssMiB} MiB | ` +
        `${mem.lastRoundGrowthMiB >= 0 ? '+' : ''}${mem.lastRoundGrowthMiB} MiB | ${mem.rotationsPerSecond} |`,
    );
    lines.push('');
  }
  const cl = results.cluster;
  if (cl) {
    lines.push(
      `**Redis Cluster** — the ceiling scenario (1 worker, ${cl.params.mailboxes} mailboxes, ${cl.params.latencyMs} ms latency, rateLimit ` +
        `${cl.params.limiter.max}/${cl.params.limiter.duration}) on the single node and on a ${cl.params.masters}-master cluster in the same bench; median of ${cl.params.runs} run(s) each.`,
    );
    lines.push('');
    lines.push('| Redis | of ceiling | rotation p50 / p99 | worker CPU / rotation |');
    lines.push('|---|---|---|---|');
    for (const [name, f] of [['single node', cl.single], [`cluster (${cl.params.masters} masters)`, cl.cluster]] as const) {
      lines.push(`| ${name} | ${pct(f.summary.fractionOfCeiling)} | ${f.summary.rotationP50Ms} / ${f.summary.rotationP99Ms} ms | ${f.workerCpuMsPerRotation} ms |`);
    }
    lines.push(`| **cluster ÷ single** | ${cl.ceilingRatio.toFixed(3)} | ${cl.rotationP50Ratio.toFixed(3)} (p50) | ${cl.workerCpuRatio.toFixed(3)} |`);
    lines.push('');
  }
  if (results.targets.length > 0) {
    lines.push('| target | measured | holds |');
    lines.push('|---|---|---|');
    for (const check of results.targets) lines.push(`| ${check.target} | ${check.measured} | ${check.holds ? 'yes' : '**no**'} |`);
    lines.push('');
  }
  const loads = Object.entries(results.loadAverages).map(([scenario, l]) => `${scenario} ${l.before} → ${l.after}`);
  if (loads.length > 0) lines.push(`Load averages (1/5/15 min) before → after each scenario: ${loads.join('; ')}.`, '');
  for (const note of results.reductions) lines.push(`> ${note}`);
  return lines.join('\n');
}
