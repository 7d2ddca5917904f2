import { Cluster, Redis } from 'ioredis';
import type { RedisTarget } from '../../src/config';
import { createRedisConnection, describeRedisTarget, isRedisDown, RedisUnreachableError, type RedisClient } from '../../src/queue/redis-connection';
import { freePort } from '../http/support/redis-server-process';

/** Connections are made lazily here (nothing listens); only the options they were built with are checked. */
const PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
const opened: RedisClient[] = [];
const open = (target: RedisTarget, purpose: 'worker' | 'producer' | 'cli'): RedisClient => {
  const client = createRedisConnection(target, purpose, { lazyConnect: true });
  opened.push(client);
  return client;
};
afterAll(() => opened.forEach((client) => client.disconnect()));

describe('createRedisConnection', () => {
  const single: RedisTarget = { mode: 'single', variable: 'REDIS_URL', url: 'rediss://user:in%2Burl@redis.internal:6380/2', tls: true };

  it('never gives up a worker command (BullMQ requires maxRetriesPerRequest: null) but fails a producer call', () => {
    expect((open(single, 'worker') as Redis).options.maxRetriesPerRequest).toBeNull();
    expect((open(single, 'producer') as Redis).options.maxRetriesPerRequest).toBe(2);
  });

  it('reads host, port, database and decoded credentials from REDIS_URL, with TLS for rediss://', () => {
    const { options } = open(single, 'producer') as Redis;
    expect(options).toMatchObject({ host: 'redis.internal', port: 6380, db: 2, username: 'user', password: 'in+url', tls: {} });
  });

  it('lets REDIS_USERNAME / REDIS_PASSWORD override the URL and trusts the private CA', () => {
    const { options } = open({ ...single, username: 'app', password: 'env+pw', tlsCa: { file: '/ca.pem', pem: PEM } }, 'producer') as Redis;
    expect(options).toMatchObject({ username: 'app', password: 'env+pw', tls: { ca: PEM } });
  });

  it('opens a Cluster over the seed nodes with the worker options inside redisOptions', () => {
    const client = open({ mode: 'cluster', variable: 'REDIS_CLUSTER_NODES', nodes: [{ host: '127.0.0.1', port: 1 }], password: 'pw', tls: true }, 'worker');
    expect(client).toBeInstanceOf(Cluster);
    expect((client as Cluster).options.redisOptions).toMatchObject({ maxRetriesPerRequest: null, password: 'pw', tls: {} });
  });

  it('asks the sentinels for the named master', () => {
    const { options } = open({ mode: 'sentinel', variable: 'REDIS_SENTINELS', sentinels: [{ host: '10.0.0.1', port: 26379 }], masterName: 'mymaster', tls: false }, 'worker') as Redis;
    expect(options).toMatchObject({ sentinels: [{ host: '10.0.0.1', port: 26379 }], name: 'mymaster', maxRetriesPerRequest: null });
  });
});

describe('describeRedisTarget and RedisUnreachableError', () => {
  it('masks the password of the URL and names the variable of the mode', () => {
    const target: RedisTarget = { mode: 'single', variable: 'REDIS_URL', url: 'redis://:s3cret@10.0.0.5:6379', tls: false };
    const err = new RedisUnreachableError(target, 'connect ECONNREFUSED 10.0.0.5:6379');
    expect(err.message).toBe('cannot reach Redis at redis://:****@10.0.0.5:6379 (REDIS_URL): connect ECONNREFUSED 10.0.0.5:6379');
  });

  it('lists the nodes of a cluster and the master of a sentinel deployment', () => {
    expect(describeRedisTarget({ mode: 'cluster', variable: 'REDIS_CLUSTER_NODES', nodes: [{ host: 'a', port: 1 }, { host: '::1', port: 2 }], tls: true })).toBe('cluster a:1,[::1]:2 (TLS)');
    expect(describeRedisTarget({ mode: 'sentinel', variable: 'REDIS_SENTINELS', sentinels: [{ host: 's', port: 26379 }], masterName: 'm', tls: false })).toBe('sentinel master "m" via s:26379');
  });
});

describe('isRedisDown', () => {
  it('is false while a first connection is being made, true once it failed, whatever the reconnect step', async () => {
    const port = await freePort(); // nothing listens here
    const client = open({ mode: 'single', variable: 'REDIS_URL', url: `redis://127.0.0.1:${port}`, tls: false }, 'producer');
    expect(isRedisDown(client)).toBe(false);
    const failed = new Promise((resolve) => client.once('error', resolve));
    void client.connect().catch(() => undefined);
    await failed;
    expect(isRedisDown(client)).toBe(true);
  });
});
