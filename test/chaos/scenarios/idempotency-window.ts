import { ChaosBed, pollUntil, type ScenarioResult } from '../harness';
import type { ChaosProfile } from '../profile';
import type { RotationJobData } from '../../../src/rotation/job-data';

export interface IdempotencyWindowFacts {
  /** Jobs that had minted a key, and not stored it, when the clock jumped (one per mailbox and round). */
  jobsCaughtByExpiry: number;
  /** Of those, jobs whose retry minted a new key because the window had expired. */
  remintedJobs: number;
  /** First keys of the re-minted jobs that Sendmux shows revoked (none: nothing proves them the rotator's). */
  orphansRevoked: number;
  /** First keys of the re-minted jobs that the rotator reported as unproven and left live (must equal remintedJobs). */
  orphansReported: number;
  /** Jobs whose attempt in flight at the jump had already replayed its mint: they store their first key. */
  jobsThatKeptTheirFirstKey: number;
  expiryLogLines: number;
}

const PAST_THE_WINDOW_MS = 25 * 60 * 60 * 1000;

/**
 * Scenario 5: every job mints, then fails to store its key (staging is throttled), and the
 * sandbox clock jumps past the 24 h idempotency window before the retry. The retry's mint then
 * creates a NEW key: the one minted first is an orphan that only the job data names — nothing
 * proves it the rotator's (docs/design.md), so it is reported (log, alert, history) and left live.
 */
export async function runIdempotencyWindowExpiry(profile: ChaosProfile, random: () => number): Promise<ScenarioResult<IdempotencyWindowFacts>> {
  // Retries keep failing until the clock jump, so the attempts budget must outlast the wait.
  const chaos = await ChaosBed.start({
    label: 'idempotency-window',
    profile,
    random,
    config: { rotation: { attempts: 60, backoffInitialDelay: '100ms', backoffMaxDelay: '500ms' } },
  });
  try {
    await chaos.worker();
    await chaos.worker();
    const jobsOfRounds: string[] = [];
    for (let round = 1; round <= profile.rounds; round += 1) {
      // The first key of a mailbox is staged with CreateSecret, later ones with PutSecretValue.
      chaos.injectSecretsManager({ operation: 'CreateSecret', kind: 'throttle' });
      chaos.injectSecretsManager({ operation: 'PutSecretValue', kind: 'throttle' });
      const jobIds = await chaos.enqueueRound();
      jobsOfRounds.push(...jobIds);
      // Seen from Redis: every job recorded the id of the key it minted, and none could store it.
      await pollUntil(
        async () => (await recordedKeyIds(chaos, jobIds)).length === jobIds.length,
        profile.scenarioTimeoutMs / 2,
        `every job of round ${round} to mint`,
      );
      chaos.bed.sandbox.clock.advance(PAST_THE_WINDOW_MS);
      chaos.countFault('clock:idempotencyWindowExpired');
      chaos.clearFaults();
      await chaos.waitUntilDrained(profile.scenarioTimeoutMs, `round ${round} to drain after the clock jump`);
    }

    const sandbox = chaos.bed.sandbox.state;
    let remintedJobs = 0;
    let orphansRevoked = 0;
    let orphansReported = 0;
    const reported = new Set(chaos.bed.logs.parsed().filter((line) => line['revocation'] === 'refused').map((line) => String(line['orphanKeyId'] ?? line['keyId'])));
    let jobsThatKeptTheirFirstKey = 0;
    for (const jobId of jobsOfRounds) {
      const job = await chaos.producer.queue.getJob(jobId);
      const mints = sandbox.mintsWithIdempotencyKey((job!.data as RotationJobData).idempotencyKey);
      if (mints.length === 1) jobsThatKeptTheirFirstKey += 1;
      if (mints.length < 2) continue;
      remintedJobs += 1;
      if (sandbox.keys.get(mints[0]!.keyId)?.status === 'revoked') orphansRevoked += 1;
      if (reported.has(mints[0]!.keyId)) orphansReported += 1;
    }
    const expiryLogLines = chaos.bed.logs.lines.filter((line) => line.includes('idempotency window had expired')).length;
    const { report, figures } = await chaos.check({ idempotencyWindowExpired: true });
    const facts = { jobsCaughtByExpiry: jobsOfRounds.length, remintedJobs, orphansRevoked, orphansReported, jobsThatKeptTheirFirstKey, expiryLogLines };
    return { report, figures, facts };
  } finally {
    await chaos.close();
  }
}

async function recordedKeyIds(chaos: ChaosBed, jobIds: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const jobId of jobIds) {
    const job = await chaos.producer.queue.getJob(jobId);
    const keyId = (job?.data as RotationJobData | undefined)?.mintedKeyId;
    if (keyId) ids.push(keyId);
  }
  return ids;
}
