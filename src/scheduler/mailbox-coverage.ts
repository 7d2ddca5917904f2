import type { RotatorFileConfig } from '../config';
import { SendmuxApiError } from '../sendmux/errors';
import type { SendmuxClient } from '../sendmux/client';
import { forEachWithLimit } from './with-limit';

/** Why an on-demand request was refused before anything was enqueued. */
export const NOT_CONFIGURED = 'not_configured';

export type CoverageVerdict = { covered: true } | { covered: false; reason: typeof NOT_CONFIGURED; message: string };

export interface MailboxCoverageDeps {
  file: Pick<RotatorFileConfig, 'mailboxes' | 'groups'>;
  /** Needed for `mailboxes: all` only: the mailbox must exist and be active. */
  sendmux: Pick<SendmuxClient, 'getMailbox'>;
}

/**
 * Decides whether the configuration covers a mailbox, for on-demand requests (API, CLI): a list
 * covers its ids and the ids its groups name; `all` covers a mailbox Sendmux reports as active
 * (GET /mailboxes/{id}; 404 and suspended/deleted are not covered). Other Sendmux failures are
 * thrown (SendmuxError): the caller answers "try again", not "not configured".
 */
export function createMailboxCoverage(deps: MailboxCoverageDeps): (mailboxId: string) => Promise<CoverageVerdict> {
  const { mailboxes, groups } = deps.file;
  if (mailboxes !== 'all') {
    const listed = new Set<string>([...mailboxes, ...groups.flatMap((group) => group.mailboxes ?? [])]);
    return async (mailboxId) =>
      listed.has(mailboxId)
        ? { covered: true }
        : refused(`mailbox ${mailboxId} is not in the configuration's mailboxes (or a group's); add it there to rotate it`);
  }
  return async (mailboxId) => {
    try {
      const { data } = await deps.sendmux.getMailbox(mailboxId);
      if (data.status === 'active') return { covered: true };
      return refused(`mailbox ${mailboxId} is ${data.status}, and "mailboxes: all" covers active mailboxes only`);
    } catch (err) {
      if (err instanceof SendmuxApiError && err.status === 404) {
        return refused(`mailbox ${mailboxId} does not exist in Sendmux (or the management key cannot see it)`);
      }
      throw err;
    }
  };
}

/** Coverage as membership of a resolved list (read again on every check). */
export function coverageFromList(resolve: () => Promise<readonly string[]>): (mailboxId: string) => Promise<CoverageVerdict> {
  return async (mailboxId) =>
    (await resolve()).includes(mailboxId) ? { covered: true } : refused(`mailbox ${mailboxId} is not among the configured mailboxes`);
}

function refused(message: string): CoverageVerdict {
  return { covered: false, reason: NOT_CONFIGURED, message };
}

/** Splits ids into those the configuration covers and verdicts for the rest, checking at most 8 at a time. */
export async function partitionByCoverage(
  mailboxIds: readonly string[],
  covers: (mailboxId: string) => Promise<CoverageVerdict>,
): Promise<{ covered: string[]; refused: Array<{ mailboxId: string; message: string }> }> {
  const verdicts: CoverageVerdict[] = new Array(mailboxIds.length);
  await forEachWithLimit(mailboxIds, 8, async (mailboxId, index) => {
    verdicts[index] = await covers(mailboxId);
  });
  const covered: string[] = [];
  const refusedIds: Array<{ mailboxId: string; message: string }> = [];
  mailboxIds.forEach((mailboxId, index) => {
    const verdict = verdicts[index]!;
    if (verdict.covered) covered.push(mailboxId);
    else refusedIds.push({ mailboxId, message: verdict.message });
  });
  return { covered, refused: refusedIds };
}
