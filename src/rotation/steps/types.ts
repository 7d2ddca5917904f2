import type { Logger } from 'pino';
import type { MailboxSettings } from '../../config/mailbox-settings';
import type { MintedMailboxKey } from '../../sendmux/types';
import type { RotationJobData, RotationResult, RotationStep } from '../job-data';
import type { StoredMailboxSecret } from '../secret-value';
import type { CarriedFields } from '../adoption';
import type { MailboxSecret, VersionLabels } from '../mailbox-secret';
import type { StepLine } from '../step-line';

/**
 * One attempt of one rotation job: its fixed identity (derived from mailbox + slot + config, never
 * taken from job data) and what the attempt learns as it goes. Every step operation reads and
 * updates it; it never holds a secret beyond the attempt's memory.
 */
export interface RotationRun {
  jobId: string;
  attempt: number;
  mailboxId: string;
  slot: string;
  force: boolean;
  revokeNow: boolean;
  settings: MailboxSettings;
  idempotencyKey: string;
  clientRequestToken: string;
  appName: string;
  /**
   * What earlier attempts recorded in the job (the minted key's public id and when). Hints only
   * (job data is a request, not an authority): they make the attempt replay its own mint or
   * report a possible orphan, never revoke a key by themselves.
   */
  recorded: Pick<RotationJobData, 'mintedKeyId' | 'mintedAt' | 'mintRequestId' | 'orphanKeyId'>;
  /** The step in progress, for failure messages and events. */
  step: RotationStep;
  /** Set when a mint was sent whose outcome this attempt could not learn (timeout, dropped connection, 5xx). */
  mintOutcomeUnknown: boolean;
  /** The key this attempt holds in memory (minted, or read back from its AWSPENDING version). */
  key?: NewKey;
  /** What the clean-up learned of this attempt's key: proven dead, revoked (200), still live, or not revocable (refused). */
  keyState?: 'dead' | 'revoked' | 'live' | 'refused';
  /** The mailbox GET /mailbox/me says the key opens, when that is not this mailbox. */
  keyOpensMailbox?: string;
  requestIds: RotationResult['requestIds'];
  /** The mailbox's secret as this attempt read it (src/rotation/mailbox-secret.ts): set by look. */
  secret?: MailboxSecret;
  /** The log of the step in progress: its lines name that step's Secrets Manager calls (src/rotation/step-line.ts). */
  line: StepLine;
  log: Logger;
}

/** A minted key as the attempt holds it: public id, the secret (memory only), and the mint's metadata. */
export interface NewKey {
  keyId: string;
  secret: string;
  minted?: MintedMailboxKey;
  requestId?: string;
}

/** The AWSCURRENT version when this rotation looked. Never holds its secret. */
export interface CurrentVersion {
  versionId: string;
  /** The key's public id; null for an adopted value that does not name it. */
  keyId: string | null;
  createdDate?: Date;
  /** Set when the value is not a rotator document: this rotation adopts it (src/rotation/adoption.ts). */
  adopted?: { format: 'plain' | 'json' };
  /** The operator's own top-level fields, kept in the new version. */
  carried?: CarriedFields;
}

/** This job's version as stored in Secrets Manager. */
export interface StagedKey {
  key: NewKey;
  versionId: string;
  arn?: string;
  document: StoredMailboxSecret;
  /** Its labels when last seen (the owner's answer, src/rotation/mailbox-secret.ts). */
  labels: Pick<VersionLabels, 'current' | 'pending'>;
}

/**
 * Step 0's answer. `promoted`/`staged`: this job's version exists and carries that label (resume);
 * `superseded`: it exists without labels (a later rotation replaced it); `fresh`: not stored yet.
 */
export type SecretLook =
  | { kind: 'promoted'; staged: StagedKey }
  | { kind: 'staged'; staged: StagedKey }
  | { kind: 'superseded'; arn: string; labels: string }
  | FreshLook;

export interface FreshLook {
  kind: 'fresh';
  secretExists: boolean;
  arn?: string;
  current: CurrentVersion | null;
  previousVersionId?: string;
}

/**
 * The operations the rotation protocol (jobs/rotate-mailbox-key.ts) is made of, one file each
 * under src/rotation/steps/. Each is idempotent and owns its "already done" check, so any attempt
 * may re-run any of them. Failures are thrown (SendmuxError, SecretStoreError,
 * RotationAbortedError, RetryLaterError) and mapped to BullMQ by jobs/job-failure.ts.
 */
export interface RotationStepOperations {
  /** Step 0: what Secrets Manager holds for this job, after making sure no other rotation of the mailbox is in progress. */
  look(run: RotationRun): Promise<SecretLook>;
  /** Step 1: mint with the job's Idempotency-Key; records the key id in the job before anything else. */
  mint(run: RotationRun, look: FreshLook): Promise<NewKey>;
  /** Step 2: store the key as AWSPENDING under the job's ClientRequestToken (creating the secret if missing). */
  stage(run: RotationRun, key: NewKey, look: FreshLook): Promise<StagedKey>;
  /** Step 3: GET /mailbox/me with the new key must answer for this mailbox. */
  verify(run: RotationRun, key: NewKey): Promise<void>;
  /** Step 4: AWSCURRENT to this job's version, AWSPENDING removed, ledger updated. */
  promote(run: RotationRun, staged: StagedKey): Promise<void>;
  /** Step 5: the delayed revocation job of the key this version superseded. */
  scheduleRetire(run: RotationRun, staged: StagedKey): Promise<RotationResult['revocation']>;
  /** Compensation of mint: revoke the key this job minted (where it lives), when proven its own and not AWSCURRENT. */
  discardMintedKey(run: RotationRun): Promise<void>;
  /** Compensation of stage: take AWSPENDING off this job's version unless it is AWSCURRENT. */
  unstage(run: RotationRun): Promise<void>;
}
