import { isSendmuxError, SendmuxApiError } from '../../sendmux/errors';
import type { MintedMailboxKey, SendmuxResult } from '../../sendmux/types';
import { RotationAbortedError } from '../failures';
import { enterStep, readDocument, type StepDeps, awsRequestIdFields } from './deps';
import { revokeKey } from './revoke';
import { UnreadableStoredSecretError } from '../secret-value';
import type { FreshLook, NewKey, RotationRun } from './types';

/**
 * Step 1: mint. Sendmux replays the same answer (the same key) for the job's Idempotency-Key
 * within 24 h, so re-running this step mints nothing new. Its "already done" record is the job's
 * `mintedKeyId`, written before anything else can fail. When the replay returns ANOTHER key than
 * the recorded one, the vendor's window expired: the new id is recorded first, then the orphaned
 * earlier key (never stored — step 0 found no version) is revoked, so a crash between the two
 * leaves both recorded (the orphan in `orphanKeyId`, revoked again by every later attempt and by
 * the final clean-up; Sendmux answers 200 for a key already revoked).
 */
export async function mint(deps: StepDeps, run: RotationRun, look: FreshLook): Promise<NewKey> {
  enterStep(deps, run, 'mint');
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
  run.log.info(
    { ...awsRequestIdFields(run), step: 'mint', keyId, sendmuxRequestId: minted.requestId, status: minted.status, shape: minted.data.shape, appName: run.appName },
    'new key minted',
  );

  const previous = run.recorded.mintedKeyId;
  if (previous !== keyId) {
    // Record first: the new key must be findable before anything else (the orphan's revocation) can fail.
    const mintedAt = deps.now().toISOString();
    const orphanKeyId = previous ?? run.recorded.orphanKeyId;
    run.recorded = { mintedKeyId: keyId, mintedAt, ...(minted.requestId ? { mintRequestId: minted.requestId } : {}), ...(orphanKeyId ? { orphanKeyId } : {}) };
    await deps.job.recordMint({ ...run.recorded, mintedKeyId: keyId, mintedAt });
  }
  const orphan = run.recorded.orphanKeyId;
  if (orphan && orphan !== keyId) {
    const revoked = await revokeKey(deps.sendmux, run.mailboxId, orphan);
    run.requestIds.orphanRevoke = revoked.requestId;
    run.log.warn(
      { ...awsRequestIdFields(run), step: 'mint', orphanKeyId: orphan, keyId, sendmuxRequestId: revoked.requestId, outcome: revoked.outcome },
      revoked.outcome === 'revoked'
        ? 'idempotency window had expired: the new key is recorded; revoked the orphaned key minted by an earlier attempt'
        : 'idempotency window had expired: the new key is recorded; Sendmux does not know the orphaned earlier key in this mailbox (404), nothing revoked',
    );
  }
  return run.key;
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
  // An AWSPREVIOUS value the rotator did not write (adopted) is not the rotator's to revoke here.
  const previous = look.previousVersionId
    ? await readDocument(deps, run.settings.secretName, look.previousVersionId).catch((err: unknown) => {
        if (err instanceof UnreadableStoredSecretError) return null;
        throw err;
      })
    : null;
  const previousKeyId = previous?.document.key_id;
  if (!previousKeyId || previousKeyId === look.current?.keyId) {
    throw new RotationAbortedError(
      `mailbox ${run.mailboxId} has reached the team's credential limit (409 limit_exceeded, request ` +
        `${limitRequestId ?? '?'}) and has no AWSPREVIOUS key the rotator may revoke; revoke unused keys in Sendmux`,
    );
  }
  const revoked = await revokeKey(deps.sendmux, run.mailboxId, previousKeyId);
  run.log.warn(
    { ...awsRequestIdFields(run), step: 'mint', keyId: previousKeyId, sendmuxRequestId: revoked.requestId, outcome: revoked.outcome },
    revoked.outcome === 'revoked'
      ? 'credential limit reached: revoked the AWSPREVIOUS key to free a slot (rotation.onLimitExceeded: revoke-previous)'
      : 'credential limit reached: the AWSPREVIOUS key is unknown to Sendmux in this mailbox (404); nothing revoked',
  );
}
