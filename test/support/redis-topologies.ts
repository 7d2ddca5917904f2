import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { RedisHostPort } from '../../src/config';
import { freePort, RedisServerProcess } from '../http/support/redis-server-process';

const run = promisify(execFile);

/**
 * Real Redis deployments for the connection-mode tests, started on free loopback ports in a
 * temporary directory and stopped by process id: a Redis Cluster, a Sentinel-managed primary
 * with a replica, and a TLS server with a private CA. Each `stop()` also removes its directory.
 */

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stopAll(servers: Array<RedisServerProcess | undefined>, dir: string): Promise<void> {
  await Promise.all(servers.map((server) => server?.stop()));
  rmSync(dir, { recursive: true, force: true });
}

/** `masters` cluster nodes (no replicas) created with `redis-cli --cluster create`. */
export class RedisClusterDeployment {
  private constructor(
    readonly nodes: RedisServerProcess[],
    readonly dir: string,
  ) {}

  static async start(masters = 3): Promise<RedisClusterDeployment> {
    const dir = mkdtempSync(path.join(tmpdir(), 'rotator-redis-cluster-'));
    const nodes: RedisServerProcess[] = [];
    try {
      for (let i = 0; i < masters; i += 1) {
        // The bus port is named explicitly: port + 10000 may be past 65535 for a free port.
        const busPort = await freePort();
        nodes.push(
          await RedisServerProcess.start({
            extraArgs: ['--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-config-file', path.join(dir, `nodes-${i}.conf`), '--cluster-node-timeout', '2000', '--dir', dir],
          }),
        );
      }
      await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
      const deployment = new RedisClusterDeployment(nodes, dir);
      await waitUntil(async () => (await Promise.all(nodes.map((n) => deployment.clusterState(n)))).every((state) => state === 'ok'), 20_000, 'cluster_state:ok on every node');
      return deployment;
    } catch (err) {
      await stopAll(nodes, dir);
      throw err;
    }
  }

  /** REDIS_CLUSTER_NODES: every node (any one would do as a seed). */
  get seeds(): RedisHostPort[] {
    return this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  }

  get clusterNodesVariable(): string {
    return this.seeds.map((s) => `${s.host}:${s.port}`).join(',');
  }

  private async clusterState(node: RedisServerProcess): Promise<string> {
    const client = new Redis(node.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await client.connect();
      const info = (await client.call('CLUSTER', 'INFO')) as string;
      return /cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown';
    } finally {
      client.disconnect();
    }
  }

  async stop(): Promise<void> {
    await stopAll(this.nodes, this.dir);
  }
}

export const SENTINEL_MASTER = 'rotatormaster';

/** A primary, one replica, and one sentinel (quorum 1) that fails over after 1 s of silence. */
export class SentinelDeployment {
  private constructor(
    readonly primary: RedisServerProcess,
    readonly replica: RedisServerProcess,
    readonly sentinel: RedisServerProcess,
    readonly dir: string,
  ) {}

  static async start(): Promise<SentinelDeployment> {
    const dir = mkdtempSync(path.join(tmpdir(), 'rotator-redis-sentinel-'));
    const started: RedisServerProcess[] = [];
    try {
      // Replication writes an RDB file to the working directory: keep it in the temporary one.
      const primary = await RedisServerProcess.start({ extraArgs: ['--dir', dir, '--dbfilename', 'primary.rdb'] });
      started.push(primary);
      const replica = await RedisServerProcess.start({ extraArgs: ['--dir', dir, '--dbfilename', 'replica.rdb', '--replicaof', '127.0.0.1', String(primary.port)] });
      started.push(replica);
      await waitUntil(async () => /master_link_status:up/.test(await info(replica.port, 'replication')), 10_000, 'the replica to sync');
      const sentinelPort = await freePort();
      const configFile = path.join(dir, 'sentinel.conf');
      writeFileSync(
        configFile,
        [
          `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${primary.port} 1`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
          `sentinel failover-timeout ${SENTINEL_MASTER} 10000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
          '',
        ].join('\n'),
      );
      const sentinel = await RedisServerProcess.start({ port: sentinelPort, configFile, extraArgs: ['--sentinel', '--dir', dir] });
      started.push(sentinel);
      const deployment = new SentinelDeployment(primary, replica, sentinel, dir);
      // The sentinel must know the replica before the primary dies, or it has nothing to promote.
      await waitUntil(async () => (await deployment.sentinelReplicas()) > 0, 15_000, 'the sentinel to discover the replica');
      return deployment;
    } catch (err) {
      await stopAll(started, dir);
      throw err;
    }
  }

  /** REDIS_SENTINELS. */
  get sentinels(): RedisHostPort[] {
    return [{ host: '127.0.0.1', port: this.sentinel.port }];
  }

  /** The port the sentinel names as the primary now. */
  async currentPrimaryPort(): Promise<number> {
    const client = new Redis(this.sentinel.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await client.connect();
      const [, port] = (await client.call('SENTINEL', 'get-master-addr-by-name', SENTINEL_MASTER)) as [string, string];
      return Number(port);
    } finally {
      client.disconnect();
    }
  }

  private async sentinelReplicas(): Promise<number> {
    const client = new Redis(this.sentinel.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await client.connect();
      return ((await client.call('SENTINEL', 'replicas', SENTINEL_MASTER)) as unknown[]).length;
    } finally {
      client.disconnect();
    }
  }

  async stop(): Promise<void> {
    await stopAll([this.sentinel, this.primary, this.replica], this.dir);
  }
}

async function info(port: number, section: string): Promise<string> {
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    return await client.info(section);
  } finally {
    client.disconnect();
  }
}

/**
 * A redis-server that speaks only TLS, with a certificate from a private CA made here by openssl,
 * a password for the default user, and an ACL user `TLS_ACL_USER` with the same password.
 */
export const TLS_ACL_USER = 'rotator';

export class TlsRedisServer {
  private constructor(
    readonly server: RedisServerProcess,
    readonly dir: string,
    readonly password: string,
  ) {}

  static async start(password: string): Promise<TlsRedisServer> {
    const dir = mkdtempSync(path.join(tmpdir(), 'rotator-redis-tls-'));
    try {
      const file = (name: string) => path.join(dir, name);
      const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
      await run('openssl', ['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '1', '-subj', '/CN=rotator-test-private-ca']);
      await run('openssl', ['req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1']);
      writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
      await run('openssl', ['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.crt'), '-days', '1', '-extfile', file('san.ext')]);
      const tlsPort = await freePort();
      const server = await RedisServerProcess.start({
        port: tlsPort,
        // `--port 0` after the harness's `--port`: no plaintext listener at all.
        extraArgs: ['--port', '0', '--tls-port', String(tlsPort), '--tls-cert-file', file('server.crt'), '--tls-key-file', file('server.key'), '--tls-ca-cert-file', file('ca.crt'), '--tls-auth-clients', 'no', '--requirepass', password, '--user', TLS_ACL_USER, 'on', `>${password}`, '~*', '&*', '+@all'],
      });
      return new TlsRedisServer(server, dir, password);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  get caFile(): string {
    return path.join(this.dir, 'ca.crt');
  }

  /** rediss:// without credentials (give REDIS_PASSWORD). */
  get url(): string {
    return `rediss://127.0.0.1:${this.server.port}`;
  }

  async stop(): Promise<void> {
    await stopAll([this.server], this.dir);
  }
}
