import { Redis } from 'ioredis';
import type { RedisTarget } from '../../src/config';
import { SENTINEL_MASTER, SentinelDeployment } from '../support/redis-topologies';
import { expectBatchKeptInvariants, runRotationBatch } from './support/rotation-batch';

/**
 * REDIS_SENTINELS + REDIS_SENTINEL_MASTER against a real primary, replica and sentinel. The
 * primary is SIGKILLed in the middle of a batch; the sentinel promotes the replica and the
 * rotator follows it without a restart.
 */
describe('Redis Sentinel mode with a failover mid-batch', () => {
  let deployment: SentinelDeployment;
  let replica: Redis;

  beforeAll(async () => {
    deployment = await SentinelDeployment.start();
    replica = new Redis(deployment.replica.port, '127.0.0.1', { maxRetriesPerRequest: 2 });
  }, 60_000);
  afterAll(async () => {
    replica?.disconnect();
    await deployment?.stop();
  });

  it('finishes every rotation on the promoted replica with the invariants intact', async () => {
    const target: RedisTarget = { mode: 'sentinel', variable: 'REDIS_SENTINELS', sentinels: deployment.sentinels, masterName: SENTINEL_MASTER, tls: false };
    const oldPrimaryPort = deployment.primary.port;
    const run = await runRotationBatch({
      label: 'sentinel',
      mailboxes: 30,
      target,
      // The promoted replica holds every key once the failover is over.
      dumpSources: () => [replica],
      midBatch: { share: 0.3, act: () => deployment.primary.kill() },
      timeoutMs: 60_000,
    });
    expect(await deployment.currentPrimaryPort()).toBe(deployment.replica.port);
    expect(deployment.replica.port).not.toBe(oldPrimaryPort);
    expectBatchKeptInvariants(run);
  }, 90_000);
});
