import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import pino, { type Logger } from 'pino';
import { stringify as toYaml } from 'yaml';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseSettings, type RotatorSettings } from '../../src/config';
import { startSendmuxSandbox, DEFAULT_SANDBOX_MANAGEMENT_KEY, type SendmuxSandbox, type SendmuxSandboxOptions } from '../../standins/sendmux';
import { startSecretsManagerStandIn, type SecretsManagerStandIn, type SecretsManagerStandInOptions } from '../../standins/secrets-manager';
import { createRotatorRuntime, type RotatorRuntime, type RotatorRuntimeOptions } from '../../src/app/rotator-runtime';
import { TEST_REDIS_URL, deleteKeysWithPrefix, dumpKeysWithPrefix, uniquePrefix } from './redis';

export interface TestBedOptions {
  mailboxes?: number;
  /** Extra YAML config (merged over the test defaults). */
  config?: Record<string, unknown>;
  sandbox?: SendmuxSandboxOptions;
  /** Options of the Secrets Manager stand-in (e.g. clockOffsetMs). */
  standIn?: Omit<SecretsManagerStandInOptions, 'region'>;
  label?: string;
}

/** Captures every log line of a test in memory, so tests can assert on it and scan it for secrets. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line) this.lines.push(line);
      cb();
    },
  });
  readonly logger: Logger = pino({ level: 'debug' }, this.stream);
  text(): string {
    return this.lines.join('\n');
  }
  parsed(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

export function demoMailboxId(i: number): string {
  return `mbx_test_${String(i).padStart(4, '0')}`;
}

/**
 * Real Redis (unique prefix), the Sendmux sandbox and the Secrets Manager stand-in on loopback,
 * and the rotator's settings pointing at them. Tests build runtimes (workers) on top.
 */
export class TestBed {
  readonly prefix: string;
  readonly redis: Redis;
  readonly logs = new LogCapture();
  readonly smClient: SecretsManagerClient;
  readonly settings: RotatorSettings;
  readonly mailboxIds: string[];
  /** The YAML config (as an object) the settings were parsed from; spawned rotators get the same. */
  readonly configObject: Record<string, unknown>;
  private readonly runtimes: RotatorRuntime[] = [];

  private constructor(
    readonly sandbox: SendmuxSandbox,
    readonly standIn: SecretsManagerStandIn,
    options: TestBedOptions,
  ) {
    this.prefix = uniquePrefix(options.label ?? 'bed');
    this.redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
    this.mailboxIds = Array.from({ length: options.mailboxes ?? 1 }, (_, i) => demoMailboxId(i + 1));
    this.configObject = testConfig(options.config);
    this.settings = parseSettings(toYaml(this.configObject), this.env(), 'test-config.yaml');
    this.smClient = new SecretsManagerClient({
      region: 'us-east-1',
      endpoint: standIn.url,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  }

  static async start(options: TestBedOptions = {}): Promise<TestBed> {
    const count = options.mailboxes ?? 1;
    const sandbox = await startSendmuxSandbox({
      ...options.sandbox,
      mailboxes: [
        ...Array.from({ length: count }, (_, i) => ({
          id: demoMailboxId(i + 1),
          email: `test-${String(i + 1).padStart(4, '0')}@example.test`,
          status: 'active' as const,
        })),
        ...(options.sandbox?.mailboxes ?? []),
      ],
    });
    const standIn = await startSecretsManagerStandIn({ ...options.standIn, region: 'us-east-1' });
    return new TestBed(sandbox, standIn, options);
  }

  env(): NodeJS.ProcessEnv {
    return {
      REDIS_URL: TEST_REDIS_URL,
      SENDMUX_API_URL: this.sandbox.url,
      SENDMUX_API_KEY: DEFAULT_SANDBOX_MANAGEMENT_KEY,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: this.standIn.url,
      ROTATOR_QUEUE_PREFIX: this.prefix,
      LOG_LEVEL: 'debug',
      // Spawned rotators serve probes and /metrics; a free port each, on loopback (no token needed).
      PORT: '0',
      HOST: '127.0.0.1',
    };
  }

  async runtime(options: Partial<RotatorRuntimeOptions> = {}): Promise<RotatorRuntime> {
    const runtime = await createRotatorRuntime({
      settings: this.settings,
      logger: this.logs.logger,
      runWorker: true,
      secretsManagerClient: this.smClient,
      ...options,
    });
    this.runtimes.push(runtime);
    return runtime;
  }

  /** A runtime whose environment differs (e.g. another management key); same Redis prefix. */
  async runtimeWithEnv(overrides: Partial<RotatorSettings['env']>, options: Partial<RotatorRuntimeOptions> = {}): Promise<RotatorRuntime> {
    return this.runtime({ ...options, settings: { ...this.settings, env: { ...this.settings.env, ...overrides } } });
  }

  /** Every plaintext secret the sandbox ever minted. */
  mintedSecrets(): string[] {
    return [...this.sandbox.state.keys.values()].map((k) => k.secret);
  }

  /** Finds any minted secret in Redis under this bed's prefix or in the captured logs. */
  async findLeakedSecrets(extraText = ''): Promise<string[]> {
    const redisText = await dumpKeysWithPrefix(this.redis, this.prefix);
    const haystack = `${redisText}\n${this.logs.text()}\n${extraText}`;
    return this.mintedSecrets().filter((s) => haystack.includes(s));
  }

  async close(): Promise<void> {
    for (const runtime of this.runtimes.splice(0)) await runtime.close();
    await deleteKeysWithPrefix(this.redis, this.prefix);
    await this.redis.quit();
    this.smClient.destroy();
    await this.sandbox.close();
    await this.standIn.close();
  }
}

function testConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    mailboxes: 'all',
    schedule: '0 3 * * 1',
    timezone: 'UTC',
    revokePreviousAfter: '0s',
    minRotationInterval: '0s',
    rotation: { attempts: 5, backoffInitialDelay: '50ms', backoffMaxDelay: '500ms', concurrency: 8 },
    rateLimit: { max: 1000, duration: '1s' },
    sendmux: { timeout: '2s' },
  };
  const merged: Record<string, unknown> = { ...base, ...overrides };
  for (const key of ['rotation', 'rateLimit', 'sendmux'] as const) {
    if (overrides[key] && typeof overrides[key] === 'object') {
      merged[key] = { ...(base[key] as object), ...(overrides[key] as object) };
    }
  }
  return merged;
}

export interface FinishedJob {
  state: string;
  returnvalue: unknown;
  failedReason?: string;
  attemptsMade: number;
}

/** Polls a job until it completes or fails (no QueueEvents connection needed). */
export async function waitForJob(runtime: RotatorRuntime, jobId: string, timeoutMs = 20_000): Promise<FinishedJob> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await runtime.queue.getJob(jobId);
    if (job) {
      const state = await job.getState();
      if (state === 'completed' || state === 'failed') {
        // Read the job again: the copy loaded before the state check may predate its completion.
        const finished = (await runtime.queue.getJob(jobId)) ?? job;
        return { state, returnvalue: finished.returnvalue, failedReason: finished.failedReason, attemptsMade: finished.attemptsMade };
      }
    }
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not finish within ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
