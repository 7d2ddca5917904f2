export { startSecretsManagerStandIn } from './server';
export type { SecretsManagerStandIn, SecretsManagerStandInOptions } from './server';
export type { StandInFaults, FaultSpec, FaultKind } from './faults';
export { FAULT_KINDS } from './faults';
export type { StandInSecret, StandInSecretVersion, SupportedOperation } from './secrets-store';
export { SUPPORTED_OPERATIONS, STANDIN_ACCOUNT_ID } from './secrets-store';
