import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RotatorEvent, RotatorEventSink } from '../rotation/events';
import type { SendmuxCallRecord } from '../sendmux/types';
import { withDeadline } from '../shared/deadline';
import { httpStatusLabel, sendmuxCodeLabel } from './metric-labels';

/** The queue states exported as `rotator_queue_jobs{state}`. */
export const QUEUE_JOB_STATES = ['waiting', 'active', 'delayed', 'completed', 'failed', 'paused', 'prioritized'] as const;

/** Attempt outcomes that mean the rotation job completed (the duration histogram only sees these). */
const FINISHED_ROTATION_OUTCOMES: ReadonlySet<string> = new Set(['rotated', 'already-done', 'skipped']);

/** A rotation makes several HTTP calls (Sendmux and Secrets Manager), so buckets reach past a minute. */
const ROTATION_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * Upper bounds (seconds) of the key-age buckets of rotator_mailboxes_by_key_age: 1 hour, 1 day,
 * 1 week, 30 days, 90 days, 1 year, and +Inf. A fixed set, so the series count does not grow
 * with the fleet.
 */
export const KEY_AGE_BUCKETS_SECONDS = [3_600, 86_400, 604_800, 2_592_000, 7_776_000, 31_536_000] as const;

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
   * Whether a mailbox counts in the fleet gauges (default: every mailbox Redis names). They are
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
  private consecutiveFailuresInFlight: Promise<Map<string, number> | undefined> | undefined;

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
      help:
        'Sendmux API calls by operation, HTTP status (known statuses, else its class like "4xx"; "none" when no response arrived) ' +
        'and error code (the contract\'s codes and the client\'s, else "other"; "" on success).',
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
        // Upstream text never becomes a label as is: closed sets only (metric-labels.ts).
        status: httpStatusLabel(record.status),
        code: sendmuxCodeLabel(record.code),
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
      // Fleet-sized: counts per fixed bucket and the oldest age, never one series per mailbox.
      // Each mailbox's own age is on the mailbox page (/admin/mailboxes).
      const byAge: Gauge<'le'> = new Gauge({
        name: 'rotator_mailboxes_by_key_age',
        help:
          'Mailboxes whose last rotation is at most `le` seconds ago (cumulative, like histogram buckets; le="+Inf" counts every ' +
          'mailbox this rotator has rotated). Per-mailbox ages: the mailbox page.',
        labelNames: ['le'],
        registers,
        collect: async () => {
          byAge.reset();
          const ages = await this.configuredAges(lastRotations);
          if (!ages) return;
          for (const bound of KEY_AGE_BUCKETS_SECONDS) byAge.set({ le: String(bound) }, ages.filter((age) => age <= bound).length);
          byAge.set({ le: '+Inf' }, ages.length);
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
          const ages = await this.configuredAges(lastRotations);
          if (!ages || ages.length === 0) return;
          oldest.set(Math.max(...ages));
        },
      });
      const maxKeyAgeMs = this.opts.maxKeyAgeMs;
      if (maxKeyAgeMs) {
        const over: Gauge = new Gauge({
          name: 'rotator_mailboxes_over_max_key_age',
          help: 'Mailboxes whose last rotation is older than maxKeyAge (exported only when maxKeyAge is set).',
          registers,
          collect: async () => {
            over.remove();
            const ages = await this.configuredAges(lastRotations);
            if (ages) over.set(ages.filter((age) => age > maxKeyAgeMs / 1000).length);
          },
        });
      }
    }

    if (consecutiveFailures) {
      const failing: Gauge = new Gauge({
        name: 'rotator_mailboxes_failing',
        help: 'Mailboxes whose last rotation failed for good (one or more failures in a row). Which ones: the mailbox page.',
        registers,
        collect: async () => {
          failing.remove();
          const streaks = await this.configuredStreaks(consecutiveFailures);
          if (streaks) failing.set(streaks.filter((count) => count > 0).length);
        },
      });
      const longest: Gauge = new Gauge({
        name: 'rotator_max_consecutive_failures',
        help: 'The longest run of rotations of one mailbox that failed for good in a row (0 when none is failing).',
        registers,
        collect: async () => {
          longest.remove();
          const streaks = await this.configuredStreaks(consecutiveFailures);
          if (streaks) longest.set(Math.max(0, ...streaks));
        },
      });
    }
  }

  /** Seconds since the last rotation of each configured mailbox; undefined when the read failed. */
  private async configuredAges(read: () => Promise<Map<string, { at: number; keyId: string }>>): Promise<number[] | undefined> {
    const last = await this.sharedLastRotations(read);
    if (!last) return undefined;
    const nowMs = this.now();
    return [...last].filter(([mailbox]) => this.configured(mailbox)).map(([, entry]) => ageSeconds(nowMs, entry.at));
  }

  /** Failures in a row of each configured mailbox; undefined when the read failed. */
  private async configuredStreaks(read: () => Promise<Map<string, number>>): Promise<number[] | undefined> {
    if (!this.consecutiveFailuresInFlight) {
      this.consecutiveFailuresInFlight = this.readOrUndefined(read).finally(() => {
        this.consecutiveFailuresInFlight = undefined;
      });
    }
    const counts = await this.consecutiveFailuresInFlight;
    return counts ? [...counts].filter(([mailbox]) => this.configured(mailbox)).map(([, count]) => count) : undefined;
  }

  private configured(mailboxId: string): boolean {
    return this.opts.isConfiguredMailbox?.(mailboxId) ?? true;
  }

  /** The freshness gauges are collected in the same scrape; they share one Redis read. */
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
