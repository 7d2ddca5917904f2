import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RotatorEvent, RotatorEventSink } from '../rotation/events';
import type { SendmuxCallRecord } from '../sendmux/types';
import { withDeadline } from '../shared/deadline';

/** The queue states exported as `rotator_queue_jobs{state}`. */
export const QUEUE_JOB_STATES = ['waiting', 'active', 'delayed', 'completed', 'failed', 'paused', 'prioritized'] as const;

/** Attempt outcomes that mean the rotation job completed (the duration histogram only sees these). */
const FINISHED_ROTATION_OUTCOMES: ReadonlySet<string> = new Set(['rotated', 'already-done', 'skipped']);

/** A rotation makes several HTTP calls (Sendmux and Secrets Manager), so buckets reach past a minute. */
const ROTATION_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Scrape-time reads from Redis give up after this long, so a hung Redis cannot hold a scrape past Prometheus' timeout. */
const DEFAULT_COLLECT_TIMEOUT_MS = 2_000;

export interface JobCountsSource {
  getJobCounts(...states: string[]): Promise<Record<string, number>>;
  /** BullMQ's global pause flag (`rotator pause`); without it rotator_queue_paused is not exported. */
  isPaused?(): Promise<boolean>;
}

export interface RotatorMetricsOptions {
  /** Default: a fresh registry owned by this instance. */
  registry?: Registry;
  /** The BullMQ queue (RotationQueue.queue); its counts are read at scrape time. */
  queue?: JobCountsSource;
  /** Last rotation per mailbox, e.g. `() => ledger.allLastRotations()`. */
  lastRotations?: () => Promise<Map<string, { at: number; keyId: string }>>;
  /** Consecutive failed rotations per mailbox (alerts module). */
  consecutiveFailures?: () => Promise<Map<string, number>>;
  /**
   * The configured maxKeyAge in ms (null or absent: off), exported as rotator_max_key_age_seconds
   * so alert rules compare key ages with the configuration rather than a copy of it.
   */
  maxKeyAgeMs?: number | null;
  /**
   * Whether a mailbox gets per-mailbox series (default: every mailbox Redis names). Series are
   * rebuilt on every scrape, so a mailbox that leaves the configuration leaves the metrics with it.
   */
  isConfiguredMailbox?: (mailboxId: string) => boolean;
  now?: () => number;
  /** Node process metrics (CPU, memory, event loop lag...). Default true. */
  collectDefaultMetrics?: boolean;
  collectTimeoutMs?: number;
}

/**
 * The rotator's Prometheus metrics. Counters move from job attempt events and Sendmux call
 * records as they happen; queue and freshness gauges are read from Redis when scraped, so every
 * replica reports the same cluster-wide view. A failed read leaves its gauge without samples
 * rather than failing the scrape or reporting a misleading zero.
 */
export class RotatorMetrics implements RotatorEventSink {
  readonly registry: Registry;
  private readonly now: () => number;
  private readonly collectTimeoutMs: number;
  private readonly rotations: Counter<'outcome'>;
  private readonly rotationDuration: Histogram;
  private readonly revocations: Counter<'outcome'>;
  private readonly sendmuxRequests: Counter<'operation' | 'status' | 'code'>;
  private readonly sendmuxRateLimited: Counter;
  private lastRotationsInFlight: Promise<Map<string, { at: number; keyId: string }> | undefined> | undefined;

  constructor(private readonly opts: RotatorMetricsOptions = {}) {
    this.registry = opts.registry ?? new Registry();
    this.now = opts.now ?? Date.now;
    this.collectTimeoutMs = opts.collectTimeoutMs ?? DEFAULT_COLLECT_TIMEOUT_MS;
    const registers = [this.registry];

    if (opts.collectDefaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });

    this.rotations = new Counter({
      name: 'rotator_rotations_total',
      help: 'Rotation job attempts by outcome (rotated, already-done, skipped, retrying, waiting, rate-limited, failed).',
      labelNames: ['outcome'],
      registers,
    });
    this.rotationDuration = new Histogram({
      name: 'rotator_rotation_duration_seconds',
      help: 'Duration of the attempt that completed a rotation job.',
      buckets: ROTATION_DURATION_BUCKETS,
      registers,
    });
    this.revocations = new Counter({
      name: 'rotator_revocations_total',
      help: 'Revocation job attempts by outcome (revoked, not-found, retrying, waiting, rate-limited, failed).',
      labelNames: ['outcome'],
      registers,
    });
    this.sendmuxRequests = new Counter({
      name: 'rotator_sendmux_requests_total',
      help: 'Sendmux API calls by operation, HTTP status ("none" when no response arrived) and error code.',
      labelNames: ['operation', 'status', 'code'],
      registers,
    });
    this.sendmuxRateLimited = new Counter({
      name: 'rotator_sendmux_rate_limited_total',
      help: 'Sendmux API calls answered with 429 Too Many Requests.',
      registers,
    });

    this.registerScrapeTimeGauges(registers);
  }

  record(event: RotatorEvent): void {
    // A sink must never throw into the job that emitted the event.
    try {
      if (event.kind === 'rotation') {
        this.rotations.inc({ outcome: event.outcome });
        if (FINISHED_ROTATION_OUTCOMES.has(event.outcome) && Number.isFinite(event.durationMs)) {
          this.rotationDuration.observe(Math.max(0, event.durationMs) / 1000);
        }
      } else {
        this.revocations.inc({ outcome: event.outcome });
      }
    } catch {
      // Metrics are best effort.
    }
  }

  onSendmuxCall(record: SendmuxCallRecord): void {
    try {
      this.sendmuxRequests.inc({
        operation: record.operation,
        status: record.status === null ? 'none' : String(record.status),
        code: record.code ?? '',
      });
      if (record.status === 429) this.sendmuxRateLimited.inc();
    } catch {
      // Metrics are best effort.
    }
  }

  private registerScrapeTimeGauges(registers: Registry[]): void {
    const { queue, lastRotations, consecutiveFailures } = this.opts;

    if (queue) {
      const queueJobs: Gauge<'state'> = new Gauge({
        name: 'rotator_queue_jobs',
        help: 'Jobs in the rotation queue by state (read from Redis at scrape time).',
        labelNames: ['state'],
        registers,
        collect: async () => {
          queueJobs.reset();
          const counts = await this.readOrUndefined(() => queue.getJobCounts(...QUEUE_JOB_STATES));
          if (!counts) return;
          for (const state of QUEUE_JOB_STATES) queueJobs.set({ state }, counts[state] ?? 0);
        },
      });
    }

    if (queue?.isPaused) {
      const isPaused = queue.isPaused.bind(queue);
      const paused: Gauge = new Gauge({
        name: 'rotator_queue_paused',
        help: '1 while the rotation queue is paused (rotator pause / POST /queue/pause), else 0.',
        registers,
        collect: async () => {
          paused.remove();
          const value = await this.readOrUndefined(isPaused);
          if (value !== undefined) paused.set(value ? 1 : 0);
        },
      });
    }

    if (this.opts.maxKeyAgeMs) {
      new Gauge({
        name: 'rotator_max_key_age_seconds',
        help: 'The configured maxKeyAge: a mailbox whose key is older is rotated at once (exported only when set).',
        registers,
      }).set(this.opts.maxKeyAgeMs / 1000);
    }

    if (lastRotations) {
      const sinceLast: Gauge<'mailbox'> = new Gauge({
        name: 'rotator_mailbox_seconds_since_last_rotation',
        help: 'Seconds since each mailbox was last rotated (mailboxes never rotated by this rotator are absent).',
        labelNames: ['mailbox'],
        registers,
        collect: async () => {
          sinceLast.reset();
          const last = await this.sharedLastRotations(lastRotations);
          if (!last) return;
          const nowMs = this.now();
          for (const [mailbox, entry] of last) {
            if (this.configured(mailbox)) sinceLast.set({ mailbox }, ageSeconds(nowMs, entry.at));
          }
        },
      });
      const oldest: Gauge = new Gauge({
        name: 'rotator_oldest_rotation_age_seconds',
        help: 'Seconds since the least recently rotated mailbox was rotated.',
        registers,
        collect: async () => {
          // An unlabelled gauge reads 0 after reset(); remove() leaves it absent instead, because
          // 0 would look like "everything is fresh" exactly when the data could not be read.
          oldest.remove();
          const last = await this.sharedLastRotations(lastRotations);
          const ages = last ? [...last].filter(([mailbox]) => this.configured(mailbox)).map(([, e]) => e.at) : [];
          if (ages.length === 0) return;
          const oldestAt = Math.min(...ages);
          oldest.set(ageSeconds(this.now(), oldestAt));
        },
      });
    }

    if (consecutiveFailures) {
      const failures: Gauge<'mailbox'> = new Gauge({
        name: 'rotator_mailbox_consecutive_failures',
        help: 'Rotations of each mailbox that failed in a row since its last success.',
        labelNames: ['mailbox'],
        registers,
        collect: async () => {
          failures.reset();
          const counts = await this.readOrUndefined(consecutiveFailures);
          if (!counts) return;
          for (const [mailbox, count] of counts) {
            if (this.configured(mailbox)) failures.set({ mailbox }, count);
          }
        },
      });
    }
  }

  private configured(mailboxId: string): boolean {
    return this.opts.isConfiguredMailbox?.(mailboxId) ?? true;
  }

  /** Both freshness gauges are collected in the same scrape; they share one Redis read. */
  private sharedLastRotations(
    read: () => Promise<Map<string, { at: number; keyId: string }>>,
  ): Promise<Map<string, { at: number; keyId: string }> | undefined> {
    if (!this.lastRotationsInFlight) {
      this.lastRotationsInFlight = this.readOrUndefined(read).finally(() => {
        this.lastRotationsInFlight = undefined;
      });
    }
    return this.lastRotationsInFlight;
  }

  /** Resolves undefined when the read fails or takes longer than collectTimeoutMs. */
  private async readOrUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
    return withDeadline(Promise.resolve().then(read), this.collectTimeoutMs, () => new Error('collect timeout')).catch(() => undefined);
  }

}

function ageSeconds(nowMs: number, atMs: number): number {
  return Math.max(0, (nowMs - atMs) / 1000);
}
