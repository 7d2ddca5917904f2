import { MailboxSecret, type RevocationBasis } from '../mailbox-secret';
import { revokeWithProof } from '../revocation';
import { enterStep, type StepDeps } from './deps';
import { replayMint } from './mint';
import type { RotationRun } from './types';

/**
 * How long after its first answer a mint is still replayed by Sendmux with the same key (the
 * contract's 24 h, "Idempotency"), less an hour for clock differences: past it, a replay would mint
 * a new key instead of naming the recorded one.
 */
export const MINT_REPLAY_WINDOW_MS = 23 * 60 * 60 * 1000;

/**
 * Compensation of mint, run when the job fails for good (or is abandoned after stalling): no key
 * this job minted may stay live unless Secrets Manager holds it as AWSCURRENT. Which key, and what
 * proves it this rotation's own (never the job data's word alone):
 * - the mint answer this attempt holds (proof 2: the vendor's answer to this rotation's mint);
 * - else this job's own version in Secrets Manager, labelled or not (proof 1: a version of this
 *   mailbox's secret other than AWSCURRENT holds it);
 * - else, when the mint's outcome is unknown or the job data names a key minted within the
 *   vendor's window, a replay of this rotation's own mint (proof 2); a recorded key the replay
 *   does not name, or one past the window, is reported and left live.
 * The key is revoked where it lives (verification may have found another mailbox) through the
 * choke point (src/rotation/revocation.ts) and, with its token in memory, proven dead. Every log
 * line says what was done and what was not.
 */
export async function discardMintedKey(deps: StepDeps, run: RotationRun): Promise<void> {
  const line = enterStep(deps, run, 'cleanup');
  const orphan = run.recorded.orphanKeyId;
  // Recorded by releases that revoked an expired window's orphan on the job data's word: reported now, never revoked.
  if (orphan && orphan !== run.recorded.mintedKeyId) reportUnproven(deps, run, orphan, `the job records key ${orphan} as orphaned by an earlier attempt; nothing in Secrets Manager or the vendor's replay names it`);
  const secret = await MailboxSecret.read(deps.secrets, run.mailboxId, run.settings.secretName);
  if (secret.ours(run.clientRequestToken) === 'current') return;
  // A version that was promoted once holds a superseded key: the revocation job retires it after
  // its grace period, never this clean-up (a forged "stalled" copy of an old job must not cut
  // consumers off early).
  if (await secret.wasPromoted(run.clientRequestToken)) {
    line.info({ secretVersionId: run.clientRequestToken }, "this job's version was promoted once and superseded since: its key is retired by its revocation job, after the grace period; nothing to discard");
    return;
  }

  const candidate = await ownKeyOf(deps, run, secret);
  if (!candidate) return;
  const { keyId, basis } = candidate;
  // Where verification says the key lives first; this mailbox too when Sendmux knows no such key
  // there (a vendor whose /mailbox/me misreports the mailbox).
  const revoked = await revokeWithProof(deps, secret, {
    keyId, basis, line, purpose: 'clean-up of the failed rotation', mailboxIds: [run.keyOpensMailbox ?? run.mailboxId, run.mailboxId],
  });
  if (revoked.outcome === 'refused') {
    run.keyState = 'refused';
    return;
  }
  const tried = revoked.triedMailboxIds.join(', ');
  const fields = { keyId, keyMailboxId: revoked.mailboxId, triedMailboxIds: tried, sendmuxRequestId: revoked.requestId,
    revocation: revoked.outcome, proof: revoked.dead, proven: revoked.proof };
  run.keyState = revoked.dead === 'dead' ? 'dead' : revoked.outcome === 'revoked' && revoked.dead !== 'live' ? 'revoked' : 'live';
  if (revoked.dead === 'live') {
    line.error(
      { ...fields, opensMailboxId: revoked.opensMailboxId },
      `rotation failed for good and key ${keyId} still authenticates (it opens mailbox ${revoked.opensMailboxId}) after ` +
        `DELETE in mailbox(es) ${tried} answered ${revoked.outcome === 'revoked' ? '200' : '404'}; revoke it in Sendmux`,
    );
  } else if (revoked.outcome === 'revoked') {
    line.warn(
      fields,
      `rotation failed for good: revoked key ${keyId} it minted (in mailbox ${revoked.mailboxId})` +
        (revoked.dead === 'dead' ? ' and confirmed it no longer authenticates' : '') + ', so no live key is left unstored or unused',
    );
  } else if (revoked.dead === 'dead') {
    line.warn(fields, `rotation failed for good: Sendmux knows no key ${keyId} in mailbox(es) ${tried} (404), and the key no longer authenticates`);
  } else {
    line.error(
      fields,
      `rotation failed for good: could not revoke key ${keyId}: Sendmux knows no such key in mailbox(es) ${tried} (404), ` +
        'so it was NOT revoked and may still be live; find and revoke it in Sendmux',
    );
  }
}

/** The key this rotation minted and what proves it its own; null when there is none to discard. */
async function ownKeyOf(deps: StepDeps, run: RotationRun, secret: MailboxSecret): Promise<{ keyId: string; basis: RevocationBasis } | null> {
  if (run.key?.minted) return { keyId: run.key.keyId, basis: { proof: 'own-mint', token: run.key.secret } };
  const hinted = run.key?.keyId ?? run.recorded.mintedKeyId;
  if (hinted !== undefined || secret.ours(run.clientRequestToken) !== 'absent') {
    // A version keeps its value after its labels are gone (until AWS deletes deprecated versions).
    const own = secret.exists ? await secret.version(run.clientRequestToken) : null;
    if (own?.kind === 'rotator') return { keyId: own.keyId, basis: { proof: 'held-by-version', versionId: run.clientRequestToken, pendingRotationOver: true } };
  }
  const mintedAt = run.recorded.mintedAt ? Date.parse(run.recorded.mintedAt) : NaN;
  const withinWindow = Number.isFinite(mintedAt) && deps.now().getTime() - mintedAt < MINT_REPLAY_WINDOW_MS;
  if (!run.mintOutcomeUnknown && !(hinted !== undefined && withinWindow)) {
    if (hinted !== undefined) reportUnproven(deps, run, hinted, `the job records key ${hinted}, but its mint (at ${run.recorded.mintedAt ?? 'an unrecorded time'}) is past the vendor's 24 h replay window, so nothing can prove the key is this rotation's`);
    return null;
  }
  const replayed = await replayMint(deps, run);
  // Recorded before the revocation: `retry` must refuse a job whose key is revoked (Sendmux would
  // replay it), and the failure event names it even if the revocation below throws.
  const mintedAtNow = deps.now().toISOString();
  run.recorded = { ...run.recorded, mintedKeyId: replayed.keyId, mintedAt: mintedAtNow, ...(replayed.requestId ? { mintRequestId: replayed.requestId } : {}) };
  await deps.job.recordMint({ ...run.recorded, mintedKeyId: replayed.keyId, mintedAt: mintedAtNow });
  run.line.warn({ keyId: replayed.keyId, sendmuxRequestId: replayed.requestId },
    `the replayed mint returned key ${replayed.keyId} whose first answer was lost; recorded it in the job before revoking it`);
  if (hinted !== undefined && hinted !== replayed.keyId) {
    reportUnproven(deps, run, hinted, `the job records key ${hinted}, but this rotation's own mint (replayed with the same Idempotency-Key) names key ${replayed.keyId}`);
  }
  return { keyId: replayed.keyId, basis: { proof: 'own-mint', token: replayed.secret } };
}

function reportUnproven(deps: StepDeps, run: RotationRun, keyId: string, why: string): void {
  const reason = `${why}; it was NOT revoked — if it is the rotator's (Sendmux shows app name "${run.appName}"), revoke it: rotator revoke ${run.mailboxId} ${keyId}`;
  run.line.warn({ keyId, revocation: 'refused', proofMissing: 'own-mint', refusal: 'unproven_orphan' }, `refused to revoke key ${keyId} of mailbox ${run.mailboxId} (clean-up of the failed rotation): no proof from this rotation's own mint that the key is its orphan — ${reason}`);
  deps.reportUnprovenKey?.({ keyId, reason });
}

/** Compensation of stage: AWSPENDING off this job's version (unless it became AWSCURRENT). */
export async function unstage(deps: StepDeps, run: RotationRun): Promise<void> {
  const line = enterStep(deps, run, 'cleanup');
  const secret = await MailboxSecret.read(deps.secrets, run.mailboxId, run.settings.secretName);
  if (!(await secret.unstage(run.clientRequestToken))) return;
  line.info({ secretVersionId: run.clientRequestToken }, 'AWSPENDING removed from the failed rotation’s version');
}
