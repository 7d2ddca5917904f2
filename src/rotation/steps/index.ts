import type { StepDeps } from './deps';
import type { RotationStepOperations } from './types';
import { look } from './look';
import { mint } from './mint';
import { stage } from './stage';
import { verify } from './verify';
import { promote } from './promote';
import { scheduleRetire } from './schedule-retire';
import { discardMintedKey, unstage } from './compensations';

export type { StepDeps } from './deps';
export type * from './types';

/** The real step operations, bound to one attempt's dependencies (clients, the job being run). */
export function createRotationStepOperations(deps: StepDeps): RotationStepOperations {
  return {
    look: (run) => look(deps, run),
    mint: (run, fresh) => mint(deps, run, fresh),
    stage: (run, key, fresh) => stage(deps, run, key, fresh),
    verify: (run, key) => verify(deps, run, key),
    promote: (run, staged) => promote(deps, run, staged),
    scheduleRetire: (run, staged) => scheduleRetire(deps, run, staged),
    discardMintedKey: (run) => discardMintedKey(deps, run),
    unstage: (run) => unstage(deps, run),
  };
}
