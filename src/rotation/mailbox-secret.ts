import { createHash } from 'node:crypto';
import type { SecretDescription, SecretStore } from '../aws/secret-store';
import { SecretStoreError } from '../aws/errors';
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS } from '../aws/staging-labels';
import { bearerTokenFor, bearerTokenOf, readSecretValue, type CarriedFields } from './adoption';
import type { StoredMailboxSecret } from './secret-value';

/**
 * The one owner of a mailbox's secret (docs/design.md, "Whose key it is"): it reads the secret's
 * labels and versions, moves the labels, and decides whether a key may be revoked. No other module
 * reads or moves Secrets Manager staging labels; steps, the reconciler, incident commands and the
 * scheduler ask this one (test/rotation/label-ownership.test.ts keeps it so).
 *
 * One instance is one snapshot: `MailboxSecret.read` makes one DescribeSecret, and each version is
 * read (GetSecretValue) at most once, when first asked for. The label moves made through it update
 * the snapshot, so a rotation attempt that looks, stages and promotes reads the labels once.
 */

/** The calls of SecretStore the owner makes. */
export type MailboxSecretStore = Pick<SecretStore, 'describeSecret' | 'getSecretVersion' | 'createSecretIfMissing' | 'putSecretVersion' | 'moveStage' | 'tagSecret'>;
/** The read-only part, for callers that never write (the scheduler, `plan`, the overview). */
export type MailboxSecretReader = Pick<SecretStore, 'describeSecret' | 'getSecretVersion'>;

/** The labels the rotation protocol gives meaning to (AWS Secrets Manager user guide, "Concepts: Version"). */
export type SecretStage = 'current' | 'pending' | 'previous';
const LABEL: Record<SecretStage, string> = { current: AWSCURRENT, pending: AWSPENDING, previous: AWSPREVIOUS };

/** Where one version stands: which of the protocol's labels it carries. */
export interface VersionLabels {
  current: boolean;
  pending: boolean;
  previous: boolean;
  /** Its labels as AWS lists them, for messages only (e.g. "[AWSPREVIOUS]"). */
  text: string;
}

/** A label move AWS refused because an overlapping run of the same job had made it already. */
export interface AlreadyMoved {
  stage: string;
  versionId: string;
  /** true: the label was being moved onto the version; false: off it. */
  added: boolean;
}

/** How this job's own version (its ClientRequestToken) stands in the secret. */
export type OwnVersionState = 'current' | 'pending' | 'superseded' | 'absent';

/**
 * One version's value, read by the owner. Never holds a secret except `token`, the bearer token,
 * which is kept in memory only (to prove a key dead, or to tell two unnamed keys apart) and never
 * logged, returned by an API or written anywhere.
 */
export type VersionReading =
  | { kind: 'rotator'; versionId: string; arn: string; createdDate?: Date; keyId: string; document: StoredMailboxSecret; carried: CarriedFields; tokenDigest: string }
  /** A value the rotator did not write (a plain token, the operator's JSON): the next rotation adopts it. */
  | { kind: 'foreign'; versionId: string; arn: string; createdDate?: Date; keyId: string | null; format: 'plain' | 'json'; carried: CarriedFields; tokenDigest: string | null }
  /** A rotator document of ANOTHER mailbox: nothing may be decided from it (fail closed). */
  | { kind: 'other-mailbox'; versionId: string; arn: string; createdDate?: Date; mailboxId: string };

/**
 * What makes a key revocable (docs/design.md, "A key is revoked only when it is proven ours and
 * not in use"). A key id from job data, a return value or a Redis field is only the hint that
 * made the caller ask; the basis says which proof to make.
 * - `superseded` (proof 1): AWSCURRENT is a rotator document of this mailbox (verified before it was
 *   promoted) whose chain of `supersedes` records names the key.
 * - `held-by-version` (proof 1): the named version of this mailbox's secret — this rotation's own,
 *   an abandoned AWSPENDING one whose rotation the caller proved over (`pendingRotationOver`), or
 *   AWSPREVIOUS — is a rotator document holding the key, and is not AWSCURRENT.
 * - `own-mint` (proof 2): the vendor's answer to THIS rotation's mint (its own Idempotency-Key and
 *   body, in this attempt or replayed within the 24 h window) names the key.
 * - `incident` (proof 3): an operator's incident command names it, with who asked.
 * Whatever the basis, the key AWSCURRENT holds is never revocable (compared by key id, and by
 * bearer token when AWSCURRENT does not name its key), and neither is the key of a rotation in
 * progress (AWSPENDING) unless that rotation is the caller's own or proven over.
 */
export type RevocationBasis =
  | { proof: 'superseded' }
  | { proof: 'held-by-version'; versionId: string; pendingRotationOver?: boolean }
  | { proof: 'own-mint'; token: string }
  | { proof: 'incident'; requestedBy: string; token: string | null };

export type ProofName = 'superseded' | 'held-by-version' | 'own-mint' | 'incident';

/** Why a revocation is refused, as a closed set (logs, metrics, the incident API's `reason`). */
export type RevocationRefusal =
  | 'current_key'
  | 'pending_key'
  | 'current_key_unknown'
  | 'secret_missing'
  | 'secret_deleted'
  | 'no_verified_current'
  | 'not_recorded'
  | 'other_mailbox'
  /** Only job data names the key (an expired idempotency window's orphan, or an edited job): reported, never revoked. */
  | 'unproven_orphan';

export type RevocationVerdict =
  | {
      allowed: true;
      proof: ProofName;
      /** In words, for the log line: what proved it. */
      evidence: string;
      /** For `superseded`: the version whose document records the key, and when the key may go (null: grace `never`). */
      supersededBy?: string;
      revokeNotBefore?: Date | null;
      /** For `superseded`: the version recording it is AWSCURRENT itself (the key is the AWSPREVIOUS one). */
      direct?: boolean;
      /** For `superseded`: the key is the original key of a value the rotator adopted (named by that value, not minted). */
      adopted?: boolean;
      /** The key's bearer token when a version or the mint holds it (memory only): GET /mailbox/me proves it dead. */
      token?: string;
    }
  | { allowed: false; refusal: RevocationRefusal; proof: ProofName; reason: string };

/** Versions read (newest first) when looking for a key's own token (tokenOf). */
const MAX_VERSIONS_SEARCHED = 20;

/** How many versions back the chain of `supersedes` records is followed. */
export const MAX_SUPERSESSION_CHAIN = 5;

export class MailboxSecret {
  private readonly readings = new Map<string, Promise<VersionReading | null>>();
  private readonly labelsByVersion: Map<string, string[]>;

  private constructor(
    private readonly store: MailboxSecretStore | MailboxSecretReader,
    readonly mailboxId: string,
    readonly name: string,
    private description: SecretDescription | null,
  ) {
    this.labelsByVersion = new Map(Object.entries(description?.versionIdsToStages ?? {}).map(([versionId, labels]) => [versionId, [...labels]]));
  }

  /**
   * One DescribeSecret of `secretName`, the secret of `mailboxId` as the configuration names it.
   * Throws SecretStoreError when Secrets Manager refuses or fails (AccessDenied, throttling, …).
   */
  static async read(store: MailboxSecretStore | MailboxSecretReader, mailboxId: string, secretName: string): Promise<MailboxSecret> {
    return new MailboxSecret(store, mailboxId, secretName, await store.describeSecret(secretName));
  }

  /**
   * Labels only (one DescribeSecret), for callers that know a secret by name and never read its
   * values (the scheduler's key-age check): `version()` and everything built on it throws.
   */
  static async readLabels(store: Pick<SecretStore, 'describeSecret'>, secretName: string): Promise<MailboxSecret> {
    const labelsOnly = { describeSecret: store.describeSecret.bind(store), getSecretVersion: () => Promise.reject(new Error(`MailboxSecret.readLabels(${secretName}): read the secret with MailboxSecret.read to see its values`)) };
    return new MailboxSecret(labelsOnly, '', secretName, await store.describeSecret(secretName));
  }

  get exists(): boolean {
    return this.description !== null;
  }
  get arn(): string | undefined {
    return this.description?.arn;
  }
  /** Set when the secret is scheduled for deletion: every write fails until it is restored. */
  get deletedDate(): Date | undefined {
    return this.description?.deletedDate;
  }
  get tags(): Readonly<Record<string, string>> {
    return this.description?.tags ?? {};
  }
  /** Never earlier than the last promotion (any change moves it); the reconciler measures a grace from it. */
  get lastChangedDate(): Date | undefined {
    return this.description?.lastChangedDate;
  }

  /** The version that carries `stage`'s label, or undefined. */
  holder(stage: SecretStage): string | undefined {
    const label = LABEL[stage];
    for (const [versionId, labels] of this.labelsByVersion) if (labels.includes(label)) return versionId;
    return undefined;
  }

  /** The protocol's labels on `versionId` (all false for a version without labels or unknown). */
  labelsOf(versionId: string): VersionLabels {
    const labels = this.labelsByVersion.get(versionId) ?? [];
    return { current: labels.includes(AWSCURRENT), pending: labels.includes(AWSPENDING), previous: labels.includes(AWSPREVIOUS), text: `[${labels.join(', ')}]` };
  }

  /**
   * Where this job's version stands: `current` (done), `pending` (staged, resume at verify),
   * `superseded` (it exists with other labels only: a later rotation replaced it, or a clean-up
   * unstaged it), `absent` (never stored, or no label left).
   */
  ours(clientRequestToken: string): OwnVersionState {
    const labels = this.labelsByVersion.get(clientRequestToken);
    if (!labels) return 'absent';
    if (labels.includes(AWSCURRENT)) return 'current';
    if (labels.includes(AWSPENDING)) return 'pending';
    return 'superseded';
  }

  /** The AWSCURRENT version's value, read once; null when no version is AWSCURRENT (or the secret is missing). */
  current(): Promise<VersionReading | null> {
    const versionId = this.holder('current');
    return versionId === undefined ? Promise.resolve(null) : this.version(versionId);
  }

  /**
   * The AWSPENDING version's value when it is not also AWSCURRENT (a first version carries both:
   * Secrets Manager makes every first version AWSCURRENT), else null.
   */
  pending(): Promise<VersionReading | null> {
    const versionId = this.holder('pending');
    return versionId === undefined || versionId === this.holder('current') ? Promise.resolve(null) : this.version(versionId);
  }

  /** One version's value (GetSecretValue by VersionId, once per instance); null when the version is gone. */
  version(versionId: string): Promise<VersionReading | null> {
    let reading = this.readings.get(versionId);
    if (!reading) {
      reading = this.readVersion(versionId);
      // A failed read is not remembered: the next ask tries again.
      reading.catch(() => this.readings.delete(versionId));
      this.readings.set(versionId, reading);
    }
    return reading;
  }

  /**
   * Whether `versionId` was ever AWSCURRENT: it is AWSCURRENT or AWSPREVIOUS now, or the chain of
   * `supersedes` records from AWSCURRENT (up to MAX_SUPERSESSION_CHAIN versions, read once each)
   * names it. Such a version's key is a superseded key: only the revocation job may retire it,
   * after its grace period — never the clean-up of the rotation that wrote it.
   */
  async wasPromoted(versionId: string): Promise<boolean> {
    const labels = this.labelsOf(versionId);
    if (labels.current || labels.previous) return true;
    let reading = await this.current();
    for (let depth = 0; depth < MAX_SUPERSESSION_CHAIN && reading?.kind === 'rotator'; depth++) {
      const superseded = reading.document.supersedes;
      if (!superseded) return false;
      if (superseded.version_id === versionId) return true;
      reading = await this.version(superseded.version_id);
    }
    return false;
  }

  /** The key id AWSCURRENT holds: a string, null when its value does not name one, undefined when nothing is AWSCURRENT. */
  async currentKeyId(): Promise<string | null | undefined> {
    const current = await this.current();
    if (!current) return undefined;
    return current.kind === 'other-mailbox' ? null : current.keyId;
  }

  /**
   * The bearer token of `keyId` when one of the secret's recent versions (the newest
   * MAX_VERSIONS_SEARCHED, labelled or not) names that key; null otherwise. Memory only: to prove
   * the key dead after a revocation. Needs a store with ListSecretVersionIds.
   */
  async tokenOf(keyId: string): Promise<string | null> {
    if (!this.exists) return null;
    const store = this.store as MailboxSecretReader & Partial<Pick<SecretStore, 'listVersions'>>;
    if (!store.listVersions) return null;
    const versions = (await store.listVersions(this.name))
      .sort((a, b) => (b.createdDate?.getTime() ?? 0) - (a.createdDate?.getTime() ?? 0))
      .slice(0, MAX_VERSIONS_SEARCHED);
    for (const { versionId } of versions) {
      const version = await this.store.getSecretVersion(this.name, { versionId });
      const token = version ? bearerTokenFor(version.secretString, keyId) : null;
      if (token) return token;
    }
    return null;
  }

  // --- label moves -------------------------------------------------------------------------

  /** CreateSecret without a value (with the configured KMS key and tags); harmless when it exists. */
  async create(options: { kmsKeyId?: string; tags: Record<string, string>; description: string }): Promise<{ arn: string; created: boolean }> {
    const created = await this.writer().createSecretIfMissing(this.name, options);
    if (!this.description) this.description = { arn: created.arn, name: this.name, tags: { ...options.tags }, versionIdsToStages: {} };
    return created;
  }

  /**
   * PutSecretValue under `clientRequestToken` with AWSPENDING (AWS also makes a secret's first
   * version AWSCURRENT). Repeating it with the same token and value is a no-op; the same token with
   * another value throws SecretStoreError ResourceExistsException (the caller reads the version).
   */
  async stage(input: { clientRequestToken: string; secretString: string }): Promise<{ arn: string; labels: VersionLabels }> {
    const put = await this.writer().putSecretVersion(this.name, { clientRequestToken: input.clientRequestToken, secretString: input.secretString, versionStages: [AWSPENDING] });
    this.setLabels(input.clientRequestToken, put.versionStages);
    this.readings.delete(input.clientRequestToken);
    return { arn: put.arn, labels: this.labelsOf(input.clientRequestToken) };
  }

  /**
   * The labels `versionId` carries now, read again from Secrets Manager (one DescribeSecret), for
   * a version the snapshot may not show: stored by an earlier run of the same job.
   */
  async refreshLabels(): Promise<void> {
    this.description = await this.store.describeSecret(this.name);
    this.labelsByVersion.clear();
    for (const [versionId, labels] of Object.entries(this.description?.versionIdsToStages ?? {})) this.labelsByVersion.set(versionId, [...labels]);
  }

  /**
   * Promotes `versionId`: AWSCURRENT moves to it from `fromVersionId` (AWS gives the version it
   * leaves AWSPREVIOUS), then AWSPENDING is removed from it. Each move already in place is skipped;
   * a move AWS refuses (InvalidParameterException) because an overlapping run of the same job made
   * it already is recognised as done (`onAlreadyMoved` is told); any other refusal is thrown
   * (SecretStoreError), e.g. AWSCURRENT moved away from the version this one supersedes.
   * `fromVersionId` undefined: the version AWSCURRENT sits on now (documents written before
   * `supersedes` existed).
   */
  async promote(versionId: string, fromVersionId: string | null | undefined, onAlreadyMoved?: (move: AlreadyMoved) => void): Promise<{ previousVersionId: string | null }> {
    let from: string | null = null;
    if (!this.labelsOf(versionId).current) {
      from = fromVersionId === undefined ? this.holder('current') ?? null : fromVersionId;
      await this.moveOrConfirm({ stage: AWSCURRENT, moveToVersionId: versionId, ...(from ? { removeFromVersionId: from } : {}) }, onAlreadyMoved);
      if (from) this.setLabels(from, [...(this.labelsByVersion.get(from) ?? []).filter((l) => l !== AWSCURRENT), AWSPREVIOUS]);
      for (const [other, labels] of this.labelsByVersion) if (other !== from && labels.includes(AWSPREVIOUS)) this.setLabels(other, labels.filter((l) => l !== AWSPREVIOUS));
      this.setLabels(versionId, [...(this.labelsByVersion.get(versionId) ?? []).filter((l) => l !== AWSPREVIOUS), AWSCURRENT]);
    }
    if (this.labelsOf(versionId).pending) await this.removePending(versionId, onAlreadyMoved);
    return { previousVersionId: from };
  }

  /**
   * Compensation of stage: removes AWSPENDING from `versionId` unless it became AWSCURRENT (a
   * first version carries both; what consumers read is then this version, and stays). true when removed.
   */
  async unstage(versionId: string): Promise<boolean> {
    const labels = this.labelsOf(versionId);
    if (labels.current || !labels.pending) return false;
    await this.removePending(versionId);
    return true;
  }

  /** Clears a stale AWSPENDING label (its rotation proven over by the caller); true when removed. */
  async clearStalePending(versionId: string): Promise<boolean> {
    if (!this.labelsOf(versionId).pending) return false;
    await this.writer().moveStage(this.name, { stage: AWSPENDING, removeFromVersionId: versionId });
    this.setLabels(versionId, (this.labelsByVersion.get(versionId) ?? []).filter((l) => l !== AWSPENDING));
    return true;
  }

  /** TagResource on the secret (the retired-key record, src/reconcile/retired-key-tag.ts). */
  async tag(tags: Record<string, string>): Promise<void> {
    await this.writer().tagSecret(this.name, tags);
    if (this.description) this.description = { ...this.description, tags: { ...this.description.tags, ...tags } };
  }

  // --- proofs ------------------------------------------------------------------------------

  /**
   * Decides whether `keyId` of this mailbox may be revoked on `basis` (see RevocationBasis). Never
   * revokes anything itself: the one caller that does is src/rotation/revocation.ts. Reads what it
   * needs (AWSCURRENT, AWSPENDING, the versions of a supersession chain), each once. Fails closed:
   * what cannot be told is refused, with the proof that was missing. Throws only what SecretStore
   * throws (transient AWS errors, AccessDenied).
   */
  async mayRevoke(keyId: string, basis: RevocationBasis): Promise<RevocationVerdict> {
    const refuse = (refusal: RevocationRefusal, reason: string): RevocationVerdict => ({ allowed: false, refusal, proof: basis.proof, reason });
    if (this.deletedDate && basis.proof !== 'own-mint' && basis.proof !== 'incident') {
      return refuse('secret_deleted', `secret ${this.name} is scheduled for deletion on ${this.deletedDate.toISOString()}`);
    }
    const candidate = await this.candidate(keyId, basis);
    if ('refusal' in candidate) return refuse(candidate.refusal, candidate.reason);

    const current = await this.current();
    if (current?.kind === 'other-mailbox') return refuse('other_mailbox', `AWSCURRENT of ${this.name} belongs to mailbox ${current.mailboxId}`);
    if (current) {
      if (current.keyId === keyId) return refuse('current_key', `it is the AWSCURRENT key of secret ${this.name}`);
      if (current.keyId === null) {
        const tokenDigest = candidate.token === undefined ? null : digestOf(candidate.token);
        if (current.tokenDigest === null || tokenDigest === null) {
          return refuse('current_key_unknown', `the AWSCURRENT value of ${this.name} does not name its key id, so key ${keyId} could be it`);
        }
        if (current.tokenDigest === tokenDigest) return refuse('current_key', `it is the key of the AWSCURRENT value of ${this.name} (same bearer token)`);
      }
    }
    const pendingRefusal = await this.pendingRefusal(keyId, basis);
    if (pendingRefusal) return refuse('pending_key', pendingRefusal);
    return { allowed: true, ...candidate.verdict, ...(candidate.token === undefined ? {} : { token: candidate.token }) };
  }

  /** What the basis itself proves (before the AWSCURRENT / AWSPENDING checks every basis shares). */
  private async candidate(keyId: string, basis: RevocationBasis): Promise<
    | { verdict: Omit<Extract<RevocationVerdict, { allowed: true }>, 'allowed' | 'token'>; token?: string }
    | { refusal: RevocationRefusal; reason: string }
  > {
    switch (basis.proof) {
      case 'own-mint':
        return { verdict: { proof: 'own-mint', evidence: "the vendor's answer to this rotation's own mint names it" }, token: basis.token };
      case 'incident':
        return { verdict: { proof: 'incident', evidence: `an incident command by ${basis.requestedBy} names it` }, ...(basis.token ? { token: basis.token } : {}) };
      case 'held-by-version': {
        if (!this.exists) return { refusal: 'secret_missing', reason: `secret ${this.name} does not exist` };
        const version = await this.version(basis.versionId);
        if (!version) return { refusal: 'not_recorded', reason: `version ${basis.versionId} of ${this.name} is gone` };
        if (version.kind !== 'rotator') return { refusal: version.kind === 'other-mailbox' ? 'other_mailbox' : 'not_recorded', reason: `version ${basis.versionId} of ${this.name} is not a rotator document of mailbox ${this.mailboxId}` };
        if (version.keyId !== keyId) return { refusal: 'not_recorded', reason: `version ${basis.versionId} of ${this.name} holds key ${version.keyId}, not ${keyId}` };
        if (this.labelsOf(basis.versionId).current) return { refusal: 'current_key', reason: `version ${basis.versionId} holding it is AWSCURRENT of ${this.name}` };
        return { verdict: { proof: 'held-by-version', evidence: `version ${basis.versionId} of ${this.name} holds it and is not AWSCURRENT` }, token: version.document.api_key };
      }
      case 'superseded':
        return this.supersessionProof(keyId);
    }
  }

  /**
   * Proof 1 along the chain: AWSCURRENT is this mailbox's rotator document (verified before it was
   * promoted), and its `supersedes` — or, following `supersedes.version_id`, an older version's —
   * names the key. An adopted value's key is named by the version that adopted it. Calls: the
   * AWSCURRENT version (read anyway) and one GetSecretValue per older version walked.
   */
  private async supersessionProof(keyId: string): Promise<
    | { verdict: Omit<Extract<RevocationVerdict, { allowed: true }>, 'allowed' | 'token'> }
    | { refusal: RevocationRefusal; reason: string }
  > {
    if (!this.exists) return { refusal: 'secret_missing', reason: `secret ${this.name} does not exist` };
    const current = await this.current();
    if (!current) return { refusal: 'no_verified_current', reason: `secret ${this.name} has no AWSCURRENT version` };
    if (current.kind === 'other-mailbox') return { refusal: 'other_mailbox', reason: `AWSCURRENT of ${this.name} belongs to mailbox ${current.mailboxId}` };
    if (current.kind !== 'rotator') return { refusal: 'no_verified_current', reason: `AWSCURRENT of ${this.name} is not a rotator document (a value the rotator has not adopted yet)` };
    if (current.keyId === keyId) return { refusal: 'current_key', reason: `it is the AWSCURRENT key of secret ${this.name}` };
    let document = current.document;
    let versionId = current.versionId;
    for (let depth = 0; depth < MAX_SUPERSESSION_CHAIN; depth++) {
      const superseded = document.supersedes;
      if (!superseded) break;
      if (superseded.key_id === keyId) {
        const notBefore = document.revoke_not_before;
        return {
          verdict: {
            proof: 'superseded',
            evidence: `version ${versionId} of ${this.name} records it as the key it superseded`,
            supersededBy: versionId,
            revokeNotBefore: notBefore ? new Date(notBefore) : null,
            direct: depth === 0,
            adopted: document.adopted?.version_id === superseded.version_id,
          },
        };
      }
      // The chain ends at an adopted value: it is not the rotator's and records nothing further.
      if (document.adopted?.version_id === superseded.version_id) break;
      const older = await this.version(superseded.version_id);
      if (!older) break;
      if (older.kind !== 'rotator') {
        return { refusal: older.kind === 'other-mailbox' ? 'other_mailbox' : 'not_recorded', reason: `version ${older.versionId} of ${this.name} is not a rotator document of mailbox ${this.mailboxId}` };
      }
      versionId = older.versionId;
      document = older.document;
    }
    return { refusal: 'not_recorded', reason: `no version of secret ${this.name} records key ${keyId} as the key it superseded` };
  }

  /** Why the AWSPENDING key may not go on this basis, or null. */
  private async pendingRefusal(keyId: string, basis: RevocationBasis): Promise<string | null> {
    const pendingVersionId = this.holder('pending');
    if (pendingVersionId === undefined || pendingVersionId === this.holder('current')) return null;
    if (basis.proof === 'held-by-version' && basis.versionId === pendingVersionId) {
      return basis.pendingRotationOver ? null : `it is the AWSPENDING key of secret ${this.name} (a rotation in progress)`;
    }
    const pending = await this.pending();
    if (pending?.kind === 'rotator' && pending.keyId === keyId && basis.proof !== 'own-mint') {
      return `it is the AWSPENDING key of secret ${this.name} (a rotation in progress owns it; it revokes the key itself if it fails)`;
    }
    return null;
  }

  private async readVersion(versionId: string): Promise<VersionReading | null> {
    const version = await this.store.getSecretVersion(this.name, { versionId });
    if (!version) return null;
    const base = { versionId, arn: version.arn, ...(version.createdDate ? { createdDate: version.createdDate } : {}) };
    const reading = readSecretValue(version.secretString);
    if (reading.kind === 'rotator') {
      if (reading.document.mailbox_id !== this.mailboxId) return { kind: 'other-mailbox', ...base, mailboxId: reading.document.mailbox_id };
      return { kind: 'rotator', ...base, keyId: reading.document.key_id, document: reading.document, carried: reading.carried, tokenDigest: digestOf(reading.document.api_key) };
    }
    const token = bearerTokenOf(version.secretString);
    return { kind: 'foreign', ...base, keyId: reading.keyId, format: reading.format, carried: reading.carried, tokenDigest: token ? digestOf(token) : null };
  }

  private async moveOrConfirm(move: { stage: string; moveToVersionId?: string; removeFromVersionId?: string }, onAlreadyMoved?: (move: AlreadyMoved) => void): Promise<void> {
    try {
      await this.writer().moveStage(this.name, move);
    } catch (err) {
      if (!(err instanceof SecretStoreError && err.awsErrorName === 'InvalidParameterException')) throw err;
      const described = await this.store.describeSecret(this.name);
      const labelsOf = (versionId: string | undefined) => (versionId ? described?.versionIdsToStages[versionId] ?? [] : []);
      const inPlace = move.moveToVersionId ? labelsOf(move.moveToVersionId).includes(move.stage) : !labelsOf(move.removeFromVersionId).includes(move.stage);
      if (!inPlace) throw err;
      onAlreadyMoved?.({ stage: move.stage, versionId: (move.moveToVersionId ?? move.removeFromVersionId)!, added: move.moveToVersionId !== undefined });
    }
  }

  private async removePending(versionId: string, onAlreadyMoved?: (move: AlreadyMoved) => void): Promise<void> {
    await this.moveOrConfirm({ stage: AWSPENDING, removeFromVersionId: versionId }, onAlreadyMoved);
    this.setLabels(versionId, (this.labelsByVersion.get(versionId) ?? []).filter((l) => l !== AWSPENDING));
  }

  private setLabels(versionId: string, labels: string[]): void {
    this.labelsByVersion.set(versionId, [...new Set(labels)]);
  }

  /** Moves are made only by callers that read the secret with a writing store (the type says which). */
  private writer(): MailboxSecretStore {
    return this.store as MailboxSecretStore;
  }
}

/** A bearer token's SHA-256, to tell two values' keys apart without keeping either token. */
function digestOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
