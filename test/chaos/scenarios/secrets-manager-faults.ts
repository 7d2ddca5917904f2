import { ChaosBed, type ScenarioResult } from '../harness';
import type { ChaosProfile } from '../profile';

/**
 * Scenario 4: Secrets Manager on a bad day. Throttling and 500s on any call, and writes that are
 * applied but never answered (the client times out after 1 s): CreateSecret, PutSecretValue and
 * the UpdateSecretVersionStage calls that promote and clean up.
 */
export async function runSecretsManagerFaults(profile: ChaosProfile, random: () => number): Promise<ScenarioResult> {
  const chaos = await ChaosBed.start({ label: 'secrets-manager-faults', profile, random });
  try {
    await chaos.worker({ smTimeoutMs: 1_000 });
    await chaos.worker({ smTimeoutMs: 1_000 });
    for (const operation of ['CreateSecret', 'PutSecretValue', 'UpdateSecretVersionStage']) {
      chaos.injectSecretsManager({ operation, kind: 'applyThenTimeout', probability: 0.08 });
    }
    chaos.injectSecretsManager({ operation: '*', kind: 'throttle', probability: 0.15 });
    chaos.injectSecretsManager({ operation: '*', kind: 'internalError', probability: 0.1 });

    for (let round = 1; round <= profile.rounds; round += 1) {
      await chaos.enqueueRound();
      await chaos.waitUntilDrained(profile.scenarioTimeoutMs, `Secrets Manager fault round ${round} to drain`);
    }
    chaos.clearFaults();
    const { report, figures } = await chaos.check();
    return { report, figures, facts: {} };
  } finally {
    await chaos.close();
  }
}
