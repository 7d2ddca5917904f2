import { AWSCURRENT, AWSPENDING } from '../../aws/staging-labels';
import { awsRequestIdFields, type StepDeps } from './deps';
import { replayMint } from './mint';
import { keyAuthenticates, revokeKey } from './revoke';
import type { RotationRun } from './types';

/**
 * Compensation of mint, run when the job fails for good (or is abandoned after stalling): no key
 * this job minted may stay live unless Secrets Manager holds it as AWSCURRENT. The key is revoked
 * in the mailbox it actually opens (verification may have found another one), and when its secret
 * is in memory, proven dead: it must no longer authenticate on GET /mailbox/me. Every log line
 * says what was done and what was not.
 */
export async function discardMintedKey(deps: StepDeps, run: RotationRun): Promise<void> {
  const { secretName } = run.settings;
  const orphan = run.recorded.orphanKeyId;
  if (orphan && orphan !== run.recorded.mintedKeyId) {
    const revoked = await revokeKey(deps.sendmux, run.mailboxId, orphan);
    run.log.warn({ ...awsRequestIdFields(run), step: run.step, orphanKeyId: orphan, revocation: revoked.outcome, sendmuxRequestId: revoked.requestId },
      revoked.outcome === 'revoked' ? `revoked the orphaned key ${orphan} of an earlier attempt` : `Sendmux knows no orphaned key ${orphan} in mailbox ${run.mailboxId} (404); nothing revoked`);
  }
  const description = await deps.secrets.describeSecret(secretName);
  if ((description?.versionIdsToStages[run.clientRequestToken] ?? []).includes(AWSCURRENT)) return;
  let key = run.key ?? (run.recorded.mintedKeyId ? { keyId: run.recorded.mintedKeyId, secret: undefined } : undefined);
  if (!key && run.mintOutcomeUnknown) {
    const replayed = await replayMint(deps, run);
    key = replayed;
    // Recorded before the revocation: `retry` must refuse a job whose key is revoked (Sendmux would
    // replay it), and the failure event names it even if the revocation below throws.
    const mintedAt = deps.now().toISOString();
    run.recorded = { ...run.recorded, mintedKeyId: replayed.keyId, mintedAt, ...(replayed.requestId ? { mintRequestId: replayed.requestId } : {}) };
    await deps.job.recordMint({ ...run.recorded, mintedKeyId: replayed.keyId, mintedAt });
    run.log.warn({ ...awsRequestIdFields(run), step: run.step, keyId: replayed.keyId, sendmuxRequestId: replayed.requestId },
      `the replayed mint returned key ${replayed.keyId} whose first answer was lost; recorded it in the job before revoking it`);
  }
  if (!key) return;

  // Where verification says the key lives first; this mailbox too when Sendmux knows no such key
  // there (a vendor whose /mailbox/me misreports the mailbox).
  const candidates = [...new Set([run.keyOpensMailbox ?? run.mailboxId, run.mailboxId])];
  let home = candidates[0]!;
  let revoked = await revokeKey(deps.sendmux, home, key.keyId);
  for (const other of candidates.slice(1)) {
    if (revoked.outcome === 'revoked') break;
    home = other;
    revoked = await revokeKey(deps.sendmux, home, key.keyId);
  }
  const proof = key.secret ? await keyAuthenticates(deps.sendmux, key.secret) : null;
  const tried = candidates.slice(0, candidates.indexOf(home) + 1).join(', ');
  const fields = { ...awsRequestIdFields(run), step: run.step, keyId: key.keyId, keyMailboxId: home, triedMailboxIds: tried, sendmuxRequestId: revoked.requestId,
    revocation: revoked.outcome, proof: proof?.state ?? 'not-checked' };
  if (proof?.state === 'live') {
    run.log.error(
      { ...fields, opensMailboxId: proof.mailboxId },
      `rotation failed for good and key ${key.keyId} still authenticates (it opens mailbox ${proof.mailboxId}) after ` +
        `DELETE in mailbox(es) ${tried} answered ${revoked.outcome === 'revoked' ? '200' : '404'}; revoke it in Sendmux`,
    );
  } else if (revoked.outcome === 'revoked') {
    run.log.warn(
      fields,
      `rotation failed for good: revoked key ${key.keyId} it minted (in mailbox ${home})` +
        (proof ? ' and confirmed it no longer authenticates' : '') + ', so no live key is left unstored or unused',
    );
  } else if (proof?.state === 'dead') {
    run.log.warn(fields, `rotation failed for good: Sendmux knows no key ${key.keyId} in mailbox(es) ${tried} (404), and the key no longer authenticates`);
  } else {
    run.log.error(
      fields,
      `rotation failed for good: could not revoke key ${key.keyId}: Sendmux knows no such key in mailbox(es) ${tried} (404), ` +
        'so it was NOT revoked and may still be live; find and revoke it in Sendmux',
    );
  }
}

/** Compensation of stage: AWSPENDING off this job's version (unless it became AWSCURRENT). */
export async function unstage(deps: StepDeps, run: RotationRun): Promise<void> {
  const { secretName } = run.settings;
  const description = await deps.secrets.describeSecret(secretName);
  const stages = description?.versionIdsToStages[run.clientRequestToken] ?? [];
  if (stages.includes(AWSCURRENT) || !stages.includes(AWSPENDING)) return;
  await deps.secrets.moveStage(secretName, { stage: AWSPENDING, removeFromVersionId: run.clientRequestToken });
  run.log.info({ ...awsRequestIdFields(run), step: run.step, secretVersionId: run.clientRequestToken }, 'AWSPENDING removed from the failed rotation’s version');
}
