import type { RotatorSettings } from '../config';
import type { RotationQueue } from '../queue/rotation-queue';
import type { MailboxLedger } from '../rotation/mailbox-ledger';
import type { AuditLog } from '../audit/audit-log';
import type { SecretStore } from '../aws/secret-store';
import type { RotationProgress } from '../rotation/job-data';
import { formatDuration } from '../scheduler/format-duration';
import type { SendmuxClient } from '../sendmux/client';
import { collectMailboxOverview, type MailboxOverview, type MailboxOverviewDeps } from '../overview/mailbox-overview';
import { byNextDueThenMailbox } from '../planning/due-order';
import { noWorkerMessage, workerPresence, type WorkerPresence } from '../queue/worker-presence';

export interface StatusReport {
  generatedAt: string;
  paused: boolean;
  counts: Record<string, number>;
  /** Workers connected to the queue (BullMQ's CLIENT LIST); count null when Redis would not say. */
  workers: WorkerPresence;
  inProgress: Array<{ jobId: string; mailboxId?: string; step?: string; attempt: number; startedAt?: string }>;
  failuresLast24h: Array<{ at: string; jobId: string; mailboxId: string; message?: string }>;
  schedules: MailboxOverview['schedules'];
  /** The same rows as the /admin/mailboxes page (src/overview/mailbox-overview.ts). */
  mailboxes: MailboxOverview['mailboxes'];
  /** Things the report could not establish (e.g. which group an emailGlob claims, when GET /mailboxes failed). */
  notes: string[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

export async function collectStatus(deps: {
  settings: RotatorSettings;
  queue: RotationQueue;
  ledger: MailboxLedger;
  audit: AuditLog;
  alerts: MailboxOverviewDeps['alerts'];
  secrets?: Pick<SecretStore, 'describeSecret' | 'listVersions' | 'getSecretVersion'>;
  /** Needed to tell which mailboxes an emailGlob group owns (their emails come from GET /mailboxes). */
  sendmux?: Pick<SendmuxClient, 'listAllMailboxes'>;
  now?: () => Date;
}): Promise<StatusReport> {
  const now = (deps.now ?? (() => new Date()))();
  const bull = deps.queue.queue;
  const [counts, paused, active, failures, overview, workers] = await Promise.all([
    bull.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'paused', 'prioritized'),
    bull.isPaused(),
    bull.getActive(0, 99),
    deps.audit.failuresSince(now.getTime() - DAY_MS),
    collectMailboxOverview({
      file: deps.settings.file,
      ledger: deps.ledger,
      audit: deps.audit,
      queue: bull,
      alerts: deps.alerts,
      ...(deps.secrets ? { secrets: deps.secrets } : {}),
      ...(deps.sendmux ? { sendmux: deps.sendmux } : {}),
      now: () => now,
    }),
    workerPresence(bull, deps.settings.env.queuePrefix),
  ]);

  return {
    generatedAt: now.toISOString(),
    paused,
    counts,
    workers,
    inProgress: active.map((job) => {
      const progress = job.progress as Partial<RotationProgress> | number;
      return {
        jobId: String(job.id),
        mailboxId: (job.data as { mailboxId?: string }).mailboxId,
        step: typeof progress === 'object' ? progress.step : undefined,
        attempt: job.attemptsMade + 1,
        startedAt: job.processedOn ? new Date(job.processedOn).toISOString() : undefined,
      };
    }),
    failuresLast24h: failures.map((entry) => ({
      at: entry.event.at,
      jobId: entry.event.jobId,
      mailboxId: entry.event.mailboxId,
      message: entry.event.message,
    })),
    schedules: overview.schedules,
    // Soonest due first, as `rotator plan` lists them (src/planning/due-order.ts).
    mailboxes: [...overview.mailboxes].sort(byNextDueThenMailbox((row) => row.nextRun)),
    notes: overview.notes,
  };
}

/**
 * The report as text. Each mailbox's schedule comes from the per-mailbox settings resolver
 * (src/config/mailbox-settings.ts), the same rule the scheduler, `plan` and the processors use.
 */
export function formatStatus(status: StatusReport): string {
  const lines: string[] = [];
  lines.push(`Queue: ${status.paused ? 'PAUSED' : 'running'}  ` + Object.entries(status.counts).map(([k, v]) => `${k}=${v}`).join(' '));
  lines.push(formatWorkers(status.workers));
  lines.push('', `In progress (${status.inProgress.length}):`);
  for (const j of status.inProgress) lines.push(`  ${j.jobId}  step=${j.step ?? '?'}  attempt=${j.attempt}  since=${j.startedAt ?? '?'}`);
  lines.push('', `Failures in the last 24 h (${status.failuresLast24h.length}):`);
  for (const f of status.failuresLast24h) lines.push(`  ${f.at}  ${f.mailboxId}  ${f.jobId}\n      ${f.message ?? ''}`);
  lines.push('', 'Schedules:');
  for (const s of status.schedules) lines.push(`  ${s.name}  "${s.cron}" (${s.timezone})  next ${s.nextRun ?? 'never'}`);
  lines.push('', `Mailboxes (${status.mailboxes.length}):`);
  lines.push('  MAILBOX                        LAST ROTATED               KEY AGE    NEXT RUN                   LAST OUTCOME  FAILS  SCHEDULE  PENDING REVOCATION');
  for (const m of status.mailboxes) {
    const age = m.keyAgeSeconds === null ? m.keyState : formatDuration(m.keyAgeSeconds * 1000);
    const revocation = m.pendingRevocation ? `${m.pendingRevocation.keyId} at ${m.pendingRevocation.at}` : '-';
    lines.push(
      `  ${m.mailboxId.padEnd(30)} ${(m.lastRotatedAt ?? 'never').padEnd(26)} ${age.padEnd(10)} ${(m.nextRun ?? '-').padEnd(26)} ` +
        `${(m.lastOutcome?.outcome ?? '-').padEnd(13)} ${String(m.consecutiveFailures).padEnd(6)} ${(m.schedule ?? '?').padEnd(9)} ${revocation}`,
    );
  }
  for (const note of status.notes) lines.push(`note: ${note}`);
  return `${lines.join('\n')}\n`;
}

/** The workers line of `rotator status`: how many consume the queue, or that nobody does. */
export function formatWorkers(workers: WorkerPresence): string {
  if (workers.count === null) return `Workers: unknown (Redis refused CLIENT LIST) on queue prefix "${workers.queuePrefix}"`;
  if (workers.count === 0) return `Workers: NONE — ${noWorkerMessage(workers.queuePrefix)}`;
  return `Workers: ${workers.count} connected (queue prefix "${workers.queuePrefix}")`;
}

/** Jobs no worker will take: none is connected while some wait (EXIT_NO_WORKER for `status`). */
export function jobsWaitWithoutWorker(status: Pick<StatusReport, 'workers' | 'counts'>): boolean {
  const waiting = (status.counts.waiting ?? 0) + (status.counts.prioritized ?? 0) + (status.counts.paused ?? 0);
  return status.workers.count === 0 && waiting > 0;
}
