import type { Logger } from 'pino';
import type { RotatorFileConfig } from '../config';
import type { SendmuxClient } from '../sendmux/client';
import type { Mailbox } from '../sendmux/types';
import { matchesEmailGlob } from './email-glob';
import { DEFAULT_SCHEDULE_NAME } from './schedules';

/** A mailbox the rotator will rotate, and the schedule that owns it. */
export interface ResolvedMailbox {
  mailboxId: string;
  /** Known when GET /mailboxes was called and returned this mailbox. */
  email?: string;
  /** `listed`: GET /mailboxes returned it (so the management key can read it); `config`: an id from the file. */
  source: 'listed' | 'config';
  schedule: string;
}

/** A mailbox left out, and why (for the log, the tick report and the plan). */
export interface SkippedMailbox {
  mailboxId: string;
  email?: string;
  reason: string;
}

/** A mailbox two or more groups claim; the first group in the file wins. */
export interface GroupConflict {
  mailboxId: string;
  winner: string;
  others: string[];
}

export interface MailboxResolution {
  /** In discovery order: the vendor's list order for `all`, the file's order for a list of ids. */
  mailboxes: ResolvedMailbox[];
  bySchedule: Map<string, ResolvedMailbox[]>;
  skipped: SkippedMailbox[];
  conflicts: GroupConflict[];
  /** Whether GET /mailboxes was called (for `all`, or to read emails for an emailGlob group). */
  listed: boolean;
}

export interface ResolveMailboxesDeps {
  file: Pick<RotatorFileConfig, 'mailboxes' | 'groups'>;
  sendmux: Pick<SendmuxClient, 'listAllMailboxes'>;
  logger: Logger;
  /**
   * Conflicts this process has already logged. A long-running scheduler resolves on every tick;
   * passing the same set keeps each "claimed by two groups" line to one per process.
   */
  reportedConflicts?: Set<string>;
}

/**
 * Turns the file's targets into mailbox ids, each owned by one schedule.
 * - `mailboxes: all` pages through GET /mailboxes and skips mailboxes that are not active
 *   (Sendmux refuses to mint keys for suspended or deleted mailboxes), one log line each.
 * - A list of ids is used as given; ids named only by a group's `mailboxes` are included too,
 *   since naming them there says they are to be rotated. `rotator plan` verifies them.
 * - Groups claim mailboxes by id or by email glob (needs GET /mailboxes for the emails); the
 *   first group in the file wins a mailbox two groups claim. The default schedule owns the rest.
 */
export async function resolveMailboxes(deps: ResolveMailboxesDeps): Promise<MailboxResolution> {
  const { file, logger } = deps;
  const log = logger.child({ component: 'mailbox-resolution' });
  const groups = file.groups;
  const needsList = file.mailboxes === 'all' || groups.some((group) => group.emailGlob !== undefined);
  const listedById = new Map<string, Mailbox>();
  if (needsList) {
    for await (const mailbox of deps.sendmux.listAllMailboxes()) listedById.set(mailbox.id, mailbox);
  }

  const skipped: SkippedMailbox[] = [];
  const candidates: Array<{ mailboxId: string; email?: string; source: 'listed' | 'config' }> = [];

  if (file.mailboxes === 'all') {
    for (const mailbox of listedById.values()) {
      if (mailbox.status === 'active') {
        candidates.push({ mailboxId: mailbox.id, email: mailbox.email, source: 'listed' });
        continue;
      }
      const reason = `status is ${mailbox.status}; Sendmux mints no keys for a mailbox that is not active`;
      skipped.push({ mailboxId: mailbox.id, email: mailbox.email, reason });
      log.info({ mailboxId: mailbox.id, status: mailbox.status }, `mailbox ${mailbox.id} skipped: ${reason}`);
    }
    for (const group of groups) {
      for (const mailboxId of group.mailboxes ?? []) {
        if (listedById.has(mailboxId)) continue; // active ones are candidates; others were skipped above
        const reason = `group "${group.name}" lists it, but GET /mailboxes did not return it (unknown id, or another team's mailbox)`;
        skipped.push({ mailboxId, reason });
        log.warn({ mailboxId, group: group.name }, `mailbox ${mailboxId} skipped: ${reason}`);
      }
    }
  } else {
    const seen = new Set<string>();
    const addConfigured = (mailboxId: string) => {
      if (seen.has(mailboxId)) return;
      seen.add(mailboxId);
      const email = listedById.get(mailboxId)?.email;
      candidates.push({ mailboxId, ...(email === undefined ? {} : { email }), source: 'config' });
    };
    file.mailboxes.forEach(addConfigured);
    for (const group of groups) (group.mailboxes ?? []).forEach(addConfigured);
  }

  // Which groups list each id, in file order, so a claim is one map look-up per mailbox.
  const idClaims = new Map<string, number[]>();
  groups.forEach((group, index) => {
    for (const mailboxId of group.mailboxes ?? []) {
      const claims = idClaims.get(mailboxId);
      if (claims) claims.push(index);
      else idClaims.set(mailboxId, [index]);
    }
  });
  const globGroups = groups.flatMap((group, index) => (group.emailGlob === undefined ? [] : [{ index, glob: group.emailGlob }]));

  const mailboxes: ResolvedMailbox[] = [];
  const bySchedule = new Map<string, ResolvedMailbox[]>();
  const conflicts: GroupConflict[] = [];
  for (const candidate of candidates) {
    const claimedBy = [...(idClaims.get(candidate.mailboxId) ?? [])];
    if (candidate.email !== undefined) {
      for (const { index, glob } of globGroups) if (matchesEmailGlob(glob, candidate.email)) claimedBy.push(index);
    }
    claimedBy.sort((a, b) => a - b);
    const winner = claimedBy[0] === undefined ? undefined : groups[claimedBy[0]];
    const schedule = winner?.name ?? DEFAULT_SCHEDULE_NAME;
    if (claimedBy.length > 1 && winner) {
      const others = claimedBy.slice(1).map((index) => groups[index]?.name ?? String(index));
      conflicts.push({ mailboxId: candidate.mailboxId, winner: winner.name, others });
      const key = `${candidate.mailboxId}\u0000${winner.name}\u0000${others.join('\u0000')}`;
      if (!deps.reportedConflicts?.has(key)) {
        deps.reportedConflicts?.add(key);
        log.warn(
          { mailboxId: candidate.mailboxId, group: winner.name, alsoClaimedBy: others },
          `mailbox ${candidate.mailboxId} is claimed by groups ${[winner.name, ...others].map((n) => `"${n}"`).join(' and ')}; ` +
            `"${winner.name}" comes first in the file and owns it`,
        );
      }
    }
    const resolved: ResolvedMailbox = { ...candidate, schedule };
    mailboxes.push(resolved);
    const owned = bySchedule.get(schedule);
    if (owned) owned.push(resolved);
    else bySchedule.set(schedule, [resolved]);
  }

  return { mailboxes, bySchedule, skipped, conflicts, listed: needsList };
}
