import { Redis } from 'ioredis';
import type { RedisTarget } from '../../src/config';
import { runCaptured } from '../cli/capture';
import { RedisClusterDeployment } from '../support/redis-topologies';
import { writeConfigFile } from '../support/rotator-process';
import { createRedisConnection, waitUntilReachable } from '../../src/queue/redis-connection';
import { checkRedis } from '../../src/http/readiness';
import { expectBatchKeptInvariants, runRotationBatch } from './support/rotation-batch';

/**
 * REDIS_CLUSTER_NODES against a real 3-master Redis Cluster (redis-cli --cluster create): the
 * CLI and a batch of rotations work whichever node holds the queue's hash slot.
 */
describe('Redis Cluster mode (3 masters)', () => {
  let cluster: RedisClusterDeployment;
  const nodes: Redis[] = [];

  beforeAll(async () => {
    cluster = await RedisClusterDeployment.start(3);
    for (const seed of cluster.seeds) nodes.push(new Redis(seed.port, seed.host, { maxRetriesPerRequest: 2 }));
  }, 60_000);
  afterAll(async () => {
    for (const node of nodes) node.disconnect();
    await cluster?.stop();
  });

  it('rotates every mailbox with the invariants intact, and the CLI pauses and resumes through any seed node', async () => {
    // Only the last node as seed: the client must discover the others and follow MOVED.
    const target: RedisTarget = { mode: 'cluster', variable: 'REDIS_CLUSTER_NODES', nodes: cluster.seeds.slice(-1), tls: false };
    const cliRuns: Array<{ code: number; stdout: string; stderr: string }> = [];
    const run = await runRotationBatch({
      label: 'cluster',
      mailboxes: 30,
      target,
      prefixOf: (bedPrefix) => `{${bedPrefix}}`,
      dumpSources: () => nodes,
      before: async (bed, prefix) => {
        const env = { ...bed.env(), REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.clusterNodesVariable, ROTATOR_QUEUE_PREFIX: prefix };
        const configPath = writeConfigFile(bed.configObject);
        for (const command of ['pause', 'resume', 'status']) {
          cliRuns.push(await runCaptured([command, '--config', configPath, ...(command === 'status' ? ['--no-key-ages'] : [])], { cwd: process.cwd(), env }));
        }
      },
    });
    expect(cliRuns.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(cliRuns[0]!.stdout).toContain('queue paused');
    expect(cliRuns[1]!.stdout).toContain('queue running');
    expectBatchKeptInvariants(run);
  }, 90_000);

  it('with one master frozen, fails the emergency stop within seconds and answers /readyz 503 every time', async () => {
    const target: RedisTarget = { mode: 'cluster', variable: 'REDIS_CLUSTER_NODES', nodes: cluster.seeds.slice(-1), tls: false };
    const client = createRedisConnection(target, 'producer');
    try {
      await waitUntilReachable(client, target, 10_000);
      expect(await checkRedis(client, 2_000)).toEqual({ ok: true });
      // Freeze the master that serves the queue's hash slot: the node the emergency stop must reach.
      const prefix = '{frozen-master}';
      const slot = Number(await nodes[0]!.cluster('KEYSLOT', prefix));
      const ranges = await nodes[0]!.cluster('SLOTS');
      const ownerPort = ranges.find(([start, end]) => slot >= start && slot <= end)![2]![1];
      const owner = cluster.nodes.find((node) => node.port === ownerPort)!;
      owner.freeze();
      try {
        // The cluster client's own PING goes to one node: several probes would sometimes pass.
        for (let i = 0; i < 5; i++) expect((await checkRedis(client, 500)).ok).toBe(false);
        const env = { ...process.env, SENDMUX_API_KEY: 'smx_root_testtesttesttesttest', REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.clusterNodesVariable, ROTATOR_QUEUE_PREFIX: prefix };
        const configPath = writeConfigFile({ mailboxes: ['mbx_test_0001'], schedule: '0 3 * * *' });
        const started = Date.now();
        const pause = await runCaptured(['pause', '--config', configPath], { cwd: process.cwd(), env });
        expect(pause.code).toBe(1);
        expect(pause.stderr).toContain('cannot reach Redis at cluster ');
        expect(Date.now() - started).toBeLessThan(12_000);
      } finally {
        owner.thaw();
      }
    } finally {
      client.disconnect();
    }
  }, 60_000);
});

