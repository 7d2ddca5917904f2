import type { Job } from 'bullmq';
import { REVOKE_JOB_NAME, ROTATE_JOB_NAME } from '../rotation/job-data';

export interface JobView {
  jobId: string;
  type: 'rotation' | 'revocation' | 'unknown';
  mailboxId: string | null;
  state: string;
  step: string | null;
  attempts: number;
  attemptsMade: number;
  result: Record<string, unknown> | null;
  failedReason: string | null;
  createdAt: string | null;
  finishedAt: string | null;
}

/**
 * Fields of RotationResult and RevocationResult that the API shows. Results are secret-free by
 * design; copying only known fields keeps it so even if a result ever grows something else.
 */
const RESULT_FIELDS = [
  'outcome',
  'mailboxId',
  'keyId',
  'newKeyId',
  'previousKeyId',
  'secretArn',
  'secretVersionId',
  'revocation',
  'note',
  'requestIds',
  'requestId',
] as const;

/** What GET /rotations/:jobId shows of a job: a fixed set of fields, never the raw job data. */
/**
 * `knownState`: the job's state read BEFORE `job` was fetched. BullMQ finishes a job (state and
 * returnvalue) in one script, so a state read first never runs ahead of the data read after it;
 * reading the state after the job can show "completed" with the result still missing.
 */
export async function describeJob(job: Job, knownState?: Awaited<ReturnType<Job['getState']>>): Promise<JobView> {
  const state = knownState ?? (await job.getState());
  return {
    jobId: String(job.id),
    type: job.name === ROTATE_JOB_NAME ? 'rotation' : job.name === REVOKE_JOB_NAME ? 'revocation' : 'unknown',
    mailboxId: stringField(job.data, 'mailboxId'),
    state,
    // A completed job is past every step; progress keeps only the last step that lasted (or none).
    step: state === 'completed' ? 'done' : stringField(job.progress, 'step'),
    attempts: job.opts.attempts ?? 1,
    attemptsMade: job.attemptsMade,
    result: pickResult(job.returnvalue),
    failedReason: job.failedReason ? job.failedReason : null,
    createdAt: isoOrNull(job.timestamp),
    finishedAt: isoOrNull(job.finishedOn),
  };
}

function pickResult(value: unknown): Record<string, unknown> | null {
  if (value === null || typeof value !== 'object') return null;
  const source = value as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  for (const field of RESULT_FIELDS) if (source[field] !== undefined) picked[field] = source[field];
  return picked;
}

function stringField(value: unknown, field: string): string | null {
  if (value === null || typeof value !== 'object') return null;
  const found = (value as Record<string, unknown>)[field];
  return typeof found === 'string' ? found : null;
}

function isoOrNull(ms: number | undefined): string | null {
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : null;
}
