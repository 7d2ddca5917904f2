import { Cluster, Redis } from 'ioredis';
import type { RedisClient } from '../../src/queue/redis-connection';
import { stringify as toYaml } from 'yaml';
import pino from 'pino';
import { parseSettings, renderSecretName, type RotatorSettings } from '../../src/config';
import { createSecretsManagerClient } from '../../src/aws/secrets-manager-client';
import { SecretStore } from '../../src/aws/secret-store';
import { createQueueClient, type QueueClient } from '../../src/app/queue-client';
import { demoMailboxes } from '../../standins/sendmux/env';
import { BENCH_REGION, REDIS_URL, rotatorEnv, startSandbox, startStandIn, writeConfig, type RunningSandbox, type RunningStandIn, type SandboxSpec } from './services';
import { benchPrefix, deleteKeysWithPrefix } from './redis-tools';

/** The config every bench worker starts from; scenarios override what they measure. */
export function benchConfig(overrides: { rotation?: Record<string, unknown>; rateLimit?: Record<string, unknown>; [key: string]: unknown }): Record<string, unknown> {
  const { rotation, rateLimit, ...rest } = overrides;
  return {
    mailboxes: 'all',
    schedule: '0 3 * * 1',
    revokePreviousAfter: '0s',
    minRotationInterval: '0s',
    ...rest,
    rotation: { attempts: 8, backoffInitialDelay: '1s', backoffMaxDelay: '30s', ...rotation },
    rateLimit: { max: 9, duration: '1s', ...rateLimit },
  };
}

/**
 * Where a scenario's Redis is, when it is not the single node at REDIS_URL: the variables every
 * rotator process gets, and the bench's own connection to it.
 */
export interface BenchRedis {
  /** E.g. `{ REDIS_URL: '', REDIS_CLUSTER_NODES: '127.0.0.1:7000,…' }`. */
  env: Record<string, string>;
  connect(): RedisClient;
  /** A cluster needs every queue prefix wrapped in a {hash tag}. */
  hashTagPrefixes: boolean;
}

/** One scenario's stand-ins (sandbox + Secrets Manager stand-in processes) and the bench's own clients. */
export class BenchWorld {
  readonly redis: RedisClient;
  readonly secrets: SecretStore;
  readonly mailboxIds: string[];
  private readonly smClient;
  private readonly prefixes = new Set<string>();

  private constructor(
    readonly sandbox: RunningSandbox,
    readonly standIn: RunningStandIn,
    readonly logDir: string,
    mailboxes: number,
    private readonly target?: BenchRedis,
  ) {
    this.redis = target ? target.connect() : new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
    this.smClient = createSecretsManagerClient({ region: BENCH_REGION, endpoint: standIn.url, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
    this.secrets = new SecretStore({ client: this.smClient, logger: pino({ level: 'silent' }) });
    this.mailboxIds = demoMailboxes(mailboxes).map((m) => m.id);
  }

  static async start(spec: SandboxSpec, logDir: string, label: string, target?: BenchRedis): Promise<BenchWorld> {
    const [sandbox, standIn] = await Promise.allSettled([startSandbox(spec, logDir, label), startStandIn(logDir, label)]);
    if (sandbox.status === 'rejected' || standIn.status === 'rejected') {
      if (sandbox.status === 'fulfilled') await sandbox.value.process.stop();
      if (standIn.status === 'fulfilled') await standIn.value.process.stop();
      throw sandbox.status === 'rejected' ? sandbox.reason : (standIn as PromiseRejectedResult).reason;
    }
    return new BenchWorld(sandbox.value, standIn.value, logDir, spec.mailboxes, target);
  }

  env(prefix: string, logLevel?: string): NodeJS.ProcessEnv {
    this.prefixes.add(prefix);
    return { ...rotatorEnv(this.sandbox, this.standIn, prefix, logLevel), ...this.target?.env };
  }

  /** A fresh queue prefix for `label` (hash-tagged on a cluster). */
  prefixFor(label: string): string {
    const prefix = benchPrefix(label);
    return this.target?.hashTagPrefixes ? `{${prefix}}` : prefix;
  }

  /** Writes the YAML a worker reads and parses the same text into settings for the bench's producer. */
  configure(name: string, config: Record<string, unknown>, prefix: string): { path: string; settings: RotatorSettings } {
    const path = writeConfig(this.logDir, name, config);
    return { path, settings: parseSettings(toYaml(config), this.env(prefix), path) };
  }

  queueClient(settings: RotatorSettings): QueueClient {
    return createQueueClient(settings, this.redis);
  }

  secretNameFor(settings: RotatorSettings): (mailboxId: string) => string {
    return (mailboxId) => renderSecretName(settings.file.secretName, mailboxId);
  }

  async dropPrefix(prefix: string): Promise<void> {
    for (const node of this.nodes()) await deleteKeysWithPrefix(node, prefix);
    this.prefixes.delete(prefix);
  }

  /** SCAN runs per node: on a cluster, every master. */
  private nodes(): Redis[] {
    return this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
  }

  async close(): Promise<void> {
    for (const prefix of this.prefixes) for (const node of this.nodes()) await deleteKeysWithPrefix(node, prefix).catch(() => undefined);
    await this.redis.quit().catch(() => undefined);
    this.smClient.destroy();
    await Promise.all([this.sandbox.process.stop(), this.standIn.process.stop()]);
  }
}
