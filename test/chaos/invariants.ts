import { resolveMailboxSettings } from '../../src/config/mailbox-settings';
import type { KeyRecord, MintLogEntry, RevokeLogEntry } from '../../standins/sendmux';
import type { StandInSecret } from '../../standins/secrets-manager';
import type { RotationQueue } from '../../src/queue/rotation-queue';
import { REVOKE_JOB_NAME, ROTATE_JOB_NAME, type RotationResult } from '../../src/rotation/job-data';
import { renderSecretName } from '../../src/config';
import { DEFAULT_SANDBOX_MANAGEMENT_KEY } from '../../standins/sendmux';
import type { TestBed } from '../support/test-bed';
import { dumpKeysWithPrefix } from '../support/redis';
import { LeakScanner, type Leak, type TextToScan } from './leak-scan';

/**
 * The invariants of docs/design.md, checked from the outside after a chaos batch: the sandbox's record
 * of keys minted and revoked, Secrets Manager's versions and labels, the jobs BullMQ kept in
 * Redis, a dump of every Redis key under the run's prefix, and every log line captured.
 * Nothing here asks the rotator what it thinks happened.
 */

const STEP = /\bstep (look|clear-stale-pending|mint|stage|verify|promote|retire)\b/;
/** A Sendmux status and code, an AWS error name, or the rotator's own refusal. */
const CODE = /(\b[1-5]\d\d [a-z_]+\b|\bno response [a-z_]+\b|\b[A-Z][A-Za-z]+(Exception|Error|Failure)\b|answered for mailbox|credential limit)/;
const TIME_TOLERANCE_MS = 50;
const FINISHED_STATES = new Set(['completed', 'failed']);
const JOB_STATES = ['completed', 'failed', 'active', 'waiting', 'delayed', 'prioritized', 'paused', 'waiting-children'] as const;

/** One BullMQ job as Redis holds it. */
export interface JobView {
  id: string;
  name: string;
  state: string;
  mailboxId: string;
  idempotencyKey?: string;
  mintedKeyId?: string;
  revokePreviousAfterMs?: number | null;
  attemptsMade: number;
  failedReason?: string;
  result?: unknown;
}

/** Everything the checker looks at, gathered without asking the rotator. */
export interface OutsideView {
  mailboxIds: string[];
  secretNameOf(mailboxId: string): string;
  keys: KeyRecord[];
  mintLog: MintLogEntry[];
  revokeLog: RevokeLogEntry[];
  secrets: StandInSecret[];
  jobs: JobView[];
  /** Where plaintext must never appear: the Redis dump, in-process logs, each process's output. */
  texts: TextToScan[];
  managementKeys: string[];
  /**
   * Keys the rotator said it could not prove its own and so left live (log lines with
   * `revocation: 'refused'`): an expired idempotency window's orphan, which only the job data names.
   */
  reportedUnprovenKeys: string[];
}

export interface InvariantOptions {
  /**
   * The scenario moved the sandbox clock past the 24 h idempotency window between a mint and its
   * retry: a second mint for one Idempotency-Key is then expected, provided the orphan was revoked
   * or reported as a key nothing proves the rotator's (docs/design.md: never revoked on job data's word).
   */
  idempotencyWindowExpired?: boolean;
  /** Most live keys a mailbox may hold (current + previous within grace). Default 2. */
  maxLiveKeysPerMailbox?: number;
}

export interface InvariantFigures {
  mailboxesWithWorkingCurrentKey: number;
  /** Mailboxes left without an AWSCURRENT secret that opens them. */
  secretsLost: number;
  plaintextLeaks: number;
  /** Mints beyond the first for one Idempotency-Key (one job), not excused by an expired window. */
  duplicateMints: number;
  /** Re-mints after the idempotency window expired, whose orphan was revoked. */
  orphansRevokedAfterWindowExpiry: number;
  /** Re-mints after the idempotency window expired, whose orphan was reported to the operator and left live (unproven). */
  orphansReportedAfterWindowExpiry: number;
  /** Live keys at Sendmux that no Secrets Manager version holds. */
  orphanedLiveKeys: number;
  mailboxesOverLiveKeyLimit: number;
  /** Superseded keys revoked before their grace period ended. */
  earlyRevocations: number;
  failedJobsWithoutActionableReason: number;
  unfinishedJobs: number;
}

export interface InvariantReport {
  /** Human-readable, one per broken invariant instance; never contains a secret. */
  violations: string[];
  figures: InvariantFigures;
  leaks: Leak[];
}

/**
 * The grace period the processor applies to a job: the mailbox's configured one (the settings
 * resolver), lengthened by one the job requested (jobs/rotate-mailbox-key.ts, longerGrace).
 */
function graceApplied(bed: TestBed, mailboxId: string, requested: number | null | undefined): { revokePreviousAfterMs?: number | null } {
  const resolution = resolveMailboxSettings(bed.settings.file, mailboxId);
  const configured = resolution.covered ? resolution.settings.revokePreviousAfterMs : undefined;
  if (requested === undefined) return configured === undefined ? {} : { revokePreviousAfterMs: configured };
  if (configured === undefined) return { revokePreviousAfterMs: requested };
  return { revokePreviousAfterMs: configured === null || requested === null ? null : Math.max(configured, requested) };
}

export async function observeFromOutside(bed: TestBed, queue: RotationQueue, processOutput: TextToScan[] = []): Promise<OutsideView> {
  const views: JobView[] = [];
  const seen = new Set<string>();
  for (const state of JOB_STATES) {
    for (const job of await queue.queue.getJobs([state])) {
      // A job moving between states while we read may show up twice; the first sighting wins.
      if (!job?.id || seen.has(job.id)) continue;
      seen.add(job.id);
      const data = job.data as unknown as Record<string, unknown>;
      views.push({
        id: job.id,
        name: job.name,
        state,
        mailboxId: String(data.mailboxId),
        ...(typeof data.idempotencyKey === 'string' ? { idempotencyKey: data.idempotencyKey } : {}),
        ...(typeof data.mintedKeyId === 'string' ? { mintedKeyId: data.mintedKeyId } : {}),
        ...graceApplied(bed, String(data.mailboxId), data.revokePreviousAfterMs as number | null | undefined),
        attemptsMade: job.attemptsMade,
        ...(job.failedReason ? { failedReason: job.failedReason } : {}),
        ...(job.returnvalue ? { result: job.returnvalue } : {}),
      });
    }
  }
  const template = bed.settings.file.secretName;
  return {
    mailboxIds: [...bed.mailboxIds],
    secretNameOf: (mailboxId) => renderSecretName(template, mailboxId),
    keys: [...bed.sandbox.state.keys.values()].map((key) => ({ ...key })),
    mintLog: [...bed.sandbox.state.mintLog],
    revokeLog: [...bed.sandbox.state.revokeLog],
    secrets: bed.standIn.snapshot(),
    jobs: views,
    texts: [
      { source: `redis (every key under ${bed.prefix}:)`, text: await dumpKeysWithPrefix(bed.redis, bed.prefix) },
      { source: 'in-process logs', text: bed.logs.text() },
      ...processOutput,
    ],
    managementKeys: [...new Set([DEFAULT_SANDBOX_MANAGEMENT_KEY, bed.settings.env.sendmuxApiKey].filter((k): k is string => Boolean(k)))],
    reportedUnprovenKeys: bed.logs.parsed()
      .filter((line) => line['revocation'] === 'refused')
      .map((line) => String(line['orphanKeyId'] ?? line['keyId'])),
  };
}

interface StoredVersion {
  versionId: string;
  stages: string[];
  keyId?: string;
  apiKey?: string;
  mailboxId?: string;
}

export function checkInvariants(view: OutsideView, options: InvariantOptions = {}): InvariantReport {
  const violations: string[] = [];
  const maxLive = options.maxLiveKeysPerMailbox ?? 2;
  const ours = new Set(view.mailboxIds);
  const keyById = new Map(view.keys.map((key) => [key.id, key]));
  const secretByName = new Map(view.secrets.map((secret) => [secret.name, secret]));
  const reported = new Set(view.reportedUnprovenKeys);
  const figures: InvariantFigures = {
    mailboxesWithWorkingCurrentKey: 0,
    secretsLost: 0,
    plaintextLeaks: 0,
    duplicateMints: 0,
    orphansRevokedAfterWindowExpiry: 0,
    orphansReportedAfterWindowExpiry: 0,
    orphanedLiveKeys: 0,
    mailboxesOverLiveKeyLimit: 0,
    earlyRevocations: 0,
    failedJobsWithoutActionableReason: 0,
    unfinishedJobs: 0,
  };

  // Every job finished: what follows describes an end state, not a snapshot of work in progress.
  for (const job of view.jobs) {
    if (!FINISHED_STATES.has(job.state)) {
      figures.unfinishedJobs += 1;
      violations.push(`job ${job.id} is still ${job.state}; the batch did not drain`);
    }
  }

  const storedByMailbox = new Map<string, StoredVersion[]>();
  for (const mailboxId of view.mailboxIds) {
    const secret = secretByName.get(view.secretNameOf(mailboxId));
    storedByMailbox.set(mailboxId, secret ? secret.versions.map(readVersion) : []);
  }

  // 1. Every mailbox has exactly one AWSCURRENT secret, and it is a live key of that mailbox.
  for (const mailboxId of view.mailboxIds) {
    const current = storedByMailbox.get(mailboxId)!.filter((v) => v.stages.includes('AWSCURRENT'));
    const problem = currentKeyProblem(mailboxId, current, keyById);
    if (problem) {
      figures.secretsLost += 1;
      violations.push(problem);
    } else {
      figures.mailboxesWithWorkingCurrentKey += 1;
    }
  }

  // 2. At most `maxLive` live keys per mailbox; 3. none of them unknown to Secrets Manager.
  const liveByMailbox = new Map<string, KeyRecord[]>();
  for (const key of view.keys) {
    // A key reported as unproven is the operator's to revoke; it does not count against the rotator's limit.
    if (key.status !== 'live' || !ours.has(key.mailboxId) || reported.has(key.id)) continue;
    const list = liveByMailbox.get(key.mailboxId) ?? [];
    list.push(key);
    liveByMailbox.set(key.mailboxId, list);
  }
  for (const [mailboxId, live] of liveByMailbox) {
    if (live.length > maxLive) {
      figures.mailboxesOverLiveKeyLimit += 1;
      violations.push(`mailbox ${mailboxId} has ${live.length} live keys (${live.map((k) => k.id).join(', ')}); at most ${maxLive} allowed`);
    }
    const stored = storedByMailbox.get(mailboxId)!;
    for (const key of live) {
      // A key reported as unproven is the operator's to revoke: live, but never silently.
      if (!stored.some((v) => v.keyId === key.id && v.apiKey === key.secret) && !reported.has(key.id)) {
        figures.orphanedLiveKeys += 1;
        violations.push(`key ${key.id} of mailbox ${mailboxId} is live at Sendmux but no Secrets Manager version holds it (minted ${key.createdAt})`);
      }
    }
  }

  // 4. No more than one mint per job (per Idempotency-Key), unless the window expired and the orphan was revoked or reported.
  const mintsByIdempotencyKey = new Map<string, MintLogEntry[]>();
  for (const mint of view.mintLog) {
    if (!ours.has(mint.mailboxId)) continue;
    if (mint.idempotencyKey === null) {
      figures.duplicateMints += 1;
      violations.push(`key ${mint.keyId} of mailbox ${mint.mailboxId} was minted without an Idempotency-Key (request ${mint.requestId})`);
      continue;
    }
    const list = mintsByIdempotencyKey.get(mint.idempotencyKey) ?? [];
    list.push(mint);
    mintsByIdempotencyKey.set(mint.idempotencyKey, list);
  }
  for (const [idempotencyKey, mints] of mintsByIdempotencyKey) {
    if (mints.length <= 1) continue;
    const earlier = mints.slice(0, -1);
    const excused = options.idempotencyWindowExpired && earlier.every((m) => keyById.get(m.keyId)?.status === 'revoked' || reported.has(m.keyId));
    if (excused) {
      for (const m of earlier) {
        if (keyById.get(m.keyId)?.status === 'revoked') figures.orphansRevokedAfterWindowExpiry += 1;
        else figures.orphansReportedAfterWindowExpiry += 1;
      }
    } else {
      figures.duplicateMints += mints.length - 1;
      violations.push(
        `Idempotency-Key ${idempotencyKey} minted ${mints.length} keys (${mints.map((m) => `${m.keyId} ${keyById.get(m.keyId)?.status}`).join(', ')}); one job may mint one key`,
      );
    }
  }

  // 5. No plaintext secret (mailbox key secrets/passwords, management keys) in Redis or any log.
  const scanner = new LeakScanner([
    ...view.keys.filter((key) => ours.has(key.mailboxId)).map((key) => ({ label: `secret of key ${key.id}`, secret: key.secret })),
    ...view.managementKeys.map((secret, i) => ({ label: `management key #${i + 1}`, secret })),
  ]);
  const leaks = scanner.scan(view.texts);
  figures.plaintextLeaks = leaks.length;
  for (const leak of leaks) violations.push(`plaintext ${leak.label} found in ${leak.source}`);

  // 6. Failed jobs say which mailbox, which step and what went wrong.
  for (const job of view.jobs) {
    if (job.state !== 'failed') continue;
    const problem = unactionableReason(job);
    if (problem) {
      figures.failedJobsWithoutActionableReason += 1;
      violations.push(problem);
    }
  }

  // 7. A superseded key is revoked only after the grace period its rotation was given.
  const mintAt = new Map(view.mintLog.map((m) => [m.keyId, Date.parse(m.at)]));
  const firstRevokeAt = new Map<string, number>();
  for (const revoke of view.revokeLog) {
    if (revoke.wasLive && !firstRevokeAt.has(revoke.keyId)) firstRevokeAt.set(revoke.keyId, Date.parse(revoke.at));
  }
  for (const job of view.jobs) {
    if (job.name !== ROTATE_JOB_NAME || job.state !== 'completed') continue;
    const result = job.result as RotationResult | undefined;
    const grace = job.revokePreviousAfterMs;
    if (!result?.newKeyId || !result.previousKeyId || grace === null || grace === undefined) continue;
    const revokedAt = firstRevokeAt.get(result.previousKeyId);
    const successorMintedAt = mintAt.get(result.newKeyId);
    if (revokedAt === undefined || successorMintedAt === undefined) continue;
    if (revokedAt + TIME_TOLERANCE_MS < successorMintedAt + grace) {
      figures.earlyRevocations += 1;
      violations.push(
        `key ${result.previousKeyId} of mailbox ${job.mailboxId} was revoked ${revokedAt - successorMintedAt} ms after its successor ` +
          `${result.newKeyId} was minted, before the ${grace} ms grace period of job ${job.id}`,
      );
    }
  }

  return { violations, figures, leaks };
}

function readVersion(version: StandInSecret['versions'][number]): StoredVersion {
  const view: StoredVersion = { versionId: version.versionId, stages: [...version.stages] };
  try {
    const parsed = JSON.parse(version.secretString ?? '') as Record<string, unknown>;
    if (typeof parsed.key_id === 'string') view.keyId = parsed.key_id;
    if (typeof parsed.api_key === 'string') view.apiKey = parsed.api_key;
    if (typeof parsed.mailbox_id === 'string') view.mailboxId = parsed.mailbox_id;
  } catch {
    // Not a rotator document: it holds no key, which the checks below report.
  }
  return view;
}

function currentKeyProblem(mailboxId: string, current: StoredVersion[], keyById: Map<string, KeyRecord>): string | null {
  if (current.length !== 1) return `mailbox ${mailboxId} has ${current.length} AWSCURRENT versions; exactly one expected`;
  const version = current[0]!;
  const key = version.keyId === undefined ? undefined : keyById.get(version.keyId);
  const where = `AWSCURRENT version ${version.versionId} of mailbox ${mailboxId}`;
  if (!key) return `${where} holds no key Sendmux ever minted (key_id ${version.keyId ?? 'missing'})`;
  if (key.mailboxId !== mailboxId || version.mailboxId !== mailboxId) return `${where} holds key ${key.id} of mailbox ${key.mailboxId}`;
  if (key.secret !== version.apiKey) return `${where} holds a secret that is not the secret of key ${key.id}`;
  if (key.status !== 'live') return `${where} holds key ${key.id}, which Sendmux revoked at ${key.revokedAt}`;
  return null;
}

function unactionableReason(job: JobView): string | null {
  const reason = job.failedReason ?? '';
  const missing: string[] = [];
  if (!reason.includes(job.mailboxId)) missing.push('the mailbox id');
  if (job.name === ROTATE_JOB_NAME && !STEP.test(reason)) missing.push('the step');
  if (job.name === REVOKE_JOB_NAME && !/revok/i.test(reason)) missing.push('that it was revoking');
  if (!CODE.test(reason)) missing.push('an error code');
  if (missing.length === 0) return null;
  return `failed job ${job.id} does not name ${missing.join(', ')}: "${reason.slice(0, 300)}"`;
}
