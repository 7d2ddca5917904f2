import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { createQueueClient } from '../../app/queue-client';
import { rateLimitRemainingMs } from '../../queue/queue-control';
import { isSendmuxId } from '../../sendmux/ids';
import type { EnqueueOutcome, RotationQueue } from '../../queue/rotation-queue';
import { createRotatorRuntime } from '../../app/rotator-runtime';
import { NOT_CONFIGURED, createMailboxCoverage, partitionByCoverage } from '../../scheduler/mailbox-coverage';
import pino from 'pino';
import type { RotationResult } from '../../rotation/job-data';
import { parseDuration } from '../../config';
import { addConfigOption, asRedisUnreachable, CLI_REDIS_TIMEOUT_MS, EXIT_FAILURE, EXIT_NO_WORKER, EXIT_QUEUE_HELD, EXIT_USAGE, type CliContext } from '../context';
import { noWorkerMessage, workerPresence } from '../../queue/worker-presence';
import { waitUntilReachable } from '../../queue/redis-connection';
import { redisRefusalOf } from '../../queue/redis-refusals';

interface RotateOptions {
  config?: string;
  wait?: boolean;
  json?: boolean;
  force?: boolean;
  revokeNow?: boolean;
  timeout: string;
}

export interface RotationReport {
  mailboxId: string;
  /**
   * `paused` / `rate-limited`: with --wait, the job had not started by --timeout because the queue
   * is paused (`rotator pause`) or held by the rate limiter after a Sendmux 429; `timeout`: it was
   * still running or retrying.
   */
  status: EnqueueOutcome['status'] | 'completed' | 'failed' | 'timeout' | 'paused' | 'rate-limited' | 'no-worker';
  jobId?: string;
  outcome?: RotationResult['outcome'];
  newKeyId?: string;
  secretVersionId?: string;
  requestId?: string;
  /** `not_configured` when the configuration does not cover the mailbox (nothing was enqueued). */
  reason?: typeof NOT_CONFIGURED;
  message?: string;
}

/** `rotator rotate <mailboxId...>`: on-demand rotations through the shared queue. */
export function registerRotateCommand(program: Command, ctx: CliContext): void {
  addConfigOption(
    program
      .command('rotate')
      .description('rotate the keys of the given mailboxes now (a running `rotator start` does the work)')
      .argument('<mailboxId...>', 'mailbox ids, e.g. mbx_123')
      .option('--wait', 'wait for the rotations to finish; exit 0 only if every one succeeded')
      .option('--json', 'print machine-readable JSON')
      .option('--force', 'rotate even within minRotationInterval of the last rotation')
      .option('--revoke-now', 'revoke the previous key as soon as the new one is current (for a leaked key)')
      .option('--timeout <duration>', 'with --wait: how long to wait', '15m'),
  ).action(async (mailboxIds: string[], options: RotateOptions) => {
    await runRotate(ctx, mailboxIds, options);
  });
}

async function runRotate(ctx: CliContext, mailboxIds: string[], options: RotateOptions): Promise<void> {
  const { io } = ctx;
  const invalid = mailboxIds.filter((id) => !isSendmuxId(id));
  if (invalid.length > 0) {
    io.stderr(
      `rotator rotate: invalid mailbox id${invalid.length > 1 ? 's' : ''} ${invalid.map((i) => JSON.stringify(i)).join(', ')}: ` +
        'use 1-255 characters from A-Z a-z 0-9 _ -\n',
    );
    ctx.setExitCode(EXIT_USAGE);
    return;
  }
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration('--timeout', options.timeout, { allowNever: false }) ?? 0;
  } catch (err) {
    io.stderr(`rotator rotate: ${(err as Error).message}\n`);
    ctx.setExitCode(EXIT_USAGE);
    return;
  }
  const unique = [...new Set(mailboxIds)];
  const settings = ctx.loadSettings(options.config, 'operator');
  // `mailboxes: all` needs Sendmux to tell whether a mailbox exists and is active; a list does not.
  const runtime =
    settings.file.mailboxes === 'all' ? await createRotatorRuntime({ settings, logger: pino({ level: 'silent' }), runWorker: false, redisPurpose: 'cli' }) : undefined;
  const client = runtime ?? createQueueClient(settings, undefined, 'cli');
  try {
    await waitUntilReachable(client.redis, settings.env.redis, CLI_REDIS_TIMEOUT_MS);
    const covers = createMailboxCoverage({
      file: settings.file,
      sendmux: runtime?.sendmux ?? { getMailbox: () => Promise.reject(new Error('a list of mailboxes needs no Sendmux look-up')) },
    });
    const { covered, refused } = await partitionByCoverage(unique, covers);
    const notConfigured: RotationReport[] = refused.map((r) => ({ mailboxId: r.mailboxId, status: 'refused', reason: NOT_CONFIGURED, message: r.message }));
    const outcomes = await client.queue.requestRotations(
      covered.map((mailboxId) => ({
        mailboxId,
        reason: 'manual' as const,
        requestedBy: `cli:${cliUser(io.env)}`,
        force: options.force ?? false,
        revokeNow: options.revokeNow ?? false,
      })),
    );
    let reports: RotationReport[] = outcomes.map((o) =>
      o.status === 'refused'
        ? { mailboxId: o.mailboxId, status: o.status, message: o.message }
        : { mailboxId: o.mailboxId, status: o.status, jobId: o.jobId, ...(o.status === 'existing' ? { message: o.message } : {}) },
    );
    if (options.wait) reports = await waitForReports(client, reports, timeoutMs, (notice) => io.stderr(`rotator rotate: ${notice}\n`), settings.env.queuePrefix);
    reports = [...reports, ...notConfigured];

    if (options.json) io.stdout(`${JSON.stringify({ rotations: reports }, null, 2)}\n`);
    else for (const report of reports) io.stdout(`${formatReport(report)}\n`);

    const held = (r: RotationReport) => r.status === 'paused' || r.status === 'rate-limited';
    const unworked = (r: RotationReport) => r.status === 'no-worker';
    const failed = options.wait
      ? reports.some((r) => !held(r) && !unworked(r) && (r.status !== 'completed' || r.outcome !== 'rotated'))
      : reports.some((r) => r.status === 'refused');
    if (failed) ctx.setExitCode(EXIT_FAILURE);
    else if (reports.some(unworked)) ctx.setExitCode(EXIT_NO_WORKER);
    else if (reports.some(held)) ctx.setExitCode(EXIT_QUEUE_HELD);
  } catch (err) {
    throw asRedisUnreachable(err, client.redis, settings.env.redis);
  } finally {
    await client.close();
  }
}

/** Why the queue is not starting jobs right now, if it is not: paused, or held by the rate limiter. */
async function queueHold(client: { queue: Pick<RotationQueue, 'queue'> }): Promise<{ status: 'paused' | 'rate-limited'; message: string } | null> {
  const bull = client.queue.queue;
  if (await bull.isPaused()) {
    return { status: 'paused', message: 'the queue is paused (rotator pause): the job has not started; run rotator resume' };
  }
  const ttlMs = await rateLimitRemainingMs(bull);
  if (ttlMs > 0) {
    return {
      status: 'rate-limited',
      message: `the queue is paused by the rate limiter for another ${Math.ceil(ttlMs / 1000)}s (after a Sendmux 429 or near its rate limit): the job has not started; it resumes on its own, or now with rotator resume`,
    };
  }
  return null;
}

/** Job states in which no worker has taken the job yet. */
const NOT_STARTED = new Set(['waiting', 'prioritized', 'paused', 'wait', 'waiting-children']);

/**
 * How long `rotate --wait` must see no worker on the queue, while a job has not started, before it
 * says so and stops waiting: long enough for a worker that is reconnecting or just starting,
 * short enough to answer "within seconds".
 */
export const NO_WORKER_GRACE_MS = 3_000;

async function waitForReports(
  client: { queue: Pick<RotationQueue, 'getJob' | 'queue'> },
  reports: RotationReport[],
  timeoutMs: number,
  notify: (notice: string) => void,
  queuePrefix: string,
): Promise<RotationReport[]> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(reports.filter((r) => r.jobId).map((r) => r.mailboxId));
  const done = new Map<string, RotationReport>();
  const notStarted = new Set<string>();
  let noticed = false;
  // Since when no worker has been connected while a job waited (undefined: a worker was seen).
  let noWorkerSince: number | undefined;
  let nobodyWorks = false;
  // A Redis restart or failover makes a poll fail; it is not the rotation's outcome. The poll is
  // repeated (the connection reconnects by itself) until Redis answers or the --timeout passes.
  let lostRedis: string | undefined;
  while (pending.size > 0 && Date.now() < deadline && !nobodyWorks) {
    try {
      await pollOnce();
      if (lostRedis !== undefined) notify('Redis answers again; still waiting for the rotations');
      lostRedis = undefined;
    } catch (err) {
      const refusal = redisRefusalOf(err);
      if (!refusal) throw err;
      if (lostRedis === undefined) notify(`lost Redis (${refusal.reason}); waiting for it to come back, up to the --timeout`);
      lostRedis = refusal.reason;
    }
    if (pending.size > 0 && !nobodyWorks) await new Promise((r) => setTimeout(r, 250));
  }
  async function pollOnce(): Promise<void> {
    for (const report of reports) {
      if (!pending.has(report.mailboxId) || !report.jobId) continue;
      // The state first, then the job: BullMQ writes a finished job's result or reason in the same
      // script that moves it, so a job read after its state is final carries them (read the other
      // way round, a job that finished in between shows no reason).
      const state = await client.queue.queue.getJobState(report.jobId);
      const job = state === 'unknown' ? undefined : await client.queue.getJob(report.jobId);
      if (!job) {
        done.set(report.mailboxId, { ...report, status: 'failed', message: `job ${report.jobId} disappeared from the queue` });
        pending.delete(report.mailboxId);
        continue;
      }
      if (state === 'completed') {
        const result = job.returnvalue as RotationResult;
        done.set(report.mailboxId, {
          mailboxId: report.mailboxId,
          status: 'completed',
          jobId: report.jobId,
          outcome: result.outcome,
          newKeyId: result.newKeyId,
          secretVersionId: result.secretVersionId,
          requestId: result.requestIds?.mint,
          message: result.note,
        });
        pending.delete(report.mailboxId);
      } else if (state === 'failed') {
        done.set(report.mailboxId, { mailboxId: report.mailboxId, status: 'failed', jobId: report.jobId, message: job.failedReason });
        pending.delete(report.mailboxId);
      } else if (NOT_STARTED.has(state) && job.processedOn === undefined) {
        notStarted.add(report.mailboxId);
      } else {
        notStarted.delete(report.mailboxId);
      }
    }
    if (!noticed && notStarted.size > 0) {
      const hold = await queueHold(client);
      if (hold) {
        noticed = true;
        notify(`${hold.message}; waiting up to the --timeout`);
      }
    }
    // Only while every job still pending waits to be taken: then no connected worker means none will.
    if (pending.size > 0 && [...pending].every((id) => notStarted.has(id))) {
      const { count } = await workerPresence(client.queue.queue, queuePrefix);
      if (count !== 0) noWorkerSince = undefined;
      else if (noWorkerSince === undefined) noWorkerSince = Date.now();
      else if (Date.now() - noWorkerSince >= NO_WORKER_GRACE_MS) nobodyWorks = true;
    } else {
      noWorkerSince = undefined;
    }
  }
  const hold = lostRedis === undefined && [...pending].some((id) => notStarted.has(id)) ? await queueHold(client).catch(() => null) : null;
  return reports.map((r) => {
    const finished = done.get(r.mailboxId);
    if (finished) return finished;
    if (!r.jobId) return r;
    if (nobodyWorks && notStarted.has(r.mailboxId)) {
      return { ...r, status: 'no-worker' as const, message: `${noWorkerMessage(queuePrefix)}${hold ? `; besides, ${hold.message}` : ''}` };
    }
    if (hold && notStarted.has(r.mailboxId)) return { ...r, status: hold.status, message: hold.message };
    if (lostRedis !== undefined) {
      return {
        ...r,
        status: 'timeout' as const,
        message: `Redis did not answer again before the --timeout (${lostRedis}); the rotation may still finish once it does: follow it with rotator status`,
      };
    }
    return { ...r, status: 'timeout' as const, message: 'still running after the --timeout; follow it with: rotator status' };
  });
}

export function formatReport(r: RotationReport): string {
  const parts = [`${r.mailboxId}`, r.outcome ?? r.status];
  if (r.jobId) parts.push(`job=${r.jobId}`);
  if (r.newKeyId) parts.push(`key=${r.newKeyId}`);
  if (r.secretVersionId) parts.push(`version=${r.secretVersionId}`);
  if (r.requestId) parts.push(`request=${r.requestId}`);
  const line = parts.join('  ');
  const withReason = r.reason ? `${line}  ${r.reason}` : line;
  return r.message ? `${withReason}  — ${r.message}` : withReason;
}

/** Who ran the command, for `requestedBy` and audit entries. */
export function cliUser(env: NodeJS.ProcessEnv): string {
  try {
    return env.USER ?? env.LOGNAME ?? userInfo().username;
  } catch {
    return 'unknown';
  }
}
