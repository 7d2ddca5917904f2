import { createRedisConnection } from '../../src/queue/redis-connection';
import { RedisClusterDeployment } from '../../test/support/redis-topologies';
import { median, round } from '../lib/stats';
import type { BenchRedis } from '../lib/world';
import { runCeilingScenario, type CeilingParams, type CeilingSummary } from './ceiling';

export interface ClusterParams extends Omit<CeilingParams, 'workerCounts'> {
  masters: number;
}

export interface ClusterModeFigures {
  summary: CeilingSummary;
  /** Worker process CPU per rotation (rotation + revocation job), median over the runs. */
  workerCpuMsPerRotation: number;
}

export interface ClusterResult {
  params: ClusterParams;
  single: ClusterModeFigures;
  cluster: ClusterModeFigures;
  /** cluster ÷ single: share of the Sendmux ceiling reached (1 = as good as one node). */
  ceilingRatio: number;
  /** cluster ÷ single: time inside the worker per rotation, p50 (above 1 = slower on the cluster). */
  rotationP50Ratio: number;
  /** cluster ÷ single: worker CPU per rotation (above 1 = more client work on the cluster). */
  workerCpuRatio: number;
}

/**
 * The ceiling scenario, one worker process, run twice in the same bench: on the single node at
 * REDIS_URL, then on a 3-master Redis Cluster started here (redis-server --cluster-enabled yes,
 * redis-cli --cluster create) with REDIS_CLUSTER_NODES and a hash-tagged prefix. The ratios say
 * what cluster mode costs the rotator; the queue's keys live in one slot, so one master serves them.
 */
export async function runClusterScenario(params: ClusterParams, logDir: string, say: (line: string) => void): Promise<ClusterResult> {
  const ceilingParams: CeilingParams = { ...params, workerCounts: [1] };
  say('  single node (REDIS_URL):');
  const single = await runCeilingScenario(ceilingParams, logDir, say, undefined, 'cluster-baseline');
  const deployment = await RedisClusterDeployment.start(params.masters);
  try {
    const redis: BenchRedis = {
      env: { REDIS_URL: '', REDIS_CLUSTER_NODES: deployment.clusterNodesVariable },
      connect: () => createRedisConnection({ mode: 'cluster', variable: 'REDIS_CLUSTER_NODES', nodes: deployment.seeds, tls: false }, 'producer'),
      hashTagPrefixes: true,
    };
    say(`  ${params.masters}-master cluster (REDIS_CLUSTER_NODES=${deployment.clusterNodesVariable}):`);
    const cluster = await runCeilingScenario(ceilingParams, logDir, say, redis, 'cluster');
    const figures = (result: typeof single): ClusterModeFigures => {
      const cpuMs = median(result.runs.map((r) => (1000 * r.workerCpuSeconds) / params.mailboxes));
      return { summary: result.summaries[0]!, workerCpuMsPerRotation: round(cpuMs, 2) };
    };
    const s = figures(single);
    const c = figures(cluster);
    return {
      params,
      single: s,
      cluster: c,
      ceilingRatio: round(c.summary.fractionOfCeiling / s.summary.fractionOfCeiling, 3),
      rotationP50Ratio: round(c.summary.rotationP50Ms / s.summary.rotationP50Ms, 3),
      workerCpuRatio: round(c.workerCpuMsPerRotation / s.workerCpuMsPerRotation, 3),
    };
  } finally {
    await deployment.stop();
  }
}
