import { ChaosBed, pollUntil, sleep, type ScenarioResult } from '../harness';
import type { ChaosProfile } from '../profile';
import { WorkerFleet } from '../worker-fleet';
import { writeConfigFile } from '../../support/rotator-process';
import { waitForJob } from '../../support/test-bed';
import { renderSecretName } from '../../../src/config';
import { revocationJobId } from '../../../src/rotation/identity';
import type { RotationJobData, RotationProgress } from '../../../src/rotation/job-data';

/** What the suite saw from the outside when it pulled the trigger, and how the job ended. */
export interface KillPointOutcome {
  point: string;
  mailboxId: string;
  jobId: string;
  /** Facts read from the sandbox, the stand-in and Redis at the moment of the kill. */
  atKill: { mintsForJob: number; keyIdRecorded: boolean; ourVersionStages: string[] | null; progressStep: string | null };
  finalState: string;
  mintsForJob: number;
  /** The key that was current before this rotation (later keys only). */
  previousKeyId?: string;
  /** Whether its revocation job completed and Sendmux shows it revoked, once the batch drained. */
  previousKeyRevoked?: boolean;
}

export interface WorkerKillFacts {
  randomKills: number;
  rounds: number;
  killPoints: KillPointOutcome[];
  /** Workers that exited without being killed (must be none). */
  crashedWorkers: Array<{ pid: number | undefined; output: string }>;
}

interface KillContext {
  chaos: ChaosBed;
  mailboxId: string;
  jobId: string;
  secretName: string;
  token: string;
  idempotencyKey: string;
  previousKeyId: string | null;
}

interface KillPoint {
  name: string;
  /** Needs a mailbox that already has a current key (the second-key order: stage, then verify). */
  needsCurrentKey: boolean;
  /** Grace for the previous key; 0 makes the revocation run at once (for the revocation point). */
  revokePreviousAfterMs?: number;
  /** Holds the job at the point, so the kill lands there. */
  arm(ctx: KillContext): void;
  /** True once the point is reached, judged from the outside. */
  reached(ctx: KillContext, seen: Seen): boolean;
}

interface Seen {
  jobActive: boolean;
  /** The Secrets Manager request the point armed is being held (staging writes no progress of its own). */
  secretsManagerHeld: boolean;
  progressStep: string | null;
  keyIdRecorded: boolean;
  ourVersionStages: string[] | null;
  secretExists: boolean;
  mintsForJob: number;
  previousKeyRevokeSeen: boolean;
}

/** Long enough for the kill to land first; the worker's own 1 s client timeout never gets there. */
const HOLD_MS = 5_000;
/** Secrets Manager requests held before they apply; shorter than a takeover (≥ 2 s lock). */
const SM_HOLD_MS = 1_500;

/**
 * Deliberate kills between each pair of steps. First key: look, mint, verify, stage (create the
 * secret, then store its first version). Later keys: look, mint, stage, verify, promote (move
 * AWSCURRENT, clear AWSPENDING), schedule the revocation, and the revocation job itself.
 */
const KILL_POINTS: KillPoint[] = [
  {
    name: 'first key: during look, before the mint',
    needsCurrentKey: false,
    arm: ({ chaos }) => chaos.injectSecretsManager({ operation: 'DescribeSecret', kind: 'delay', delayMs: SM_HOLD_MS, times: 1 }),
    // Step 0 writes no progress (one Redis round trip less per rotation): the job is active, nothing minted.
    reached: (_ctx, seen) => seen.jobActive && seen.mintsForJob === 0,
  },
  {
    name: 'first key: mint committed by Sendmux, response not yet received',
    needsCurrentKey: false,
    arm: ({ chaos, mailboxId }) => chaos.injectSendmux({ operation: 'mintMailboxKey', kind: 'delay', delayMs: HOLD_MS, mailboxId, times: 1 }),
    reached: (_ctx, seen) => seen.mintsForJob > 0,
  },
  {
    name: 'first key: key id recorded, before verify',
    needsCurrentKey: false,
    arm: ({ chaos, mailboxId }) => chaos.injectSendmux({ operation: 'getMailboxMe', kind: 'delay', delayMs: HOLD_MS, mailboxId, times: 1 }),
    reached: (_ctx, seen) => seen.keyIdRecorded && seen.progressStep === 'verify',
  },
  {
    name: 'first key: verified, before the secret is created',
    needsCurrentKey: false,
    arm: ({ chaos }) => chaos.injectSecretsManager({ operation: 'CreateSecret', kind: 'delay', delayMs: SM_HOLD_MS, times: 1 }),
    reached: (_ctx, seen) => seen.keyIdRecorded && seen.secretsManagerHeld,
  },
  {
    name: 'first key: secret created, before its first version is stored',
    needsCurrentKey: false,
    arm: ({ chaos }) => chaos.injectSecretsManager({ operation: 'PutSecretValue', kind: 'delay', delayMs: SM_HOLD_MS, times: 1 }),
    reached: (_ctx, seen) => seen.secretExists && seen.secretsManagerHeld && seen.ourVersionStages === null,
  },
  {
    name: 'next key: key id recorded, before staging',
    needsCurrentKey: true,
    arm: ({ chaos }) => chaos.injectSecretsManager({ operation: 'PutSecretValue', kind: 'delay', delayMs: SM_HOLD_MS, times: 1 }),
    reached: (_ctx, seen) => seen.keyIdRecorded && seen.secretsManagerHeld,
  },
  {
    name: 'next key: staged as AWSPENDING, before verify',
    needsCurrentKey: true,
    arm: ({ chaos, mailboxId }) => chaos.injectSendmux({ operation: 'getMailboxMe', kind: 'delay', delayMs: HOLD_MS, mailboxId, times: 1 }),
    reached: (_ctx, seen) => (seen.ourVersionStages ?? []).includes('AWSPENDING'),
  },
  {
    name: 'next key: verified, before promote',
    needsCurrentKey: true,
    arm: ({ chaos }) => chaos.injectSecretsManager({ operation: 'UpdateSecretVersionStage', kind: 'delay', delayMs: SM_HOLD_MS, times: 1 }),
    reached: (_ctx, seen) => seen.progressStep === 'promote',
  },
  {
    name: 'next key: AWSCURRENT moved, AWSPENDING not yet cleared',
    needsCurrentKey: true,
    arm: ({ chaos }) => chaos.injectSecretsManager({ operation: 'UpdateSecretVersionStage', kind: 'applyThenTimeout', times: 1 }),
    reached: (_ctx, seen) => (seen.ourVersionStages ?? []).includes('AWSCURRENT'),
  },
  {
    name: 'next key: promoted, before the revocation is scheduled',
    needsCurrentKey: true,
    arm: ({ chaos }) => {
      // The first stage move answers; the second (clearing AWSPENDING) applies and never answers.
      chaos.injectSecretsManager({ operation: 'UpdateSecretVersionStage', kind: 'delay', delayMs: 0, times: 1 });
      chaos.injectSecretsManager({ operation: 'UpdateSecretVersionStage', kind: 'applyThenTimeout', times: 1 });
    },
    reached: (_ctx, seen) => {
      const stages = seen.ourVersionStages ?? [];
      return stages.includes('AWSCURRENT') && !stages.includes('AWSPENDING');
    },
  },
  {
    name: 'revocation job: previous key revoked by Sendmux, response not yet received',
    needsCurrentKey: true,
    revokePreviousAfterMs: 0,
    arm: ({ chaos, mailboxId }) => chaos.injectSendmux({ operation: 'revokeMailboxKey', kind: 'delay', delayMs: HOLD_MS, mailboxId, times: 1 }),
    reached: (_ctx, seen) => seen.previousKeyRevokeSeen,
  },
];

/**
 * Scenario 1: worker processes (the built `rotator start --role worker`) are SIGKILLed at random
 * points during the batch and replaced each time; then killed deliberately between each pair of
 * steps, each point observed from the outside before the kill.
 */
export async function runWorkerKills(profile: ChaosProfile, random: () => number): Promise<ScenarioResult<WorkerKillFacts>> {
  const chaos = await ChaosBed.start({
    label: 'worker-kills',
    profile,
    random,
    // A dead worker's jobs are taken over once their 2 s lock expires; latency spreads the steps out.
    config: { rotation: { lockDuration: '2s', stalledInterval: '1s', concurrency: 8 } },
    sandbox: { latencyMs: { min: 5, max: 40 } },
  });
  const fleet = new WorkerFleet(writeConfigFile(chaos.bed.configObject), chaos.bed.env());
  try {
    const firstKeyPoints = KILL_POINTS.filter((p) => !p.needsCurrentKey);
    const nextKeyPoints = KILL_POINTS.filter((p) => p.needsCurrentKey);
    const mailboxes = [...chaos.mailboxIds];
    const killPoints: KillPointOutcome[] = [];

    // Part 1: deliberate kills on mailboxes that have no key yet.
    fleet.start(1);
    await fleet.ready();
    for (const [i, point] of firstKeyPoints.entries()) killPoints.push(await killAt(chaos, fleet, point, mailboxes[i]!));
    await chaos.waitUntilDrained(profile.scenarioTimeoutMs, 'the first-key kill points');
    await fleet.stopAll();

    // Part 2: random kills while every mailbox rotates, round after round.
    fleet.start(profile.workerProcesses);
    let rounds = 0;
    const randomKillsBefore = fleet.kills;
    const randomKills = () => fleet.kills - randomKillsBefore;
    const maxRounds = profile.rounds + 10;
    while ((rounds < profile.rounds || randomKills() < profile.randomKills) && rounds < maxRounds) {
      rounds += 1;
      await chaos.enqueueRound();
      const deadline = Date.now() + profile.scenarioTimeoutMs;
      while ((await chaos.pendingJobs()) > 0) {
        if (Date.now() > deadline) throw new Error(`round ${rounds} of the random-kill batch did not drain`);
        await sleep(300 + random() * 900);
        if (randomKills() < profile.randomKills && (await chaos.pendingJobs()) > 0) await fleet.killAndReplace(random);
      }
    }
    await fleet.stopAll();

    // Part 3: deliberate kills between the later steps, on mailboxes that now have a key.
    fleet.start(1);
    await fleet.ready();
    for (const [i, point] of nextKeyPoints.entries()) {
      killPoints.push(await killAt(chaos, fleet, point, mailboxes[firstKeyPoints.length + i]!));
    }
    await chaos.waitUntilDrained(profile.scenarioTimeoutMs, 'the later kill points');
    for (const outcome of killPoints) {
      if (!outcome.previousKeyId) continue;
      const revocation = await chaos.producer.queue.getJob(revocationJobId(outcome.mailboxId, outcome.previousKeyId));
      outcome.previousKeyRevoked =
        (await revocation?.isCompleted()) === true && chaos.bed.sandbox.state.keys.get(outcome.previousKeyId)?.status === 'revoked';
    }
    const crashedWorkers = fleet.crashed();
    await fleet.stopAll();
    chaos.clearFaults();

    const { report, figures } = await chaos.check({ processOutput: fleet.outputs(), kills: fleet.kills });
    return { report, figures, facts: { randomKills: randomKills(), rounds, killPoints, crashedWorkers } };
  } finally {
    await fleet.stopAll();
    await chaos.close();
  }
}

async function killAt(chaos: ChaosBed, fleet: WorkerFleet, point: KillPoint, mailboxId: string): Promise<KillPointOutcome> {
  const queue = chaos.producer.queue;
  const secretName = renderSecretName(chaos.bed.settings.file.secretName, mailboxId);
  const previousKeyId = currentKeyId(chaos, secretName);
  if (point.needsCurrentKey && !previousKeyId) throw new Error(`kill point "${point.name}" needs ${mailboxId} to have a current key`);
  if (!point.needsCurrentKey && previousKeyId) throw new Error(`kill point "${point.name}" needs ${mailboxId} to have no key yet`);

  const data = queue.buildRotationJobData({ mailboxId, reason: 'manual', requestedBy: 'chaos-kill-point', force: true });
  const ctx: KillContext = {
    chaos,
    mailboxId,
    jobId: '',
    secretName,
    token: data.clientRequestToken,
    idempotencyKey: data.idempotencyKey,
    previousKeyId,
  };
  point.arm(ctx);
  const [outcome] = await queue.requestRotations([
    {
      mailboxId,
      reason: 'manual',
      slot: data.slot,
      requestedBy: 'chaos-kill-point',
      force: true,
      ...(point.revokePreviousAfterMs !== undefined ? { revokePreviousAfterMs: point.revokePreviousAfterMs } : {}),
    },
  ]);
  if (outcome?.status !== 'enqueued') throw new Error(`kill point "${point.name}": ${mailboxId} not enqueued: ${JSON.stringify(outcome)}`);
  ctx.jobId = outcome.jobId;

  let seen = await look(ctx);
  await pollUntil(
    async () => {
      seen = await look(ctx);
      return point.reached(ctx, seen);
    },
    20_000,
    `kill point "${point.name}" on ${mailboxId}`,
    20,
  );
  // The replacement warms up while the victim still holds the job's lock, then the victim dies.
  fleet.start(1);
  await fleet.killOldest();
  chaos.clearFaults();

  const finished = await waitForJob(chaos.producer, ctx.jobId, 30_000);
  const result: KillPointOutcome = {
    point: point.name,
    mailboxId,
    jobId: ctx.jobId,
    atKill: { mintsForJob: seen.mintsForJob, keyIdRecorded: seen.keyIdRecorded, ourVersionStages: seen.ourVersionStages, progressStep: seen.progressStep },
    finalState: finished.state,
    mintsForJob: chaos.bed.sandbox.state.mintsWithIdempotencyKey(ctx.idempotencyKey).length,
  };
  if (previousKeyId) result.previousKeyId = previousKeyId;
  return result;
}

/** The job as Redis holds it, the secret as the stand-in holds it, the sandbox's logs. */
async function look(ctx: KillContext): Promise<Seen> {
  const job = ctx.jobId ? await ctx.chaos.producer.queue.getJob(ctx.jobId) : undefined;
  const progress = job?.progress as RotationProgress | number | undefined;
  const secret = ctx.chaos.bed.standIn.secret(ctx.secretName);
  const ours = secret?.versions.find((v) => v.versionId === ctx.token);
  const sandbox = ctx.chaos.bed.sandbox.state;
  return {
    jobActive: (await job?.isActive()) ?? false,
    secretsManagerHeld: (ctx.chaos.bed.standIn.faults.injected.delay ?? 0) > 0,
    progressStep: typeof progress === 'object' && progress ? progress.step : null,
    keyIdRecorded: Boolean((job?.data as RotationJobData | undefined)?.mintedKeyId),
    ourVersionStages: ours ? [...ours.stages] : null,
    secretExists: Boolean(secret),
    mintsForJob: sandbox.mintsWithIdempotencyKey(ctx.idempotencyKey).length,
    previousKeyRevokeSeen: ctx.previousKeyId !== null && sandbox.revokeLog.some((r) => r.keyId === ctx.previousKeyId && r.wasLive),
  };
}

function currentKeyId(chaos: ChaosBed, secretName: string): string | null {
  const current = chaos.bed.standIn.secret(secretName)?.versions.find((v) => v.stages.includes('AWSCURRENT'));
  if (!current?.secretString) return null;
  return (JSON.parse(current.secretString) as { key_id: string }).key_id;
}
