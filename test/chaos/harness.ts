import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { RotatorRuntime, RotatorRuntimeOptions } from '../../src/app/rotator-runtime';
import type { RotationRequest } from '../../src/queue/rotation-queue';
import type { FaultRule } from '../../standins/sendmux';
import type { FaultSpec } from '../../standins/secrets-manager';
import { REVOKE_JOB_NAME, ROTATE_JOB_NAME } from '../../src/rotation/job-data';
import { TestBed, type TestBedOptions } from '../support/test-bed';
import { checkInvariants, observeFromOutside, type InvariantOptions, type InvariantReport } from './invariants';
import { scenarioFigures, type ScenarioFigures } from './figures';
import type { TextToScan } from './leak-scan';
import type { ChaosProfile } from './profile';

export interface ChaosBedOptions {
  label: string;
  profile: ChaosProfile;
  random: () => number;
  /** Rotator config over the chaos defaults (merged like TestBed's). */
  config?: Record<string, unknown>;
  sandbox?: TestBedOptions['sandbox'];
  /** Options of the Secrets Manager stand-in (e.g. its clock, for a scenario that simulates a date). */
  standIn?: TestBedOptions['standIn'];
}

/** Config every chaos scenario starts from: many retries with short backoff, 1 s grace. */
const CHAOS_CONFIG: Record<string, unknown> = {
  revokePreviousAfter: '1s',
  rotation: { attempts: 25, backoffInitialDelay: '50ms', backoffMaxDelay: '400ms', concurrency: 16 },
  sendmux: { timeout: '1s' },
};

/**
 * A TestBed sized for a chaos scenario (≥ 200 mailboxes, sandbox rate limit off so the only 429s
 * are the injected ones), a producer runtime that enqueues rounds, and a tally of every fault
 * injected (the stand-in forgets its counts when cleared, so they are added up here).
 */
export class ChaosBed {
  readonly producer: RotatorRuntime;
  private readonly standInFaultsSeen: Record<string, number> = {};
  private readonly startedAt = Date.now();
  private readonly extraFaults: Record<string, number> = {};
  private rounds = 0;
  private readonly smClients: SecretsManagerClient[] = [];

  private constructor(
    readonly bed: TestBed,
    producer: RotatorRuntime,
    private readonly options: ChaosBedOptions,
  ) {
    this.producer = producer;
  }

  static async start(options: ChaosBedOptions): Promise<ChaosBed> {
    const config = mergeConfig(CHAOS_CONFIG, options.config ?? {});
    const bed = await TestBed.start({
      mailboxes: options.profile.mailboxes,
      label: `chaos-${options.label}`,
      config,
      sandbox: { rateLimit: null, random: options.random, ...options.sandbox },
      ...(options.standIn ? { standIn: options.standIn } : {}),
    });
    try {
      const producer = await bed.runtime({ runWorker: false });
      return new ChaosBed(bed, producer, options);
    } catch (err) {
      await bed.close();
      throw err;
    }
  }

  get mailboxIds(): string[] {
    return this.bed.mailboxIds;
  }

  /**
   * An in-process worker. Its Secrets Manager client gives up after `smTimeoutMs` and does not
   * retry on its own, so every AWS fault reaches the rotator's own retry logic.
   */
  async worker(options: Partial<RotatorRuntimeOptions> & { smTimeoutMs?: number } = {}): Promise<RotatorRuntime> {
    const { smTimeoutMs = 1_000, ...rest } = options;
    const client = new SecretsManagerClient({
      region: 'us-east-1',
      endpoint: this.bed.standIn.url,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ requestTimeout: smTimeoutMs, connectionTimeout: 1_000, throwOnRequestTimeout: true }),
    });
    this.smClients.push(client);
    return this.bed.runtime({ runWorker: true, secretsManagerClient: client, ...rest });
  }

  injectSendmux(rule: FaultRule): void {
    this.bed.sandbox.faults.inject(rule);
  }

  injectSecretsManager(spec: FaultSpec): void {
    this.bed.standIn.faults.inject(spec);
  }

  /** Counts something the scenario did to the system that neither fake counts (e.g. a clock jump). */
  countFault(kind: string, n = 1): void {
    this.extraFaults[kind] = (this.extraFaults[kind] ?? 0) + n;
  }

  clearFaults(): void {
    this.bed.sandbox.faults.clear();
    for (const [kind, n] of Object.entries(this.bed.standIn.faults.injected)) {
      this.standInFaultsSeen[kind] = (this.standInFaultsSeen[kind] ?? 0) + n;
    }
    this.bed.standIn.faults.clear();
  }

  faultsInjected(): Record<string, number> {
    const tally: Record<string, number> = {};
    const add = (kind: string, n: number) => {
      if (n > 0) tally[kind] = (tally[kind] ?? 0) + n;
    };
    for (const [kind, n] of Object.entries(this.bed.sandbox.faults.injected)) add(`sendmux:${kind}`, n);
    for (const [kind, n] of Object.entries(this.standInFaultsSeen)) add(`aws:${kind}`, n);
    for (const [kind, n] of Object.entries(this.bed.standIn.faults.injected)) add(`aws:${kind}`, n);
    for (const [kind, n] of Object.entries(this.extraFaults)) add(kind, n);
    return tally;
  }

  /** Enqueues one rotation of each mailbox as a cron tick would (one slot for the round). */
  async enqueueRound(mailboxIds: readonly string[] = this.mailboxIds, extra: Partial<RotationRequest> = {}): Promise<string[]> {
    this.rounds += 1;
    const slot = `chaos-r${this.rounds}-${Date.now().toString(36)}`;
    const outcomes = await this.producer.queue.requestRotations(
      mailboxIds.map((mailboxId) => ({ mailboxId, reason: 'scheduled' as const, slot, requestedBy: 'chaos', ...extra })),
    );
    const jobIds: string[] = [];
    for (const outcome of outcomes) {
      if (outcome.status !== 'enqueued') {
        throw new Error(`round ${this.rounds}: ${outcome.mailboxId} was not enqueued (${outcome.status}: ${'message' in outcome ? outcome.message : ''})`);
      }
      jobIds.push(outcome.jobId);
    }
    return jobIds;
  }

  /** Jobs not yet finished: waiting, running, or delayed (a retry's backoff or a revocation's grace). */
  async pendingJobs(): Promise<number> {
    const counts = await this.producer.queue.queue.getJobCounts('active', 'wait', 'delayed', 'prioritized', 'paused', 'waiting-children');
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  }

  async waitUntilDrained(timeoutMs: number, what = 'the batch to drain'): Promise<void> {
    await pollUntil(async () => (await this.pendingJobs()) === 0, timeoutMs, what, 100);
  }

  /** Reads the end state from the outside and checks every invariant. */
  async check(options: InvariantOptions & { processOutput?: TextToScan[]; kills?: number } = {}): Promise<{
    report: InvariantReport;
    figures: ScenarioFigures;
  }> {
    const view = await observeFromOutside(this.bed, this.producer.queue, options.processOutput ?? []);
    const report = checkInvariants(view, options);
    const rotations = view.jobs.filter((job) => job.name === ROTATE_JOB_NAME);
    const figures = scenarioFigures(
      {
        scenario: this.options.label,
        mailboxes: this.mailboxIds.length,
        rounds: this.rounds,
        kills: options.kills ?? 0,
        faultsInjected: this.faultsInjected(),
        durationMs: Date.now() - this.startedAt,
        rotationsAttempted: rotations.length,
        rotationsCompleted: rotations.filter((job) => job.state === 'completed').length,
        rotationsFailed: rotations.filter((job) => job.state === 'failed').length,
        revocationsCompleted: view.jobs.filter((job) => job.name === REVOKE_JOB_NAME && job.state === 'completed').length,
      },
      report.figures,
      report.violations.length,
    );
    return { report, figures };
  }

  async close(): Promise<void> {
    this.clearFaults();
    await this.bed.close();
    for (const client of this.smClients) client.destroy();
  }
}

function mergeConfig(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base, ...overrides };
  for (const [key, value] of Object.entries(overrides)) {
    const under = base[key];
    if (value && typeof value === 'object' && !Array.isArray(value) && under && typeof under === 'object') {
      merged[key] = { ...(under as object), ...(value as object) };
    }
  }
  return merged;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What a scenario hands to its tests: the checker's report, the figures, and scenario-specific facts. */
export interface ScenarioResult<Facts = Record<string, never>> {
  report: InvariantReport;
  figures: ScenarioFigures;
  facts: Facts;
}

/** Like waitFor, for checks that cost a Redis round trip per job: polls every `intervalMs`. */
export async function pollUntil(check: () => Promise<boolean>, timeoutMs: number, what: string, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
