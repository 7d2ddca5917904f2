import type { Job } from 'bullmq';
import type { ZodType, ZodTypeDef } from 'zod';
import {
  REVOKE_JOB_NAME,
  ROTATE_JOB_NAME,
  revocationJobDataSchema,
  rotationJobDataSchema,
  type RevocationJobData,
  type RevocationResult,
  type RotationJobData,
  type RotationResult,
} from '../rotation/job-data';

/** Every job name of the queue with its data and result types. */
export interface JobTypes {
  [ROTATE_JOB_NAME]: { data: RotationJobData; result: RotationResult };
  [REVOKE_JOB_NAME]: { data: RevocationJobData; result: RevocationResult };
}
export type JobName = keyof JobTypes;

/** A processor receives the job, its data already validated against the catalog's schema, and the worker's lock token. */
export type JobProcessor<N extends JobName> = (job: Job<JobTypes[N]['data']>, data: JobTypes[N]['data'], token?: string) => Promise<JobTypes[N]['result']>;
export type JobProcessors = { [N in JobName]: JobProcessor<N> };

/** The schema each job's data must satisfy before its processor sees it. */
export const JOB_SCHEMAS: { [N in JobName]: ZodType<JobTypes[N]['data'], ZodTypeDef, unknown> } = {
  [ROTATE_JOB_NAME]: rotationJobDataSchema,
  [REVOKE_JOB_NAME]: revocationJobDataSchema,
};

export function isJobName(name: string): name is JobName {
  return Object.prototype.hasOwnProperty.call(JOB_SCHEMAS, name);
}
