import path from 'node:path';
import { FiguresBook } from './figures';
import type { ScenarioResult } from './harness';
import { ScenarioPool } from './scenario-pool';
import { chaosProfileFromEnv, seededRandom } from './profile';
import { runWorkerKills, type WorkerKillFacts } from './scenarios/worker-kills';
import { runSendmuxStorm, type SendmuxStormFacts } from './scenarios/sendmux-storm';
import { runSecretsManagerFaults } from './scenarios/secrets-manager-faults';
import { runIdempotencyWindowExpiry, type IdempotencyWindowFacts } from './scenarios/idempotency-window';
import { runCredentialLimit, type CredentialLimitFacts } from './scenarios/credential-limit';
import { runHostileSendmux, type HostileSendmuxFacts } from './scenarios/hostile-sendmux';

/**
 * The fault-injection suite (issue 6). Each scenario rotates ≥ 200 mailboxes over several rounds
 * (so previous keys get revoked too) while something breaks, then checks the invariants of
 * docs/design.md from the outside (test/chaos/invariants.ts). `npm test` runs the reduced `ci`
 * profile; `npm run test:chaos` (CHAOS_PROFILE=full) the full one. The figures table is printed
 * at the end and written to test/artifacts/chaos-figures.{json,md}.
 */
const profile = chaosProfileFromEnv();
const ARTIFACTS = path.resolve(__dirname, '../artifacts');

/** Each scenario gets its own random stream, so adding one does not reshuffle the others. */
function randomFor(scenario: number): () => number {
  return seededRandom(profile.seed + scenario * 7919);
}

/**
 * The scenarios run side by side (their time is spent waiting on timeouts, backoffs and lock
 * expiry, not on the CPU): the worker-kill one beside the in-process ones, which take turns,
 * `profile.inProcessConcurrency` at a time. Each describe block awaits its own scenario.
 */
const pool = new ScenarioPool(profile.inProcessConcurrency);
const scenarios = {
  workerKills: pool.beside(() => runWorkerKills(profile, randomFor(1))),
  sendmuxStorm: pool.inTurn(() => runSendmuxStorm(profile, randomFor(3))),
  secretsManagerFaults: pool.inTurn(() => runSecretsManagerFaults(profile, randomFor(4))),
  idempotencyWindow: pool.inTurn(() => runIdempotencyWindowExpiry(profile, randomFor(5))),
  limitWithoutPolicy: pool.inTurn(() => runCredentialLimit(profile, randomFor(6), 'fail')),
  limitWithPolicy: pool.inTurn(() => runCredentialLimit(profile, randomFor(7), 'revoke-previous')),
  hostileSendmux: pool.inTurn(() => runHostileSendmux(profile, randomFor(8))),
};

beforeAll(() => pool.start());

afterAll(async () => {
  const book = new FiguresBook({ profile: profile.name, seed: profile.seed, startedAt: pool.startedAt });
  for (const scenario of Object.values(scenarios)) {
    const result = await scenario.settled();
    if (result) book.add(result.figures);
  }
  if (book.size === 0) return;
  const written = book.write(ARTIFACTS);
  // The table is the suite's deliverable: print it whatever happened above.
  console.log(`${book.markdown()}\nwritten to ${written.markdown} and ${written.json}`);
}, profile.suiteTimeoutMs);

describe('scenario 1: worker processes SIGKILLed and restarted', () => {
  let result: ScenarioResult<WorkerKillFacts>;
  beforeAll(async () => {
    result = await scenarios.workerKills.result();
  }, profile.suiteTimeoutMs);

  it('keeps every invariant', () => {
    expect(result.report.violations).toEqual([]);
  });

  it(`kills workers at random points at least ${profile.randomKills} times over at least ${profile.rounds} rounds, and every rotation completes`, () => {
    expect(result.facts.randomKills).toBeGreaterThanOrEqual(profile.randomKills);
    expect(result.facts.rounds).toBeGreaterThanOrEqual(profile.rounds);
    expect(result.figures.rotationsCompleted).toBe(result.figures.rotationsAttempted);
  });

  it('reaches each point between two steps, kills there, and the job completes with exactly one mint', () => {
    const summary = result.facts.killPoints.map((k) => ({ point: k.point, finalState: k.finalState, mintsForJob: k.mintsForJob }));
    expect(summary).toEqual(result.facts.killPoints.map((k) => ({ point: k.point, finalState: 'completed', mintsForJob: 1 })));
    expect(summary).toHaveLength(11);
  });

  it('saw each kill point in the intended state from the outside', () => {
    const atKill = Object.fromEntries(result.facts.killPoints.map((k) => [k.point, k.atKill]));
    expect(atKill['first key: during look, before the mint']).toMatchObject({ mintsForJob: 0, ourVersionStages: null });
    expect(atKill['first key: mint committed by Sendmux, response not yet received']).toMatchObject({ mintsForJob: 1, keyIdRecorded: false });
    expect(atKill['first key: key id recorded, before verify']).toMatchObject({ keyIdRecorded: true, ourVersionStages: null });
    expect(atKill['next key: staged as AWSPENDING, before verify']).toMatchObject({ ourVersionStages: ['AWSPENDING'] });
    expect(atKill['next key: verified, before promote']).toMatchObject({ ourVersionStages: ['AWSPENDING'] });
    expect(atKill['next key: AWSCURRENT moved, AWSPENDING not yet cleared']?.ourVersionStages?.sort()).toEqual(['AWSCURRENT', 'AWSPENDING']);
    expect(atKill['next key: promoted, before the revocation is scheduled']).toMatchObject({ ourVersionStages: ['AWSCURRENT'] });
  });

  it('still revokes the previous key of every rotation killed after its mint', () => {
    const later = result.facts.killPoints.filter((k) => k.previousKeyId);
    expect(later.map((k) => [k.point, k.previousKeyRevoked])).toEqual(later.map((k) => [k.point, true]));
  });

  it('never sees a worker die on its own', () => {
    expect(result.facts.crashedWorkers).toEqual([]);
  });
});

describe('scenario 3: a Sendmux storm', () => {
  let result: ScenarioResult<SendmuxStormFacts>;
  beforeAll(async () => {
    result = await scenarios.sendmuxStorm.result();
  }, profile.suiteTimeoutMs);

  it('keeps every invariant', () => {
    expect(result.report.violations).toEqual([]);
  });

  it('completes every rotation although about 30% of Sendmux answers are 500/503', () => {
    expect(result.facts.errorShare).toBeGreaterThan(0.2);
    expect(result.figures.rotationsCompleted).toBe(result.figures.rotationsAttempted);
  });

  it('injected every kind of fault it names: 500, 503, 429 burst, commit-then-drop, latency spike', () => {
    for (const kind of ['status500', 'status503', 'status429', 'commitThenDrop', 'delay']) {
      expect(result.figures.faultsInjected[`sendmux:${kind}`]).toBeGreaterThan(0);
    }
  });
});

describe('scenario 4: Secrets Manager faults', () => {
  let result: ScenarioResult;
  beforeAll(async () => {
    result = await scenarios.secretsManagerFaults.result();
  }, profile.suiteTimeoutMs);

  it('keeps every invariant', () => {
    expect(result.report.violations).toEqual([]);
  });

  it('completes every rotation through ThrottlingException, 500s and writes applied but never answered', () => {
    expect(result.figures.rotationsCompleted).toBe(result.figures.rotationsAttempted);
    for (const kind of ['throttle', 'internalError', 'applyThenTimeout']) {
      expect(result.figures.faultsInjected[`aws:${kind}`]).toBeGreaterThan(0);
    }
  });
});

describe('scenario 5: the idempotency window expires between a mint and its retry', () => {
  let result: ScenarioResult<IdempotencyWindowFacts>;
  beforeAll(async () => {
    result = await scenarios.idempotencyWindow.result();
  }, profile.suiteTimeoutMs);

  it('keeps every invariant', () => {
    expect(result.report.violations).toEqual([]);
  });

  it('re-mints for most jobs after the jump, and reports every orphan minted before it, revoking none on the job data\'s word', () => {
    const { jobsCaughtByExpiry, remintedJobs, orphansRevoked, orphansReported, jobsThatKeptTheirFirstKey } = result.facts;
    expect(jobsCaughtByExpiry).toBe(profile.mailboxes * profile.rounds);
    // A job whose attempt had replayed its mint just before the jump stores that key: no orphan.
    expect(remintedJobs + jobsThatKeptTheirFirstKey).toBe(jobsCaughtByExpiry);
    expect(remintedJobs).toBeGreaterThan(jobsCaughtByExpiry / 2);
    expect(orphansReported).toBe(remintedJobs);
    expect(orphansRevoked).toBe(0);
    expect(result.figures.orphansRevokedAfterWindowExpiry).toBe(0);
  });

  it('completes every rotation', () => {
    expect(result.figures.rotationsCompleted).toBe(result.figures.rotationsAttempted);
  });

  it('says in the log, once per re-minted job, that the window had expired and the orphan was left live', () => {
    expect(result.facts.expiryLogLines).toBe(result.facts.remintedJobs);
  });
});

describe('scenario 6: limit_exceeded at the team credential limit, without the opt-in policy', () => {
  let result: ScenarioResult<CredentialLimitFacts>;
  beforeAll(async () => {
    result = await scenarios.limitWithoutPolicy.result();
  }, profile.suiteTimeoutMs);

  it('keeps every invariant: every mailbox keeps a working key, nothing is left live but unstored', () => {
    expect(result.report.violations).toEqual([]);
  });

  it('fails the rotations beyond the free slots at once, minting nothing, with a reason naming the mailbox, the code and the fix', () => {
    const { atLimit, failures } = result.facts;
    expect(atLimit.failed).toBeGreaterThan(0);
    expect(atLimit.completed + atLimit.failed).toBe(atLimit.attempted);
    for (const failure of failures) {
      expect(failure).toEqual(expect.objectContaining({ attemptsMade: 1, mints: 0 }));
      expect(failure.reason).toContain(failure.mailboxId);
      expect(failure.reason).toMatch(/step mint: .*409 limit_exceeded/);
      expect(failure.reason).toContain('onLimitExceeded: revoke-previous');
    }
  });
});

describe('scenario 6: limit_exceeded at the team credential limit, with onLimitExceeded: revoke-previous', () => {
  let result: ScenarioResult<CredentialLimitFacts>;
  beforeAll(async () => {
    result = await scenarios.limitWithPolicy.result();
  }, profile.suiteTimeoutMs);

  it('keeps every invariant', () => {
    expect(result.report.violations).toEqual([]);
  });

  it('completes every rotation of the round at the limit by revoking AWSPREVIOUS keys', () => {
    expect(result.facts.failures.map((f) => f.reason)).toEqual([]);
    expect(result.facts.atLimit.completed).toBe(result.facts.atLimit.attempted);
    expect(result.facts.revokedByPolicy).toBeGreaterThan(0);
  });
});

describe('broken or malicious Sendmux responses', () => {
  let result: ScenarioResult<HostileSendmuxFacts>;
  beforeAll(async () => {
    result = await scenarios.hostileSendmux.result();
  }, profile.suiteTimeoutMs);

  it('keeps every invariant: every AWSCURRENT holds a live key of its own mailbox', () => {
    expect(result.report.violations).toEqual([]);
  });

  it('injected a missing credential, an HTML error page, a 200 with ok:false, a huge body and a wrong /mailbox/me', () => {
    for (const kind of ['nullCredential', 'html502', 'okFalse200', 'hugeBody', 'wrongMailboxMe']) {
      expect(result.figures.faultsInjected[`sendmux:${kind}`]).toBeGreaterThan(0);
    }
  });

  it('refuses to promote a key when /mailbox/me answers for another mailbox, and revokes that key', () => {
    const refused = result.facts.refusedWrongMailbox;
    expect(refused.length).toBeGreaterThan(0);
    // Each wrong answer ends its rotation for good: one refused job per injected wrong answer.
    expect(refused).toHaveLength(result.figures.faultsInjected['sendmux:wrongMailboxMe']!);
    for (const job of refused) {
      expect(job.reason).toMatch(new RegExp(`mailbox ${job.mailboxId}: step verify: .*refusing to promote it`));
    }
    expect(result.facts.promotedRefusedKeys).toBe(0);
    expect(result.facts.refusedKeysStillLive).toBe(0);
  });
});
