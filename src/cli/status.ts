import type { RotatorSettings } from '../config';
import { renderSecretName } from '../config';
import type { RotationQueue } from '../queue/rotation-queue';
import type { MailboxLedger } from '../rotation/mailbox-ledger';
import type { AuditLog } from '../audit/audit-log';
import type { SecretStore } from '../aws/secret-store';
import type { RotationProgress } from '../rotation/job-data';
import { CurrentKeyInspector } from '../scheduler/current-key';
import { schedulesOf } from '../scheduler/schedules';
import { nextOccurrenceAfter } from '../scheduler/cron-occurrences';
import { forEachWithLimit } from '../scheduler/with-limit';
import { formatDuration } from '../scheduler/format-duration';
import { resolveMailboxes } from '../scheduler/resolve-mailboxes';
import type { SendmuxClient } from '../sendmux/client';
import pino from 'pino';

export interface StatusReport {
  generatedAt: string;
  paused: boolean;
  counts: Record<string, number>;
  inProgress: Array<{ jobId: string; mailboxId?: string; step?: string; attempt: number; startedAt?: string }>;
  failuresLast24h: Array<{ at: string; jobId: string; mailboxId: string; message?: string }>;
  schedules: Array<{ name: string; cron: string; timezone: string; nextRun: string | null }>;
  mailboxes: Array<{
    mailboxId: string;
    /** The schedule that owns the mailbox (the scheduler's rule: first claiming group, else the default); null when unknown. */
    schedule: string | null;
    lastRotatedAt: string | null;
    keyAgeSeconds: number | null;
    keyState: string;
    nextRun: string | null;
  }>;
  /** Things the report could not establish (e.g. which group an emailGlob claims, when GET /mailboxes failed). */
  notes: string[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

export async function collectStatus(deps: {
  settings: RotatorSettings;
  queue: RotationQueue;
  ledger: MailboxLedger;
  audit: AuditLog;
  secrets?: Pick<SecretStore, 'describeSecret' | 'listVersions' | 'getSecretVersion'>;
  /** Needed to tell which mailboxes an emailGlob group owns (their emails come from GET /mailboxes). */
  sendmux?: Pick<SendmuxClient, 'listAllMailboxes'>;
  now?: () => Date;
}): Promise<StatusReport> {
  const now = (deps.now ?? (() => new Date()))();
  const { file } = deps.settings;
  const bull = deps.queue.queue;
  const [counts, paused, active, failures, lastRotations] = await Promise.all([
    bull.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'paused', 'prioritized'),
    bull.isPaused(),
    bull.getActive(0, 99),
    deps.audit.failuresSince(now.getTime() - DAY_MS),
    deps.ledger.allLastRotations(),
  ]);

  const schedules = schedulesOf(file).map((s) => ({
    name: s.name,
    cron: s.cron,
    timezone: s.timezone,
    nextRun: nextOccurrenceAfter({ cron: s.cron, timezone: s.timezone }, now)?.toISOString() ?? null,
  }));
  const notes: string[] = [];
  const scheduleOf = await ownerLookup(file, deps.sendmux, notes);
  const nextRunOf = (name: string | null) => schedules.find((s) => s.name === name)?.nextRun ?? null;

  const ids = new Set<string>([...lastRotations.keys(), ...(file.mailboxes === 'all' ? [] : file.mailboxes)]);
  const inspector = deps.secrets ? new CurrentKeyInspector(deps.secrets) : undefined;
  const mailboxes: StatusReport['mailboxes'] = [];
  await forEachWithLimit([...ids].sort(), 8, async (mailboxId) => {
    let keyAgeSeconds: number | null = null;
    let keyState = inspector ? 'unknown' : 'not checked';
    if (inspector) {
      try {
        const state = await inspector.inspect(renderSecretName(file.secretName, mailboxId), { withCreatedDate: true });
        keyState = state.kind;
        if (state.kind === 'current' && state.createdDate) keyAgeSeconds = Math.round((now.getTime() - state.createdDate.getTime()) / 1000);
      } catch (err) {
        keyState = `error: ${(err as Error).message}`;
      }
    }
    const last = lastRotations.get(mailboxId);
    const schedule = scheduleOf(mailboxId);
    mailboxes.push({
      mailboxId,
      schedule,
      lastRotatedAt: last ? new Date(last.at).toISOString() : null,
      keyAgeSeconds,
      keyState,
      nextRun: nextRunOf(schedule),
    });
  });
  mailboxes.sort((a, b) => a.mailboxId.localeCompare(b.mailboxId));

  return {
    generatedAt: now.toISOString(),
    paused,
    counts,
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
    schedules,
    mailboxes,
    notes,
  };
}

/**
 * Which schedule owns each mailbox, by the scheduler's own resolution (resolveMailboxes: the
 * first group claiming it by id or email glob, else the default schedule).
 * TODO(issue #13): switch to the per-mailbox effective-settings resolver (src/config/mailbox-settings.ts) once it lands.
 */
async function ownerLookup(
  file: RotatorSettings['file'],
  sendmux: Pick<SendmuxClient, 'listAllMailboxes'> | undefined,
  notes: string[],
): Promise<(mailboxId: string) => string | null> {
  const byIdOnly = (mailboxId: string): string | null => {
    const group = file.groups.find((g) => g.mailboxes?.includes(mailboxId));
    if (group) return group.name;
    // An emailGlob group might claim it: without the mailbox's email the owner is unknown.
    return file.groups.some((g) => g.emailGlob !== undefined) ? null : (schedulesOf(file)[0]?.name ?? null);
  };
  if (!file.groups.some((g) => g.emailGlob !== undefined)) return byIdOnly;
  if (!sendmux) {
    notes.push('emailGlob groups: mailbox emails were not read, so mailboxes not listed by id show no schedule');
    return byIdOnly;
  }
  try {
    const resolution = await resolveMailboxes({ file, sendmux, logger: pino({ level: 'silent' }) });
    const owners = new Map(resolution.mailboxes.map((m) => [m.mailboxId, m.schedule]));
    return (mailboxId) => owners.get(mailboxId) ?? byIdOnly(mailboxId);
  } catch (err) {
    notes.push(`emailGlob groups: could not list mailboxes (GET /mailboxes): ${(err as Error).message}; mailboxes not listed by id show no schedule`);
    return byIdOnly;
  }
}

export function formatStatus(status: StatusReport): string {
  const lines: string[] = [];
  lines.push(`Queue: ${status.paused ? 'PAUSED' : 'running'}  ` + Object.entries(status.counts).map(([k, v]) => `${k}=${v}`).join(' '));
  lines.push('', `In progress (${status.inProgress.length}):`);
  for (const j of status.inProgress) lines.push(`  ${j.jobId}  step=${j.step ?? '?'}  attempt=${j.attempt}  since=${j.startedAt ?? '?'}`);
  lines.push('', `Failures in the last 24 h (${status.failuresLast24h.length}):`);
  for (const f of status.failuresLast24h) lines.push(`  ${f.at}  ${f.mailboxId}  ${f.jobId}\n      ${f.message ?? ''}`);
  lines.push('', 'Schedules:');
  for (const s of status.schedules) lines.push(`  ${s.name}  "${s.cron}" (${s.timezone})  next ${s.nextRun ?? 'never'}`);
  lines.push('', `Mailboxes (${status.mailboxes.length}):`);
  lines.push('  MAILBOX                        LAST ROTATED               KEY AGE    NEXT RUN                  SCHEDULE');
  for (const m of status.mailboxes) {
    const age = m.keyAgeSeconds === null ? m.keyState : formatDuration(m.keyAgeSeconds * 1000);
    lines.push(`  ${m.mailboxId.padEnd(30)} ${(m.lastRotatedAt ?? 'never').padEnd(26)} ${age.padEnd(10)} ${(m.nextRun ?? '-').padEnd(25)} ${m.schedule ?? '?'}`);
  }
  for (const note of status.notes) lines.push(`note: ${note}`);
  return `${lines.join('\n')}\n`;
}
