import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { SendmuxClient } from '../src/sendmux/client';
import type { MintedMailboxKey, SendmuxResult } from '../src/sendmux/types';
import { isSendmuxError, SendmuxApiError } from '../src/sendmux/errors';
import type { SecretStore } from '../src/aws/secret-store';
import { SecretStoreError } from '../src/aws/errors';
import {
  rotationJobDataSchema,
  describeJobDataProblems,
  type RevocationJobData,
  type RotationJobData,
  type RotationResult,
  type RotationStep,
} from '../src/rotation/job-data';
import { buildStoredMailboxSecret, parseStoredMailboxSecret } from '../src/rotation/secret-value';
import { classifyRotationFailure, RotationAbortedError } from '../src/rotation/failures';
import type { MailboxLedger } from '../src/rotation/mailbox-ledger';
import type { RotationAttemptEvent, RotatorEventSink } from '../src/rotation/events';

const AWSCURRENT = 'AWSCURRENT';
const AWSPENDING = 'AWSPENDING';
const AWSPREVIOUS = 'AWSPREVIOUS';

export interface RotationSettings {
  minRotationIntervalMs: number;
  onLimitExceeded: 'fail' | 'revoke-previous';
  kmsKeyId?: string;
  tags: Record<string, string>;
}

export interface RotateMailboxKeyDeps {
  sendmux: Pick<SendmuxClient, 'mintMailboxKey' | 'revokeMailboxKey' | 'getMailboxMe'>;
  secrets: Pick<SecretStore, 'describeSecret' | 'createSecretIfMissing' | 'putSecretVersion' | 'getSecretVersion' | 'moveStage'>;
  ledger: Pick<MailboxLedger, 'recordRotation'>;
  /** Adds the delayed revocation job (stable job id, so adding it twice is harmless). */
  scheduleRevocation(data: RevocationJobData, delayMs: number): Promise<{ jobId: string }>;
  /** Pauses every worker of the queue (BullMQ queue rate limit) after a 429. */
  pauseQueueFor(ms: number): Promise<void>;
  logger: Logger;
  settings: RotationSettings;
  /** Audit history, metrics and alerts: one event per attempt. */
  events?: RotatorEventSink;
  /** Called as each step starts (metrics, tests); must not throw. */
  onStep?: (job: Job<RotationJobData>, step: RotationStep) => void;
  now?: () => Date;
}

/** What the job learned about the secret in step 0, reused by later steps of the same attempt. */
interface SecretLook {
  exists: boolean;
  arn?: string;
  ourStages: string[] | null;
  currentVersionId?: string;
  pendingVersionId?: string;
  previousVersionId?: string;
}

/**
 * The rotation of one mailbox, steps 0-5 of DESIGN.md. Each step is safe to re-run: the job
 * looks at Secrets Manager first and resumes from the step it had reached, and every request it
 * sends is derived from the job's fixed inputs.
 */
export function createRotateMailboxKeyProcessor(deps: RotateMailboxKeyDeps) {
  const now = deps.now ?? (() => new Date());

  return async function rotateMailboxKey(job: Job<RotationJobData>): Promise<RotationResult> {
    const parsed = rotationJobDataSchema.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(`rotation job ${job.id} has invalid data: ${describeJobDataProblems(parsed.error)}`);
    }
    const run = new RotationRun(job, parsed.data, deps, now);
    return run.execute();
  };
}

/**
 * For a rotation job that BullMQ failed without running our code to the end — its workers kept
 * dying until it stalled more often than allowed. Emits the final event and revokes the key the
 * job recorded, unless that key is current, so no live key is left unstored.
 */
export function createAbandonedRotationHandler(deps: RotateMailboxKeyDeps) {
  const now = deps.now ?? (() => new Date());
  return async function onAbandonedRotation(job: Job<RotationJobData>, reason: string): Promise<void> {
    const parsed = rotationJobDataSchema.safeParse(job.data);
    if (!parsed.success) return;
    await new RotationRun(job, parsed.data, deps, now).abandon(reason);
  };
}

class RotationRun {
  private step: RotationStep = 'look';
  private readonly log: Logger;
  private readonly startedAt = Date.now();
  private readonly requestIds: RotationResult['requestIds'] = {};
  /** Set when this attempt sent a mint whose outcome it could not learn (timeout, dropped connection). */
  private mintOutcomeUnknown = false;

  constructor(
    private readonly job: Job<RotationJobData>,
    private data: RotationJobData,
    private readonly deps: RotateMailboxKeyDeps,
    private readonly now: () => Date,
  ) {
    this.log = deps.logger.child({
      jobId: job.id,
      mailboxId: data.mailboxId,
      attempt: job.attemptsMade + 1,
      idempotencyKey: data.idempotencyKey,
      reason: data.reason,
    });
  }

  async execute(): Promise<RotationResult> {
    try {
      const result = await this.rotate();
      this.step = 'done';
      const durationMs = Date.now() - this.startedAt;
      this.log.info(
        {
          step: 'done',
          outcome: result.outcome,
          newKeyId: result.newKeyId,
          previousKeyId: result.previousKeyId,
          secretVersionId: result.secretVersionId,
          sendmuxRequestIds: result.requestIds,
          durationMs,
          note: result.note,
        },
        `rotation ${result.outcome}`,
      );
      this.emit({
        outcome: result.outcome,
        durationMs,
        newKeyId: result.newKeyId,
        previousKeyId: result.previousKeyId,
        secretVersionId: result.secretVersionId,
        requestIds: result.requestIds,
        message: result.note,
      });
      return result;
    } catch (err) {
      throw await this.handleFailure(err);
    }
  }

  private emit(fields: Pick<RotationAttemptEvent, 'outcome' | 'durationMs'> & Partial<RotationAttemptEvent>): void {
    this.deps.events?.record({
      kind: 'rotation',
      at: this.now().toISOString(),
      jobId: String(this.job.id),
      mailboxId: this.data.mailboxId,
      reason: this.data.reason,
      slot: this.data.slot,
      requestedBy: this.data.requestedBy,
      attempt: this.job.attemptsMade + 1,
      step: this.step,
      newKeyId: this.data.mintedKeyId,
      ...fields,
    });
  }

  private async enter(step: RotationStep): Promise<void> {
    this.step = step;
    this.deps.onStep?.(this.job, step);
    await this.job.updateProgress({ step, at: this.now().toISOString() });
  }

  private async rotate(): Promise<RotationResult> {
    const { mailboxId, secretName, clientRequestToken } = this.data;

    // Step 0: look. Secrets Manager knows whether this job's version was already stored.
    const look = await this.lookAtSecret();
    if (look.ourStages) {
      if (look.ourStages.includes(AWSCURRENT)) return this.finishAlreadyPromoted(look);
      if (look.ourStages.includes(AWSPENDING)) {
        const stored = await this.deps.secrets.getSecretVersion(secretName, { versionId: clientRequestToken });
        if (!stored) throw new RotationAbortedError(`secret ${secretName} lost version ${clientRequestToken} mid-rotation`);
        const secret = parseStoredMailboxSecret(secretName, clientRequestToken, stored.secretString);
        this.log.info({ step: 'look', keyId: secret.key_id }, 'resuming: new key already staged as AWSPENDING');
        const previousKeyId = await this.keyIdOfVersion(look.currentVersionId);
        const staged = { keyId: secret.key_id, secret: secret.api_key };
        await this.verify(staged);
        return this.promoteAndRetire(look, staged, previousKeyId);
      }
      // Our version exists but lost its labels: a later rotation superseded it. Nothing to do.
      return {
        outcome: 'already-done',
        mailboxId,
        previousKeyId: null,
        secretArn: look.arn,
        secretVersionId: clientRequestToken,
        revocation: { skipped: 'not-needed' },
        note: `this slot's version is already stored with stages [${look.ourStages.join(', ')}]; a later rotation superseded it`,
        requestIds: this.requestIds,
      };
    }

    const current = look.currentVersionId
      ? await this.deps.secrets.getSecretVersion(secretName, { versionId: look.currentVersionId })
      : null;
    const currentSecret = current ? parseStoredMailboxSecret(secretName, current.versionId, current.secretString) : null;

    if (look.pendingVersionId && look.pendingVersionId !== clientRequestToken) {
      await this.clearStalePending(look.pendingVersionId, currentSecret?.key_id ?? null);
    }

    const tooSoon = this.tooSoonSince(current?.createdDate);
    if (tooSoon) {
      return {
        outcome: 'skipped',
        mailboxId,
        previousKeyId: currentSecret?.key_id ?? null,
        secretArn: look.arn,
        secretVersionId: current?.versionId,
        revocation: { skipped: 'not-needed' },
        note: tooSoon,
        requestIds: this.requestIds,
      };
    }

    // Step 1: mint (replayed verbatim by Sendmux for the same Idempotency-Key within 24 h).
    const minted = await this.mint(currentSecret?.key_id ?? null);
    const newKey = { keyId: minted.data.keyId, secret: minted.data.secret };

    // Secrets Manager gives the first version of a secret AWSCURRENT whatever stage is asked
    // for, so a mailbox without a current key is verified BEFORE staging: what becomes current
    // is then always a key proven to work. (With a current key, staging first keeps the
    // AWS order: nothing consumes AWSPENDING.)
    const firstKey = !look.currentVersionId;
    if (firstKey) await this.verify(newKey);

    // Step 2: stage as AWSPENDING.
    await this.enter('stage');
    if (!look.exists) {
      const created = await this.deps.secrets.createSecretIfMissing(secretName, {
        kmsKeyId: this.deps.settings.kmsKeyId,
        tags: this.deps.settings.tags,
        description: `Sendmux mailbox key for ${mailboxId}, rotated by the rotator`,
      });
      look.arn = created.arn;
      this.log.info({ step: 'stage', secretArn: created.arn, created: created.created }, 'secret created');
    }
    const secretString = buildStoredMailboxSecret({
      mailboxId,
      minted: minted.data,
      rotatedAt: this.data.mintedAt ?? this.now().toISOString(),
      idempotencyKey: this.data.idempotencyKey,
      sendmuxRequestId: minted.requestId,
    });
    const put = await this.putOurVersion(secretString, newKey.keyId);
    look.arn = put.arn;
    this.log.info({ step: 'stage', secretVersionId: put.versionId, stages: put.versionStages }, 'new key staged as AWSPENDING');

    if (!firstKey) await this.verify(newKey);
    return this.promoteAndRetire(look, newKey, currentSecret?.key_id ?? null);
  }

  private async lookAtSecret(): Promise<SecretLook> {
    await this.enter('look');
    const description = await this.deps.secrets.describeSecret(this.data.secretName);
    if (!description) return { exists: false, ourStages: null };
    const look: SecretLook = {
      exists: true,
      arn: description.arn,
      ourStages: description.versionIdsToStages[this.data.clientRequestToken] ?? null,
    };
    for (const [versionId, stages] of Object.entries(description.versionIdsToStages)) {
      if (stages.includes(AWSCURRENT)) look.currentVersionId = versionId;
      if (stages.includes(AWSPENDING)) look.pendingVersionId = versionId;
      if (stages.includes(AWSPREVIOUS)) look.previousVersionId = versionId;
    }
    return look;
  }

  private async keyIdOfVersion(versionId: string | undefined): Promise<string | null> {
    if (!versionId) return null;
    const version = await this.deps.secrets.getSecretVersion(this.data.secretName, { versionId });
    return version ? parseStoredMailboxSecret(this.data.secretName, versionId, version.secretString).key_id : null;
  }

  private tooSoonSince(currentCreated: Date | undefined): string | null {
    if (this.data.force || this.data.mintedKeyId || !currentCreated) return null;
    const ageMs = this.now().getTime() - currentCreated.getTime();
    const minMs = this.deps.settings.minRotationIntervalMs;
    if (ageMs >= minMs) return null;
    return (
      `mailbox ${this.data.mailboxId} was rotated ${Math.round(ageMs / 1000)}s ago, within minRotationInterval ` +
      `(${Math.round(minMs / 1000)}s); nothing minted — use --force (or "force": true) to rotate anyway`
    );
  }

  /**
   * An AWSPENDING left by an abandoned rotation (another token) must not block this one: its key
   * is revoked unless it is the current one, and the label cleared.
   */
  private async clearStalePending(pendingVersionId: string, currentKeyId: string | null): Promise<void> {
    await this.enter('clear-stale-pending');
    const { secretName } = this.data;
    const pending = await this.deps.secrets.getSecretVersion(secretName, { versionId: pendingVersionId });
    if (pending) {
      const stale = parseStoredMailboxSecret(secretName, pendingVersionId, pending.secretString);
      if (stale.key_id !== currentKeyId) {
        const revoked = await this.revokeKey(stale.key_id);
        this.requestIds.stalePendingRevoke = revoked;
        this.log.warn(
          { step: 'clear-stale-pending', staleVersionId: pendingVersionId, keyId: stale.key_id, sendmuxRequestId: revoked },
          'revoked the key of a stale AWSPENDING version left by an abandoned rotation',
        );
      }
    }
    await this.moveStageOnce({ stage: AWSPENDING, removeFromVersionId: pendingVersionId });
    this.log.info({ step: 'clear-stale-pending', staleVersionId: pendingVersionId }, 'stale AWSPENDING label cleared');
  }

  /**
   * PutSecretValue under this job's token. If another run of the same job stored the same key
   * first (its document differs only in rotated_at), AWS answers ResourceExistsException: that
   * version is ours, so carry on with it.
   */
  private async putOurVersion(secretString: string, keyId: string): Promise<{ arn: string; versionId: string; versionStages: string[] }> {
    const { secretName, clientRequestToken } = this.data;
    try {
      return await this.deps.secrets.putSecretVersion(secretName, { clientRequestToken, secretString, versionStages: [AWSPENDING] });
    } catch (err) {
      if (!(err instanceof SecretStoreError && err.awsErrorName === 'ResourceExistsException')) throw err;
      const existing = await this.deps.secrets.getSecretVersion(secretName, { versionId: clientRequestToken });
      if (!existing || parseStoredMailboxSecret(secretName, clientRequestToken, existing.secretString).key_id !== keyId) throw err;
      this.log.info({ step: 'stage', secretVersionId: clientRequestToken }, 'this job’s version was already stored by another run of it; continuing');
      return { arn: existing.arn, versionId: existing.versionId, versionStages: existing.versionStages };
    }
  }

  /**
   * UpdateSecretVersionStage, treating "the label is already where this step puts it" as done.
   * Two runs of one job can overlap (a worker whose lock expired while Redis was unreachable keeps
   * going while another takes the job over); the second one's move then names a version the label
   * has already left, and AWS answers InvalidParameterException.
   */
  private async moveStageOnce(move: { stage: string; moveToVersionId?: string; removeFromVersionId?: string }): Promise<void> {
    const { secretName } = this.data;
    try {
      await this.deps.secrets.moveStage(secretName, move);
    } catch (err) {
      if (!(err instanceof SecretStoreError && err.awsErrorName === 'InvalidParameterException')) throw err;
      const description = await this.deps.secrets.describeSecret(secretName);
      const stagesOf = (versionId: string | undefined) => (versionId ? description?.versionIdsToStages[versionId] ?? [] : []);
      const alreadyDone = move.moveToVersionId
        ? stagesOf(move.moveToVersionId).includes(move.stage)
        : !stagesOf(move.removeFromVersionId).includes(move.stage);
      if (!alreadyDone) throw err;
      this.log.info({ step: this.step, stage: move.stage }, 'staging label already in place (another run of this job got there first)');
    }
  }

  /** Revokes a key, treating "already gone" (404) as done. Returns the Sendmux request id. */
  private async revokeKey(keyId: string): Promise<string | undefined> {
    try {
      const res = await this.deps.sendmux.revokeMailboxKey(this.data.mailboxId, keyId);
      return res.requestId;
    } catch (err) {
      if (isSendmuxError(err) && err.status === 404) return err.requestId;
      throw err;
    }
  }

  private async mint(previousKeyId: string | null): Promise<SendmuxResult<MintedMailboxKey>> {
    await this.enter('mint');
    let minted: SendmuxResult<MintedMailboxKey>;
    try {
      minted = await this.mintOnce();
    } catch (err) {
      if (!(isSendmuxError(err) && err.code === 'limit_exceeded' && this.deps.settings.onLimitExceeded === 'revoke-previous')) {
        throw err;
      }
      await this.freeCredentialSlot(previousKeyId, err.requestId);
      minted = await this.mintIntoFreedSlot();
    }
    const keyId = minted.data.keyId;
    this.requestIds.mint = minted.requestId;
    this.log.info(
      { step: 'mint', keyId, sendmuxRequestId: minted.requestId, status: minted.status, shape: minted.data.shape, appName: this.data.appName },
      'new key minted',
    );

    const recorded = this.data.mintedKeyId;
    if (recorded && recorded !== keyId) {
      // The replay came back with another key: the 24 h idempotency window expired since the
      // first mint. The recorded key was never stored (step 0 found no version), so revoke it.
      const revoked = await this.revokeKey(recorded);
      this.requestIds.orphanRevoke = revoked;
      this.log.warn(
        { step: 'mint', orphanKeyId: recorded, keyId, sendmuxRequestId: revoked },
        'idempotency window had expired: revoked the orphaned key minted by an earlier attempt',
      );
    }
    if (recorded !== keyId) {
      // Recorded before anything else can fail, so a later attempt or an operator can find the key.
      this.data = { ...this.data, mintedKeyId: keyId, mintedAt: this.now().toISOString(), mintRequestId: minted.requestId };
      await this.job.updateData(this.data);
    }
    return minted;
  }

  private async mintOnce(): Promise<SendmuxResult<MintedMailboxKey>> {
    try {
      const result = await this.deps.sendmux.mintMailboxKey(this.data.mailboxId, {
        appName: this.data.appName,
        idempotencyKey: this.data.idempotencyKey,
      });
      this.mintOutcomeUnknown = false;
      return result;
    } catch (err) {
      // A timeout, dropped connection, 5xx or broken 2xx may have minted server-side.
      this.mintOutcomeUnknown = isSendmuxError(err) && (err.status === null || err.status >= 500 || err.status < 300);
      throw err;
    }
  }

  /**
   * The mint right after the policy revoked the AWSPREVIOUS key. At the team limit a concurrent
   * mint (another mailbox's rotation, or any other client) may take the freed slot first; that
   * calls for another attempt (other rotations free slots too), not a permanent failure.
   */
  private async mintIntoFreedSlot(): Promise<SendmuxResult<MintedMailboxKey>> {
    try {
      return await this.mintOnce();
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
  private async freeCredentialSlot(currentKeyId: string | null, limitRequestId: string | undefined): Promise<void> {
    const look = await this.lookAtSecret();
    await this.enter('mint');
    const previousKeyId = await this.keyIdOfVersion(look.previousVersionId);
    if (!previousKeyId || previousKeyId === currentKeyId) {
      throw new RotationAbortedError(
        `mailbox ${this.data.mailboxId} has reached the team's credential limit (409 limit_exceeded, request ` +
          `${limitRequestId ?? '?'}) and has no AWSPREVIOUS key the rotator may revoke; revoke unused keys in Sendmux`,
      );
    }
    const requestId = await this.revokeKey(previousKeyId);
    this.log.warn(
      { step: 'mint', keyId: previousKeyId, sendmuxRequestId: requestId },
      'credential limit reached: revoked the AWSPREVIOUS key to free a slot (rotation.onLimitExceeded: revoke-previous)',
    );
  }

  /** Step 3: the new key must open this mailbox (GET /mailbox/me with the new key). */
  private async verify(newKey: { keyId: string; secret: string }): Promise<void> {
    const { mailboxId } = this.data;
    await this.enter('verify');
    const me = await this.deps.sendmux.getMailboxMe(newKey.secret);
    this.requestIds.verify = me.requestId;
    if (me.data.id !== mailboxId) {
      throw new RotationAbortedError(
        `GET /mailbox/me with the new key ${newKey.keyId} answered for mailbox ${me.data.id}, not ${mailboxId} ` +
          `(request ${me.requestId ?? '?'}); refusing to promote it`,
      );
    }
    this.log.info({ step: 'verify', keyId: newKey.keyId, sendmuxRequestId: me.requestId, status: me.status }, 'new key verified');
  }

  private async promoteAndRetire(
    look: SecretLook,
    newKey: { keyId: string; secret: string },
    previousKeyId: string | null,
  ): Promise<RotationResult> {
    const { mailboxId, secretName, clientRequestToken } = this.data;

    // Step 4: promote. AWSCURRENT moves to the new version; the old one becomes AWSPREVIOUS.
    await this.enter('promote');
    await this.moveStageOnce({
      stage: AWSCURRENT,
      moveToVersionId: clientRequestToken,
      removeFromVersionId: look.currentVersionId,
    });
    await this.moveStageOnce({ stage: AWSPENDING, removeFromVersionId: clientRequestToken });
    this.log.info({ step: 'promote', secretVersionId: clientRequestToken, previousVersionId: look.currentVersionId }, 'new key is AWSCURRENT');
    await this.deps.ledger.recordRotation(mailboxId, this.now().getTime(), newKey.keyId);

    const revocation = await this.retire(previousKeyId, newKey.keyId);
    return {
      outcome: 'rotated',
      mailboxId,
      newKeyId: newKey.keyId,
      previousKeyId,
      secretArn: look.arn,
      secretVersionId: clientRequestToken,
      revocation,
      requestIds: this.requestIds,
    };
  }

  /** Step 5: schedule the revocation of the previous key after the grace period. */
  private async retire(previousKeyId: string | null, newKeyId: string): Promise<RotationResult['revocation']> {
    await this.enter('retire');
    if (!previousKeyId || previousKeyId === newKeyId) {
      this.log.info({ step: 'retire' }, 'first rotation of this mailbox: there is no previous key to revoke');
      return { skipped: 'no-previous-key' };
    }
    const delayMs = this.data.revokePreviousAfterMs;
    if (delayMs === null) {
      this.log.info({ step: 'retire', previousKeyId }, 'revokePreviousAfter is "never": the previous key stays live');
      return { skipped: 'never' };
    }
    const { jobId } = await this.deps.scheduleRevocation(
      {
        mailboxId: this.data.mailboxId,
        keyId: previousKeyId,
        secretName: this.data.secretName,
        cause: 'superseded',
        rotationJobId: String(this.job.id),
        requestedAt: this.now().toISOString(),
      },
      delayMs,
    );
    const notBefore = new Date(this.now().getTime() + delayMs).toISOString();
    this.log.info({ step: 'retire', previousKeyId, revocationJobId: jobId, notBefore }, 'revocation of the previous key scheduled');
    return { jobId, notBefore };
  }

  private async finishAlreadyPromoted(look: SecretLook): Promise<RotationResult> {
    const { secretName, clientRequestToken } = this.data;
    this.log.info({ step: 'look' }, "resuming: this slot's version is already AWSCURRENT");
    if (look.ourStages?.includes(AWSPENDING)) {
      await this.moveStageOnce({ stage: AWSPENDING, removeFromVersionId: clientRequestToken });
    }
    const ours = await this.deps.secrets.getSecretVersion(secretName, { versionId: clientRequestToken });
    const newKeyId = ours ? parseStoredMailboxSecret(secretName, clientRequestToken, ours.secretString).key_id : this.data.mintedKeyId;
    const previousKeyId = await this.keyIdOfVersion(look.previousVersionId);
    if (newKeyId) await this.deps.ledger.recordRotation(this.data.mailboxId, this.now().getTime(), newKeyId);
    const revocation = newKeyId ? await this.retire(previousKeyId, newKeyId) : ({ skipped: 'not-needed' } as const);
    return {
      outcome: 'rotated',
      mailboxId: this.data.mailboxId,
      newKeyId,
      previousKeyId,
      secretArn: look.arn,
      secretVersionId: clientRequestToken,
      revocation,
      requestIds: this.requestIds,
    };
  }

  /**
   * Decides what BullMQ does with this attempt's error, and on a final failure makes sure no key
   * this job minted is left live without being stored.
   */
  private async handleFailure(err: unknown): Promise<Error> {
    const decision = classifyRotationFailure(err, this.data.mailboxId);
    const attempts = this.job.opts.attempts ?? 1;
    const final = decision.kind === 'permanent' || (decision.kind === 'retry' && this.job.attemptsMade + 1 >= attempts);
    const message = `step ${this.step}: ${decision.message}`;
    this.emit({
      outcome: decision.kind === 'rate-limited' ? 'rate-limited' : final ? 'failed' : 'retrying',
      durationMs: Date.now() - this.startedAt,
      requestIds: this.requestIds,
      message,
    });

    if (decision.kind === 'rate-limited') {
      this.log.warn({ step: this.step, retryAfterMs: decision.retryAfterMs }, `${message}; pausing the queue`);
      await this.deps.pauseQueueFor(decision.retryAfterMs);
      return Worker.RateLimitError();
    }
    this.log[final ? 'error' : 'warn'](
      { step: this.step, err: safeErrorSummary(err), final, retryAfterMs: decision.kind === 'retry' ? decision.retryAfterMs : undefined },
      final ? `rotation failed: ${message}` : `rotation attempt failed, will retry: ${message}`,
    );
    if (final) await this.compensate();
    if (decision.kind === 'permanent') return new UnrecoverableError(`mailbox ${this.data.mailboxId}: ${message}`);
    const retryable = new Error(`mailbox ${this.data.mailboxId}: ${message}`);
    if (decision.retryAfterMs !== undefined) (retryable as Error & { retryAfterMs?: number }).retryAfterMs = decision.retryAfterMs;
    return retryable;
  }

  async abandon(reason: string): Promise<void> {
    const message = `the job failed without finishing: ${reason}`;
    this.log.error({ step: this.step }, `rotation abandoned: ${message}`);
    this.emit({ outcome: 'failed', durationMs: 0, message });
    await this.compensate();
  }

  /** Revokes the key this job minted unless it reached AWSCURRENT. Best effort: logs what it could not do. */
  private async compensate(): Promise<void> {
    const { mailboxId, secretName, clientRequestToken } = this.data;
    let keyId = this.data.mintedKeyId;
    try {
      const description = await this.deps.secrets.describeSecret(secretName);
      const stages = description?.versionIdsToStages[clientRequestToken] ?? [];
      if (stages.includes(AWSCURRENT)) return;
      if (!keyId && this.mintOutcomeUnknown) {
        // The last mint may have succeeded server-side; a replay of the same request tells us which key.
        const replay = await this.mintOnce();
        keyId = replay.data.keyId;
      }
      if (!keyId) return;
      const requestId = await this.revokeKey(keyId);
      if (stages.includes(AWSPENDING)) {
        await this.deps.secrets.moveStage(secretName, { stage: AWSPENDING, removeFromVersionId: clientRequestToken });
      }
      this.log.warn(
        { step: this.step, keyId, sendmuxRequestId: requestId },
        'rotation failed for good: revoked the key it minted so no live key is left unstored or unused',
      );
    } catch (cleanupErr) {
      this.log.error(
        { step: this.step, keyId, err: safeErrorSummary(cleanupErr) },
        `could not clean up after the failed rotation of ${mailboxId}: key ${keyId ?? '(unknown)'} may still be live; ` +
          `revoke it in Sendmux if it is not the key stored as AWSCURRENT of ${secretName}`,
      );
    }
  }
}

/** Error fields safe to log: our error classes never carry secrets, but stacks of unknown errors stay out. */
function safeErrorSummary(err: unknown): Record<string, unknown> {
  if (err && typeof err === 'object' && 'toJSON' in err && typeof (err as { toJSON: unknown }).toJSON === 'function') {
    return (err as { toJSON(): Record<string, unknown> }).toJSON();
  }
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { message: String(err) };
}
