import { isSendmuxError, SendmuxApiError } from '../../sendmux/errors';
import type { MintedMailboxKey, SendmuxResult } from '../../sendmux/types';
import { RotationAbortedError } from '../failures';
import { revokeWithProof } from '../revocation';
import { enterStep, type StepDeps } from './deps';
import type { FreshLook, NewKey, RotationRun } from './types';

/**
 * Step 1: mint. Sendmux replays the same answer (the same key) for the job's Idempotency-Key
 * within 24 h, so re-running this step mints nothing new. Its "already done" record is the job's
 * `mintedKeyId`, written before anything else can fail. When the replay returns ANOTHER key than
 * the recorded one, either the vendor's window expired (the earlier key is orphaned) or the job
 * data was edited: the record cannot tell which, so it proves nothing. The new id is recorded,
 * and the earlier one is reported (log, alert, history) and left live — never revoked on the job
 * data's word (docs/design.md, "A key is revoked only when it is proven ours"); an operator who
 * knows it is the rotator's ends it with `rotator revoke`.
 */
export async function mint(deps: StepDeps, run: RotationRun, look: FreshLook): Promise<NewKey> {
  const line = enterStep(deps, run, 'mint');
  let minted: SendmuxResult<MintedMailboxKey>;
  try {
    minted = await mintOnce(deps, run);
  } catch (err) {
    if (!(isSendmuxError(err) && err.code === 'limit_exceeded' && run.settings.onLimitExceeded === 'revoke-previous')) throw err;
    await freeCredentialSlot(deps, run, look, err.requestId);
    minted = await mintIntoFreedSlot(deps, run);
  }
  const keyId = minted.data.keyId;
  run.requestIds.mint = minted.requestId;
  run.key = { keyId, secret: minted.data.secret, minted: minted.data, ...(minted.requestId ? { requestId: minted.requestId } : {}) };
  line.info({ keyId, sendmuxRequestId: minted.requestId, status: minted.status, shape: minted.data.shape, appName: run.appName }, 'new key minted');

  const previous = run.recorded.mintedKeyId;
  if (previous !== keyId) {
    // Record first: the new key must be findable before anything else can fail.
    const mintedAt = deps.now().toISOString();
    const { orphanKeyId } = run.recorded;
    run.recorded = { mintedKeyId: keyId, mintedAt, ...(minted.requestId ? { mintRequestId: minted.requestId } : {}), ...(orphanKeyId ? { orphanKeyId } : {}) };
    await deps.job.recordMint({ ...run.recorded, mintedKeyId: keyId, mintedAt });
  }
  if (previous !== undefined && previous !== keyId) reportUnprovenOrphan(deps, run, previous, keyId);
  return run.key;
}

/** A key the job data says an earlier attempt minted, which this rotation's own mint no longer names. */
function reportUnprovenOrphan(deps: StepDeps, run: RotationRun, hintedKeyId: string, keyId: string): void {
  const reason =
    `the job recorded key ${hintedKeyId} from an earlier attempt, but this rotation's mint (same Idempotency-Key) now answers with key ${keyId}: ` +
    'the vendor\'s 24 h idempotency window expired (the earlier key is an orphan) or the job data was edited. Nothing proves the earlier key ' +
    `is the rotator's, so it was NOT revoked; if Sendmux shows it in mailbox ${run.mailboxId} with app name "${run.appName}", revoke it: rotator revoke ${run.mailboxId} ${hintedKeyId}`;
  run.line.warn({ orphanKeyId: hintedKeyId, keyId, revocation: 'refused', proofMissing: 'own-mint', refusal: 'unproven_orphan' },
    `refused to revoke key ${hintedKeyId} of mailbox ${run.mailboxId} (idempotency window had expired or the job data was edited): no proof from this rotation's own mint that the key is its orphan — ${reason}`);
  deps.reportUnprovenKey?.({ keyId: hintedKeyId, reason });
}

async function mintOnce(deps: StepDeps, run: RotationRun): Promise<SendmuxResult<MintedMailboxKey>> {
  try {
    const result = await deps.sendmux.mintMailboxKey(run.mailboxId, { appName: run.appName, idempotencyKey: run.idempotencyKey });
    run.mintOutcomeUnknown = false;
    return result;
  } catch (err) {
    run.mintOutcomeUnknown = mintMayHaveSucceeded(err);
    throw err;
  }
}

/**
 * Whether a failed mint may nevertheless have minted a key server-side: only when no Sendmux answer
 * came back (timeout, dropped connection), a 2xx broke the contract, a 5xx was not a Sendmux
 * envelope (a proxy's answer: the request may have reached Sendmux), or 409 idempotency_conflict
 * (the first request with this Idempotency-Key is still running). Any other Sendmux error envelope
 * is definite: an idempotent replay returns the original response verbatim (CONTRACT.md,
 * "Idempotency"), so a key minted under this Idempotency-Key would have come back as 201.
 */
export function mintMayHaveSucceeded(err: unknown): boolean {
  if (!isSendmuxError(err)) return false;
  if (err.status === null || err.status < 300) return true;
  if (err.code === 'idempotency_conflict') return true;
  const sendmuxEnvelope = err.code !== `http_${err.status}`;
  return !sendmuxEnvelope && err.status >= 500;
}

/** Replays this job's mint to learn a key whose mint answer was lost (same Idempotency-Key and body). */
export async function replayMint(deps: StepDeps, run: RotationRun): Promise<NewKey> {
  const replay = await mintOnce(deps, run);
  return { keyId: replay.data.keyId, secret: replay.data.secret, ...(replay.requestId ? { requestId: replay.requestId } : {}) };
}

/**
 * The mint right after the policy revoked the AWSPREVIOUS key. At the team limit a concurrent
 * mint (another mailbox's rotation, or any other client) may take the freed slot first; that
 * calls for another attempt (other rotations free slots too), not a permanent failure.
 */
async function mintIntoFreedSlot(deps: StepDeps, run: RotationRun): Promise<SendmuxResult<MintedMailboxKey>> {
  try {
    return await mintOnce(deps, run);
  } catch (err) {
    if (!(isSendmuxError(err) && err.code === 'limit_exceeded')) throw err;
    throw new SendmuxApiError({
      operation: err.operation,
      method: err.method,
      path: err.path,
      status: err.status,
      code: err.code,
      retryable: true,
      rateLimit: err.rateLimit,
      reason: 'still at the credential limit after revoking the AWSPREVIOUS key (a concurrent mint took the freed slot, or that key was already revoked); retrying',
      ...(err.requestId === undefined ? {} : { requestId: err.requestId }),
      ...(err.mailboxId === undefined ? {} : { mailboxId: err.mailboxId }),
    });
  }
}

/** Opt-in policy for limit_exceeded: revoke the AWSPREVIOUS key (never AWSCURRENT) to free a slot. */
async function freeCredentialSlot(deps: StepDeps, run: RotationRun, look: FreshLook, limitRequestId: string | undefined): Promise<void> {
  const noSlot = (why: string) => new RotationAbortedError(
    `mailbox ${run.mailboxId} has reached the team's credential limit (409 limit_exceeded, request ` +
      `${limitRequestId ?? '?'}) and has no AWSPREVIOUS key the rotator may revoke (${why}); revoke unused keys in Sendmux`,
  );
  const secret = run.secret;
  // An AWSPREVIOUS value the rotator did not write (adopted) is not the rotator's to revoke here.
  const previous = secret && look.previousVersionId ? await secret.version(look.previousVersionId) : null;
  if (!secret || !previous || previous.kind !== 'rotator') throw noSlot(previous ? 'it is not a rotator document' : 'there is none');
  const revoked = await revokeWithProof(deps, secret, {
    keyId: previous.keyId,
    basis: { proof: 'held-by-version', versionId: previous.versionId },
    line: run.line,
    purpose: 'rotation.onLimitExceeded: revoke-previous',
    proveDead: false,
  });
  if (revoked.outcome === 'refused') throw noSlot(revoked.reason);
  run.line.warn(
    { keyId: previous.keyId, sendmuxRequestId: revoked.requestId, outcome: revoked.outcome },
    revoked.outcome === 'revoked'
      ? 'credential limit reached: revoked the AWSPREVIOUS key to free a slot (rotation.onLimitExceeded: revoke-previous)'
      : 'credential limit reached: the AWSPREVIOUS key is unknown to Sendmux in this mailbox (404); nothing revoked',
  );
}
