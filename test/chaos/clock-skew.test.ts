import { FiguresBook } from './figures';
import type { ScenarioResult } from './harness';
import { chaosProfileFromEnv, seededRandom } from './profile';
import { runClockSkew, type ClockSkewFacts } from './scenarios/clock-skew';

/**
 * Chaos scenario 7 (issue 6): two scheduler replicas with clocks 30 s ahead and 30 s behind tick
 * the same cron over every mailbox. Respects CHAOS_PROFILE (ci by default) and CHAOS_SEED, and
 * prints its figures like the other chaos scenarios.
 */
const profile = chaosProfileFromEnv();
const book = new FiguresBook({ profile: profile.name, seed: profile.seed, startedAt: new Date().toISOString() });

describe('scenario 7: two scheduler replicas with clocks 30 s apart tick the same cron', () => {
  let result: ScenarioResult<ClockSkewFacts>;

  beforeAll(async () => {
    result = await runClockSkew(profile, seededRandom(profile.seed + 7 * 7919));
    book.add(result.figures);
  }, profile.scenarioTimeoutMs);

  afterAll(() => {
    if (book.size > 0) console.log(`${book.markdown()}\nscenario 7 facts: ${JSON.stringify(result.facts.ticks.map(({ timing, slot, jobs, mints, ahead, behind, pendingWhenBehindTicked }) => ({ timing, slot, jobs, mints, ahead, behind, pendingWhenBehindTicked })))}`);
  });

  it('keeps every invariant', () => {
    expect(result.report.violations).toEqual([]);
  });

  it(`runs at least ${profile.mailboxes} mailboxes through every tick timing: together, mid-batch and after the batch`, () => {
    expect(result.facts.mailboxes).toBeGreaterThanOrEqual(200);
    expect(new Set(result.facts.ticks.map((t) => t.timing))).toEqual(new Set(['at the same moment', 'mid-batch', 'after the batch']));
    const midBatch = result.facts.ticks.filter((t) => t.timing === 'mid-batch');
    for (const tick of midBatch) {
      expect(tick.pendingWhenBehindTicked).toBeGreaterThan(0);
      expect(tick.pendingWhenBehindTicked).toBeLessThan(result.facts.mailboxes);
    }
  });

  it('names each tick alike on both replicas and creates exactly one job per mailbox per slot', () => {
    const n = result.facts.mailboxes;
    for (const tick of result.facts.ticks) {
      expect({ timing: tick.timing, behindSlot: tick.behind.slot, jobs: tick.jobs, mailboxesWithOneJob: tick.mailboxesWithOneJob }).toEqual({
        timing: tick.timing,
        behindSlot: tick.ahead.slot,
        jobs: n,
        mailboxesWithOneJob: n,
      });
      // Each replica asked for every mailbox and none was refused. (How a replica splits its count
      // between "enqueued" and "existing" is not a guarantee: BullMQ hands back a job whose id
      // already exists as if it had just been added, so both replicas may report "enqueued".)
      for (const report of [tick.ahead, tick.behind]) expect([tick.timing, report.enqueued + report.existing, report.refused]).toEqual([tick.timing, n, 0]);
    }
  });

  it('completes every tick job on its first attempt with exactly one mint per mailbox per slot', () => {
    const n = result.facts.mailboxes;
    for (const tick of result.facts.ticks) {
      expect({ timing: tick.timing, completed: tick.completed, retried: tick.retried, mints: tick.mints, mailboxesWithOneMint: tick.mailboxesWithOneMint }).toEqual({
        timing: tick.timing,
        completed: n,
        retried: 0,
        mints: n,
        mailboxesWithOneMint: n,
      });
    }
  });

  it('gives each mailbox its first key once although the replicas name different catch-up slots across midnight', () => {
    const { catchUp, mailboxes: n } = result.facts;
    expect(catchUp.ahead.slot).not.toBe(catchUp.behind.slot);
    expect(catchUp.ahead.missing).toBe(n);
    expect(catchUp.behind.missing).toBe(n);
    expect(catchUp.ahead.enqueued + catchUp.behind.enqueued).toBe(n);
    expect({ jobs: catchUp.jobs, mailboxesWithOneJob: catchUp.mailboxesWithOneJob, completed: catchUp.completed, mailboxesWithOneMint: catchUp.mailboxesWithOneMint }).toEqual({
      jobs: n,
      mailboxesWithOneJob: n,
      completed: n,
      mailboxesWithOneMint: n,
    });
    expect(catchUp.laterPassEnqueued).toBe(0);
  });
});
