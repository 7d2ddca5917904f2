import { ChaosBed, pollUntil, type ScenarioResult } from '../harness';
import type { ChaosProfile } from '../profile';

export interface SendmuxStormFacts {
  /** Share of Sendmux responses that were injected 500/503s. */
  errorShare: number;
  sendmuxResponses: number;
}

/** The client gives up after 1 s; a latency spike holds the answer for 1.6 s. */
const CLIENT_TIMEOUT = '1s';
const SPIKE_MS = 1_600;

/**
 * Scenario 3: a Sendmux storm. 30 % of all Sendmux requests answer 500 or 503 (with and without
 * Retry-After), some mints are committed and then the connection dropped, some answers arrive
 * after the client timed out, and a burst of 429s hits mid-batch. Two replicas work the queue.
 */
export async function runSendmuxStorm(profile: ChaosProfile, random: () => number): Promise<ScenarioResult<SendmuxStormFacts>> {
  const chaos = await ChaosBed.start({ label: 'sendmux-storm', profile, random, config: { sendmux: { timeout: CLIENT_TIMEOUT } } });
  try {
    await chaos.worker();
    await chaos.worker();
    // Rules fire first-match in order, so the shares are chained to add up to 10 % + 10 % + 10 %.
    chaos.injectSendmux({ operation: '*', kind: 'status500', probability: 0.1 });
    chaos.injectSendmux({ operation: '*', kind: 'status503', retryAfterSeconds: 1, probability: 0.1 / 0.9 });
    chaos.injectSendmux({ operation: '*', kind: 'status503', probability: 0.1 / 0.8 });
    chaos.injectSendmux({ operation: 'mintMailboxKey', kind: 'commitThenDrop', probability: 0.08 });
    chaos.injectSendmux({ operation: '*', kind: 'delay', delayMs: SPIKE_MS, probability: 0.03 });

    for (let round = 1; round <= profile.rounds; round += 1) {
      const jobIds = await chaos.enqueueRound();
      // The 429 burst lands once a third of the round is done, while the rest is in flight.
      await pollUntil(async () => (await chaos.pendingJobs()) <= (jobIds.length * 2) / 3, 60_000, 'a third of the round');
      chaos.injectSendmux({ operation: '*', kind: 'status429', retryAfterSeconds: 1, times: 40 });
      await chaos.waitUntilDrained(profile.scenarioTimeoutMs, `storm round ${round} to drain`);
    }
    chaos.clearFaults();

    const requests = chaos.bed.sandbox.state.counters.requests;
    let total = 0;
    let errors = 0;
    for (const byStatus of Object.values(requests)) {
      for (const [status, n] of Object.entries(byStatus)) {
        total += n;
        if (status === '500' || status === '503') errors += n;
      }
    }
    const { report, figures } = await chaos.check();
    return { report, figures, facts: { errorShare: errors / total, sendmuxResponses: total } };
  } finally {
    await chaos.close();
  }
}
