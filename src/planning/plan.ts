import { byNextDueThenMailbox } from './due-order';
import pino, { type Logger } from 'pino';
import type { RotatorFileConfig } from '../config';
import type { SecretStore } from '../aws/secret-store';
import { SendmuxApiError } from '../sendmux/errors';
import type { SendmuxClient } from '../sendmux/client';
import { nextOccurrenceAfter } from '../scheduler/cron-occurrences';
import { CurrentKeyInspector, type CurrentKeyState } from '../scheduler/current-key';
import { forEachWithLimit } from '../scheduler/with-limit';
import { formatDuration } from '../scheduler/format-duration';
import { resolveMailboxes, type MailboxResolution, type ResolvedMailbox, type SkippedMailbox } from '../scheduler/resolve-mailboxes';
import { DEFAULT_SCHEDULE_NAME, schedulesOf, type RotationSchedule } from '../scheduler/schedules';
import { resolveMailboxSettings } from '../config/mailbox-settings';
import { slotOfDocument } from '../rotation/secret-value';
import { adoptionVerdict, carriedSizeProblem, readSecretValue, revokeByHandNotice, type AdoptionVerdict } from '../rotation/adoption';
import { errorText } from '../logging/error-summary';

export type DueReason = 'cron' | 'key-age' | 'never-rotated';

export interface PlannedMailbox {
  mailboxId: string;
  email?: string;
  schedule: string;
  /**
   * The grace period (ms) before the key this rotation supersedes is revoked; null = never. From
   * the per-mailbox settings resolver, as the processor will apply it.
   */
  revokePreviousAfterMs?: number | null;
  /** ISO time the scheduler will next enqueue this mailbox; "now" for one due at start-up. */
  nextDue: string;
  dueReason: DueReason;
  secretName: string;
  secretState: 'exists' | 'would-create';
  /** Age of the AWSCURRENT version, when there is one. */
  keyAgeSeconds?: number;
  /**
   * What the next rotation finds as AWSCURRENT: the rotator's own document, a value it will adopt
   * (src/rotation/adoption.ts), or no value yet ("new secret"). Absent when Secrets Manager could not be read.
   */
  secretValue?: AdoptionVerdict;
  /** Each names the mailbox, so they read on their own in `problems`. */
  problems: string[];
}

/** A mailbox the file names that cannot be rotated (unknown to the key, not active); each is also one line in `problems`. */
export interface UnrotatableMailbox {
  mailboxId: string;
  email?: string;
  schedule: string;
  problem: string;
}

export interface RotationPlan {
  generatedAt: string;
  /** The mailboxes the scheduler will rotate. */
  mailboxes: PlannedMailbox[];
  /** Mailboxes `mailboxes: all` found but will not rotate (suspended, deleted, …). Not problems. */
  skipped: SkippedMailbox[];
  /** Mailboxes the file names that Sendmux will not mint for (unknown id, no access, not active). */
  cannotRotate: UnrotatableMailbox[];
  /** Every problem: the mailboxes' (each naming its mailbox) and the plan's own (listing, schedules). */
  problems: string[];
  /** Not problems, but for the operator: e.g. "original key of <mailbox> must be revoked by hand" for an adoption. */
  notes: string[];
}

export interface RotationPlanDeps {
  file: RotatorFileConfig;
  sendmux: Pick<SendmuxClient, 'listAllMailboxes' | 'getMailbox'>;
  secrets: Pick<SecretStore, 'describeSecret' | 'listVersions' | 'getSecretVersion'>;
  renderSecretName: (mailboxId: string) => string;
  now?: () => Date;
  logger?: Logger;
  /** GET /mailboxes/{id} calls in flight (they share the management key's 600/min). Default 4. */
  sendmuxConcurrency?: number;
  /** Secrets Manager look-ups in flight. Default 8. */
  secretsConcurrency?: number;
}

const DEFAULT_SENDMUX_CONCURRENCY = 4;
const DEFAULT_SECRETS_CONCURRENCY = 8;
const MAX_RATE_LIMIT_RETRIES = 3;
const MAX_RATE_LIMIT_WAIT_MS = 60_000;
/** Statuses that mean the management key cannot read the mailbox: a configuration problem, not an outage. */
const ACCESS_STATUSES = new Set([401, 403, 404]);

/**
 * What the scheduler would do, without doing any of it: no key is minted, no secret written,
 * nothing enqueued. Checks that the management key can read each configured mailbox and that
 * Secrets Manager can describe each secret, and says when each mailbox is next due and why.
 *
 * Mailboxes found by `mailboxes: all` were returned by GET /mailboxes, which already proves the
 * key can read them; only ids taken from the file are checked one by one with GET /mailboxes/{id}
 * (100,000 such calls would take the management key's whole 600/min for hours).
 */
export async function buildRotationPlan(deps: RotationPlanDeps): Promise<RotationPlan> {
  const now = (deps.now ?? (() => new Date()))();
  const logger = deps.logger ?? pino({ level: 'silent' });
  const planProblems: string[] = [];

  let resolution: MailboxResolution;
  try {
    resolution = await resolveMailboxes({ file: deps.file, sendmux: deps.sendmux, logger });
  } catch (err) {
    return {
      generatedAt: now.toISOString(),
      mailboxes: [],
      skipped: [],
      cannotRotate: [],
      problems: [`cannot list mailboxes (GET /mailboxes): ${errorText(err)}`],
      notes: [],
    };
  }

  const schedules = schedulesOf(deps.file);
  const nextTick = new Map<string, Date | null>();
  for (const schedule of schedules) {
    const next = nextOccurrenceAfter(schedule, now);
    nextTick.set(schedule.name, next);
    if (!next) planProblems.push(`schedule ${schedule.name}: cannot work out when "${schedule.cron}" (${schedule.timezone}) next fires`);
  }

  const candidates: PlannedMailbox[] = resolution.mailboxes.map((mailbox) => ({
    mailboxId: mailbox.mailboxId,
    ...(mailbox.email === undefined ? {} : { email: mailbox.email }),
    schedule: mailbox.schedule,
    nextDue: now.toISOString(),
    dueReason: 'never-rotated',
    secretName: deps.renderSecretName(mailbox.mailboxId),
    secretState: 'would-create',
    problems: [],
  }));

  const fromConfig = resolution.mailboxes.flatMap((mailbox, index) => (mailbox.source === 'config' ? [{ mailbox, index }] : []));
  const unrotatable = new Set<number>();
  await forEachWithLimit(fromConfig, deps.sendmuxConcurrency ?? DEFAULT_SENDMUX_CONCURRENCY, async ({ mailbox, index }) => {
    const checked = await checkMailboxReadable(deps.sendmux, mailbox);
    const entry = candidates[index];
    if (!entry) return;
    if (checked.email !== undefined) entry.email = checked.email;
    if (checked.problem !== undefined) entry.problems.push(checked.problem);
    if (!checked.rotatable) unrotatable.add(index);
  });
  // A mailbox Sendmux will refuse (unknown, unreadable, not active) is a problem, not one "to rotate".
  const cannotRotate: UnrotatableMailbox[] = [];
  const planned: PlannedMailbox[] = [];
  candidates.forEach((entry, index) => {
    if (!unrotatable.has(index)) {
      planned.push(entry);
      return;
    }
    cannotRotate.push({
      mailboxId: entry.mailboxId,
      ...(entry.email === undefined ? {} : { email: entry.email }),
      schedule: entry.schedule,
      problem: entry.problems.join('; '),
    });
  });

  // The one per-mailbox resolver (group → top level → defaults), with the email now known.
  for (const entry of planned) {
    const settings = resolveMailboxSettings(deps.file, entry.mailboxId, entry.email);
    if (!settings.covered) continue;
    entry.schedule = settings.settings.group ?? DEFAULT_SCHEDULE_NAME;
    entry.revokePreviousAfterMs = settings.settings.revokePreviousAfterMs;
  }

  const inspector = new CurrentKeyInspector(deps.secrets);
  // Mailboxes whose rotation would fail at its first step (look): problems, not ones "to rotate".
  const blocked = new Set<PlannedMailbox>();
  await forEachWithLimit(planned, deps.secretsConcurrency ?? DEFAULT_SECRETS_CONCURRENCY, async (entry) => {
    let state: CurrentKeyState | null;
    try {
      state = await inspector.inspect(entry.secretName, { withCreatedDate: true });
    } catch (err) {
      entry.problems.push(`mailbox ${entry.mailboxId}: Secrets Manager cannot read secret ${entry.secretName}: ${errorText(err)}`);
      // Unknown state: the scheduler's catch-up skips such a mailbox, so only its cron applies.
      state = null;
    }
    if (state !== null && state.kind !== 'missing') entry.secretState = 'exists';
    if (state?.kind === 'deleted') {
      entry.problems.push(
        `mailbox ${entry.mailboxId}: secret ${entry.secretName} is scheduled for deletion on ${state.deletedDate.toISOString()}; ` +
          'restore it (RestoreSecret) or remove the mailbox from the configuration; its rotations fail before minting until then',
      );
      blocked.add(entry);
    }
    if ((state?.kind === 'current' || state?.kind === 'no-current') && state.pendingVersionId) {
      if (await readPendingValue(deps.secrets, entry, state.pendingVersionId)) blocked.add(entry);
    }
    if (state?.kind === 'current' && state.createdDate) {
      entry.keyAgeSeconds = Math.max(0, Math.floor((now.getTime() - state.createdDate.getTime()) / 1000));
    }
    if (state?.kind === 'missing' || state?.kind === 'no-current') entry.secretValue = adoptionVerdict(null);
    if (state?.kind === 'current' && (await readCurrentValue(deps.secrets, entry, state.versionId))) blocked.add(entry);
    Object.assign(entry, dueTime(entry, state, deps.file.maxKeyAgeMs, now, schedules, nextTick));
  });
  for (const entry of blocked) {
    cannotRotate.push({ mailboxId: entry.mailboxId, ...(entry.email === undefined ? {} : { email: entry.email }), schedule: entry.schedule,
      problem: entry.problems.join('; ') });
  }
  const toRotate = planned.filter((entry) => !blocked.has(entry)).sort(byNextDueThenMailbox((entry) => entry.nextDue));

  const problems = [...planProblems, ...cannotRotate.map((entry) => entry.problem), ...toRotate.flatMap((entry) => entry.problems)];
  const notes = toRotate
    .filter((entry) => entry.secretValue === 'adopt (plain)' || entry.secretValue === 'adopt (json, key id unknown)')
    .map((entry) => revokeByHandNotice(entry.mailboxId));
  return { generatedAt: now.toISOString(), mailboxes: toRotate, skipped: resolution.skipped, cannotRotate, problems, notes };
}

/**
 * Reads the AWSCURRENT value (GetSecretValue) only to classify it; the value itself is dropped at
 * once and never reaches the plan, a log or an error. True when the rotation would fail at look:
 * the fields it keeps would not fit in the new document.
 */
async function readCurrentValue(secrets: RotationPlanDeps['secrets'], entry: PlannedMailbox, versionId: string): Promise<boolean> {
  try {
    const version = await secrets.getSecretVersion(entry.secretName, { versionId });
    const reading = version ? readSecretValue(version.secretString) : null;
    entry.secretValue = adoptionVerdict(reading);
    const tooLarge = reading ? carriedSizeProblem(reading.carried, entry.secretName) : null;
    if (tooLarge) entry.problems.push(`mailbox ${entry.mailboxId}: ${tooLarge}`);
    return tooLarge !== null;
  } catch (err) {
    entry.problems.push(`mailbox ${entry.mailboxId}: Secrets Manager cannot read the AWSCURRENT value of ${entry.secretName}: ${errorText(err)}`);
    return false;
  }
}

/**
 * Reads the AWSPENDING value like the rotation's look step does: a version that is not a rotator
 * document of this mailbox naming its rotation (slot) cannot be proven abandoned, so the rotation
 * would fail there. True (and a problem added) in that case; the value is dropped at once.
 */
async function readPendingValue(secrets: RotationPlanDeps['secrets'], entry: PlannedMailbox, versionId: string): Promise<boolean> {
  try {
    const version = await secrets.getSecretVersion(entry.secretName, { versionId });
    if (!version) return false;
    const reading = readSecretValue(version.secretString);
    if (reading.kind === 'rotator' && reading.document.mailbox_id === entry.mailboxId && slotOfDocument(reading.document)) return false;
    entry.problems.push(
      `mailbox ${entry.mailboxId}: secret ${entry.secretName} has an AWSPENDING version ${versionId} that names no rotation of this mailbox ` +
        '(not written by the rotator); rotations fail before minting until you remove its AWSPENDING label by hand',
    );
    return true;
  } catch (err) {
    entry.problems.push(`mailbox ${entry.mailboxId}: Secrets Manager cannot read the AWSPENDING value of ${entry.secretName}: ${errorText(err)}`);
    return false;
  }
}

/**
 * When the scheduler enqueues the mailbox next. It enqueues at start-up (and at each tick of any
 * schedule) a mailbox that has no current key or whose key is older than maxKeyAge, and at each
 * tick of its own schedule every mailbox it owns. A key that passes maxKeyAge between ticks is
 * therefore caught at the first tick of any schedule after that moment.
 */
function dueTime(
  entry: PlannedMailbox,
  state: CurrentKeyState | null,
  maxKeyAgeMs: number | null,
  now: Date,
  schedules: readonly RotationSchedule[],
  nextTick: ReadonlyMap<string, Date | null>,
): Pick<PlannedMailbox, 'nextDue' | 'dueReason'> {
  if (state?.kind === 'missing' || state?.kind === 'no-current') return { nextDue: now.toISOString(), dueReason: 'never-rotated' };
  const ownNext = nextTick.get(entry.schedule) ?? null;
  if (maxKeyAgeMs !== null && state?.kind === 'current' && state.createdDate) {
    const staleAt = state.createdDate.getTime() + maxKeyAgeMs;
    if (staleAt <= now.getTime()) return { nextDue: now.toISOString(), dueReason: 'key-age' };
    if (ownNext === null || staleAt < ownNext.getTime()) {
      const caughtAt = firstTickAtOrAfter(schedules, new Date(staleAt));
      if (caughtAt && (ownNext === null || caughtAt.getTime() < ownNext.getTime())) {
        return { nextDue: caughtAt.toISOString(), dueReason: 'key-age' };
      }
    }
  }
  return { nextDue: (ownNext ?? now).toISOString(), dueReason: 'cron' };
}

function firstTickAtOrAfter(schedules: readonly RotationSchedule[], instant: Date): Date | null {
  const justBefore = new Date(instant.getTime() - 1);
  let first: Date | null = null;
  for (const schedule of schedules) {
    const next = nextOccurrenceAfter(schedule, justBefore);
    if (next && (first === null || next < first)) first = next;
  }
  return first;
}

/**
 * GET /mailboxes/{id}: the mailbox's email when readable, and the problem (naming the mailbox)
 * unless it is active. `rotatable` is false when Sendmux is known to refuse a mint (not active,
 * or the key cannot read it); true when it is active or the check itself failed (unknown).
 */
async function checkMailboxReadable(
  sendmux: Pick<SendmuxClient, 'getMailbox'>,
  mailbox: ResolvedMailbox,
): Promise<{ email?: string; problem?: string; rotatable: boolean }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const { data } = await sendmux.getMailbox(mailbox.mailboxId);
      if (data.status === 'active') return { email: data.email, rotatable: true };
      return {
        email: data.email,
        rotatable: false,
        problem:
          `mailbox ${mailbox.mailboxId}: its status is ${data.status}; Sendmux mints no keys for it (422) — ` +
          'reactivate it or remove it from the configuration',
      };
    } catch (err) {
      if (err instanceof SendmuxApiError && err.status === 429 && attempt < MAX_RATE_LIMIT_RETRIES) {
        await sleep(Math.min(err.retryAfterMs ?? 1000, MAX_RATE_LIMIT_WAIT_MS));
        continue;
      }
      if (err instanceof SendmuxApiError && err.status !== null && ACCESS_STATUSES.has(err.status)) {
        const request = err.requestId ? `, request id ${err.requestId}` : '';
        return {
          rotatable: false,
          problem:
            `mailbox ${mailbox.mailboxId}: the management key cannot read it — GET /mailboxes/${mailbox.mailboxId} answered ` +
            `${err.status} ${err.code}${request}; ${accessAdvice(err.status)}`,
        };
      }
      return { rotatable: true, problem: `mailbox ${mailbox.mailboxId}: could not check it with GET /mailboxes/${mailbox.mailboxId}: ${errorText(err)}` };
    }
  }
}

function accessAdvice(status: number): string {
  if (status === 404) return 'check the id, and that the management key belongs to the team that owns the mailbox';
  if (status === 403) return 'give the management key the mailbox.admin.read and mailbox.admin.manage permissions';
  return 'the management key was rejected; check SENDMUX_API_KEY (or the secret it is read from)';
}

/**
 * A table for `rotator plan`: one line per mailbox to rotate, then skipped mailboxes, then every
 * problem once (a mailbox that cannot be rotated appears only there).
 */
export function formatRotationPlan(plan: RotationPlan): string {
  const header = ['MAILBOX', 'EMAIL', 'SCHEDULE', 'NEXT DUE', 'WHY', 'KEY AGE', 'SECRET'];
  const rows = plan.mailboxes.map((entry) => [
    entry.problems.length > 0 ? `${entry.mailboxId} (!)` : entry.mailboxId,
    entry.email ?? '-',
    entry.schedule,
    entry.nextDue === plan.generatedAt ? 'now' : entry.nextDue.replace(/\.000Z$/, 'Z'),
    entry.dueReason,
    entry.keyAgeSeconds === undefined ? '-' : formatDuration(entry.keyAgeSeconds * 1000),
    `${entry.secretName} (${entry.secretState === 'exists' ? 'exists' : 'would be created'}${entry.secretValue && entry.secretValue !== 'new secret' ? `: ${entry.secretValue}` : ''})`,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();

  const out: string[] = [
    `Rotation plan at ${plan.generatedAt} (dry run: nothing minted, stored or enqueued)`,
    `${plan.mailboxes.length} mailbox(es) to rotate, ${plan.skipped.length} skipped, ` +
      `${plan.cannotRotate.length > 0 ? `${plan.cannotRotate.length} cannot be rotated, ` : ''}${plan.problems.length} problem(s)`,
    '',
  ];
  if (rows.length > 0) out.push(line(header), ...rows.map(line));
  else out.push('No mailboxes to rotate.');
  if (plan.skipped.length > 0) {
    out.push('', `Skipped (${plan.skipped.length}):`, ...plan.skipped.map((s) => `  ${s.mailboxId}${s.email ? ` <${s.email}>` : ''}: ${s.reason}`));
  }
  if (plan.notes.length > 0) out.push('', `Notes (${plan.notes.length}):`, ...plan.notes.map((note) => `  - ${note}`));
  if (plan.problems.length > 0) {
    out.push('', `Problems (${plan.problems.length}):`, ...plan.problems.map((problem) => `  - ${problem}`));
  }
  return `${out.join('\n')}\n`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

