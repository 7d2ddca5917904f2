import type { RotatorRuntime } from '../../../src/app/rotator-runtime';
import { waitFor, type TestBed } from '../../support/test-bed';

/**
 * Requests a forced rotation of every mailbox of the bed and waits — watching only the sandbox
 * (and `until`, e.g. a stand-in counter), never polling Redis, so counts of Redis or AWS calls stay
 * the rotator's own — until each mailbox was minted a key and only one key per mailbox is live
 * (its previous key revoked).
 */
export async function rotateEveryMailbox(bed: TestBed, runtime: RotatorRuntime, until?: { done: () => boolean; what: string }): Promise<void> {
  const count = bed.mailboxIds.length;
  const mintsBefore = bed.sandbox.state.mintLog.length;
  await runtime.queue.requestRotations(bed.mailboxIds.map((mailboxId) => ({ mailboxId, reason: 'manual' as const, requestedBy: 'test', force: true })));
  await waitFor(
    () => bed.sandbox.state.mintLog.length === mintsBefore + count && bed.sandbox.state.liveKeys().length === count,
    30_000,
    'every mailbox rotated and its previous key revoked',
  );
  if (until) await waitFor(until.done, 10_000, until.what);
  // The last jobs' completion bookkeeping (which frees each mailbox's deduplication id) follows
  // the last external call by a few milliseconds; the next round's requests must not meet it.
  await new Promise((r) => setTimeout(r, 300));
}
