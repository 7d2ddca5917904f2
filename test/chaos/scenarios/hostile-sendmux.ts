import { ChaosBed, type ScenarioResult } from '../harness';
import type { ChaosProfile } from '../profile';
import { renderSecretName } from '../../../src/config';

export interface HostileSendmuxFacts {
  /** Rotations refused because /mailbox/me answered for another mailbox. */
  refusedWrongMailbox: Array<{ jobId: string; mailboxId: string; mintedKeyId?: string; reason: string; attemptsMade: number }>;
  /** Of those, mailboxes whose AWSCURRENT now holds the key the hostile answer was about (must be 0). */
  promotedRefusedKeys: number;
  /** Of those, minted keys still live (must be 0: the rotation revokes what it will not store). */
  refusedKeysStillLive: number;
}

/**
 * Broken or malicious Sendmux answers: a mint that returns no credential, an HTML error page,
 * a 200 carrying ok:false, a body of several MB, and a GET /mailbox/me that answers for ANOTHER
 * mailbox. None of them may end with a promoted secret holding a bad key.
 *
 * The wrong-mailbox answer is a permanent refusal, so it is switched on from the second round,
 * once every mailbox has a key: a refused rotation then leaves the previous key in place.
 */
export async function runHostileSendmux(profile: ChaosProfile, random: () => number): Promise<ScenarioResult<HostileSendmuxFacts>> {
  const chaos = await ChaosBed.start({ label: 'hostile-sendmux', profile, random });
  try {
    await chaos.worker();
    await chaos.worker();
    chaos.injectSendmux({ operation: 'mintMailboxKey', kind: 'nullCredential', probability: 0.08 });
    for (const kind of ['html502', 'okFalse200', 'hugeBody'] as const) {
      chaos.injectSendmux({ operation: 'mintMailboxKey', kind, probability: 0.06 });
      chaos.injectSendmux({ operation: 'getMailboxMe', kind, probability: 0.04 });
    }
    const roundJobs: string[][] = [];
    for (let round = 1; round <= profile.rounds; round += 1) {
      if (round === 2) chaos.injectSendmux({ operation: 'getMailboxMe', kind: 'wrongMailboxMe', probability: 0.1 });
      roundJobs.push(await chaos.enqueueRound());
      await chaos.waitUntilDrained(profile.scenarioTimeoutMs, `hostile round ${round} to drain`);
    }
    chaos.clearFaults();

    const refusedWrongMailbox: HostileSendmuxFacts['refusedWrongMailbox'] = [];
    for (const jobId of roundJobs.slice(1).flat()) {
      const job = await chaos.producer.queue.getJob(jobId);
      if (!job || !(await job.isFailed())) continue;
      const data = job.data as { mailboxId: string; mintedKeyId?: string };
      if (!/answered for mailbox/.test(job.failedReason ?? '')) continue;
      refusedWrongMailbox.push({
        jobId,
        mailboxId: data.mailboxId,
        ...(data.mintedKeyId ? { mintedKeyId: data.mintedKeyId } : {}),
        reason: job.failedReason ?? '',
        attemptsMade: job.attemptsMade,
      });
    }
    let promotedRefusedKeys = 0;
    let refusedKeysStillLive = 0;
    for (const refused of refusedWrongMailbox) {
      const secret = chaos.bed.standIn.secret(renderSecretName(chaos.bed.settings.file.secretName, refused.mailboxId));
      const current = secret?.versions.find((v) => v.stages.includes('AWSCURRENT'));
      if (refused.mintedKeyId && current?.secretString?.includes(`"key_id":"${refused.mintedKeyId}"`)) promotedRefusedKeys += 1;
      if (refused.mintedKeyId && chaos.bed.sandbox.state.keys.get(refused.mintedKeyId)?.status === 'live') refusedKeysStillLive += 1;
    }
    const { report, figures } = await chaos.check();
    return { report, figures, facts: { refusedWrongMailbox, promotedRefusedKeys, refusedKeysStillLive } };
  } finally {
    await chaos.close();
  }
}
