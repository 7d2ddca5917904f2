import { ChaosBed, type ScenarioResult } from '../harness';
import type { ChaosProfile } from '../profile';

export interface CredentialLimitFacts {
  /** Rotations of the round run at the team limit. */
  atLimit: { attempted: number; completed: number; failed: number };
  /** Failed jobs of that round: their reason, attempts and how many keys their Idempotency-Key minted. */
  failures: Array<{ jobId: string; mailboxId: string; reason: string; attemptsMade: number; mints: number }>;
  /** AWSPREVIOUS keys the policy revoked to free a slot. */
  revokedByPolicy: number;
}

/** Free slots left at the team limit when the limited round starts (without the policy). */
const SPARE_SLOTS = 40;

/**
 * Scenario 6: Sendmux answers 409 limit_exceeded at the team's credential limit.
 * - Without the opt-in policy, rotations beyond the free slots fail at once, clearly, minting
 *   nothing, and every mailbox keeps its working key.
 * - With `rotation.onLimitExceeded: revoke-previous`, each rotation revokes its mailbox's
 *   AWSPREVIOUS key to free a slot and completes; the AWSCURRENT key is never touched.
 */
export async function runCredentialLimit(
  profile: ChaosProfile,
  random: () => number,
  policy: 'fail' | 'revoke-previous',
): Promise<ScenarioResult<CredentialLimitFacts>> {
  const chaos = await ChaosBed.start({
    label: policy === 'fail' ? 'credential-limit' : 'credential-limit-revoke-previous',
    profile,
    random,
    config: { revokePreviousAfter: '2s', rotation: { onLimitExceeded: policy } },
  });
  try {
    await chaos.worker();
    await chaos.worker();
    const sandbox = chaos.bed.sandbox;

    await chaos.enqueueRound();
    await chaos.waitUntilDrained(profile.scenarioTimeoutMs, 'the first keys');
    const firstKeys = new Set(sandbox.state.liveKeys().map((key) => key.id));
    let limit: number;
    if (policy === 'fail') {
      limit = sandbox.state.liveKeys().length + SPARE_SLOTS;
    } else {
      // A round whose previous keys are kept ("never") leaves each mailbox an AWSPREVIOUS key the
      // policy may revoke; the limit is then set to exactly what is live.
      await chaos.enqueueRound(chaos.mailboxIds, { revokePreviousAfterMs: null });
      await chaos.waitUntilDrained(profile.scenarioTimeoutMs, 'the keys kept as AWSPREVIOUS');
      limit = sandbox.state.liveKeys().length;
    }
    sandbox.setCredentialLimits({ perTeam: limit });
    chaos.countFault('sendmux:teamCredentialLimit');

    const revokesBefore = sandbox.state.revokeLog.length;
    const jobIds = await chaos.enqueueRound();
    await chaos.waitUntilDrained(profile.scenarioTimeoutMs, 'the round at the credential limit');
    // With the policy, the first keys are the AWSPREVIOUS ones: nothing else revokes them.
    const revokedFirstKeys = sandbox.state.revokeLog.slice(revokesBefore).filter((entry) => entry.wasLive && firstKeys.has(entry.keyId));
    sandbox.setCredentialLimits({ perTeam: null });

    const atLimit = { attempted: jobIds.length, completed: 0, failed: 0 };
    const failures: CredentialLimitFacts['failures'] = [];
    for (const jobId of jobIds) {
      const job = await chaos.producer.queue.getJob(jobId);
      if (!job) throw new Error(`job ${jobId} vanished from Redis`);
      const state = await job.getState();
      if (state === 'completed') atLimit.completed += 1;
      if (state !== 'failed') continue;
      atLimit.failed += 1;
      const data = job.data as { mailboxId: string; idempotencyKey: string };
      failures.push({
        jobId,
        mailboxId: data.mailboxId,
        reason: job.failedReason ?? '',
        attemptsMade: job.attemptsMade,
        mints: sandbox.state.mintsWithIdempotencyKey(data.idempotencyKey).length,
      });
    }
    const { report, figures } = await chaos.check();
    return { report, figures, facts: { atLimit, failures, revokedByPolicy: policy === 'fail' ? 0 : revokedFirstKeys.length } };
  } finally {
    await chaos.close();
  }
}
