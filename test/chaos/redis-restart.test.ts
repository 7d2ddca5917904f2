import { FiguresBook } from './figures';
import type { ScenarioResult } from './harness';
import { chaosProfileFromEnv, seededRandom } from './profile';
import { runRedisRestart, type RedisRestartFacts } from './scenarios/redis-restart';

/**
 * Chaos scenario 2 (issue 6): Redis restarted mid-batch and Redis briefly unreachable, under real
 * worker processes. Respects CHAOS_PROFILE (ci by default) and CHAOS_SEED, and prints its figures
 * like the other chaos scenarios.
 */
const profile = chaosProfileFromEnv();
const book = new FiguresBook({ profile: profile.name, seed: profile.seed, startedAt: new Date().toISOString() });

describe('scenario 2: Redis restarted mid-batch and briefly unreachable', () => {
  let result: ScenarioResult<RedisRestartFacts>;

  beforeAll(async () => {
    result = await runRedisRestart(profile, seededRandom(profile.seed + 2 * 7919));
    book.add(result.figures);
  }, profile.scenarioTimeoutMs);

  afterAll(() => {
    if (book.size === 0) return;
    const outages = result.facts.outages.map((o) => `${o.fault} in round ${o.round} after ${o.mintedBeforeOutage} mints: ${o.outageMs} ms down, /readyz ${o.readyzDuringOutage.join('/')} → ${o.readyzAfterOutage.join('/')} after ${o.msUntilReadyAgain} ms`);
    console.log(`${book.markdown()}\nscenario 2 outages:\n  ${outages.join('\n  ')}`);
  });

  it('keeps every invariant, the Redis append-only file on disk included in the plaintext scan', () => {
    expect(result.report.violations).toEqual([]);
  });

  it(`restarts Redis and makes it unreachable in the middle of batches of at least ${profile.mailboxes} rotations`, () => {
    const kinds = new Set(result.facts.outages.map((o) => o.fault));
    expect(kinds).toEqual(new Set(['restart', 'unreachable']));
    expect(result.figures.mailboxes).toBeGreaterThanOrEqual(200);
    for (const outage of result.facts.outages) {
      expect(outage.mintedBeforeOutage).toBeGreaterThan(0);
      expect(outage.mintedBeforeOutage).toBeLessThan(result.figures.mailboxes);
    }
  });

  it('completes every rotation: workers reconnect on their own and nothing queued is lost', () => {
    expect(result.figures.rotationsAttempted).toBe(result.figures.mailboxes * profile.rounds);
    expect(result.facts.failedRotations).toEqual([]);
    expect(result.figures.rotationsCompleted).toBe(result.figures.rotationsAttempted);
    expect(result.facts.crashedWorkers).toEqual([]);
  });

  it('has every worker report 503 on /readyz while Redis is away and 200 once it is back', () => {
    for (const outage of result.facts.outages) {
      expect({ fault: outage.fault, during: outage.readyzDuringOutage, after: outage.readyzAfterOutage }).toEqual({
        fault: outage.fault,
        during: Array(result.facts.workerProcesses).fill(503),
        after: Array(result.facts.workerProcesses).fill(200),
      });
    }
  });
});
