import { revokeKeyByHand, type ManualRevocation, type RevokeKeyByHandDeps } from './revoke-key';
import { retryRotation, type RetryOutcome, type RetryRotationDeps } from './retry-rotation';

export type { ManualRevocation, KeyRevocationRefusal } from './revoke-key';
export type { RetryOutcome, RetryRefusal } from './retry-rotation';

/** The incident commands as the HTTP API calls them (the CLI calls the functions directly). */
export interface IncidentCommands {
  revokeKey(request: { mailboxId: string; keyId: string; requestedBy: string }): Promise<ManualRevocation>;
  retryRotation(jobId: string, requestedBy: string): Promise<RetryOutcome>;
}

export function createIncidentCommands(deps: RevokeKeyByHandDeps & RetryRotationDeps): IncidentCommands {
  return {
    revokeKey: (request) => revokeKeyByHand(deps, request),
    retryRotation: (jobId, requestedBy) => retryRotation(deps, jobId, requestedBy),
  };
}
