import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { createQueueClient } from '../../app/queue-client';
import { isSendmuxId } from '../../sendmux/ids';
import type { EnqueueOutcome } from '../../queue/rotation-queue';
import type { RotationResult } from '../../rotation/job-data';
import { parseDuration } from '../../config';
import { addConfigOption, asRedisUnreachable, CLI_REDIS_TIMEOUT_MS, EXIT_FAILURE, EXIT_USAGE, type CliContext } from '../context';
import { waitUntilReachable } from '../../queue/redis-connection';

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
  status: EnqueueOutcome['status'] | 'completed' | 'failed' | 'timeout';
  jobId?: string;
  outcome?: RotationResult['outcome'];
  newKeyId?: string;
  secretVersionId?: string;
  requestId?: string;
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
  const settings = ctx.loadSettings(options.config);
  const client = createQueueClient(settings, undefined, 'cli');
  try {
    await waitUntilReachable(client.redis, settings.env.redis, CLI_REDIS_TIMEOUT_MS);
    const outcomes = await client.queue.requestRotations(
      unique.map((mailboxId) => ({
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
    if (options.wait) reports = await waitForReports(client, reports, timeoutMs);

    if (options.json) io.stdout(`${JSON.stringify({ rotations: reports }, null, 2)}\n`);
    else for (const report of reports) io.stdout(`${formatReport(report)}\n`);

    const failed = options.wait
      ? reports.some((r) => r.status !== 'completed' || r.outcome !== 'rotated')
      : reports.some((r) => r.status === 'refused');
    if (failed) ctx.setExitCode(EXIT_FAILURE);
  } catch (err) {
    throw asRedisUnreachable(err, client.redis, settings.env.redis);
  } finally {
    await client.close();
  }
}

async function waitForReports(
  client: ReturnType<typeof createQueueClient>,
  reports: RotationReport[],
  timeoutMs: number,
): Promise<RotationReport[]> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(reports.filter((r) => r.jobId).map((r) => r.mailboxId));
  const done = new Map<string, RotationReport>();
  while (pending.size > 0 && Date.now() < deadline) {
    for (const report of reports) {
      if (!pending.has(report.mailboxId) || !report.jobId) continue;
      const job = await client.queue.getJob(report.jobId);
      if (!job) {
        done.set(report.mailboxId, { ...report, status: 'failed', message: `job ${report.jobId} disappeared from the queue` });
        pending.delete(report.mailboxId);
        continue;
      }
      const state = await job.getState();
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
      }
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 250));
  }
  return reports.map(
    (r) =>
      done.get(r.mailboxId) ??
      (r.jobId
        ? { ...r, status: 'timeout' as const, message: `still running after the --timeout; follow it with: rotator status` }
        : r),
  );
}

export function formatReport(r: RotationReport): string {
  const parts = [`${r.mailboxId}`, r.outcome ?? r.status];
  if (r.jobId) parts.push(`job=${r.jobId}`);
  if (r.newKeyId) parts.push(`key=${r.newKeyId}`);
  if (r.secretVersionId) parts.push(`version=${r.secretVersionId}`);
  if (r.requestId) parts.push(`request=${r.requestId}`);
  const line = parts.join('  ');
  return r.message ? `${line}  — ${r.message}` : line;
}

function cliUser(env: NodeJS.ProcessEnv): string {
  try {
    return env.USER ?? env.LOGNAME ?? userInfo().username;
  } catch {
    return 'unknown';
  }
}
