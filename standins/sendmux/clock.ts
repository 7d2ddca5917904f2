import type { SandboxClock } from './types';

/** Wall-clock time plus an offset that tests move forward with advance(). */
export function createSandboxClock(): SandboxClock {
  let offsetMs = 0;
  return {
    now: () => Date.now() + offsetMs,
    advance(ms: number) {
      assertAdvance(ms);
      offsetMs += ms;
    },
  };
}

/** A clock that only moves when told to: deterministic windows and TTLs in tests. */
export function createManualClock(startMs: number = Date.UTC(2030, 0, 1)): SandboxClock {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    advance(ms: number) {
      assertAdvance(ms);
      nowMs += ms;
    },
  };
}

function assertAdvance(ms: number): void {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`clock.advance(ms) needs a finite number >= 0 of milliseconds, got ${String(ms)}`);
  }
}
