import { Redis } from 'ioredis';
import { stringify as toYaml } from 'yaml';
import pino from 'pino';
import { parseSettings, renderSecretName, type RotatorSettings } from '../../src/config';
import { createSecretsManagerClient } from '../../src/aws/secrets-manager-client';
import { SecretStore } from '../../src/aws/secret-store';
import { createQueueClient, type QueueClient } from '../../src/app/queue-client';
import { demoMailboxes } from '../../src/sandbox/sendmux/env';
import { BENCH_REGION, REDIS_URL, rotatorEnv, startSandbox, startStandIn, writeConfig, type RunningSandbox, type RunningStandIn, type SandboxSpec } from './services';
import { deleteKeysWithPrefix } from './redis-tools';

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

/** One scenario's stand-ins (sandbox + Secrets Manager stand-in processes) and the bench's own clients. */
export class BenchWorld {
  readonly redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  readonly secrets: SecretStore;
  readonly mailboxIds: string[];
  private readonly smClient;
  private readonly prefixes = new Set<string>();

  private constructor(
    readonly sandbox: RunningSandbox,
    readonly standIn: RunningStandIn,
    readonly logDir: string,
    mailboxes: number,
  ) {
    this.smClient = createSecretsManagerClient({ region: BENCH_REGION, endpoint: standIn.url, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
    this.secrets = new SecretStore({ client: this.smClient, logger: pino({ level: 'silent' }) });
    this.mailboxIds = demoMailboxes(mailboxes).map((m) => m.id);
  }

  static async start(spec: SandboxSpec, logDir: string, label: string): Promise<BenchWorld> {
    const [sandbox, standIn] = await Promise.allSettled([startSandbox(spec, logDir, label), startStandIn(logDir, label)]);
    if (sandbox.status === 'rejected' || standIn.status === 'rejected') {
      if (sandbox.status === 'fulfilled') await sandbox.value.process.stop();
      if (standIn.status === 'fulfilled') await standIn.value.process.stop();
      throw sandbox.status === 'rejected' ? sandbox.reason : (standIn as PromiseRejectedResult).reason;
    }
    return new BenchWorld(sandbox.value, standIn.value, logDir, spec.mailboxes);
  }

  env(prefix: string, logLevel?: string): NodeJS.ProcessEnv {
    this.prefixes.add(prefix);
    return rotatorEnv(this.sandbox, this.standIn, prefix, logLevel);
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
    await deleteKeysWithPrefix(this.redis, prefix);
    this.prefixes.delete(prefix);
  }

  async close(): Promise<void> {
    for (const prefix of this.prefixes) await deleteKeysWithPrefix(this.redis, prefix).catch(() => undefined);
    await this.redis.quit().catch(() => undefined);
    this.smClient.destroy();
    await Promise.all([this.sandbox.process.stop(), this.standIn.process.stop()]);
  }
}
