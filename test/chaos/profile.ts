/**
 * How hard the chaos suite pushes. `npm test` (and so CI) runs the `ci` profile, sized to stay
 * within a couple of minutes; `npm run test:chaos` runs `full`. Both keep at least 200 mailboxes
 * per scenario: what scales is the number of kills, rounds and fault iterations.
 */
export type ChaosProfileName = 'ci' | 'full';

export interface ChaosProfile {
  name: ChaosProfileName;
  /** Mailboxes per scenario (never below 200). */
  mailboxes: number;
  /** Rotation rounds per scenario (at least 2, so previous keys get revoked too). */
  rounds: number;
  /** Random SIGKILLs of worker processes in scenario 1. */
  randomKills: number;
  /** Worker processes running at once in scenario 1. */
  workerProcesses: number;
  /** Seed of the pseudo-random choices (kill times, victims, probabilistic faults). */
  seed: number;
  /** Upper bound for one scenario's batch to drain, in ms. */
  scenarioTimeoutMs: number;
  /** In-process scenarios run at once (worker-kill scenarios run beside them: their work is in child processes). */
  inProcessConcurrency: number;
  /** Upper bound for the whole suite, in ms. */
  suiteTimeoutMs: number;
}

const PROFILES: Record<ChaosProfileName, Omit<ChaosProfile, 'seed'>> = {
  ci: {
    name: 'ci',
    mailboxes: 200,
    rounds: 2,
    randomKills: 6,
    workerProcesses: 2,
    scenarioTimeoutMs: 120_000,
    inProcessConcurrency: 2,
    suiteTimeoutMs: 300_000,
  },
  full: {
    name: 'full',
    mailboxes: 300,
    rounds: 3,
    randomKills: 24,
    workerProcesses: 3,
    scenarioTimeoutMs: 600_000,
    inProcessConcurrency: 1,
    suiteTimeoutMs: 3_600_000,
  },
};

export function chaosProfileFromEnv(env: NodeJS.ProcessEnv = process.env): ChaosProfile {
  const raw = env.CHAOS_PROFILE?.trim() || 'ci';
  if (raw !== 'ci' && raw !== 'full') {
    throw new Error(`CHAOS_PROFILE must be "ci" (the reduced run inside npm test) or "full" (npm run test:chaos), got "${raw}"`);
  }
  const seedText = env.CHAOS_SEED?.trim();
  let seed = Date.now() % 2_147_483_647;
  if (seedText) {
    if (!/^\d{1,10}$/.test(seedText)) {
      throw new Error(`CHAOS_SEED must be a whole number (the seed printed by an earlier run, to replay it), got "${seedText}"`);
    }
    seed = Number(seedText);
  }
  return { ...PROFILES[raw], seed };
}

/** A small seeded PRNG (mulberry32), so a failing run can be replayed with CHAOS_SEED. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
