import type { Job } from 'bullmq';
import { renderSecretName } from '../config';
import type { SecretStore } from '../aws/secret-store';
import type { AuditEntry } from '../audit/audit-log';
import type { RotationAttemptEvent } from '../rotation/events';
import { REVOKE_JOB_NAME } from '../rotation/job-data';
import type { LastRotation } from '../rotation/mailbox-ledger';
import { CurrentKeyInspector } from '../scheduler/current-key';
import { DEFAULT_SCHEDULE_NAME, schedulesOf } from '../scheduler/schedules';
import { resolveMailboxSettings, settingsNeedEmail, type SettingsSource } from '../config/mailbox-settings';
import { nextOccurrenceAfter } from '../scheduler/cron-occurrences';
import { forEachWithLimit } from '../scheduler/with-limit';
import { resolveMailboxes } from '../scheduler/resolve-mailboxes';
import type { SendmuxClient } from '../sendmux/client';
import pino from 'pino';
import { revokeByHandNotice } from '../rotation/adoption';
import type { WorkerPresence } from '../queue/worker-presence';

/**
 * One model of "how is each mailbox doing", shared by `rotator status` and the /admin/mailboxes
 * page, so both answer from the same reads: the last-rotation ledger (Redis), Secrets Manager's
 * AWSCURRENT version (key age), the audit history (last outcome), the queue's delayed revocation
 * jobs and the alert notifier's consecutive-failure counters.
 */

export interface MailboxScheduleRun {
  name: string;
  cron: string;
  timezone: string;
  /** ISO time, or null when the cron never fires again. */
  nextRun: string | null;
}

export interface MailboxOverviewRow {
  mailboxId: string;
  /** The key this rotator last made current (from the ledger), or null before its first rotation. */
  currentKeyId: string | null;
  /** ISO time of the last completed rotation (ledger). */
  lastRotatedAt: string | null;
  /** Age in seconds of the AWSCURRENT secret version (Secrets Manager), null when unknown or not checked. */
  keyAgeSeconds: number | null;
  /** `current`, `missing`, `no-current`, `deleted`, `not checked`, or `error: <message>`. */
  keyState: string;
  /** The most recent rotation attempt in the audit history. */
  lastOutcome: { outcome: RotationAttemptEvent['outcome']; at: string; jobId: string; step: string; message?: string } | null;
  /** The schedule that owns the mailbox (the scheduler's rule: first claiming group, else the default); null when unknown. */
  schedule: string | null;
  nextRun: string | null;
  /** The delayed job that will revoke the previous key, if one is waiting. */
  /**
   * The earliest revocation still to run. `failedAttempts`/`lastFailure`: the key is past its time
   * and still live because the revocation keeps failing (it retries until the cause is lifted).
   */
  pendingRevocation: { keyId: string; at: string; jobId: string; failedAttempts?: number; lastFailure?: string } | null;
  /** Failed-for-good rotations in a row since the last success (alert counters). */
  consecutiveFailures: number;
}

export interface MailboxOverview {
  generatedAt: string;
  schedules: MailboxScheduleRun[];
  mailboxes: MailboxOverviewRow[];
  /** Things the overview could not establish (e.g. which group an emailGlob claims, when GET /mailboxes failed). */
  notes: string[];
  /** Workers consuming the queue, when the caller looked (the /admin/mailboxes page does). */
  workers?: WorkerPresence;
}

export interface MailboxOverviewDeps {
  file: SettingsSource;
  ledger: { allLastRotations(): Promise<Map<string, LastRotation>> };
  audit: { forMailbox(mailboxId: string, limit: number): Promise<AuditEntry[]> };
  /** The BullMQ queue: its delayed and waiting revocation jobs are the pending revocations. */
  queue: { getJobs(types: Array<'delayed' | 'waiting' | 'prioritized'>, start?: number, end?: number): Promise<Job[]> };
  alerts: { consecutiveFailures(): Promise<Map<string, number>> };
  /** Without it key ages are not looked up (`keyState: 'not checked'`). */
  secrets?: Pick<SecretStore, 'describeSecret' | 'listVersions' | 'getSecretVersion'>;
  /** Needed to tell which mailboxes an emailGlob group owns (their emails come from GET /mailboxes). */
  sendmux?: Pick<SendmuxClient, 'listAllMailboxes'>;
  now?: () => Date;
}

/** Audit entries read per mailbox to find its latest rotation attempt among revocation entries. */
const HISTORY_LOOKBACK = 20;
/** Secrets Manager and Redis reads in flight at once. */
const CONCURRENCY = 8;

/**
 * Every configured mailbox (a list in the config, or with `mailboxes: all` those the ledger knows)
 * with its current key, key age, last outcome, next run, pending revocation and failure streak,
 * sorted by mailbox id. A Secrets Manager error for one mailbox goes into its `keyState`; a Redis
 * error rejects the whole call.
 */
export async function collectMailboxOverview(deps: MailboxOverviewDeps): Promise<MailboxOverview> {
  const now = (deps.now ?? (() => new Date()))();
  const { file } = deps;
  const [lastRotations, failures, revocationJobs] = await Promise.all([
    deps.ledger.allLastRotations(),
    deps.alerts.consecutiveFailures(),
    deps.queue.getJobs(['delayed', 'waiting', 'prioritized']),
  ]);

  const schedules: MailboxScheduleRun[] = schedulesOf(file).map((s) => ({
    name: s.name,
    cron: s.cron,
    timezone: s.timezone,
    nextRun: nextOccurrenceAfter({ cron: s.cron, timezone: s.timezone }, now)?.toISOString() ?? null,
  }));
  const notes: string[] = [];
  const scheduleOf = await ownerLookup(file, deps.sendmux, notes);
  const nextRunOf = (name: string | null) => schedules.find((s) => s.name === name)?.nextRun ?? null;

  const pending = new Map<string, MailboxOverviewRow['pendingRevocation']>();
  for (const job of revocationJobs) {
    if (job.name !== REVOKE_JOB_NAME) continue;
    const data = job.data as { mailboxId?: string; keyId?: string };
    if (!data.mailboxId || !data.keyId) continue;
    // BullMQ sets `delay` to 0 once a delayed job is due; the delay it was added with stays in its options.
    const at = new Date(job.timestamp + (job.opts.delay ?? job.delay ?? 0)).toISOString();
    const known = pending.get(data.mailboxId);
    const overdue = job.attemptsMade > 0 ? { failedAttempts: job.attemptsMade, ...(job.failedReason ? { lastFailure: job.failedReason } : {}) } : {};
    if (!known || at < known.at) pending.set(data.mailboxId, { keyId: data.keyId, at, jobId: String(job.id), ...overdue });
  }

  // A group's own id list counts as configured too: the scheduler rotates those mailboxes.
  const configured = file.mailboxes === 'all' ? [] : [...file.mailboxes, ...file.groups.flatMap((group) => group.mailboxes ?? [])];
  const ids = new Set<string>([...lastRotations.keys(), ...configured]);
  const inspector = deps.secrets ? new CurrentKeyInspector(deps.secrets) : undefined;
  const rows: MailboxOverviewRow[] = [];
  const byHand: string[] = [];
  await forEachWithLimit([...ids], CONCURRENCY, async (mailboxId) => {
    const [key, history] = await Promise.all([keyAgeOf(inspector, renderSecretName(file.secretName, mailboxId), now), deps.audit.forMailbox(mailboxId, HISTORY_LOOKBACK)]);
    const last = lastRotations.get(mailboxId);
    const byHandNotice = originalKeyByHand(mailboxId, history);
    if (byHandNotice) byHand.push(byHandNotice);
    rows.push({
      mailboxId,
      currentKeyId: last?.keyId ?? null,
      lastRotatedAt: last ? new Date(last.at).toISOString() : null,
      ...key,
      lastOutcome: lastRotationAttempt(history),
      schedule: scheduleOf(mailboxId),
      nextRun: nextRunOf(scheduleOf(mailboxId)),
      pendingRevocation: pending.get(mailboxId) ?? null,
      consecutiveFailures: failures.get(mailboxId) ?? 0,
    });
  });
  rows.sort((a, b) => a.mailboxId.localeCompare(b.mailboxId));
  return { generatedAt: now.toISOString(), schedules, mailboxes: rows, notes: [...byHand.sort(), ...notes] };
}

/**
 * The schedule that owns each mailbox, by the one per-mailbox settings resolver
 * (src/config/mailbox-settings.ts) the scheduler's rule, the processors and `plan` share. An
 * emailGlob group needs the mailbox's email, read from GET /mailboxes; without it the owner of a
 * mailbox such a group could claim is unknown (null), never guessed.
 */
async function ownerLookup(
  file: MailboxOverviewDeps['file'],
  sendmux: Pick<SendmuxClient, 'listAllMailboxes'> | undefined,
  notes: string[],
): Promise<(mailboxId: string) => string | null> {
  const ownerOf = (mailboxId: string, email?: string): string | null => {
    if (email === undefined && settingsNeedEmail(file, mailboxId)) return null;
    const resolution = resolveMailboxSettings(file, mailboxId, email);
    return resolution.covered ? (resolution.settings.group ?? DEFAULT_SCHEDULE_NAME) : null;
  };
  const byIdOnly = (mailboxId: string) => ownerOf(mailboxId);
  if (!file.groups.some((g) => g.emailGlob !== undefined)) return byIdOnly;
  if (!sendmux) {
    notes.push('emailGlob groups: mailbox emails were not read, so mailboxes not listed by id show no schedule');
    return byIdOnly;
  }
  try {
    const resolution = await resolveMailboxes({ file, sendmux, logger: pino({ level: 'silent' }) });
    const emails = new Map(resolution.mailboxes.map((m) => [m.mailboxId, m.email]));
    return (mailboxId) => ownerOf(mailboxId, emails.get(mailboxId));
  } catch (err) {
    notes.push(`emailGlob groups: could not list mailboxes (GET /mailboxes): ${(err as Error).message}; mailboxes not listed by id show no schedule`);
    return byIdOnly;
  }
}

async function keyAgeOf(
  inspector: CurrentKeyInspector | undefined,
  secretName: string,
  now: Date,
): Promise<Pick<MailboxOverviewRow, 'keyAgeSeconds' | 'keyState'>> {
  if (!inspector) return { keyAgeSeconds: null, keyState: 'not checked' };
  try {
    const state = await inspector.inspect(secretName, { withCreatedDate: true });
    const keyAgeSeconds = state.kind === 'current' && state.createdDate ? Math.round((now.getTime() - state.createdDate.getTime()) / 1000) : null;
    return { keyAgeSeconds, keyState: state.kind };
  } catch (err) {
    return { keyAgeSeconds: null, keyState: `error: ${(err as Error).message}` };
  }
}

/** Whether a recent rotation adopted a value that did not name its key (the audit entry it wrote says so). */
/** The "must be revoked by hand" notice of an adoption whose original key was not named, or named a key Sendmux did not know (404). */
function originalKeyByHand(mailboxId: string, history: readonly AuditEntry[]): string | null {
  if (history.some(({ event }) => event.kind === 'rotation' && event.adopted !== undefined && event.adopted.keyId === null)) return revokeByHandNotice(mailboxId);
  const unknown = history.find(({ event }) => event.kind === 'revocation' && event.revokeByHand === true);
  return unknown ? revokeByHandNotice(mailboxId, unknown.event.kind === 'revocation' ? unknown.event.keyId : undefined) : null;
}

function lastRotationAttempt(history: readonly AuditEntry[]): MailboxOverviewRow['lastOutcome'] {
  for (let i = history.length - 1; i >= 0; i--) {
    const event = history[i]!.event;
    if (event.kind !== 'rotation') continue;
    return { outcome: event.outcome, at: event.at, jobId: event.jobId, step: event.step, ...(event.message ? { message: event.message } : {}) };
  }
  return null;
}

export const OVERVIEW_SORTS = ['mailbox', 'age', 'failures'] as const;
export type OverviewSort = (typeof OVERVIEW_SORTS)[number];

/**
 * The rows in the order an operator asks for: `age` oldest key first (unknown ages last),
 * `failures` longest failure streak first; ties by mailbox id. Returns a new array.
 */
export function sortOverviewRows(rows: readonly MailboxOverviewRow[], sort: OverviewSort): MailboxOverviewRow[] {
  const byId = (a: MailboxOverviewRow, b: MailboxOverviewRow) => a.mailboxId.localeCompare(b.mailboxId);
  const sorted = [...rows];
  if (sort === 'age') sorted.sort((a, b) => (b.keyAgeSeconds ?? -1) - (a.keyAgeSeconds ?? -1) || byId(a, b));
  else if (sort === 'failures') sorted.sort((a, b) => b.consecutiveFailures - a.consecutiveFailures || byId(a, b));
  else sorted.sort(byId);
  return sorted;
}
